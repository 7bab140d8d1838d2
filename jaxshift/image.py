"""Mean shift on images: colour segmentation, joint spatial-range filtering and segmentation.

Two forms of image mean shift:

- :func:`segment_colors` clusters the image's *colours* (each pixel becomes the mode
  of its colour: colour quantisation). Identical colours are clustered once, weighted
  by their count, so a photo costs what its distinct colours cost.
- :func:`filter_image` and :func:`segment` are the joint spatial-range method of
  Comaniciu & Meer: every pixel climbs in ``(row, col, colour)`` space with a square
  spatial window of half-size ``spatial_radius`` and a colour ball of radius
  ``range_radius`` (flat kernel), with the semantics of OpenCV's
  ``pyrMeanShiftFiltering(src, sp, sr, maxLevel=0)``.

Images are ``[H, W]`` (greyscale), ``[H, W, 1]``, ``[H, W, 3]`` (RGB) or
``[H, W, 4]`` (RGBA: the alpha channel is ignored by the clustering and copied to
the outputs unchanged), of dtype ``uint8`` or floating point. Colour distances and
radii are in the units of the pixel values: 0-255 for ``uint8``, the image's own
scale (often 0-1) for floats. :func:`load_image` and :func:`save_image` read and
write image files with Pillow.

References:
    Comaniciu & Meer (2002), "Mean shift: a robust approach toward feature space
    analysis", IEEE TPAMI 24(5). OpenCV, ``cv::pyrMeanShiftFiltering``.
"""

from __future__ import annotations

import functools
import math
import os
from collections.abc import Callable
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax
from jax.typing import ArrayLike

__all__ = [
    "ColorSegmentation",
    "Segmentation",
    "filter_image",
    "load_image",
    "save_image",
    "segment",
    "segment_colors",
]

Progress = Callable[[int, int], None]

# Pixels per tile times window pixels: bounds the gathered windows of one tile
# (``tile * (2r + 1)^2 * C`` values), whatever the image size.
_WINDOW_BUDGET = 1 << 17
# Pixels per row block of the first step: its accumulators stay in cache (measured on
# 2 CPU cores: 8192 was ~1.6x faster than 65536, and faster than 2048).
_CHUNK_PIXELS = 1 << 13


# --------------------------------------------------------------------------- input


class _Image(NamedTuple):
    """A validated image split into what the algorithms see and what they carry."""

    color: np.ndarray  # [H, W, C], C in (1, 3), uint8 or float
    alpha: np.ndarray | None  # [H, W] or None
    shape: tuple  # the caller's shape, to give results back in
    dtype: np.dtype


def _as_image(image, name: str = "image") -> _Image:
    if isinstance(image, (str, bytes, os.PathLike)) or image is None:
        raise ValueError(f"{name} must be an array [H, W] or [H, W, C], got {image!r}; use load_image() for files")
    try:
        a = np.asarray(image)
    except Exception as exc:
        raise ValueError(f"{name} must be an array of pixel values, got {type(image).__name__}") from exc
    if a.dtype != np.uint8 and not np.issubdtype(a.dtype, np.floating):
        raise ValueError(f"{name} must have dtype uint8 or a float dtype, got {a.dtype}")
    if a.ndim not in (2, 3) or (a.ndim == 3 and a.shape[2] not in (1, 3, 4)):
        raise ValueError(
            f"{name} must be greyscale [H, W] or [H, W, 1], RGB [H, W, 3] or RGBA [H, W, 4], "
            f"got shape {a.shape}"
        )
    if a.shape[0] == 0 or a.shape[1] == 0:
        raise ValueError(f"{name} is empty (shape {a.shape})")
    if a.dtype != np.uint8 and not np.all(np.isfinite(a)):
        bad = tuple(int(i) for i in np.argwhere(~np.isfinite(a))[0])
        raise ValueError(f"{name} must be finite, got {a[bad].item()!r} at index {bad}")
    if a.dtype == np.float16:
        a = a.astype(np.float32)
    shape = a.shape
    if a.ndim == 2:
        a = a[:, :, None]
    alpha = None
    if a.shape[2] == 4:
        alpha, a = a[:, :, 3], a[:, :, :3]
    return _Image(np.ascontiguousarray(a), alpha, shape, a.dtype)


def _restore(img: _Image, color: np.ndarray) -> np.ndarray:
    """``[H, W, C]`` colours (in ``img.dtype``) back to the caller's layout."""
    if img.alpha is not None:
        color = np.concatenate([color, img.alpha[:, :, None]], axis=2)
    return color.reshape(img.shape)


def _to_dtype(values: np.ndarray, dtype) -> np.ndarray:
    if dtype == np.uint8:
        return np.clip(np.rint(values), 0, 255).astype(np.uint8)
    return values.astype(dtype)


def _number(v, name: str, *, minimum: float = 0.0, strict: bool = True) -> float:
    ok = isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool)
    if ok:
        f = float(v)
        ok = math.isfinite(f) and (f > minimum if strict else f >= minimum)
    if not ok:
        rel = ">" if strict else ">="
        raise ValueError(f"{name} must be a finite number {rel} {minimum:g}, got {v!r}")
    return float(v)


def _integer(v, name: str, *, minimum: int) -> int:
    if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {v!r}")
    return int(v)


# ------------------------------------------------------------------------ filtering


def _round_div(s, n, tau, sign):
    """``cvRound(s * (1.0 / n))`` in double precision, as OpenCV computes a mean, for
    integers ``s >= 0``, ``n > 0``, exactly, in 32-bit arithmetic.

    Away from ties the double product rounds like ``s / n``. At a tie
    ``s / n = v = a / 2`` (``a`` odd), ``fl(1 / n) = (1 + eps_n) / n`` makes the product
    ``v (1 + eps_n)``, which rounds to a double other than ``v`` (and so decides the
    tie by the sign of ``eps_n``) exactly when the mantissa ``a / 2^floor(log2 a)`` of
    ``v`` exceeds ``tau_n = 2^-53 / |eps_n|``; otherwise ``lrint`` rounds ``v`` half to
    even. ``tau`` and ``sign`` are ``tau_n`` and ``sign(eps_n)`` gathered for ``n``
    (see :func:`_tie_table`).
    """
    q = s // n
    r2 = 2 * (s - q * n)
    a = 2 * q + 1
    e = (jnp.iinfo(a.dtype).bits - 1) - lax.clz(a)
    mant = a.astype(jnp.float32) * jnp.exp2(-e.astype(jnp.float32))
    # v = 0.5 is a power of two: the double below it is only half an ulp away.
    tau = jnp.where((a == 1) & (sign < 0), tau * 0.5, tau)
    away = mant > tau
    tie_up = jnp.where(away, sign > 0, q % 2 == 1)
    up = (r2 > n) | ((r2 == n) & tie_up)
    return q + up.astype(q.dtype)


@functools.lru_cache(maxsize=16)
def _tie_table(n_max: int):
    """``(tau_n, sign(eps_n))`` for ``n = 0 .. n_max`` where ``fl(1 / n) = (1 + eps_n) / n``
    (see :func:`_round_div`); ``tau_n`` rounded down to float32, ``inf`` where
    ``1 / n`` is exact."""
    tau = np.full(n_max + 1, np.inf, np.float32)
    sign = np.zeros(n_max + 1, np.int32)
    for n in range(1, n_max + 1):
        p, t = (1.0 / n).as_integer_ratio()
        err = p * n - t  # eps_n = err / t
        if err == 0:
            continue
        exact = 2.0**-53 * t / abs(err)
        f = np.float32(exact)
        if float(f) > exact:
            f = np.nextafter(f, np.float32(0))
        tau[n] = f
        sign[n] = 1 if err > 0 else -1
    return tau, sign


def _window_radius(sp: float) -> int:
    """Largest offset of OpenCV's window ``[cvRound(x - sp), cvRound(x + sp)]`` from ``x``
    (it depends on the parity of ``x`` when ``sp`` ends in .5)."""
    return int(max(abs(np.rint(x + s * sp) - x) for x in (0, 1) for s in (-1, 1)))


class _Params(NamedTuple):
    """Traced parameters of a filtering step (one compilation serves every value)."""

    sp: jax.Array  # spatial radius, float32
    sr2: jax.Array  # squared range radius: cvRound(sr^2) as int32 for uint8 images
    eps: jax.Array  # stop threshold: floor(eps) as int32 for uint8 images
    tau: jax.Array  # [n_max + 1] tie table of _round_div
    sign: jax.Array  # [n_max + 1]


def _bounds(p, size, sp):
    """OpenCV's window along one axis: ``[max(cvRound(p - sp), 0), min(cvRound(p + sp), size - 1)]``
    (``cvRound`` rounds half to even, like ``jnp.round``)."""
    pf = p.astype(jnp.float32)
    lo = jnp.maximum(jnp.round(pf - sp).astype(jnp.int32), 0)
    hi = jnp.minimum(jnp.round(pf + sp).astype(jnp.int32), size - 1)
    return lo, hi


def _finish(count, sy, sx, sc, y, x, col, prm: _Params):
    """One step's new state from the window sums, with OpenCV's rounding and stop rule.

    Returns ``(y, x, col, active)``: a pixel with an empty window keeps its state and
    stops; otherwise it moves and stops if its position did not change or
    ``|dx| + |dy| + |dc|^2 <= eps``.
    """
    some = count > 0
    n = jnp.maximum(count, 1)
    tn, sn = prm.tau[n], prm.sign[n]
    y1 = _round_div(sy, n, tn, sn)
    x1 = _round_div(sx, n, tn, sn)
    if jnp.issubdtype(col.dtype, jnp.integer):
        c1 = _round_div(sc, n[..., None], tn[..., None], sn[..., None])
    else:
        c1 = sc / n[..., None].astype(col.dtype)
    dc = c1 - col
    moved = (jnp.abs(x1 - x) + jnp.abs(y1 - y)).astype(col.dtype)
    stop = ((x1 == x) & (y1 == y)) | (moved + jnp.sum(dc * dc, axis=-1) <= prm.eps)
    y = jnp.where(some, y1.astype(y.dtype), y)
    x = jnp.where(some, x1.astype(x.dtype), x)
    col = jnp.where(some[..., None], c1.astype(col.dtype), col)
    return y, x, col, some & ~stop


@functools.partial(jax.jit, static_argnames=("radius", "rows"))
def _first_step(padded, row0, prm: _Params, *, radius, rows):
    """The first step for image rows ``row0 .. row0 + rows``, every pixel at its own place.

    With every window centred on its own pixel, the window sums are sums of shifted
    copies of the image: a ``fori_loop`` over the ``(2r + 1)^2`` offsets, each a
    contiguous slice of ``padded`` (the image channels first, in the accumulation
    dtype, zero-padded by ``r`` and ``rows`` more rows below, see :func:`_filter`), so
    the working memory is ``O(rows * W)``.
    """
    c, hp, wp = padded.shape
    h, w = hp - 2 * radius - rows, wp - 2 * radius
    k = 2 * radius + 1
    acc = padded.dtype
    ys = row0 + jnp.arange(rows, dtype=jnp.int32)
    xs = jnp.arange(w, dtype=jnp.int32)
    ylo, yhi = _bounds(ys, h, prm.sp)
    xlo, xhi = _bounds(xs, w, prm.sp)
    i32 = functools.partial(jnp.asarray, dtype=jnp.int32)  # one index type, with or without x64
    centre = lax.dynamic_slice(padded, (i32(0), row0 + radius, i32(radius)), (c, rows, w))

    def body(o, sums):
        count, sy, sx, sc = sums
        dy, dx = o // k - radius, o % k - radius
        shifted = lax.dynamic_slice(padded, (i32(0), row0 + radius + dy, radius + dx), (c, rows, w))
        diff = shifted - centre
        inside = ((ys + dy >= ylo) & (ys + dy <= yhi))[:, None] & ((xs + dx >= xlo) & (xs + dx <= xhi))[None, :]
        inc = inside & (jnp.sum(diff * diff, axis=0) <= prm.sr2)
        inc_i = inc.astype(jnp.int32)
        return (
            count + inc_i,
            sy + inc_i * dy,
            sx + inc_i * dx,
            sc + jnp.where(inc[None], shifted, jnp.zeros((), acc)),
        )

    zi = jnp.zeros((rows, w), jnp.int32)
    count, sy, sx, sc = lax.fori_loop(i32(0), i32(k * k), body, (zi, zi, zi, jnp.zeros((c, rows, w), acc)))
    y = jnp.broadcast_to(ys[:, None], (rows, w))
    x = jnp.broadcast_to(xs[None, :], (rows, w))
    # Offsets were relative: the absolute sums add count * position.
    return _finish(count, sy + count * y, sx + count * x, sc.transpose(1, 2, 0), y, x, centre.transpose(1, 2, 0), prm)


@functools.partial(jax.jit, static_argnames=("radius", "tile"))
def _next_step(padded, y, x, col, active, prm: _Params, *, radius, tile):
    """One step for the pixels still moving; ``y, x, active`` ``[n]``, ``col`` ``[n, C]``
    (``n`` a multiple of ``tile``), for pixels at arbitrary positions.

    The moving pixels are compacted to the front (``nonzero`` with a static size) and
    processed a tile at a time, for as many tiles as there are moving pixels (a
    dynamic trip count, so finished pixels cost nothing). Per tile, each pixel's
    ``(2r + 1)^2`` window is gathered from ``padded`` (the image zero-padded by ``r``,
    ``dynamic_slice``, vmapped): memory ``O(tile * (2r + 1)^2 * C)`` whatever the
    image size.
    """
    hp, wp, c = padded.shape
    h, w = hp - 2 * radius, wp - 2 * radius
    n = y.shape[0]
    k = 2 * radius + 1
    acc = col.dtype
    offsets = jnp.arange(-radius, radius + 1, dtype=jnp.int32)
    (order,) = jnp.nonzero(active, size=n, fill_value=n)
    moving = jnp.sum(active, dtype=jnp.int32)

    def one_tile(y, x, col):
        win = jax.vmap(lambda a, b: lax.dynamic_slice(padded, (a, b, jnp.int32(0)), (k, k, c)))(y, x).astype(acc)
        ylo, yhi = _bounds(y, h, prm.sp)
        xlo, xhi = _bounds(x, w, prm.sp)
        ys = y[:, None] + offsets
        xs = x[:, None] + offsets
        oky = (ys >= ylo[:, None]) & (ys <= yhi[:, None])
        okx = (xs >= xlo[:, None]) & (xs <= xhi[:, None])
        diff = win - col[:, None, None, :]
        inc = oky[:, :, None] & okx[:, None, :] & (jnp.sum(diff * diff, axis=-1) <= prm.sr2)
        per_row = jnp.sum(inc, axis=2, dtype=jnp.int32)
        per_col = jnp.sum(inc, axis=1, dtype=jnp.int32)
        count = jnp.sum(per_row, axis=1, dtype=jnp.int32)
        sc = jnp.sum(jnp.where(inc[..., None], win, jnp.zeros((), acc)), axis=(1, 2), dtype=acc)
        sy = jnp.sum(per_row * ys, 1, dtype=jnp.int32)
        sx = jnp.sum(per_col * xs, 1, dtype=jnp.int32)
        return _finish(count, sy, sx, sc, y, x, col, prm)

    def body(t, state):
        y, x, col, active = state
        sel = lax.dynamic_slice(order, (t * tile,), (tile,))  # == n (out of range) past the moving ones
        safe = jnp.minimum(sel, n - 1)
        ny, nx, ncol, nact = one_tile(y[safe], x[safe], col[safe])
        return (
            y.at[sel].set(ny, mode="drop"),
            x.at[sel].set(nx, mode="drop"),
            col.at[sel].set(ncol, mode="drop"),
            active.at[sel].set(nact, mode="drop"),
        )

    return lax.fori_loop(jnp.int32(0), (moving + tile - 1) // tile, body, (y, x, col, active))


def _filter(img: _Image, sp: float, sr: float, max_iter: int, eps: float, progress: Progress | None):
    """Host driver: the first step over blocks of rows, then one call per further step
    for the pixels still moving, until none moves or after ``max_iter`` steps."""
    h, w, c = img.color.shape
    # Windows are clipped to the image: no offset beyond its size is ever inside.
    radius = min(_window_radius(sp), max(h, w) - 1)
    k = 2 * radius + 1
    n = h * w
    tau, sign = _tie_table(min(k, h) * min(k, w))  # the most pixels a clipped window holds
    if img.dtype == np.uint8:
        # OpenCV tests integer squared distances against cvRound(sr^2), inclusive, and an
        # integer sum <= eps is a sum <= floor(eps).
        src = jnp.asarray(img.color)
        prm = _Params(
            jnp.float32(sp), jnp.int32(int(np.rint(sr * sr))),
            jnp.int32(min(math.floor(eps), 1 << 30)), jnp.asarray(tau), jnp.asarray(sign),
        )
    else:
        dtype = jnp.result_type(float) if img.dtype == np.float64 else jnp.float32
        src = jnp.asarray(img.color, dtype)
        prm = _Params(jnp.float32(sp), jnp.asarray(sr * sr, dtype), jnp.asarray(eps, dtype), jnp.asarray(tau), jnp.asarray(sign))

    # Blocks of about _CHUNK_PIXELS pixels, of equal height (one compilation).
    blocks = -(-n // _CHUNK_PIXELS)
    rows = -(-h // blocks)
    acc = jnp.int32 if img.dtype == np.uint8 else src.dtype
    first = jnp.pad(src.astype(acc), ((radius, radius + rows), (radius, radius), (0, 0))).transpose(2, 0, 1)
    parts = [_first_step(first, jnp.int32(r), prm, radius=radius, rows=rows) for r in range(0, h, rows)]
    del first
    padded = jnp.pad(src, ((radius, radius), (radius, radius), (0, 0)))
    tile = int(min(max(8, _WINDOW_BUDGET // (k * k)), n))
    size = -(-n // tile) * tile
    y, x, col, active = (
        jnp.pad(
            jnp.concatenate([p[i] for p in parts])[:h].reshape((n,) + parts[0][i].shape[2:]),
            [(0, size - n)] + [(0, 0)] * (parts[0][i].ndim - 2),
        )
        for i in range(4)
    )
    for _ in range(1, max_iter):
        moving = int(jnp.sum(active))
        if progress is not None:
            progress(n - min(moving, n), n)
        if moving == 0:
            break
        y, x, col, active = _next_step(padded, y, x, col, active, prm, radius=radius, tile=tile)
    if progress is not None:
        progress(n, n)
    out = np.asarray(col[:n]).reshape(h, w, c)
    return out.astype(np.uint8) if img.dtype == np.uint8 else out.astype(img.dtype)


def filter_image(
    image: ArrayLike,
    *,
    spatial_radius: float,
    range_radius: float,
    max_iter: int = 5,
    eps: float = 1.0,
    progress: Progress | None = None,
) -> np.ndarray:
    """Joint spatial-range mean-shift filtering (OpenCV's ``pyrMeanShiftFiltering``, level 0).

    Every pixel starts at ``(row, col, colour)`` and repeatedly moves to the mean of
    the pixels of the *input* image that lie in the square window
    ``[cvRound(p - spatial_radius), cvRound(p + spatial_radius)]`` around its current
    position ``p`` (clipped at the border) and whose colour is within
    ``range_radius`` of its current colour (flat kernel in both). Positions are
    rounded to the pixel grid after each step; for ``uint8`` images the colours are
    rounded too and the colour test is OpenCV's
    ``|c' - c|^2 <= cvRound(range_radius^2)`` on integers, which makes the output
    match ``cv2.pyrMeanShiftFiltering(src, sp, sr, maxLevel=0,
    termcrit=(MAX_ITER | EPS, max_iter, eps))``. A pixel stops after ``max_iter``
    steps, or when its position did not change, or when
    ``|dx| + |dy| + |dc|^2 <= eps``. The output pixel takes the final colour.

    It runs on the regular grid, jit-compiled: the first step (every pixel at its own
    place) as a loop over the window offsets of shifted copies of the image, in
    blocks of rows; each later step only for the pixels still moving, in tiles that
    gather their own windows. Working memory is bounded by the block and tile sizes,
    not by the image. Floats follow the same loop without rounding the colours, with
    the test ``|c' - c|^2 <= range_radius^2``.

    Args:
        image: ``[H, W]``, ``[H, W, 1]``, ``[H, W, 3]`` or ``[H, W, 4]`` (alpha is
            ignored and copied through), ``uint8`` or float.
        spatial_radius: half-size ``sp`` of the square spatial window, in pixels (> 0).
        range_radius: radius ``sr`` of the colour ball, in pixel-value units (> 0).
        max_iter: the most steps per pixel (>= 1; OpenCV caps it at 100).
        eps: stopping threshold (>= 0), see above.
        progress: optional callback ``progress(done_pixels, total_pixels)``, called
            after each step with the number of pixels that have stopped, and at the
            end with ``(total, total)``.

    Returns:
        The filtered image, same shape and dtype as ``image`` (a NumPy array).

    Raises:
        ValueError: for an image that is not uint8/float greyscale, RGB or RGBA, or a
            non-finite or out-of-range parameter.

    Examples:
        >>> import numpy as np
        >>> img = np.zeros((6, 8, 3), np.uint8); img[:, 4:] = 200; img[2, 2] = 10
        >>> out = filter_image(img, spatial_radius=2, range_radius=20)
        >>> out[2, 2].tolist(), out[0, 7].tolist()
        ([0, 0, 0], [200, 200, 200])
    """
    img = _as_image(image)
    sp = _number(spatial_radius, "spatial_radius")
    sr = _number(range_radius, "range_radius")
    max_iter = _integer(max_iter, "max_iter", minimum=1)
    eps = _number(eps, "eps", strict=False)
    return _restore(img, _filter(img, sp, sr, max_iter, eps, progress))


# ---------------------------------------------------------------------- segmentation


class Segmentation(NamedTuple):
    """Result of :func:`segment`.

    Attributes:
        labels: ``[H, W]`` int32 region labels ``0 .. n_regions - 1``.
        n_regions: the number of regions.
        colors: ``[n_regions, C]`` float64 mean colour of the input image's pixels
            in each region (``C`` = 1 or 3; alpha is not included).
        filtered: the output of :func:`filter_image`, same shape and dtype as the image.
    """

    labels: np.ndarray
    n_regions: int
    colors: np.ndarray
    filtered: np.ndarray


def _grid_edges(h: int, w: int):
    """Both ends ``(a, b)`` of every 4-neighbour pair of an ``h x w`` grid, row-major."""
    idx = np.arange(h * w, dtype=np.int64).reshape(h, w)
    a = np.concatenate([idx[:, :-1].ravel(), idx[:-1, :].ravel()])
    b = np.concatenate([idx[:, 1:].ravel(), idx[1:, :].ravel()])
    return a, b


def _components(n: int, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Connected components of the graph on ``0 .. n - 1`` with edges ``(a, b)``.

    Vectorised union-find: each round hooks every root onto the smallest root it
    shares an edge with, then compresses the paths by pointer jumping; a few
    rounds suffice on image grids. Returns each node's root (its smallest member).
    """
    parent = np.arange(n, dtype=np.int64)
    while a.size:
        ra, rb = parent[a], parent[b]
        keep = ra != rb
        a, b, ra, rb = a[keep], b[keep], ra[keep], rb[keep]
        if not a.size:
            break
        np.minimum.at(parent, np.maximum(ra, rb), np.minimum(ra, rb))
        while True:
            up = parent[parent]
            if np.array_equal(up, parent):
                break
            parent = up
    return parent


def _relabel(roots: np.ndarray):
    uniq, labels = np.unique(roots, return_inverse=True)
    return labels.astype(np.int64), uniq.size


def _region_means(labels, k, values):
    sizes = np.bincount(labels, minlength=k).astype(np.int64)
    sums = np.stack([np.bincount(labels, weights=values[:, j], minlength=k) for j in range(values.shape[1])], 1)
    return sizes, sums / np.maximum(sizes, 1)[:, None]


def _merge_small(labels, k, values, a, b, min_size):
    """Merge every region smaller than ``min_size`` pixels into the adjacent region of
    nearest mean colour, in rounds (merged regions are re-measured) until none is left
    or no small region has a neighbour."""
    while k > 1:
        sizes, means = _region_means(labels, k, values)
        small = sizes < min_size
        if not small.any():
            break
        la, lb = labels[a], labels[b]
        cut = la != lb
        u = np.concatenate([la[cut], lb[cut]])
        v = np.concatenate([lb[cut], la[cut]])
        sel = small[u]
        u, v = u[sel], v[sel]
        if not u.size:
            break
        dist = np.sum((means[u] - means[v]) ** 2, axis=1)
        order = np.lexsort((v, dist, u))  # per region u: nearest colour first, ties by label
        u, v = u[order], v[order]
        first = np.ones(u.size, bool)
        first[1:] = u[1:] != u[:-1]
        roots = _components(k, u[first], v[first])
        labels, k = _relabel(roots[labels])
    return labels, k


def segment(
    image: ArrayLike,
    *,
    spatial_radius: float,
    range_radius: float,
    min_region_size: int = 0,
    max_iter: int = 5,
    eps: float = 1.0,
    progress: Progress | None = None,
) -> Segmentation:
    """Mean-shift segmentation: joint spatial-range filtering, fusion, small-region merging.

    1. :func:`filter_image` moves every pixel to its joint spatial-range mode.
    2. Neighbouring pixels (4-connected) whose filtered colours are within
       ``range_radius`` of each other are fused into one region (transitively).
    3. While a region has fewer than ``min_region_size`` pixels, it is merged into
       the adjacent region whose mean colour is nearest.

    Steps 2 and 3 run on the host (NumPy, a vectorised union-find).

    Args:
        image: ``[H, W]``, ``[H, W, 1]``, ``[H, W, 3]`` or ``[H, W, 4]`` (alpha is
            ignored), ``uint8`` or float.
        spatial_radius: half-size of the square spatial window, in pixels (> 0).
        range_radius: radius of the colour ball, in pixel-value units (> 0).
        min_region_size: regions with fewer pixels are merged into a neighbour (>= 0).
        max_iter: the most filtering steps per pixel (>= 1).
        eps: the filtering stop threshold (>= 0), see :func:`filter_image`.
        progress: optional callback ``progress(done_pixels, total_pixels)`` for the
            filtering.

    Returns:
        :class:`Segmentation` ``(labels [H, W], n_regions, colors [n_regions, C], filtered)``.

    Raises:
        ValueError: as :func:`filter_image`, and for a bad ``min_region_size``.

    Examples:
        >>> import numpy as np
        >>> img = np.zeros((8, 8, 3), np.uint8); img[:, 4:] = (200, 40, 40); img[1, 1] = 30
        >>> seg = segment(img, spatial_radius=2, range_radius=10, min_region_size=2)
        >>> seg.n_regions, bool(seg.labels[:, :4].max() < seg.labels[:, 4:].min())
        (2, True)
        >>> seg.colors.round(1).tolist()
        [[0.9, 0.9, 0.9], [200.0, 40.0, 40.0]]
    """
    img = _as_image(image)
    sp = _number(spatial_radius, "spatial_radius")
    sr = _number(range_radius, "range_radius")
    min_region_size = _integer(min_region_size, "min_region_size", minimum=0)
    max_iter = _integer(max_iter, "max_iter", minimum=1)
    eps = _number(eps, "eps", strict=False)
    filtered = _filter(img, sp, sr, max_iter, eps, progress)
    h, w, c = img.color.shape
    modes = filtered.reshape(-1, c).astype(np.float64)
    a, b = _grid_edges(h, w)
    close = np.sum((modes[a] - modes[b]) ** 2, axis=1) <= sr * sr
    labels, k = _relabel(_components(h * w, a[close], b[close]))
    values = img.color.reshape(-1, c).astype(np.float64)
    if min_region_size > 1:
        labels, k = _merge_small(labels, k, values, a, b, min_region_size)
    _, colors = _region_means(labels, k, values)
    return Segmentation(labels.reshape(h, w).astype(np.int32), int(k), colors, _restore(img, filtered))


# -------------------------------------------------------------------- colour clusters


class ColorSegmentation(NamedTuple):
    """Result of :func:`segment_colors`.

    Attributes:
        labels: ``[H, W]`` int32 index into ``palette`` for every pixel.
        palette: ``[k, C]`` the mode colours (float, in pixel-value units; ``C`` = 1 or
            3), the densest mode first (scikit-learn's order).
        quantized: the image with every pixel replaced by its mode colour, same
            shape and dtype as the input (alpha copied through).
        bandwidth: the colour bandwidth used (given or estimated).
    """

    labels: np.ndarray
    palette: np.ndarray
    quantized: np.ndarray
    bandwidth: float


def _unique_colors(pixels: np.ndarray):
    """``(colours [u, C], inverse [n], counts [u])``; uint8 colours are packed into one
    integer key, which makes ``unique`` a 1-D sort."""
    if pixels.dtype == np.uint8:
        key = np.zeros(pixels.shape[0], np.int64)
        for j in range(pixels.shape[1]):
            key = (key << 8) | pixels[:, j]
        _, first, inverse, counts = np.unique(key, return_index=True, return_inverse=True, return_counts=True)
        return pixels[first], inverse.ravel(), counts
    colors, inverse, counts = np.unique(pixels, axis=0, return_inverse=True, return_counts=True)
    return colors, inverse.ravel(), counts


def segment_colors(
    image: ArrayLike,
    *,
    bandwidth: float | None = None,
    quantile: float = 0.1,
    n_samples: int | None = 100,
    bin_seeding: bool = True,
    kernel: str = "flat",
    random_state: int | None = 0,
) -> ColorSegmentation:
    """Mean-shift clustering of an image's colours (colour quantisation).

    Every pixel's colour climbs to a mode of the colour density, and pixels are
    labelled by their mode (scikit-learn's :class:`~jaxshift.cluster.MeanShift`
    semantics: modes within one bandwidth of a stronger one are merged, every pixel
    takes its nearest mode). Identical colours are clustered once, weighted by how
    many pixels have them, so the cost is that of the *distinct* colours: the
    result is that of clustering every pixel.

    Args:
        image: ``[H, W]``, ``[H, W, 1]``, ``[H, W, 3]`` or ``[H, W, 4]`` (alpha is
            ignored and copied to ``quantized``), ``uint8`` or float.
        bandwidth: colour radius in pixel-value units (> 0); ``None`` estimates it
            with :func:`~jaxshift.cluster.estimate_bandwidth` on ``n_samples``
            random pixels at ``quantile``.
        quantile: for the estimate, in ``(0, 1]``.
        n_samples: pixels for the estimate (``None``: all of them; slow for photos).
        bin_seeding: seed from a grid of the bandwidth's spacing instead of every
            distinct colour (much faster).
        kernel: the mean-shift kernel (``"flat"`` is scikit-learn's).
        random_state: seed for the pixel sample of the estimate.

    Returns:
        :class:`ColorSegmentation` ``(labels [H, W], palette [k, C], quantized, bandwidth)``.

    Raises:
        ValueError: for a bad image or parameter, before any work.

    Examples:
        >>> import numpy as np
        >>> img = np.zeros((4, 6, 3), np.uint8); img[:, 4:] = (250, 0, 0); img[0, 0] = (8, 4, 0)
        >>> res = segment_colors(img, bandwidth=20)
        >>> res.labels.tolist()
        [[0, 0, 0, 0, 1, 1], [0, 0, 0, 0, 1, 1], [0, 0, 0, 0, 1, 1], [0, 0, 0, 0, 1, 1]]
        >>> res.palette.round(1).tolist()
        [[0.5, 0.2, 0.0], [250.0, 0.0, 0.0]]
    """
    from . import cluster  # the scikit-learn layer; imported here so that filtering does not need it
    from .kernels import get_kernel

    img = _as_image(image)
    if bandwidth is not None:
        bandwidth = _number(bandwidth, "bandwidth")
    quantile = _number(quantile, "quantile")
    if quantile > 1:
        raise ValueError(f"quantile must be in (0, 1], got {quantile!r}")
    if n_samples is not None:
        n_samples = _integer(n_samples, "n_samples", minimum=1)
    if not isinstance(bin_seeding, (bool, np.bool_)):
        raise ValueError(f"bin_seeding must be True or False, got {bin_seeding!r}")
    get_kernel(kernel)
    if random_state is not None:
        random_state = _integer(random_state, "random_state", minimum=0)

    h, w, c = img.color.shape
    pixels = img.color.reshape(-1, c)
    dtype = np.float64 if img.dtype == np.float64 else np.float32
    colors, inverse, counts = _unique_colors(pixels)
    if bandwidth is None:
        bandwidth = float(cluster.estimate_bandwidth(
            pixels.astype(dtype), quantile=quantile, n_samples=n_samples, random_state=random_state,
        ))
        if bandwidth <= 0:  # every sampled pixel has the same colour
            bandwidth = 1.0 if img.dtype == np.uint8 else float(np.finfo(np.float32).eps)
    model = cluster.MeanShift(bandwidth=bandwidth, bin_seeding=bool(bin_seeding), kernel=kernel)
    model.fit(colors.astype(dtype), sample_weight=counts.astype(dtype))
    palette = np.asarray(model.cluster_centers_, np.float64) + 0.0  # no -0.0
    labels = np.asarray(model.labels_)[inverse].reshape(h, w).astype(np.int32)
    quantized = _restore(img, _to_dtype(palette[labels], img.dtype))
    return ColorSegmentation(labels, palette, quantized, float(bandwidth))


# ------------------------------------------------------------------------------ files


def load_image(path: str | os.PathLike) -> np.ndarray:
    """Read an image file with Pillow, as ``uint8``.

    Greyscale files give ``[H, W]``; files with transparency ``[H, W, 4]`` (RGBA);
    everything else ``[H, W, 3]`` (RGB).

    Args:
        path: the file.

    Returns:
        The pixels, ``uint8``.

    Raises:
        FileNotFoundError: if there is no such file.
        ValueError: if the file is not an image Pillow can read, or has more than
            8 bits per channel.
    """
    from PIL import Image, UnidentifiedImageError

    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"no such file: {path!r}")
    try:
        with Image.open(path) as im:
            im.load()
            mode = im.mode
            if mode in ("I", "I;16", "I;16B", "I;16L", "F"):
                raise ValueError(f"cannot read image {path!r}: {mode} pixels (more than 8 bits) are not supported")
            if mode in ("1", "L"):
                return np.asarray(im.convert("L"))
            alpha = mode in ("RGBA", "LA", "PA", "La", "RGBa") or "transparency" in im.info
            return np.asarray(im.convert("RGBA" if alpha else "RGB"))
    except (UnidentifiedImageError, OSError, SyntaxError) as exc:
        raise ValueError(f"cannot read image {path!r}: {exc}") from exc


def save_image(path: str | os.PathLike, image: ArrayLike) -> None:
    """Write an image file with Pillow (format from the file extension).

    Args:
        path: the file to write.
        image: ``[H, W]``, ``[H, W, 1]``, ``[H, W, 3]`` or ``[H, W, 4]``, ``uint8``,
            or float in ``[0, 1]`` (clipped, scaled to 0-255). Formats without
            transparency (JPEG) drop the alpha channel.

    Raises:
        ValueError: for a bad image or an unknown file extension.
    """
    from PIL import Image

    img = _as_image(image)
    a = np.asarray(image)
    if a.dtype != np.uint8:
        a = np.clip(np.rint(a.astype(np.float64) * 255.0), 0, 255).astype(np.uint8)
    if a.ndim == 3 and a.shape[2] == 1:
        a = a[:, :, 0]
    del img
    path = os.fspath(path)
    ext = os.path.splitext(path)[1].lower()
    Image.init()
    if ext not in Image.EXTENSION:
        raise ValueError(f"cannot save image to {path!r}: unknown file extension {ext!r}")
    if Image.EXTENSION[ext] == "JPEG" and a.ndim == 3 and a.shape[2] == 4:
        a = a[:, :, :3]
    Image.fromarray(a).save(path)
