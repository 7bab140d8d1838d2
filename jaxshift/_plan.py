"""The data's plan for the hot loop (:mod:`jaxshift._pairwise`): blocks, their centres
and boxes, and the Morton order of the ``"pruned"`` plan; the algorithm choice and the
block sizes.

``"dense"`` keeps the input order; ``"pruned"`` sorts the points along a Morton
(Z-order) curve of the data's box, so that a block is a compact piece of space whose
box the loop can test for reach (see :mod:`jaxshift._pairwise` for the loop and the
reach bounds).
"""

from __future__ import annotations

import math
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

from . import _validate
from .kernels import Kernel

QUERY_BLOCK = 256
DATA_BLOCK = 2048
PRUNED_QUERY_BLOCK = 64
PRUNED_DATA_BLOCK = 256
ALGORITHMS = _validate.ALGORITHMS
_MORTON_BITS = 64  # two uint32 words


class DataPlan(NamedTuple):
    """The data side of the hot loop, cut into blocks (built once per data set).

    Attributes:
        y: ``[nb, bn, d]`` points minus their block's centre.
        w: ``[nb, bn]`` weights (0 for padding).
        centre: ``[nb, d]`` each block's centre, one of its points (stop-gradient):
            on a lattice (integers, pixel values) the differences stay exact.
        lo, hi: ``[nb, d]`` each block's bounding box (stop-gradient).
        wsum: ``[nb]`` each block's total weight (stop-gradient).
        ids: ``[nb, bn]`` int32 original index of each point (``-2`` for padding).
        raw: ``[nb, bn, d]`` the points themselves (for blocks too wide for the GEMM form).
    """

    y: jax.Array
    w: jax.Array
    centre: jax.Array
    lo: jax.Array
    hi: jax.Array
    wsum: jax.Array
    ids: jax.Array
    raw: jax.Array


def _blocks(a, size, fill=0):
    """Pad the leading axis of ``a`` to a multiple of ``size`` and split it into blocks."""
    n = a.shape[0]
    nb = max(-(-n // size), 1)
    pad = nb * size - n
    if pad:
        a = jnp.pad(a, [(0, pad)] + [(0, 0)] * (a.ndim - 1), constant_values=fill)
    return a.reshape((nb, size) + a.shape[1:])


def _blocks_edge(a, size):
    """As :func:`_blocks`, padding with copies of the last row (boxes stay tight)."""
    n = a.shape[0]
    nb = max(-(-n // size), 1)
    pad = nb * size - n
    if pad:
        a = jnp.concatenate([a, jnp.repeat(a[-1:], pad, axis=0)])
    return a.reshape((nb, size) + a.shape[1:])


def _centre(points):
    """Per feature, the value nearest the mean among ``points`` ``[k, d]``: as good a
    centre as the mean for the GEMM form's accuracy, and on a lattice (integers, pixel
    values) subtracting it is exact, so lattice distances come out exact."""
    mean = jnp.mean(points, axis=0)
    nearest = jnp.argmin(jnp.abs(points - mean), axis=0)
    return jnp.take_along_axis(points, nearest[None, :], axis=0)[0]


def morton_keys(points, lo, hi):
    """Two uint32 words of the Morton (Z-order) code of ``points`` ``[k, d]`` on a grid
    over the box ``[lo, hi]``: ``64 // d`` bits per feature (at most 24, float32's
    resolution); sort by ``(hi_word, lo_word)``. Points outside the box are clipped."""
    k, d = points.shape
    bits = max(1, min(_MORTON_BITS // max(d, 1), 24))
    levels = (1 << bits) - 1
    span = hi - lo
    scale = jnp.where(span > 0, levels / jnp.where(span > 0, span, 1.0), 0.0)
    q = jnp.clip(jnp.floor((points - lo) * scale), 0, levels).astype(jnp.uint32)
    # Bit b of feature f goes to position (bits - 1 - b) * d + f from the top of the code.
    pos = (bits - 1 - np.arange(bits))[None, :] * d + np.arange(d)[:, None]  # [d, bits]
    bit = (q[:, :, None] >> jnp.arange(bits, dtype=jnp.uint32)) & jnp.uint32(1)  # [k, d, bits]
    words = []
    for w in range(2):
        inside = (pos >= 32 * w) & (pos < 32 * (w + 1))
        shift = jnp.asarray(np.where(inside, 31 - (pos - 32 * w), 0), jnp.uint32)
        words.append(jnp.sum(jnp.where(jnp.asarray(inside), bit << shift, jnp.uint32(0)), axis=(1, 2),
                             dtype=jnp.uint32))
    return words[0], words[1]


def choose_algorithm(algorithm: str, m: int, n: int, d: int, kernel: Kernel | None = None) -> str:
    """``"dense"`` or ``"pruned"`` (static: from shapes and the kernel only).

    ``"auto"`` prunes for a compact kernel when the data fill more than a few blocks and
    the dimension is low enough for boxes to separate (``d <= 6``): in high dimension
    almost every box pair is within a bandwidth of another, and the dense plan's larger
    blocks run faster per pair. The gaussian stays dense under ``"auto"``: its reach is
    ~7-9 bandwidths (float32/float64 rounding), so at the usual bandwidths most block
    pairs are in reach and the dense plan's larger blocks win (measured on the benchmark's
    3-D mixture at Scott's bandwidth: 60-90% of pairs in reach, pruned no faster); pass
    ``algorithm="pruned"`` for data spread over many bandwidths.
    """
    _validate.algorithm(algorithm)
    if algorithm != "auto":
        return algorithm
    if kernel is not None and kernel.support == math.inf:
        return "dense"
    return "pruned" if d <= 6 and n > 4 * PRUNED_DATA_BLOCK and m >= 1 else "dense"


def block_shape(algorithm: str, query_block: int | None, data_block: int | None) -> tuple[int, int]:
    """The block sizes for an algorithm, defaults filled in."""
    if algorithm == "pruned":
        return query_block or PRUNED_QUERY_BLOCK, data_block or PRUNED_DATA_BLOCK
    return query_block or QUERY_BLOCK, data_block or DATA_BLOCK


def plan_data(data, weights, *, data_block: int, pruned: bool, ids=None) -> DataPlan:
    """Cut ``data`` ``[n, d]`` (weights ``[n]``) into blocks of ``data_block`` points,
    sorted along a Morton curve when ``pruned``. The order, centres and boxes do not
    depend on the bandwidth, so a ``vmap`` over bandwidths shares them. ``ids`` ``[n]``
    int32: each point's index (default ``0 .. n - 1``; a device's slice of a split data
    set passes its global indices)."""
    data, weights = jnp.asarray(data), jnp.asarray(weights)
    n, d = data.shape
    bn = min(data_block, n)
    ids = jnp.arange(n, dtype=jnp.int32) if ids is None else jnp.asarray(ids, jnp.int32)
    fixed = lax.stop_gradient(data)
    if pruned:
        lo, hi = jnp.min(fixed, axis=0), jnp.max(fixed, axis=0)
        k_hi, k_lo = morton_keys(fixed, lo, hi)
        order = jnp.lexsort((k_lo, k_hi))
        data, weights, ids, fixed = data[order], weights[order], ids[order], fixed[order]
    yb = _blocks_edge(data, bn)
    fb = _blocks_edge(fixed, bn)
    wb = _blocks(weights, bn)  # padding has weight 0
    ib = _blocks(ids, bn, fill=-2)
    centre = jax.vmap(_centre)(fb)
    return DataPlan(
        y=yb - centre[:, None, :],
        w=wb,
        centre=centre,
        lo=jnp.min(fb, axis=1),
        hi=jnp.max(fb, axis=1),
        wsum=lax.stop_gradient(jnp.sum(wb, axis=1)),
        ids=ib,
        raw=yb,
    )
