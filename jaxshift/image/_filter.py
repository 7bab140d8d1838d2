"""Joint spatial-range filtering with OpenCV's semantics (``pyrMeanShiftFiltering``, level 0).

Every pixel climbs in ``(row, col, colour)`` space on the regular grid: the first step
(every pixel at its own place) as a loop over window offsets of shifted copies of the
image, the later steps only for the pixels still moving, in tiles that gather their own
windows. Integer arithmetic reproduces OpenCV's rounding of means (:func:`_round_div`).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax
from jax.sharding import PartitionSpec as P
from jax.typing import ArrayLike

from .. import _shard
from .._validate import positive_int
from ._io import _as_image, _Image, _number, _restore

__all__ = ["Progress", "filter_image"]

Progress = Callable[[int, int], None]

# Pixels per tile times window pixels: bounds the gathered windows of one tile
# (``tile * (2r + 1)^2 * C`` values), whatever the image size.
_WINDOW_BUDGET = 1 << 17
# Pixels per row block of the first step: its accumulators stay in cache (measured on
# 2 CPU cores: 8192 was ~1.6x faster than 65536, and faster than 2048).
_CHUNK_PIXELS = 1 << 13


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


@functools.partial(jax.jit, static_argnames=("radius", "tile", "mesh"))
def _next_step_spread(padded, y, x, col, active, prm: _Params, *, radius, tile, mesh):
    """:func:`_next_step` under ``shard_map``: the pixels split over the mesh's axis (each
    device compacts and steps its own moving pixels), the image on every device."""
    ax = _shard.spec(tuple(mesh.axis_names))

    def local(y, x, col, active, padded, prm):
        return _next_step(padded, y, x, col, active, prm, radius=radius, tile=tile)

    return _shard.run(local, mesh, (ax,) * 4 + (P(), P()), (ax,) * 4, y, x, col, active, padded, prm)


def _filter(img: _Image, sp: float, sr: float, max_iter: int, eps: float, progress: Progress | None, mesh=None):
    """Host driver: the first step over blocks of rows, then one call per further step
    for the pixels still moving, until none moves or after ``max_iter`` steps. ``mesh``
    (one axis): the row blocks of the first step go to its devices in turn, and the
    pixels of the later steps are split over them."""
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
    devices = list(mesh.devices.flat) if mesh is not None else [None]
    firsts = [first if d is None else jax.device_put(first, d) for d in devices]
    parts = [_first_step(firsts[i % len(devices)], jnp.int32(r), prm, radius=radius, rows=rows)
             for i, r in enumerate(range(0, h, rows))]
    if mesh is not None:  # back on one device to be put together
        parts = [jax.device_put(p, devices[0]) for p in parts]
        src = jax.device_put(src, jax.sharding.NamedSharding(mesh, P()))
    del first, firsts
    padded = jnp.pad(src, ((radius, radius), (radius, radius), (0, 0)))
    tile = int(min(max(8, _WINDOW_BUDGET // (k * k)), n))
    size = -(-n // (tile * len(devices))) * tile * len(devices)  # padding: pixels that never move
    y, x, col, active = (
        jnp.pad(
            jnp.concatenate([p[i] for p in parts])[:h].reshape((n,) + parts[0][i].shape[2:]),
            [(0, size - n)] + [(0, 0)] * (parts[0][i].ndim - 2),
        )
        for i in range(4)
    )
    if mesh is not None:
        on = jax.sharding.NamedSharding(mesh, _shard.spec(tuple(mesh.axis_names)))
        y, x, col, active = (jax.device_put(a, on) for a in (y, x, col, active))
        prm = jax.device_put(prm, jax.sharding.NamedSharding(mesh, P()))
    for _ in range(1, max_iter):
        moving = int(jnp.sum(active))
        if progress is not None:
            progress(n - min(moving, n), n)
        if moving == 0:
            break
        if mesh is None:
            y, x, col, active = _next_step(padded, y, x, col, active, prm, radius=radius, tile=tile)
        else:
            y, x, col, active = _next_step_spread(padded, y, x, col, active, prm, radius=radius, tile=tile,
                                                  mesh=mesh)
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
    devices=None,
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
        devices: spread the work over devices: ``None`` (one device), an int (the
            first that many of ``jax.devices()``) or a list of devices. The first
            step's row blocks go to the devices in turn; the later steps split the
            pixels (padded with pixels that never move). The result is identical.

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
    max_iter = positive_int(max_iter, "max_iter", minimum=1)
    eps = _number(eps, "eps", strict=False)
    mesh = _shard.devices_mesh(devices)
    return _restore(img, _filter(img, sp, sr, max_iter, eps, progress, mesh))

