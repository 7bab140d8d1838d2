"""Mean-shift clustering: a drop-in for scikit-learn's, and a ``jit``-able pipeline.

Change ``from sklearn.cluster import MeanShift, estimate_bandwidth, get_bin_seeds,
mean_shift`` to ``from jaxshift.cluster import ...`` and get the same results: the
flat kernel with scikit-learn's ``<=`` radius test, its ``1e-3 * bandwidth`` stop,
up to ``max_iter + 1`` mean updates per seed, the merge of near-duplicate centres
by intensity (ties broken by the centre's coordinates, as scikit-learn does), 1-NN
labels with ``-1`` orphans when ``cluster_all=False``, and its zero-bandwidth
behaviour. The mode seeking runs on the jaxshift hot loop
(:func:`jaxshift._pairwise.kernel_sums`) for all seeds at once, instead of one
Python loop per seed; float64 input is computed in float64 (x64 is switched on
for the call), float32 input in float32.

Beyond scikit-learn (defaults keep its behaviour): ``kernel=`` (any jaxshift
kernel), ``sample_weight=`` in ``fit``, ``predict(X, shift=True)`` (run mean shift
from the new points, scikit-learn issue #16171), ``bandwidth="scott"`` and other
rules of :mod:`jaxshift.bandwidth`, and
:func:`cluster`, the whole pipeline as a pure function for ``jax.jit``/``jax.vmap``
with a static ``capacity``.

References:
    Comaniciu & Meer (2002), "Mean shift: a robust approach toward feature space
    analysis", IEEE TPAMI 24(5). scikit-learn ``sklearn/cluster/_mean_shift.py``
    (the parity target, version 1.9).
"""

from __future__ import annotations

import contextlib
import functools
import inspect
import numbers
import warnings
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax
from jax.typing import ArrayLike

from . import _validate
from . import bandwidth as _bandwidth_rules
from ._meanshift import _STATIC, climb
from ._neighbours import kth_neighbour_sq_dist as _kth_neighbour_sq_dist
from ._neighbours import nearest as _nearest
from ._pairwise import choose_algorithm, kernel_sums
from .kernels import Kernel, get_kernel, shadow

__all__ = [
    "Clusters",
    "InvalidParameterError",
    "MeanShift",
    "NotFittedError",
    "cluster",
    "estimate_bandwidth",
    "get_bin_seeds",
    "mean_shift",
]


class InvalidParameterError(ValueError, TypeError):
    """A parameter has a bad type or value (as scikit-learn's, a ``ValueError``)."""


class NotFittedError(ValueError, AttributeError):
    """The estimator is used before ``fit`` (as scikit-learn's)."""


# --------------------------------------------------------------------------- JAX parts


class _Climb(NamedTuple):
    modes: jax.Array  # [m, d]
    n_iter: jax.Array  # [m] int32: mean updates taken (scikit-learn's completed_iterations + 1)
    intensity: jax.Array  # [m]: weight within one bandwidth of the position before the last update
    pairs: jax.Array  # []: query-data pairs the hot loop evaluated


@functools.partial(jax.jit, static_argnames=_STATIC)
def _climb(seeds, data, bandwidth, weights, max_updates, tol, frozen=None, *, kernel, algorithm="auto",
           query_block=None, data_block=None):
    """All seeds at once on the one driver (:func:`jaxshift._meanshift.climb`), with
    scikit-learn's ``_mean_shift_single_seed`` semantics.

    A seed stops after the update that moved it by ``<= tol`` or after
    ``max_updates`` updates. Its intensity is what scikit-learn reports: the
    (weighted) number of points within one bandwidth of where it stood before its
    last update, i.e. the points whose mean it ended at. A seed with no point in
    reach stays put with intensity 0. ``frozen`` seeds (padding) never move.
    """
    res = climb(seeds, data, bandwidth, weights, max_updates, tol, frozen, kernel=kernel, algorithm=algorithm,
                query_block=query_block, data_block=data_block)
    if kernel.power == 0:
        count = res.weight
    else:
        count = kernel_sums(
            res.prev, data, weights, bandwidth, get_kernel("flat"), with_mean=False, algorithm=algorithm,
            query_block=query_block, data_block=data_block,
        ).s
    return _Climb(res.modes, res.n_iter, count, res.pairs)


def _within(diff, bandwidth):
    """``[m]`` bool: is each row of ``diff`` ``[m, d]`` within one bandwidth (``<=``)?

    One bandwidth ``h``: scikit-learn's radius test, ``sum(diff^2) <= h^2`` with the
    features summed in order, as its trees do (exact on a lattice: integer data and
    bandwidth; ``h = 0``: equal points). Where ``h^2`` is not a normal float (``h``
    below about ``1e-154`` or above ``1e154`` in float64, ``1e-19`` and ``1e19`` in
    float32) that test would under- or overflow, and the scaled form
    ``sum((diff / h)^2) <= 1`` is used.
    One bandwidth per feature: the scaled form.
    """
    scaled = jnp.zeros(diff.shape[:1], diff.dtype)
    for f in range(diff.shape[1]):
        z = diff[:, f] / (bandwidth if jnp.ndim(bandwidth) == 0 else bandwidth[f])
        scaled = scaled + z * z
    if jnp.ndim(bandwidth) != 0:
        return scaled <= 1.0
    u = jnp.zeros(diff.shape[:1], diff.dtype)
    for f in range(diff.shape[1]):
        u = u + diff[:, f] * diff[:, f]
    hh = bandwidth * bandwidth
    normal = ((hh >= jnp.finfo(diff.dtype).tiny) | (bandwidth == 0)) & (hh < jnp.inf)
    return jnp.where(normal, u <= hh, scaled <= 1.0)


def _merge(modes, intensity, live, bandwidth):
    """scikit-learn's post-processing of the modes: ``(order [m], keep [m])``.

    ``order`` sorts by intensity descending, ties by the centre's coordinates
    descending (scikit-learn sorts ``(intensity, tuple(centre))`` with
    ``reverse=True``); ``keep`` (in that order) marks the centres kept: walking the
    order, a kept centre removes every later one within one bandwidth
    (:func:`_within`). Only ``live`` modes are candidates (scikit-learn's seeds with
    points in reach; ``False`` for padding). A loop over the kept centres only: the
    work is ``O(kept * m * d)``.

    Used by :func:`cluster` (traced) and, on padded float64 arrays, by
    ``MeanShift.fit``.
    """
    m = modes.shape[0]
    keys = [modes[:, j] for j in range(modes.shape[1] - 1, -1, -1)] + [intensity]
    order = jnp.lexsort(keys)[::-1]
    centres = modes[order]
    idx = jnp.arange(m)

    def first_kept(keep, after):
        return jnp.min(jnp.where(keep & (idx > after), idx, m))

    def body(state):
        i, keep = state
        keep = keep & ~(_within(centres - centres[i], bandwidth) & (idx > i))
        return first_kept(keep, i), keep

    keep = live[order]
    _, keep = lax.while_loop(lambda s: s[0] < m, body, (first_kept(keep, -1), keep))
    return order, keep



# ------------------------------------------------------------------ the jit-able pipeline


class Clusters(NamedTuple):
    """Result of :func:`cluster`: fixed-size, so it lives inside ``jit``/``vmap``.

    Attributes:
        centres: ``[capacity, d]`` cluster centres, most intense first (as
            ``MeanShift.cluster_centers_``); rows past ``n_clusters`` are 0.
        valid: ``[capacity]`` bool, which rows of ``centres`` are clusters.
        labels: ``[n]`` int32, each data point's nearest valid centre (``-1`` for
            orphans farther than one bandwidth when ``cluster_all=False``).
        n_clusters: ``[]`` int32, how many clusters were found; it may exceed
            ``capacity``, then only the ``capacity`` most intense are kept.
        overflow: ``[]`` bool, ``n_clusters > capacity``.
        intensity: ``[capacity]``, each centre's weight within one bandwidth.
        n_iter: ``[]`` int32, scikit-learn's ``n_iter_``.
    """

    centres: jax.Array
    valid: jax.Array
    labels: jax.Array
    n_clusters: jax.Array
    overflow: jax.Array
    intensity: jax.Array
    n_iter: jax.Array


def cluster(
    data: ArrayLike,
    *,
    bandwidth: ArrayLike,
    seeds: ArrayLike,
    capacity: int,
    kernel: str | Kernel = "flat",
    weights: ArrayLike | None = None,
    max_iter: int = 300,
    cluster_all: bool = True,
    algorithm: str = "auto",
    query_block: int | None = None,
    data_block: int | None = None,
) -> Clusters:
    """Mean-shift clustering as one pure function, for ``jax.jit`` and ``jax.vmap``.

    The same algorithm as :class:`MeanShift` (mode seeking from ``seeds``, merge of
    modes within one bandwidth by intensity, 1-NN labels) with fixed output shapes:
    at most ``capacity`` centres plus a validity mask, and ``overflow`` set when
    more clusters were found than fit (never silent). ``bandwidth``, ``data``,
    ``seeds``, ``weights`` and ``max_iter`` may be traced.

    Args:
        data: ``[n, d]``.
        bandwidth: positive scalar or ``[d]``.
        seeds: ``[m, d]`` starting points (e.g. ``data`` itself, or
            :func:`get_bin_seeds` outside ``jit``).
        capacity: the most centres returned (static).
        kernel: kernel name or :class:`~jaxshift.kernels.Kernel` (static).
        weights: ``[n]`` non-negative sample weights.
        max_iter: scikit-learn's ``max_iter`` (up to ``max_iter + 1`` updates).
        cluster_all: label orphans with their nearest centre (``True``) or ``-1``.
        algorithm: ``"auto"``, ``"dense"`` or ``"pruned"`` (static), how the hot loop
            visits the pairs, as :func:`jaxshift.kde`.
        query_block, data_block: block sizes of the hot loop (static; default per algorithm).

    Returns:
        :class:`Clusters`.

    Examples:
        >>> import jax, jax.numpy as jnp
        >>> data = jnp.array([[0.0], [0.2], [0.4], [5.0], [5.2]])
        >>> run = jax.jit(lambda x: cluster(x, bandwidth=1.0, seeds=x, capacity=4))
        >>> res = run(data)
        >>> int(res.n_clusters), res.labels.tolist()
        (2, [0, 0, 0, 1, 1])
    """
    k = get_kernel(kernel)
    capacity = _validate.positive_int(capacity, "capacity")
    qb, db = _validate.block_sizes(query_block, data_block)
    choose_algorithm(algorithm, 1, 1, 1)  # validates the name
    if _validate.is_concrete(max_iter):
        _check_int(max_iter, "max_iter", 0, "cluster")
    bandwidth = _bandwidth_rules._resolve_for(bandwidth, seeds, "seeds", data, weights, kernel="gaussian")
    seeds, data, bandwidth, weights, _ = _validate.inputs(seeds, "seeds", data, bandwidth, weights)
    return _cluster(data, seeds, bandwidth, weights, jnp.asarray(max_iter, jnp.int32),
                    cluster_all, capacity=capacity, kernel=k, algorithm=algorithm, query_block=qb,
                    data_block=db)


def _cluster(data, seeds, bandwidth, weights, max_iter, cluster_all, *, capacity, kernel,
             algorithm, query_block, data_block):
    tol = jnp.asarray(1e-3, data.dtype) * bandwidth
    res = _climb(seeds, data, bandwidth, weights, max_iter + 1, tol, kernel=kernel, algorithm=algorithm,
                 query_block=query_block, data_block=data_block)
    order, keep = _merge(res.modes, res.intensity, res.intensity > 0, bandwidth)
    modes, intensity = res.modes[order], res.intensity[order]
    n_clusters = jnp.sum(keep, dtype=jnp.int32)
    slot = jnp.where(keep, jnp.cumsum(keep) - 1, capacity)
    centres = jnp.zeros((capacity, data.shape[1]), data.dtype).at[slot].set(modes, mode="drop")
    inten = jnp.zeros((capacity,), data.dtype).at[slot].set(intensity, mode="drop")
    valid = jnp.arange(capacity) < n_clusters
    scalar = jnp.ndim(bandwidth) == 0
    arg, d2 = _nearest(data, centres, valid, bandwidth, scaled=not scalar)
    inside = jnp.sqrt(d2) <= bandwidth if scalar else d2 <= 1.0
    labels = jnp.where(jnp.asarray(cluster_all) | inside, arg, -1)
    n_iter = jnp.maximum(jnp.max(res.n_iter) - 1, 0)
    return Clusters(centres, valid, labels, n_clusters, n_clusters > capacity, inten, n_iter)


# ------------------------------------------------------------------------ host helpers


@contextlib.contextmanager
def _precision(dtype):
    """Float64 work needs x64 on for the call (JAX defaults to float32)."""
    if np.dtype(dtype) == np.float64 and not jax.config.jax_enable_x64:
        with jax.enable_x64(True):
            yield
    else:
        yield


def _param_error(name, owner, expected, value):
    return InvalidParameterError(
        f"The {name!r} parameter of {owner} must be {expected}. Got {value!r} instead."
    )


def _check_int(value, name, minimum, owner, allow_none=False):
    if value is None and allow_none:
        return
    ok = isinstance(value, numbers.Integral) and not isinstance(value, bool)
    if not ok or (minimum is not None and value < minimum):
        expected = "an int" if minimum is None else f"an int in the range [{minimum}, inf)"
        raise _param_error(name, owner, expected + (" or None" if allow_none else ""), value)


def _check_bool(value, name, owner):
    if not isinstance(value, (bool, np.bool_)):
        raise _param_error(name, owner, "an instance of 'bool' or an instance of 'numpy.bool'", value)


def _check_X(X, name="X"):
    """scikit-learn's ``check_array``: 2-D, finite, non-empty; float32/float64 kept,
    anything else becomes float64 (float16 becomes float32)."""
    if hasattr(X, "__array__") and not isinstance(X, np.ndarray | jax.Array):
        X = np.asarray(X)
    arr = np.asarray(_validate.data(X, name))
    if arr.dtype == np.float16:
        return arr.astype(np.float32)
    if arr.dtype not in (np.float32, np.float64):
        return arr.astype(np.float64)
    return arr


def _fmt(h):
    h = np.asarray(h)
    if h.ndim == 0:
        return f"{float(h):f}"  # scikit-learn's "%f"
    return "[" + ", ".join(f"{float(v):f}" for v in h) + "]"


def _as_bandwidth(h, d, owner, dtype):
    """A positive bandwidth: a number, or one per feature (a jaxshift extension)."""
    if isinstance(h, bool) or isinstance(h, str):
        raise _param_error("bandwidth", owner, "a float in the range (0, inf), a str or None", h)
    try:
        arr = np.asarray(h, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise _param_error("bandwidth", owner, "a float in the range (0, inf), a str or None", h) from exc
    if arr.ndim > 1 or (arr.ndim == 1 and arr.shape[0] not in (1, d)):
        raise _param_error("bandwidth", owner, f"a float in the range (0, inf) or [{d}] per feature", h)
    if not np.all(np.isfinite(arr)) or not np.all(arr > 0):
        raise _param_error("bandwidth", owner, "a float in the range (0, inf), a str or None", h)
    if arr.ndim == 1 and arr.shape[0] == 1:
        arr = arr[0]
    return arr if arr.ndim else h


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
    """:func:`_climb` on NumPy arrays in ``X``'s dtype (float64 with x64 on), with
    seeds and data padded to bucket sizes (frozen seeds, zero-weight points)."""
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
        modes, n_updates, intensity = (np.asarray(a)[:m] for a in res[:3])
    return modes, n_updates, intensity, float(res.pairs)


def _deduplicate(X, weights):
    """``(rows, weights, inverse)``: repeated rows (an image's pixel colours) merged
    into one, weighted by their multiplicity (times their sample weights). The
    kernel sums are the same (exactly, for integer-valued data) over fewer pairs.
    ``inverse`` is ``None`` when there is too little to gain."""
    if X.shape[0] < 2:
        return X, weights, None
    rows, inverse, counts = np.unique(X, axis=0, return_inverse=True, return_counts=True)
    if len(rows) > 0.8 * X.shape[0]:
        return X, weights, None
    inverse = inverse.reshape(-1)
    if weights is None:
        w = counts.astype(X.dtype)
    else:
        w = np.bincount(inverse, weights=weights, minlength=len(rows)).astype(X.dtype)
    return rows.astype(X.dtype, copy=False), w, inverse


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
        arg, d2 = _nearest(
            jnp.asarray(X_p), jnp.asarray(c_p), jnp.asarray(np.arange(len(c_p)) < k),
            jnp.asarray(h if scaled else 1.0, dtype), scaled=scaled,
        )
        arg, d2 = np.asarray(arg)[:n], np.asarray(d2)[:n]
    return arg.astype(np.intp), d2, scaled


_merge_jit = jax.jit(_merge)


def _merge_host(modes, intensity, bandwidth):
    """scikit-learn's post-processing (:func:`_merge`) of NumPy modes with positive
    intensity, in float64 (as scikit-learn's trees), padded to a bucket size:
    ``(centres, intensities)`` kept, most intense first, in the modes' dtype."""
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


def _zero_bandwidth_modes(X, seeds, weights, max_iter):
    """Bandwidth 0 (an estimate on data with many duplicates), as scikit-learn: a
    seed's neighbourhood is the points equal to it, and its mean is their mean."""
    groups = {}
    for i, row in enumerate(map(tuple, X)):
        groups.setdefault(row, []).append(i)
    cache, modes, inten, iters = {}, [], [], []
    for seed in np.asarray(seeds):
        key = tuple(seed)
        if key not in cache:
            mean, count, done = np.asarray(seed), 0, 0
            while True:
                idx = groups.get(tuple(mean))
                if not idx:
                    count = 0
                    break
                old = mean
                if weights is None:
                    mean, count = np.mean(X[idx], axis=0), len(idx)
                else:
                    count = float(np.sum(weights[idx]))
                    if count == 0:
                        count = 0
                        break
                    mean = np.average(X[idx], axis=0, weights=weights[idx])
                if np.linalg.norm(mean - old) <= 0 or done == max_iter:
                    break
                done += 1
            cache[key] = (np.asarray(mean, X.dtype), count, done)
        mode, count, done = cache[key]
        modes.append(mode)
        inten.append(count)
        iters.append(done)
    return np.asarray(modes, X.dtype).reshape(-1, X.shape[1]), np.asarray(inten, float), max(iters)


def _resolve_string_bandwidth(rule, X, weights, kernel, owner):
    with _precision(X.dtype):
        # A step with ``kernel`` climbs the density of its shadow: select for that one.
        h = _bandwidth_rules.resolve(
            rule, jnp.asarray(X), weights=None if weights is None else jnp.asarray(weights, X.dtype),
            kernel=shadow(kernel),
        )
        return np.asarray(h, np.float64)


# --------------------------------------------------------------------- scikit-learn API


def _check_random_state(seed):
    """scikit-learn's ``check_random_state``."""
    if seed is None or seed is np.random:
        return np.random.mtrand._rand
    if isinstance(seed, numbers.Integral) and not isinstance(seed, bool):
        return np.random.RandomState(seed)
    if isinstance(seed, np.random.RandomState):
        return seed
    raise _param_error(
        "random_state", "estimate_bandwidth",
        "in the range [0, 4294967295], an instance of 'numpy.random.mtrand.RandomState' or None", seed,
    )


def estimate_bandwidth(X, *, quantile=0.3, n_samples=None, random_state=0, n_jobs=None):
    """Estimate a bandwidth for mean shift, as scikit-learn does.

    The mean, over the (optionally subsampled) points, of the distance to each
    point's ``int(n * quantile)``-th nearest point, the point itself counted
    (at least 1 neighbour). The subsample is
    ``check_random_state(random_state).permutation(n)[:n_samples]``, so it picks
    the same points as scikit-learn. The neighbour search runs in JAX (float64),
    by blocks of queries with no ``[n, n]`` array
    (:func:`jaxshift._neighbours.kth_neighbour_sq_dist`), and the distances are
    scikit-learn's to rounding. It takes time quadratic in the number of points
    used: subsample large data with ``n_samples``.

    Args:
        X: ``[n, d]`` points.
        quantile: in ``[0, 1]``; 0.5 is about the median pairwise distance.
        n_samples: how many points to use (default all).
        random_state: int, ``numpy.random.RandomState`` or ``None``.
        n_jobs: accepted for compatibility; it has no effect.

    Returns:
        The bandwidth, a ``numpy.float64``.

    Raises:
        ValueError: for bad ``X`` or parameters, naming the argument and value.

    Examples:
        >>> X = [[1, 1], [2, 1], [1, 0], [4, 7], [3, 5], [3, 6]]
        >>> float(estimate_bandwidth(X, quantile=0.5))
        1.61...

    References:
        scikit-learn ``sklearn.cluster.estimate_bandwidth``.
    """
    owner = "estimate_bandwidth"
    X = _check_X(X)
    if isinstance(quantile, bool) or not isinstance(quantile, numbers.Real) or not 0 <= quantile <= 1:
        raise _param_error("quantile", owner, "a float in the range [0, 1]", quantile)
    _check_int(n_samples, "n_samples", 1, owner, allow_none=True)
    if n_jobs is not None:
        _check_int(n_jobs, "n_jobs", None, owner)
    rng = _check_random_state(random_state)
    if n_samples is not None:
        X = X[rng.permutation(X.shape[0])[:n_samples]]
    k = max(int(X.shape[0] * quantile), 1)
    with _precision(np.float64):
        d2 = _kth_neighbour_sq_dist(jnp.asarray(X, np.float64), k=k)
        dist = np.sqrt(np.asarray(d2, np.float64))
    total = 0.0
    for start in range(0, len(dist), 500):  # scikit-learn's batches, for the same sum
        total += dist[start:start + 500].sum()
    return np.float64(total / X.shape[0])


def get_bin_seeds(X, bin_size, min_bin_freq=1):
    """Seeds for mean shift: the occupied cells of a grid of spacing ``bin_size``.

    Each point is binned to ``round(x / bin_size)``; bins with at least
    ``min_bin_freq`` points become seeds ``bin * bin_size`` (float32 bins, in order
    of first occurrence, as scikit-learn). ``bin_size == 0`` returns ``X`` itself,
    and so does a grid that keeps every point as its own bin (with a warning).

    Args:
        X: ``[n, d]`` the points that will be clustered.
        bin_size: grid spacing, usually the bandwidth (scalar, or ``[d]``).
        min_bin_freq: the fewest points a bin needs to become a seed.

    Returns:
        ``[k, d]`` seeds.

    Examples:
        >>> import numpy as np
        >>> X = np.array([[1.0, 1.0], [1.4, 1.4], [1.8, 1.2], [2.0, 1.0], [2.1, 1.1], [0.0, 0.0]])
        >>> get_bin_seeds(X, 1, 2).tolist()
        [[1.0, 1.0], [2.0, 1.0]]

    References:
        scikit-learn ``sklearn.cluster.get_bin_seeds``.
    """
    if np.all(np.asarray(bin_size) == 0):
        return X
    pts = np.asarray(X)
    if pts.ndim != 2:
        raise ValueError(f"X must be a 2-D array [n, d], got shape {pts.shape}")
    binned = np.round(pts / bin_size) + 0.0  # + 0.0: -0.0 and 0.0 are one bin, as dict keys
    if binned.shape[0] == 0:
        return np.zeros((0, pts.shape[1]), np.float32) * bin_size
    uniq, first, counts = np.unique(binned, axis=0, return_index=True, return_counts=True)
    order = np.argsort(first, kind="stable")
    chosen = uniq[order][counts[order] >= min_bin_freq]
    bin_seeds = np.asarray(chosen, dtype=np.float32).reshape(-1, pts.shape[1])
    if len(bin_seeds) == len(pts):
        warnings.warn(
            f"Binning data failed with provided bin_size={_fmt(bin_size)}, using data points as seeds.",
            stacklevel=2,
        )
        return X
    return bin_seeds * bin_size


class MeanShift:
    """Mean-shift clustering, a drop-in for ``sklearn.cluster.MeanShift``.

    Each seed climbs to a mode of the density (with the flat kernel, the mean of
    the points within one bandwidth, until a step is at most ``1e-3 * bandwidth``
    or after ``max_iter + 1`` updates); all seeds move at once on the jaxshift hot
    loop. Modes within one bandwidth of a more intense one (more points within one
    bandwidth; ties by coordinates) are merged, and every point takes the label of
    its nearest centre.

    Parameters, defaults, fitted attributes, errors and dtypes (float32 in ->
    float32 centres, float64 in -> float64 centres, computed in float64) are
    scikit-learn 1.9's. The estimator interface is duck-typed, so
    ``sklearn.base.clone``, pipelines and grid searches work when scikit-learn is
    installed, without depending on it.

    Args:
        bandwidth: the kernel's radius; ``None`` estimates it with
            :func:`estimate_bandwidth`. Also (jaxshift): one value per feature
            ``[d]``, or a rule name such as ``"scott"`` resolved by
            ``jaxshift.bandwidth.resolve`` when that module is present.
        seeds: ``[m, d]`` starting points; default the points themselves, or
            :func:`get_bin_seeds` with ``bin_seeding=True``.
        bin_seeding: seed from a grid of spacing ``bandwidth`` (fewer seeds).
        min_bin_freq: the fewest points a grid cell needs to seed.
        cluster_all: label orphans (farther than one bandwidth from every centre)
            with their nearest centre; if ``False`` label them ``-1``.
        n_jobs: accepted for compatibility; it has no effect (the work is already
            vectorised over all seeds).
        max_iter: the most iterations per seed (scikit-learn's count: up to
            ``max_iter + 1`` mean updates).
        kernel: (jaxshift) the kernel whose weights the mean uses; default
            ``"flat"``, scikit-learn's.

    Attributes:
        cluster_centers_: ``[k, d]`` centres, most intense first.
        labels_: ``[n]`` int labels.
        n_iter_: the most iterations any seed ran.
        n_features_in_: ``d``.
        bandwidth_: (jaxshift) the bandwidth used.

    Examples:
        >>> import numpy as np
        >>> X = np.array([[1, 1], [2, 1], [1, 0], [4, 7], [3, 5], [3, 6]])
        >>> clustering = MeanShift(bandwidth=2).fit(X)
        >>> clustering.labels_
        array([1, 1, 1, 0, 0, 0])
        >>> clustering.predict([[0, 0], [5, 5]])
        array([1, 0])
        >>> clustering
        MeanShift(bandwidth=2)

    References:
        Comaniciu & Meer (2002); scikit-learn ``sklearn.cluster.MeanShift``.
    """

    _estimator_type = "clusterer"

    def __init__(
        self,
        *,
        bandwidth=None,
        seeds=None,
        bin_seeding=False,
        min_bin_freq=1,
        cluster_all=True,
        n_jobs=None,
        max_iter=300,
        kernel="flat",
    ):
        self.bandwidth = bandwidth
        self.seeds = seeds
        self.bin_seeding = bin_seeding
        self.cluster_all = cluster_all
        self.min_bin_freq = min_bin_freq
        self.n_jobs = n_jobs
        self.max_iter = max_iter
        self.kernel = kernel

    # -- the estimator interface, duck-typed -------------------------------------------

    @classmethod
    def _get_param_names(cls):
        sig = inspect.signature(cls.__init__)
        return sorted(p.name for p in sig.parameters.values() if p.name != "self")

    def get_params(self, deep=True):
        """The constructor's parameters, as a dict (scikit-learn's interface)."""
        return {name: getattr(self, name) for name in self._get_param_names()}

    def set_params(self, **params):
        """Set constructor parameters; returns ``self`` (scikit-learn's interface)."""
        valid = self._get_param_names()
        for key, value in params.items():
            if key not in valid:
                raise ValueError(
                    f"Invalid parameter {key!r} for estimator {self}. Valid parameters are: {valid!r}."
                )
            setattr(self, key, value)
        return self

    def __repr__(self):
        defaults = {
            p.name: p.default for p in inspect.signature(type(self).__init__).parameters.values()
            if p.name != "self"
        }
        shown = []
        for name in defaults:
            value = getattr(self, name, None)
            default = defaults[name]
            same = value is default or (
                not isinstance(value, np.ndarray | jax.Array) and type(value) is type(default) and value == default
            )
            if not same:
                shown.append(f"{name}={value!r}")
        return f"{type(self).__name__}({', '.join(shown)})"

    def __sklearn_tags__(self):
        from sklearn.utils import Tags, TargetTags

        return Tags(estimator_type="clusterer", target_tags=TargetTags(required=False))

    def __sklearn_is_fitted__(self):
        return hasattr(self, "cluster_centers_")

    def _check_params(self):
        owner = type(self).__name__
        _check_bool(self.bin_seeding, "bin_seeding", owner)
        _check_bool(self.cluster_all, "cluster_all", owner)
        _check_int(self.min_bin_freq, "min_bin_freq", 1, owner)
        _check_int(self.max_iter, "max_iter", 0, owner)
        if self.n_jobs is not None:
            _check_int(self.n_jobs, "n_jobs", None, owner)
        try:
            return get_kernel(self.kernel)
        except ValueError as exc:
            raise InvalidParameterError(f"The 'kernel' parameter of {owner}: {exc}") from exc

    # -- fitting -------------------------------------------------------------------------

    def fit(self, X, y=None, sample_weight=None):
        """Cluster ``X``.

        Args:
            X: ``[n, d]`` samples.
            y: ignored.
            sample_weight: (jaxshift) ``[n]`` non-negative weights: a point of
                weight ``w`` counts as ``w`` points in the means and intensities.

        Returns:
            ``self``, fitted.
        """
        owner = type(self).__name__
        kernel = self._check_params()
        columns = getattr(X, "columns", None)
        X = _check_X(X)
        n, d = X.shape
        weights = None
        if sample_weight is not None:
            weights = np.asarray(_validate.weights(sample_weight, n, "sample_weight"), X.dtype)
        seeds = self.seeds
        if seeds is not None:  # checked before any work (a bandwidth estimate is quadratic)
            seeds = np.asarray(_validate.points(seeds, d, "seeds")[0])
            if seeds.shape[0] == 0:
                raise ValueError(f"seeds is empty (shape {seeds.shape}); need at least one seed")
        bandwidth = self.bandwidth
        if bandwidth is None:
            bandwidth = estimate_bandwidth(X, n_jobs=self.n_jobs)
        elif isinstance(bandwidth, str):
            bandwidth = _resolve_string_bandwidth(bandwidth, X, weights, kernel, owner)
            bandwidth = _as_bandwidth(bandwidth, d, owner, X.dtype)
        else:
            bandwidth = _as_bandwidth(bandwidth, d, owner, X.dtype)

        if seeds is None:
            seeds = get_bin_seeds(X, bandwidth, self.min_bin_freq) if self.bin_seeding else X

        data, data_w, inverse = _deduplicate(X, weights)
        if np.ndim(bandwidth) == 0 and bandwidth == 0:
            modes, intensity, n_iter = _zero_bandwidth_modes(X, seeds, weights, self.max_iter)
            self.n_pairs_ = 0.0
        else:
            modes, n_updates, intensity, pairs = _climb_host(seeds, data, data_w, bandwidth, self.max_iter, kernel)
            n_iter = int(max(n_updates.max() - 1, 0))
            self.n_pairs_ = pairs
        self.n_iter_ = n_iter
        found = intensity > 0
        if not np.any(found):
            raise ValueError(
                f"No point was within bandwidth={_fmt(bandwidth)} of any seed. Try a different seeding"
                " strategy                              or increase the bandwidth."
            )
        centres, _ = _merge_host(modes[found], intensity[found], bandwidth)
        labels = self._labels(data, centres, bandwidth)
        if inverse is not None:
            labels = labels[inverse]
        self.cluster_centers_ = centres.astype(X.dtype, copy=False)
        self.labels_ = labels
        self.n_features_in_ = d
        self.bandwidth_ = bandwidth
        if columns is not None and all(isinstance(c, str) for c in columns):
            self.feature_names_in_ = np.asarray(list(columns), dtype=object)
        self._fit_X, self._fit_weights, self._fit_kernel = data, data_w, self.kernel
        return self

    def _labels(self, X, centres, bandwidth):
        arg, d2, scaled = _nearest_host(X, centres, bandwidth)
        if self.cluster_all:
            return arg
        inside = d2 <= 1.0 if scaled else np.sqrt(d2) <= np.asarray(bandwidth)
        return np.where(inside, arg, -1).astype(np.intp)

    def fit_predict(self, X, y=None, **kwargs):
        """``fit(X, **kwargs)`` and return ``labels_``."""
        return self.fit(X, **kwargs).labels_

    def predict(self, X, shift=False):
        """Label new points with the index of a cluster.

        Args:
            X: ``[m, d]`` new points.
            shift: ``False`` (scikit-learn's): the nearest centre. ``True``
                (jaxshift): run mean shift from each point on the training data
                (same bandwidth, kernel, weights and ``max_iter``) and take the
                centre nearest to where it ends, so a point is labelled by the
                mode it climbs to rather than by distance (scikit-learn #16171).

        Returns:
            ``[m]`` int labels.
        """
        if not hasattr(self, "cluster_centers_"):
            raise NotFittedError(
                f"This {type(self).__name__} instance is not fitted yet. Call 'fit' with "
                "appropriate arguments before using this estimator."
            )
        X = _check_X(X)
        if X.shape[1] != self.n_features_in_:
            raise ValueError(
                f"X has {X.shape[1]} features, but {type(self).__name__} is expecting "
                f"{self.n_features_in_} features as input."
            )
        if not isinstance(shift, (bool, np.bool_)):
            raise ValueError(f"shift must be True or False, got {shift!r}")
        if shift and not (np.ndim(self.bandwidth_) == 0 and self.bandwidth_ == 0):
            data = self._fit_X
            w = self._fit_weights
            X, _, _, _ = _climb_host(
                X.astype(data.dtype), data, w, self.bandwidth_, self.max_iter, get_kernel(self._fit_kernel)
            )
        arg, _, _ = _nearest_host(X, self.cluster_centers_, self.bandwidth_)
        return arg


def mean_shift(
    X,
    *,
    bandwidth=None,
    seeds=None,
    bin_seeding=False,
    min_bin_freq=1,
    cluster_all=True,
    max_iter=300,
    n_jobs=None,
    kernel="flat",
    sample_weight=None,
):
    """Mean-shift clustering in one call: ``MeanShift(...).fit(X)``'s centres and labels.

    Arguments as :class:`MeanShift` (``sample_weight`` as its ``fit``).

    Returns:
        ``(cluster_centers [k, d], labels [n])``.

    Examples:
        >>> import numpy as np
        >>> X = np.array([[1, 1], [2, 1], [1, 0], [4, 7], [3, 5], [3, 6]])
        >>> centres, labels = mean_shift(X, bandwidth=2)
        >>> centres.round(2).tolist(), labels.tolist()
        ([[3.33, 6.0], [1.33, 0.67]], [1, 1, 1, 0, 0, 0])
    """
    model = MeanShift(
        bandwidth=bandwidth, seeds=seeds, min_bin_freq=min_bin_freq, bin_seeding=bin_seeding,
        cluster_all=cluster_all, n_jobs=n_jobs, max_iter=max_iter, kernel=kernel,
    ).fit(X, sample_weight=sample_weight)
    return model.cluster_centers_, model.labels_
