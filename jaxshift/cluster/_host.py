"""NumPy arrays onto the jitted pipeline: float64 work with x64 switched on for the
call, and rows padded to a few bucket sizes so that new sizes seldom compile anew."""

from __future__ import annotations

import contextlib

import jax
import jax.numpy as jnp
import numpy as np

from .. import _grid
from .._neighbours import nearest
from .._rows import first_in_bins, unique_rows
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
    the next power of two from 64 up to 2048, then the next multiple of 2048 (the hot
    loop pads to its blocks anyway). Below 64 rows the padding (frozen seeds,
    zero-weight points) costs next to nothing, and every small problem shares one
    program instead of one per power of two."""
    if m <= 2048:
        return max(64, 1 << (m - 1).bit_length())
    return -(-m // 2048) * 2048


def _pad(a, size, fill_row=0):
    """Pad the rows of ``a`` to ``size`` with copies of row ``fill_row``."""
    extra = size - a.shape[0]
    if extra <= 0:
        return a
    return np.concatenate([a, np.repeat(a[fill_row:fill_row + 1], extra, axis=0)])


def _climb_host(seeds, X, weights, bandwidth, max_iter, kernel, algorithm="auto", mesh=None):
    """:func:`~jaxshift.cluster._pipeline._climb` on NumPy arrays in ``X``'s dtype
    (float64 with x64 on), with seeds and data padded to bucket sizes (frozen seeds,
    zero-weight points). Returns ``(modes, n_iter, intensity, pairs)`` (``n_iter``: updates per seed).
    ``mesh``: the seeds split over its (one) axis."""
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
            kernel=kernel, algorithm=algorithm, mesh=mesh,
        )
        modes, n_iter, intensity = (np.asarray(a)[:m] for a in res[:3])
    return modes, n_iter, intensity, float(res.pairs)


def _grid_climb_host(seeds, X, weights, bandwidth, max_iter, kernel):
    """Grid mean shift (:mod:`jaxshift._grid`) on NumPy arrays, as :func:`_climb_host`, with
    the seeds thinned where their paths join: one per stage-1 cell before stage 1, one per
    distinct stage-1 mode before stage 2 (equal points take equal steps). Returns
    ``(modes, n_iter, intensity, pairs)`` for the seeds that climbed (fewer than given)."""
    dtype = X.dtype
    _grid.check_features(X.shape[1])
    seeds = _one_seed_per_cell(seeds, bandwidth, dtype)
    m, n = len(seeds), len(X)
    w = np.ones(n, dtype) if weights is None else np.asarray(weights, dtype)
    X_p = jnp.asarray(_pad(X, _bucket(n)))
    w_p = jnp.asarray(np.concatenate([w, np.zeros(_bucket(n) - n, dtype)]))
    h = np.asarray(bandwidth, dtype)
    refine = _grid.default_refine(X.shape[1])
    with _precision(dtype):
        args = (X_p, jnp.asarray(h), w_p, jnp.asarray(max_iter + 1, jnp.int32), jnp.asarray(1e-3 * h, dtype))
        size = _bucket(m)
        state, overflow = _grid.coarse_jit(jnp.asarray(_pad(seeds, size)), *args, jnp.asarray(np.arange(size) >= m))
        if overflow:
            raise _grid.overflow_error(bandwidth, 1, dtype)
        state = {k: np.asarray(v)[:m] for k, v in state.items()}
        go = state["converged"]
        if refine and go.any():
            _, first, _, _ = unique_rows(state["x"][go], return_index=True)
            reps = np.flatnonzero(go)[first]
            k = len(reps)
            size = _bucket(k)
            moving = {key: jnp.asarray(_pad(v[reps], size)) for key, v in state.items()}
            moving["stopped"] = jnp.asarray(np.arange(size) >= k)  # padding stays put
            moving["converged"] = jnp.asarray(np.arange(size) < k)
            moving, overflow = _grid.fine_jit(moving, *args, kernel=kernel, refine=refine)
            if overflow:
                raise _grid.overflow_error(bandwidth, refine, dtype)
            moving = {key: np.asarray(v)[:k] for key, v in moving.items()}
            state = {key: np.concatenate([v[~go], moving[key]]) for key, v in state.items()}
    return state["x"], state["n_iter"], state["weight"], 0.0


def _one_seed_per_cell(seeds, bandwidth, dtype):
    """The first seed of each grid cell (``round(seed / bandwidth)``, in ``dtype``), in
    order: on the grid, seeds that share a cell share their path after one step."""
    seeds = np.asarray(seeds, dtype)
    return seeds[first_in_bins(np.round(seeds / np.asarray(bandwidth, dtype)) + 0.0)]  # -0.0, 0.0: one cell


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
    # Few centres (the usual case) pad to 8, not to 64: every query is compared with every
    # padded centre, so 5 centres padded to 64 cost ~5x the time of all the labelling.
    c_p = _pad(np.asarray(centres, dtype), 8 if k <= 8 else _bucket(k))
    with _precision(dtype):
        arg, d2 = nearest(
            jnp.asarray(X_p), jnp.asarray(c_p), jnp.asarray(np.arange(len(c_p)) < k),
            jnp.asarray(h if scaled else 1.0, dtype), scaled=scaled,
        )
        arg, d2 = np.asarray(arg)[:n], np.asarray(d2)[:n]
    return arg.astype(np.intp), d2, scaled
