"""Mean-shift clustering as one pure function (:func:`find_clusters`, for ``jax.jit`` and
``jax.vmap``), and the pieces it shares with the estimator shim: the climb with
scikit-learn's intensities, the merge of near-duplicate modes, 1-NN labels."""

from __future__ import annotations

import functools
from typing import NamedTuple

import jax
import jax.numpy as jnp
from jax import lax
from jax.sharding import PartitionSpec as P
from jax.typing import ArrayLike

from .. import _grid, _validate
from .. import bandwidth as _bandwidth_rules
from .._meanshift import _STATIC, _spread, climb, default_tol
from .._neighbours import nearest
from .._pairwise import kernel_sums
from .._scaling import whitening
from .._shard import cut
from ..kernels import Kernel, get_kernel, shadow
from ._params import _check_int


class _Climb(NamedTuple):
    modes: jax.Array  # [m, d]
    n_iter: jax.Array  # [m] int32: mean updates taken (scikit-learn's completed_iterations + 1)
    intensity: jax.Array  # [m]: weight within one bandwidth of the position before the last update
    pairs: jax.Array  # []: query-data pairs the hot loop evaluated


@functools.partial(jax.jit, static_argnames=_STATIC)
def _climb(seeds, data, bandwidth, weights, max_updates, tol, frozen=None, *, kernel, algorithm="auto",
           query_block=None, data_block=None, mesh=None, data_axes=()):
    """All seeds at once on the one driver (:func:`jaxshift._meanshift.climb`), with
    scikit-learn's ``_mean_shift_single_seed`` semantics.

    A seed stops after the update that moved it by ``<= tol`` or after
    ``max_updates`` updates. Its intensity is what scikit-learn reports: the
    (weighted) number of points within one bandwidth of where it stood before its
    last update, i.e. the points whose mean it ended at. A seed with no point in
    reach stays put with intensity 0. ``frozen`` seeds (padding) never move.
    ``algorithm="grid"`` climbs on the grid (:func:`jaxshift._grid.climb`), whose
    intensity is the weight in the ``3^d`` cells around that position.

    ``mesh``: the same under ``shard_map``, seeds split over the axes not in
    ``data_axes``, data over ``data_axes`` (padding: frozen seeds, zero-weight points).
    """
    if mesh is not None and algorithm != "grid":
        everything = tuple(mesh.axis_names)
        frozen = jnp.zeros(seeds.shape[:1], bool) if frozen is None else frozen

        def local(s, y, w, pad, fr, h, mu, tl):
            res = _climb(s, y, h, w, mu, tl, fr | pad, kernel=kernel, algorithm=algorithm,
                         query_block=query_block, data_block=data_block, data_axes=data_axes)
            return res._replace(pairs=lax.psum(res.pairs, everything))

        m = seeds.shape[0]
        res = _spread(local, mesh, data_axes, seeds, data, weights, (bandwidth, max_updates, tol),
                      lambda qs: _Climb(qs, qs, qs, P()), per_query=(frozen,))
        return _Climb(*(cut(a, m, mesh) for a in res[:3]), res.pairs)
    if algorithm == "grid":
        res = _grid.climb(seeds, data, bandwidth, weights, max_updates, tol, frozen, kernel=kernel)
        return _Climb(res.modes, res.n_iter, res.weight, res.pairs)
    res = climb(seeds, data, bandwidth, weights, max_updates, tol, frozen, kernel=kernel, algorithm=algorithm,
                query_block=query_block, data_block=data_block, data_axes=data_axes)
    if kernel.power == 0:
        count = res.weight
    else:
        count = kernel_sums(
            res.prev, data, weights, bandwidth, get_kernel("flat"), with_mean=False, algorithm=algorithm,
            query_block=query_block, data_block=data_block, data_axes=data_axes,
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
    One bandwidth per feature: the scaled form. A ``[d, d]`` bandwidth matrix ``H``: the
    Mahalanobis distance, ``diff^T H^{-1} diff <= 1`` (whitened by ``H``'s Cholesky factor).
    """
    if jnp.ndim(bandwidth) == 2:
        z = jnp.matmul(diff, whitening(bandwidth)[1], precision=lax.Precision.HIGHEST)
        return jnp.sum(z * z, axis=-1) <= 1.0
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

    Used by :func:`find_clusters` (traced) and, on padded float64 arrays, by
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


class Clusters(NamedTuple):
    """Result of :func:`find_clusters`: fixed-size, so it lives inside ``jit``/``vmap``.

    Attributes:
        centres: ``[capacity, d]`` cluster centres, most intense first (as
            ``MeanShift.cluster_centers_``); rows past ``n_clusters`` are 0.
        valid: ``[capacity]`` bool, which rows of ``centres`` are clusters.
        labels: ``[n]`` int32, each data point's nearest valid centre (``-1`` for
            orphans farther than one bandwidth when ``cluster_all=False``, and for
            every point when there is no cluster).
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


def find_clusters(
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

    Seeds with no data within the kernel's reach are dropped, as scikit-learn does
    (where ``MeanShift`` raises for no cluster at all, this gives ``n_clusters == 0``
    and every label ``-1``; so do ``[0, d]`` seeds). Under ``jit`` values cannot be checked: bad traced data,
    bandwidth or weights (what a concrete call rejects) give no cluster either, and a
    NaN or inf seed is dropped.

    Args:
        data: ``[n, d]``.
        bandwidth: positive scalar or ``[d]``, or a ``[d, d]`` bandwidth matrix ``H``
            (the kernel's covariance; ``h`` means ``H = diag(h^2)``). With ``H``,
            "within one bandwidth" (the merge, the intensity, the orphans of
            ``cluster_all=False``) means a Mahalanobis distance
            ``sqrt(diff^T H^{-1} diff) <= 1``, labels go to the nearest centre in that
            distance, and the stop is ``1e-3 sqrt(diag(H))`` per feature.
        seeds: ``[m, d]`` starting points (e.g. ``data`` itself, or
            :func:`get_bin_seeds` outside ``jit``).
        capacity: the most centres returned (static).
        kernel: kernel name or :class:`~jaxshift.kernels.Kernel` (static).
        weights: ``[n]`` non-negative sample weights.
        max_iter: scikit-learn's ``max_iter`` (up to ``max_iter + 1`` updates).
        cluster_all: label orphans with their nearest centre (``True``) or ``-1``.
        algorithm: ``"auto"``, ``"dense"`` or ``"pruned"`` (static), how the hot loop
            visits the pairs, as :func:`jaxshift.kde`; or ``"grid"``, grid mean shift
            (MeanShift++, :func:`jaxshift.grid_modes`: approximate, linear in the data; a
            compact kernel).
        query_block, data_block: block sizes of the hot loop (static; default per algorithm).

    Returns:
        :class:`Clusters`.

    Examples:
        >>> import jax, jax.numpy as jnp
        >>> data = jnp.array([[0.0], [0.2], [0.4], [5.0], [5.2]])
        >>> run = jax.jit(lambda x: find_clusters(x, bandwidth=1.0, seeds=x, capacity=4))
        >>> res = run(data)
        >>> int(res.n_clusters), res.labels.tolist()
        (2, [0, 0, 0, 1, 1])
    """
    k = get_kernel(kernel)
    shadow(k)  # a weight profile without a known shadow is refused, as in find_modes
    capacity = _validate.positive_int(capacity, "capacity")
    qb, db = _validate.block_sizes(query_block, data_block)
    _grid.algorithm(algorithm, k)
    if _validate.is_concrete(max_iter):
        _check_int(max_iter, "max_iter", 0, "find_clusters")
    bandwidth = _bandwidth_rules._resolve_for(bandwidth, seeds, "seeds", data, weights, kernel="gaussian")
    seeds, data, bandwidth, weights, _ = _validate.inputs(seeds, "seeds", data, bandwidth, weights)
    if algorithm == "grid":
        _grid.check_cells(data, bandwidth)
    return _cluster(data, seeds, bandwidth, weights, jnp.asarray(max_iter, jnp.int32),
                    cluster_all, capacity=capacity, kernel=k, algorithm=algorithm, query_block=qb,
                    data_block=db)


@functools.partial(jax.jit, static_argnames=("capacity", "kernel", "algorithm", "query_block", "data_block"))
def _cluster(data, seeds, bandwidth, weights, max_iter, cluster_all, *, capacity, kernel,
             algorithm, query_block, data_block):
    """:func:`find_clusters` on validated arrays, one compiled program (eagerly, the merge's
    ``while_loop`` would be traced and compiled anew on every call)."""
    n, d = data.shape
    if seeds.shape[0] == 0:  # no seed, no cluster (a static shape: also under jit)
        return Clusters(jnp.zeros((capacity, d), data.dtype), jnp.zeros((capacity,), bool),
                        jnp.full((n,), -1, jnp.int32), jnp.zeros((), jnp.int32), jnp.zeros((), bool),
                        jnp.zeros((capacity,), data.dtype), jnp.zeros((), jnp.int32))
    tol = jnp.asarray(default_tol(bandwidth), data.dtype)
    # Bad traced values (what a concrete call rejects): no seed moves and none is live,
    # so no cluster is found; a NaN or inf seed alone is dropped.
    good = _validate.values_ok(data, bandwidth, weights) & _validate.finite_rows(seeds)
    res = _climb(seeds, data, bandwidth, weights, max_iter + 1, tol, ~good, kernel=kernel, algorithm=algorithm,
                 query_block=query_block, data_block=data_block)
    order, keep = _merge(res.modes, res.intensity, good & (res.intensity > 0), bandwidth)
    modes, intensity = res.modes[order], res.intensity[order]
    n_clusters = jnp.sum(keep, dtype=jnp.int32)
    slot = jnp.where(keep, jnp.cumsum(keep) - 1, capacity)
    centres = jnp.zeros((capacity, data.shape[1]), data.dtype).at[slot].set(modes, mode="drop")
    inten = jnp.zeros((capacity,), data.dtype).at[slot].set(intensity, mode="drop")
    valid = jnp.arange(capacity) < n_clusters
    scalar = jnp.ndim(bandwidth) == 0
    if jnp.ndim(bandwidth) == 2:  # nearest in the Mahalanobis distance: whitened points
        white = whitening(bandwidth)[1]
        arg, d2 = nearest(jnp.matmul(data, white, precision=lax.Precision.HIGHEST),
                          jnp.matmul(centres, white, precision=lax.Precision.HIGHEST), valid, bandwidth, scaled=False)
    else:
        arg, d2 = nearest(data, centres, valid, bandwidth, scaled=not scalar)
    inside = jnp.sqrt(d2) <= bandwidth if scalar else d2 <= 1.0
    # No cluster at all (no seed had data in reach, or bad traced values): every label -1.
    labels = jnp.where(jnp.isfinite(d2) & (jnp.asarray(cluster_all) | inside), arg, -1)
    n_iter = jnp.maximum(jnp.max(res.n_iter) - 1, 0)
    return Clusters(centres, valid, labels, n_clusters, n_clusters > capacity, inten, n_iter)
