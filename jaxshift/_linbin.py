"""Linear binning: weighted points spread onto the nodes of a regular grid.

A point between grid nodes gives each of the ``2^d`` nodes of its grid cell the share
``prod_l (1 - |t_l - i_l|)`` of its weight (``t`` the point in grid units, ``i`` the node):
the mass a KDE sees moves by less than one grid step, its mean is kept exactly, and the
shares are continuous, piecewise linear functions of the point (so gradients with respect
to the data exist almost everywhere). Under the binned FFT KDE (:mod:`jaxshift._binned`)
and the improved Sheather-Jones bandwidth (:mod:`jaxshift._isj`).

References:
    Wand & Jones (1995), *Kernel Smoothing*, appendix D (binning);
    Fan & Marron (1994), "Fast implementations of nonparametric curve estimators".
"""

from __future__ import annotations

import itertools

import jax
import jax.numpy as jnp
from jax import lax

# The FFT grid is (2 size)^d points: a cap that keeps it below about a gigabyte.
MAX_FFT_POINTS = 1 << 26


def linear_binning(data, weights, lo, hi, size: int):
    """Grid counts ``[size] * d`` of ``data`` ``[n, d]`` with ``weights`` ``[n]``.

    The grid has ``size`` nodes per feature, from ``lo`` to ``hi`` (``[d]`` each, both
    ends included). Points outside ``[lo, hi]`` (in any feature) add nothing; the
    callers check on concrete inputs that there are none.
    """
    n, d = data.shape
    step = (hi - lo) / (size - 1)
    t = (data - lo) / step
    inside = jnp.all((data >= lo) & (data <= hi), axis=1)
    # A point on the upper edge belongs to the last cell (with share 1 on its last node).
    t = jnp.clip(t, 0.0, size - 1.0)
    # A point within rounding of a node is put on it (its value only; the gradient is
    # t's). XLA may compute t more than once within one program, rounded differently
    # (say 62.99999999999999 for the cell and 63.00000000000001 for the share): a point
    # on node 63 then gave all its weight to node 62 (seen compiled, in float64). Both
    # roundings snap to 63.
    nearest = jnp.round(t)
    close = jnp.abs(t - nearest) <= 16 * jnp.finfo(t.dtype).eps * jnp.maximum(nearest, 1.0)
    t = t + lax.stop_gradient(jnp.where(close, nearest - t, 0.0))
    base = jnp.clip(jnp.floor(jax.lax.stop_gradient(t)), 0.0, size - 2.0)
    frac = t - base
    base = base.astype(jnp.int32)
    w = jnp.where(inside, weights, 0.0)
    strides = [size ** (d - 1 - j) for j in range(d)]
    # The two corners that differ in the last feature go in one complex scatter: the real
    # part to the lower node, the imaginary part to be moved one node up after (the lower
    # node is at most size - 2 there, so nothing crosses a row). Half the scatters, whose
    # cost is per update: 1-D 1M points, 1.6 -> 1.2 ms.
    last = frac[:, d - 1]
    counts = jnp.zeros((size**d,), jnp.result_type(data.dtype, jnp.complex64))
    for corner in itertools.product((0, 1), repeat=d - 1):
        index = base[:, d - 1] + sum((base[:, j] + c) * s for j, (c, s) in enumerate(zip(corner, strides[:-1], strict=True)))
        share = w
        for j, c in enumerate(corner):
            share = share * (frac[:, j] if c else 1.0 - frac[:, j])
        counts = counts + jax.ops.segment_sum(lax.complex(share * (1.0 - last), share * last), index,
                                              num_segments=size**d)
    up = jnp.concatenate([jnp.zeros((1,), data.dtype), jnp.imag(counts)[:-1]])
    return (jnp.real(counts) + up).reshape((size,) * d)
