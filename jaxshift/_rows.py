"""Distinct rows by integer keys: pixel colours, repeated points, occupied grid bins.

One integer per row, equal for equal rows and ordered as the rows are
(lexicographically), so that deduplication is a 1-D sort or a histogram rather than a
sort of rows (``np.unique(axis=0)``, ~10x slower on a photo's 273k pixels).
"""

from __future__ import annotations

import numpy as np

__all__ = ["first_in_bins", "row_keys", "unique_rows"]


def row_keys(pixels: np.ndarray):
    """One integer per pixel ``[n]`` that is equal for equal colours and ordered as the
    colours are (lexicographically), and the number of possible keys (``None``: many).

    Unsigned-integer pixels (``uint8``, ``uint16``) pack their channels into the bits
    of one unsigned integer, ``r << 16 | g << 8 | b`` for RGB ``uint8``. Float pixels
    combine each channel's rank among that channel's distinct values, a channel at a
    time, re-ranking in between so that the key stays below ``2^62``: integer-valued
    channels (pixel values as floats) by their offset from the least value, others by a
    sort. Keys below ``2^32`` come as ``uint32`` (:func:`_argsort` radix-sorts them).
    """
    n, c = pixels.shape
    if np.issubdtype(pixels.dtype, np.unsignedinteger) and c * pixels.dtype.itemsize <= 8:
        bits = 8 * pixels.dtype.itemsize
        kt = np.uint32 if c * bits <= 32 else np.uint64
        key = np.zeros(n, kt)
        for j in range(c):
            key = (key << kt(bits)) | pixels[:, j].astype(kt)
        return key, 1 << (c * bits)
    key, size = np.zeros(n, np.int64), 1
    for j in range(c):
        code, values = _channel_code(pixels[:, j])
        if size * values >= 1 << 62:  # the key's rank among the distinct keys so far: below n
            key = _unique(key)[1].astype(np.int64)
            size = int(key.max()) + 1 if n else 1
        key, size = key * values + code, size * values
    return (key.astype(np.uint32) if size <= 1 << 32 else key), None


def _channel_code(col):
    """``(code [n] int64, number of codes)``, ordered as ``col``: integer values over a
    span below ``2^24`` (pixel values stored as floats or signed integers) are their offset
    from the least; others, their rank among the distinct values (a sort)."""
    if col.size:
        lo, hi = col.min(), col.max()
        if np.isfinite(lo) and np.isfinite(hi) and hi - lo < 1 << 24 and np.array_equal(col, np.floor(col)):
            return (col - lo).astype(np.int64), int(hi - lo) + 1
    values, code = np.unique(col, return_inverse=True)
    return code.ravel().astype(np.int64), max(values.size, 1)


def _argsort(key: np.ndarray) -> np.ndarray:
    """A stable argsort of 1-D integer keys: for unsigned keys of at most 32 bits (packed
    colours), two stable passes over 16-bit digits (NumPy radix-sorts 16-bit integers:
    ~3x faster than its comparison sort of 32-bit ones on a photo's 273k keys)."""
    if key.dtype == np.uint32 and key.size > 1024:
        order = np.argsort((key & np.uint32(0xFFFF)).astype(np.uint16), kind="stable")
        return order[np.argsort((key[order] >> np.uint32(16)).astype(np.uint16), kind="stable")]
    return np.argsort(key, kind="stable")


def _unique(key: np.ndarray):
    """``np.unique(key, return_index=True, return_inverse=True, return_counts=True)`` for
    1-D integer keys, on :func:`_argsort`: ``(first [u], inverse [n], counts [u])`` (the
    distinct keys are ``key[first]``, in increasing order; ``first`` each one's first
    occurrence)."""
    order = _argsort(key)
    ordered = key[order]
    new = np.empty(key.size, bool)
    new[:1] = True
    np.not_equal(ordered[1:], ordered[:-1], out=new[1:])
    starts = np.flatnonzero(new)
    inverse = np.empty(key.size, np.intp)
    inverse[order] = np.cumsum(new) - 1
    counts = np.diff(np.append(starts, key.size))
    return order[starts], inverse, counts


def unique_rows(pixels: np.ndarray, *, return_index: bool = False):
    """The distinct colours of ``pixels`` ``[n, C]``: ``(colours [u, C], inverse [n],
    counts [u])``, the colours in lexicographic order (``np.unique(pixels, axis=0)``'s);
    with ``return_index``, ``(colours, first [u], inverse, counts)``, ``first`` the index
    of each colour's first occurrence.

    Deduplicated on the integer keys of :func:`row_keys`: a histogram
    (``bincount``) when there are no more possible keys than pixels (greyscale
    ``uint8``, or a large ``uint8`` image), otherwise a 1-D sort; never a sort of rows.
    """
    n, c = pixels.shape
    key, n_keys = row_keys(pixels)
    if n == 0:
        empty = np.zeros(0, np.intp)
        return (pixels, empty, empty, empty) if return_index else (pixels, empty, empty)
    if n_keys is None or return_index or n_keys > max(n, 1 << 16):
        first, inverse, counts = _unique(key)
        if return_index:
            return pixels[first], first, inverse, counts
        return pixels[first], inverse, counts
    hist = np.bincount(key, minlength=n_keys)
    keys = np.flatnonzero(hist).astype(key.dtype)
    index = np.zeros(n_keys, np.intp)
    index[keys] = np.arange(keys.size)
    inverse, counts = index[key], hist[keys]
    bits = 8 * pixels.dtype.itemsize
    kt = key.dtype.type
    mask = kt((1 << bits) - 1)
    colors = np.stack([(keys >> kt(bits * (c - 1 - j))) & mask for j in range(c)], axis=1)
    return colors.astype(pixels.dtype), inverse, counts


def first_in_bins(binned, min_bin_freq=1):
    """The index of the first row of each distinct row of ``binned`` (integer-valued) seen at
    least ``min_bin_freq`` times, in order. When the bins span a box of few cells (a photo's
    colours: ~10^3), a histogram over the box (``bincount``) rather than a sort."""
    n = binned.shape[0]
    cols = np.ascontiguousarray(binned.T)  # NumPy reduces [n, 3] along axis 0 ~10x slower
    lo, hi = cols.min(axis=1), cols.max(axis=1)
    extent = hi - lo + 1
    if np.prod(extent) <= max(4 * n, 1 << 16):
        key = np.zeros(n)
        for col, low, ext in zip(cols, lo, extent, strict=True):
            key = key * ext + (col - low)
        key = key.astype(np.intp)
        counts = np.bincount(key, minlength=int(np.prod(extent)))
        first = np.zeros(counts.size, np.intp)
        first[key[::-1]] = np.arange(n - 1, -1, -1)  # the last write wins: each key's first row
        # (counts >= 1 too: a cell of the box that no row falls in is no row of binned)
        return np.sort(first[np.flatnonzero(counts >= max(min_bin_freq, 1))])
    _, first, _, counts = unique_rows(binned, return_index=True)
    return np.sort(first[counts >= min_bin_freq])
