"""NumPy arrays onto the jitted pipeline: float64 work with x64 switched on for the
call, and rows padded to a few bucket sizes so that new sizes seldom compile anew."""

from __future__ import annotations

import contextlib

import jax
import jax.numpy as jnp
import numpy as np

from .._neighbours import nearest
from ._pipeline import _climb, _merge


@contextlib.contextmanager
def _precision(dtype):
    """Float64 work needs x64 on for the call (JAX defaults to float32)."""
    if np.dtype(dtype) == np.float64 and not jax.config.jax_enable_x64:
        with jax.enable_x64(True):
            yield
    else:
        yield


def _bucket(m):
    """A padded size for ``m`` rows, so that new sizes seldom mean a new compilation:
    the next power of two up to 2048, then the next multiple of 2048 (the hot loop
    pads to its blocks anyway)."""
    if m <= 2048:
        return max(16, 1 << (m - 1).bit_length())
    return -(-m // 2048) * 2048


def _pad(a, size, fill_row=0):
    """Pad the rows of ``a`` to ``size`` with copies of row ``fill_row``."""
    extra = size - a.shape[0]
    if extra <= 0:
        return a
    return np.concatenate([a, np.repeat(a[fill_row:fill_row + 1], extra, axis=0)])


def _climb_host(seeds, X, weights, bandwidth, max_iter, kernel):
    """:func:`~jaxshift.cluster._pipeline._climb` on NumPy arrays in ``X``'s dtype
    (float64 with x64 on), with seeds and data padded to bucket sizes (frozen seeds,
    zero-weight points). Returns ``(modes, n_iter, intensity, pairs)`` (``n_iter``: updates per seed)."""
    m, n = len(seeds), len(X)
    dtype = X.dtype
    w = np.ones(n, dtype) if weights is None else np.asarray(weights, dtype)
    seeds_p = _pad(np.asarray(seeds, dtype), _bucket(m))
    X_p = _pad(X, _bucket(n))
    w_p = np.concatenate([w, np.zeros(len(X_p) - n, dtype)])
    with _precision(dtype):
        res = _climb(
            jnp.asarray(seeds_p), jnp.asarray(X_p), jnp.asarray(bandwidth, dtype), jnp.asarray(w_p),
            jnp.asarray(max_iter + 1, jnp.int32), jnp.asarray(1e-3 * np.asarray(bandwidth), dtype),
            jnp.asarray(np.arange(len(seeds_p)) >= m),
            kernel=kernel,
        )
        modes, n_iter, intensity = (np.asarray(a)[:m] for a in res[:3])
    return modes, n_iter, intensity, float(res.pairs)


_merge_jit = jax.jit(_merge)


def _merge_host(modes, intensity, bandwidth):
    """scikit-learn's post-processing (:func:`~jaxshift.cluster._pipeline._merge`) of
    NumPy modes with positive intensity, in float64 (as scikit-learn's trees), padded
    to a bucket size: ``(centres, intensities)`` kept, most intense first, in the
    modes' dtype."""
    m = len(modes)
    size = _bucket(m)
    with _precision(np.float64):
        order, keep = _merge_jit(
            jnp.asarray(_pad(np.asarray(modes, np.float64), size)),
            jnp.asarray(np.concatenate([np.asarray(intensity, np.float64), np.full(size - m, -1.0)])),
            jnp.asarray(np.arange(size) < m),
            jnp.asarray(bandwidth, np.float64),
        )
        order, keep = np.asarray(order), np.asarray(keep)
    chosen = order[keep]
    return modes[chosen], intensity[chosen]


def _nearest_host(X, centres, bandwidth):
    """``(index, squared distance, scaled)`` from each row of ``X`` to its nearest
    centre, blocked in JAX (padded to bucket sizes)."""
    dtype = np.result_type(X.dtype, centres.dtype)
    h = np.asarray(bandwidth, dtype)
    scaled = h.ndim == 1
    n, k = len(X), len(centres)
    X_p = _pad(np.asarray(X, dtype), _bucket(n))
    c_p = _pad(np.asarray(centres, dtype), _bucket(k))
    with _precision(dtype):
        arg, d2 = nearest(
            jnp.asarray(X_p), jnp.asarray(c_p), jnp.asarray(np.arange(len(c_p)) < k),
            jnp.asarray(h if scaled else 1.0, dtype), scaled=scaled,
        )
        arg, d2 = np.asarray(arg)[:n], np.asarray(d2)[:n]
    return arg.astype(np.intp), d2, scaled
