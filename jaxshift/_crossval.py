"""The cross-validation objectives of :mod:`jaxshift.bandwidth` on one device or many.

Both objectives are sums over the points (as queries) of kernel sums against the points
(as data), so they split as every core function does: the queries over some mesh axes,
the data over others (:class:`Split`). The leave-one-out pairs are those of equal global
index, so a device's slice of the points carries its global indices.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import jax.numpy as jnp
from jax.sharding import PartitionSpec as P

from . import _shard
from ._logdensity import log_density, log_normaliser, safe_log
from ._pairwise import kernel_sums
from .kernels import GAUSSIAN


class Split(NamedTuple):
    """This device's share of the points: ``q`` ``[m, d]`` queries (weights ``qw``, global
    indices ``qids``) split over ``query_axes``, ``y`` ``[n, d]`` data (``w``, ``ids``) over
    ``data_axes``. One device: both are all the points."""

    q: object
    qw: object
    qids: object
    y: object
    w: object
    ids: object
    query_axes: tuple = ()
    data_axes: tuple = ()


def arrange(data, w, data_axes=()) -> Split:
    """The points as queries and data: on one device, or inside the caller's
    ``shard_map`` with ``data`` this device's slice over ``data_axes`` (then every
    device takes all the points as queries, one ``all_gather``, and its own as data)."""
    n = data.shape[0]
    ids = _shard.row_ids(n, data_axes)
    q, qw = _shard.gather(data, data_axes), _shard.gather(w, data_axes)
    return Split(q, qw, jnp.arange(q.shape[0], dtype=jnp.int32), data, w, ids, (), data_axes)


def spread(fn, data, w, mesh, data_axes, *rest):
    """``fn(split, *rest)`` (a pytree of scalars) on one device (``mesh=None``; or inside
    the caller's ``shard_map`` when ``data_axes``), or under ``shard_map`` over ``mesh``:
    the points as queries split over the axes not in ``data_axes``, as data over
    ``data_axes``, both padded with zero-weight points (which count for nothing)."""
    if mesh is None:
        return fn(arrange(data, w, data_axes), *rest)
    qa, da, nq, nd = _shard.layout(mesh, data_axes)
    qs, ds = _shard.spec(qa), _shard.spec(da)
    n = data.shape[0]

    def padded(k):
        ids = jnp.arange(n + (-n % k), dtype=jnp.int32)
        return _shard.pad_rows(data, k), _shard.pad_rows(w, k, fill=0), ids

    def local(q, qw, qids, y, yw, ids, *rest):
        return fn(Split(q, qw, qids, y, yw, ids, qa, da), *rest)

    return _shard.run(local, mesh, (qs,) * 3 + (ds,) * 3 + (P(),) * len(rest), P(),
                      *padded(nq), *padded(nd), *rest)


def log_loo_density(s: Split, h, kernel, qb, db):
    """``[m]`` ``log f_{-i}(q_i)``, ``f_{-i} = sum_{j != i} w_j K_h(q_i - y_j) / (W - w_i)``."""
    d = s.q.shape[1]
    sums = kernel_sums(
        s.q, s.y, s.w, h, kernel, with_mean=False, exclude_self=True, query_block=qb, data_block=db,
        query_ids=s.qids, data_ids=s.ids, data_axes=s.data_axes,
    )
    rest = _shard.psum(jnp.sum(s.w), s.data_axes) - s.qw
    log_rest = jnp.log(jnp.where(rest > 0, rest, 1.0))
    return log_density(log_normaliser(d, h, log_rest, kernel) + sums.log_scale, sums.s)


def loo(s: Split, h, kernel, qb, db):
    """The mean leave-one-out log-density (:func:`jaxshift.bandwidth.loo_log_likelihood`)."""
    logf = log_loo_density(s, h, kernel, qb, db)
    # A zero-weight point does not count (and 0 * -inf must not give NaN).
    num = _shard.psum(jnp.sum(jnp.where(s.qw > 0, s.qw * logf, 0.0)), s.query_axes)
    return num / _shard.psum(jnp.sum(s.w), s.data_axes)


def lscv_parts(s: Split, h, qb, db):
    """``(m, r)`` with ``LSCV = exp(m) r``: ``m`` the larger of the logs of its two terms
    and ``r`` in ``[-1, 1]``. Both terms scale as ``h^-d``, past float64's range in high
    dimension (``d = 64``, ``h`` below ~0.1 of the data's spread): taken apart, the
    score is ``inf - inf = NaN`` there; in this form it is the right infinity or a
    finite number."""
    d = s.q.shape[1]
    W = _shard.psum(jnp.sum(s.w), s.data_axes)
    log_w = safe_log(s.qw)
    # integral of f^2 = W^-2 sum_ij w_i w_j N(x_i - x_j; 0, 2 h^2): a KDE at bandwidth sqrt(2) h
    # (at the matrix 2 H for a bandwidth matrix H).
    h2 = 2.0 * h if jnp.ndim(h) == 2 else h * math.sqrt(2.0)
    s2 = kernel_sums(s.q, s.y, s.w, h2, GAUSSIAN, with_mean=False, query_block=qb, data_block=db,
                     data_axes=s.data_axes)
    log_a = log_normaliser(d, h2, 0.0, GAUSSIAN) + s2.log_scale + safe_log(s2.s)  # W applied below
    log_sq = _shard.logsumexp(log_w + log_a, s.query_axes) - 2.0 * jnp.log(W)
    loo_ = log_loo_density(s, h, GAUSSIAN, qb, db)
    log_cross = math.log(2.0) + _shard.logsumexp(log_w + loo_, s.query_axes) - jnp.log(W)
    m = jnp.maximum(log_sq, log_cross)
    return m, jnp.exp(log_sq - m) - jnp.exp(log_cross - m)


def lscv(s: Split, h, qb, db, log_unit=0.0):
    """The LSCV score in units of ``exp(log_unit)`` (``select`` minimises it in units
    of its value at the start, a positive scale that Newton's steps ignore, so that
    float32 does not under- or overflow in high dimension)."""
    m, r = lscv_parts(s, h, qb, db)
    return jnp.where(r == 0, 0.0, r * jnp.exp(m - log_unit))
