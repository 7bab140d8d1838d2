"""The one hot loop: blocked, kernel-weighted sums of queries against data.

Every KDE value and every mean-shift step is, per query ``x_i``,
``S_i = sum_j w_j phi(u_ij)`` and ``T_i = sum_j w_j phi(u_ij) (y_j - a_i)`` with
``u_ij = |(x_i - y_j) / h|^2`` and ``a_i`` an anchor (a data point near ``x_i``).
They are computed in blocks of ``query_block x data_block`` pairs, so peak memory is
``O(query_block * data_block)``, never ``O(m * n)``.

**Bandwidth matrices.** A ``[d, d]`` bandwidth ``H = L L^T`` (the kernel's covariance)
gives ``u_ij = (x_i - y_j)^T H^{-1} (x_i - y_j) = |L^{-1} (x_i - y_j)|^2``: the points
are whitened by ``W = L^{-T}`` (``x W``) where a scalar or ``[d]`` bandwidth scales them
by ``1 / h``, and nothing else changes. ``T`` stays in the data's own coordinates (the
weighted mean is linear-equivariant, so whitening, averaging and mapping back by ``L``
is the mean of the unwhitened points), and the plan (order, centres, boxes) stays the
bandwidth's independent one; the reach tests bound whitened box distances by the
extreme eigenvalues of ``H^{-1}``.

**Geometry.** The data are cut into blocks that each carry a centre (one of their own
points) and a bounding box. Squared distances in a block pair use the GEMM form
``|x - c|^2 + |y - c|^2 - 2 (x - c).(y - c)`` around the data block's centre ``c``, so
its cancellation error is bounded by a block's extent, not by the data's: float32
stays accurate on data spread over many bandwidths. The products run at
``Precision.HIGHEST`` so that TPUs and GPUs do not drop to bfloat16/TF32 passes.

**Two plans** (:func:`plan_data`), one loop:

- ``"dense"``: blocks in input order; every query block visits every data block
  (``lax.scan``). Best when every pair is in reach (high dimension, a bandwidth
  comparable to the data's extent).
- ``"pruned"``: data and queries sorted along a Morton (Z-order) curve, so that a
  block is a compact piece of space. For each query block, the data blocks in reach
  are listed (a static-capacity index list and a count) and only those are visited,
  by a loop whose trip count is the count: a block pair out of reach is *skipped*,
  not computed and masked, and the work grows with the pairs in reach, as a tree's.
  Compact kernels: a block pair whose boxes are farther apart than the support is out
  of reach (with a relative margin of ``1e-4`` for rounding, so no pair inside the
  support is ever missed). Gaussian: a data block ``b`` is out of reach of a query
  block when ``W_b exp(-dmin_b^2 / 2) max(1, dmax_b) < (eps / n_blocks) L`` where
  ``W_b`` is its total weight, ``dmin_b``/``dmax_b`` the least/greatest scaled
  distance between the two boxes, ``eps`` the dtype's unit roundoff and
  ``L = sum_b W_b exp(-dmax_b^2 / 2)`` a lower bound on every query's sum (any other
  kernel of infinite support: its profile ``k(dmin_b^2)``, ``k(dmax_b^2)`` in place
  of the exponentials). Everything
  skipped then changes each ``S_i`` by at most a relative ``eps`` and each mean-shift
  step by at most ``eps`` bandwidths: the results are exact to rounding.

  Why a list walked by a loop, rather than a ``cond`` per block pair: on an
  accelerator the loop body is one large fused kernel launched ``count`` times with
  no divergent branch, and the list is built with one vectorised box test per query
  block; a ``cond`` per pair would launch or predicate work ``n_blocks`` times per
  query block whatever the geometry. We have no GPU to measure this on.

The loop that walks a list has a data-dependent trip count, which reverse-mode
differentiation cannot transpose. :func:`kernel_sums` is therefore a ``custom_jvp``:
the primal walks the list with a ``while_loop``; derivatives are taken through a
twin that scans over every list slot with a ``cond`` per slot (same blocks, same
order, same arithmetic), which JAX can linearise and transpose.

Kernels with infinite support (the gaussian, the exponential) accumulate with a running
maximum of the log-weights, as in a streaming log-sum-exp: the sums are returned as
``S = exp(log_scale) * s`` so that a query far from all data gets finite logs and a
well-defined step instead of ``0 / 0``. Compact kernels accumulate directly
(``log_scale = 0``).
"""

from __future__ import annotations

import functools
import math
from typing import NamedTuple

import jax
import jax.numpy as jnp
from jax import lax

from . import _shard
from ._plan import (  # noqa: F401  (re-exported: the plan is part of this module's API)
    DataPlan,
    _blocks,
    block_shape,
    choose_algorithm,
    morton_keys,
    plan_data,
)
from ._scaling import apply as _apply
from ._scaling import box_sq as _box_sq
from ._scaling import eig_bounds as _eig_bounds
from ._scaling import whitening
from .kernels import Kernel

_MARGIN = 1e-4  # relative slack on a compact kernel's reach test (box distances round too)


class Sums(NamedTuple):
    """Per-query weighted sums: ``S = exp(log_scale) * s``, ``T = exp(log_scale) * t``.

    Attributes:
        log_scale: ``[m]``, 0 for compact kernels.
        s: ``[m]``, the scaled sum of weights.
        t: ``[m, d]``, the scaled weighted sum of ``y - anchor`` (``[m, 0]`` when not
            requested).
        anchor: ``[m, d]``, the point (a data point near the query) that ``t`` is
            relative to: the weighted mean is ``anchor + t / s``.
        pairs: ``[]`` float, the query-data pairs evaluated (whole blocks).
    """

    log_scale: jax.Array
    s: jax.Array
    t: jax.Array
    anchor: jax.Array
    pairs: jax.Array


class _Geometry(NamedTuple):
    """Static description of one ``kernel_sums`` call."""

    kernel: Kernel
    with_mean: bool
    query_block: int
    pruned: bool
    exclude_self: bool
    unscaled: bool


def _scales(bandwidth, d, dtype, kernel: Kernel):
    """``(sc, inv [], unscaled)``: points are mapped by ``sc`` (``[d]`` factors, or the
    ``[d, d]`` whitening of a bandwidth matrix; :func:`jaxshift._scaling.apply`) before
    distances are taken, and squared distances multiplied by ``inv`` afterwards.

    A compact kernel tests ``u <= 1`` at the edge of its support. With one bandwidth
    the distances are computed unscaled and multiplied by ``1 / h^2`` (rounded down if
    need be) afterwards: on a lattice (integer data and bandwidth, e.g. pixel values) a
    point exactly one bandwidth away is then inside, as in scikit-learn's radius test,
    where scaling by ``1 / h`` first would round it either way.
    """
    if bandwidth.ndim == 2:
        return whitening(bandwidth.astype(dtype))[1], jnp.ones((), dtype), False
    h = jnp.broadcast_to(bandwidth, (d,)).astype(dtype)
    if kernel.support != math.inf and jnp.size(bandwidth) == 1:
        hh = h[0] * h[0]
        inv = 1.0 / hh
        inv0, hh0 = lax.stop_gradient(inv), lax.stop_gradient(hh)
        down = jnp.where(hh0 * inv0 > 1.0, jnp.nextafter(inv0, jnp.zeros_like(inv0)), inv0)
        inv = inv + (down - inv0)  # the rounding fix carries no gradient
        return jnp.ones((d,), dtype), inv, True
    return 1.0 / h, jnp.ones((), dtype), False


def _reach(geo: _Geometry, plan: DataPlan, qlo, qhi, sc, bounds, inv, dtype):
    """``(list [nb] int32, count)``: the data blocks in reach of a query box, in order."""
    nb = plan.lo.shape[0]
    sc0, inv0 = lax.stop_gradient(sc), lax.stop_gradient(inv)
    gap = jnp.maximum(jnp.maximum(plan.lo - qhi, qlo - plan.hi), 0.0)
    dmin2 = _box_sq(gap, sc0, bounds, upper=False) * inv0
    has = plan.wsum > 0
    if geo.kernel.support != math.inf:
        reach = has & (dmin2 <= geo.kernel.support**2 * (1.0 + _MARGIN))
    else:
        span = jnp.maximum(plan.hi - qlo, qhi - plan.lo)
        dmax2 = _box_sq(span, sc0, bounds, upper=True)
        log_k = geo.kernel.log_profile
        log_w = jnp.where(has, jnp.log(jnp.where(has, plan.wsum, 1.0)), -jnp.inf)
        lower = jax.nn.logsumexp(log_w + log_k(dmax2))
        eps = jnp.finfo(dtype).eps / 2
        bound = log_w + log_k(dmin2) + 0.5 * jnp.log(jnp.maximum(dmax2, 1.0))
        reach = has & (bound >= lower + jnp.log(eps) - math.log(nb))
    slot = jnp.where(reach, jnp.cumsum(reach) - 1, nb)
    idx = jnp.zeros((nb,), jnp.int32).at[slot].set(jnp.arange(nb, dtype=jnp.int32), mode="drop")
    return idx, jnp.sum(reach, dtype=jnp.int32)


def _pair_block(geo: _Geometry, carry, xq, iq, blk, sc, inv, checked=True):
    """Accumulate one data block into one query block's running sums.

    ``blk`` holds the block's scaled points, their squared norms (the gaussian: the
    bias ``log w - |y|^2 / 2``), unscaled points, weights, centre and ids, all relative
    to the block's centre, then the raw points, the largest scaled squared norm and the
    log-weights. Per-point terms come precomputed: inside one fusion XLA would
    otherwise recompute them for every pair.

    Squared distances take the GEMM form around the block's centre unless the pair of
    blocks is *wide* (``eps (max|x - c|^2 + max|y - c|^2) > 1e-4`` in bandwidth units,
    which happens only for a block that straddles far-apart groups of points): then the
    difference form on the raw coordinates, exact for nearby points whatever their
    magnitude (Sterbenz), keeps float32 accurate; its weighted sum is then taken of the
    raw points minus the anchor (exact for points near the anchor), not of points minus
    a far centre.
    """
    mx, s, t, an, pairs = carry
    ys, yy, yc, w, c, ids, raw, yymax, logw = blk
    kernel = geo.kernel
    dtype = xq.dtype
    xs = _apply(xq - c, sc)
    xx = jnp.sum(xs * xs, axis=-1)
    # (checked=False: the caller has bounded every pair of this query block as not wide)
    # (a NaN query's row must not hide the others' width: NaN > 1e-4 is False)
    xxmax = lax.stop_gradient(jnp.max(jnp.where(jnp.isnan(xx), 0.0, xx)))
    wide = (xxmax + yymax) * inv * jnp.finfo(dtype).eps > 1e-4

    def diff_u():
        u = jnp.zeros((xq.shape[0], raw.shape[0]), dtype)
        if sc.ndim == 2:  # whitened: the exact differences first, then W
            diffs = [xq[:, f, None] - raw[None, :, f] for f in range(xq.shape[1])]
            for g in range(xq.shape[1]):
                z = sum(diffs[f] * sc[f, g] for f in range(xq.shape[1]))
                u = u + z * z
            return u
        for f in range(xq.shape[1]):
            z = (xq[:, f, None] - raw[None, :, f]) * sc[f]
            u = u + z * z
        return u * inv if geo.unscaled else u

    def reanchor(u, s, t, an):
        """A row whose anchor is farther than its nearest point in this block takes that
        point as its anchor (``t`` re-expressed: exact on a lattice, both being data
        points), so that the sums of ``y - anchor`` stay small numbers."""
        if not geo.with_mean:
            return t, an
        uu = jnp.where(w[None, :] > 0, u, jnp.inf)
        j = jnp.argmin(uu, axis=1)
        cand = lax.stop_gradient(raw[j])
        z = _apply(xq - an, sc)
        d_an = jnp.sum(z * z, axis=1) * (inv if geo.unscaled else 1.0)
        better = lax.stop_gradient(jnp.take_along_axis(uu, j[:, None], axis=1)[:, 0] < d_an)
        t = jnp.where(better[:, None], t + s[:, None] * (an - cand), t)
        return t, jnp.where(better[:, None], cand, an)

    def accumulate(e, se, t, an):
        """``t + sum_j e_ij (y_j - an_i)``: by a product around the block's centre, or,
        for a wide pair, by differences of raw points (exact for points near the anchor)."""
        def product(_):
            return t + jnp.matmul(e, yc, precision=lax.Precision.HIGHEST) + se[:, None] * (c - an)

        def direct(_):
            cols = [jnp.sum(e * (raw[None, :, f] - an[:, f, None]), axis=1) for f in range(xq.shape[1])]
            return t + jnp.stack(cols, axis=1)

        return lax.cond(wide, direct, product, None) if checked else product(None)

    if kernel.log_linear:
        # log-weight -u/2 + log w = x.y - |x|^2/2 + (log w - |y|^2/2): one GEMM entry
        # plus a per-point bias; the per-query -|x|^2/2 joins the running maximum.
        def gemm(_):
            return jnp.matmul(xs, ys.T, precision=lax.Precision.HIGHEST) + yy[None, :], xx, t, an

        def direct(_):
            u = diff_u()
            return (logw[None, :] - 0.5 * u, jnp.zeros_like(xx)) + reanchor(u, s, t, an)

        a, xxe, t, an = lax.cond(wide, direct, gemm, None) if checked else gemm(None)
        if geo.exclude_self:
            a = jnp.where(iq[:, None] == ids[None, :], -jnp.inf, a)
        top_a = jnp.max(a, axis=1)
        top = top_a - 0.5 * xxe
        new = lax.stop_gradient(jnp.maximum(mx, top))
        base = jnp.where(jnp.isfinite(new), new, 0.0)
        alpha = jnp.exp(mx - base)
        # e = exp(a - |x|^2/2 - base), with the row's offset rounded so that the block
        # holding the running maximum gets exactly exp(0) for it (at large scaled
        # coordinates, base + |x|^2/2 could round past every a and underflow all of
        # them). The offset is a constant, save for the -|x|^2/2 term's gradient.
        off = lax.stop_gradient(jnp.where(jnp.isfinite(top_a), top_a - (top - base), jnp.inf))
        e = jnp.exp(a - (off + 0.5 * (xxe - lax.stop_gradient(xxe)))[:, None])
        se = jnp.sum(e, axis=1)
        s = s * alpha + se
        if geo.with_mean:
            t = accumulate(e, se, t * alpha[:, None], an)
        return new, s, t, an, pairs + 1

    def gemm_u(_):
        cross = jnp.matmul(xs, ys.T, precision=lax.Precision.HIGHEST)
        u = jnp.maximum(xx[:, None] + yy[None, :] - 2.0 * cross, 0.0)
        return (u * inv if geo.unscaled else u), t, an

    def direct_u(_):
        u = diff_u()
        return (u,) + reanchor(u, s, t, an)

    u, t, an = lax.cond(wide, direct_u, gemm_u, None) if checked else gemm_u(None)
    if kernel.support == math.inf:
        # Another kernel of infinite support (the exponential): log-weights
        # log w + log k(u), summed with the running maximum (its weight profile is its
        # profile, checked by sums_against).
        a = logw[None, :] + kernel.log_profile(u)
        if geo.exclude_self:
            a = jnp.where(iq[:, None] == ids[None, :], -jnp.inf, a)
        new = lax.stop_gradient(jnp.maximum(mx, jnp.max(a, axis=1)))
        base = jnp.where(jnp.isfinite(new), new, 0.0)
        alpha = jnp.exp(mx - base)
        e = jnp.exp(a - base[:, None])
        se = jnp.sum(e, axis=1)
        s = s * alpha + se
        if geo.with_mean:
            t = accumulate(e, se, t * alpha[:, None], an)
        return new, s, t, an, pairs + 1
    wq = jnp.where(iq[:, None] == ids[None, :], 0.0, w[None, :]) if geo.exclude_self else w[None, :]
    e = wq * kernel.weight(u) if geo.with_mean else wq * kernel.profile(u)
    se = jnp.sum(e, axis=1)
    s = s + se
    if geo.with_mean:
        t = accumulate(e, se, t, an)
    return mx, s, t, an, pairs + 1


def _sums(x, plan: DataPlan, bandwidth, active, ids, geo: _Geometry, walk: str):
    """Sums for sorted queries ``x`` ``[m, d]`` against a plan (``walk``: ``"while"``
    or ``"scan"``, how the list of in-reach blocks is walked)."""
    m, d = x.shape
    dtype = x.dtype
    nb = plan.y.shape[0]
    sc, inv, _ = _scales(bandwidth, d, dtype, geo.kernel)
    bounds = _eig_bounds(sc)
    bm = min(geo.query_block, m)
    xb = _blocks(x, bm)
    ab = _blocks(active, bm, fill=False)
    ib = _blocks(ids, bm, fill=-1)
    dm = d if geo.with_mean else 0
    compact = geo.kernel.support != math.inf
    fixed = lax.stop_gradient(x)
    fb = _blocks(fixed, bm)
    ys = _apply(plan.y, sc)
    yy = jnp.sum(ys * ys, axis=-1)
    yymax = lax.stop_gradient(jnp.max(yy, axis=1))
    pos = plan.w > 0
    logw = jnp.where(pos, jnp.log(jnp.where(pos, plan.w, 1.0)), -jnp.inf)
    if geo.kernel.log_linear:
        yy = logw - 0.5 * yy
    blocks = (ys, yy, plan.y, plan.w, plan.centre, plan.ids, plan.raw, yymax, logw)
    sc0, inv0 = lax.stop_gradient(sc), lax.stop_gradient(inv)
    # Inside shard_map, the loops' constant initial sums vary over the mesh axes the
    # inputs do (what the loop bodies make of them).
    like = (x, plan, bandwidth, active, ids)

    def one(args):
        xq, aq, iq, fq = args
        def init(anchor):
            return _shard.vary((
                jnp.full((bm,), 0.0 if compact else -jnp.inf, dtype),
                jnp.zeros((bm,), dtype),
                jnp.zeros((bm, dm), dtype),
                anchor,
                jnp.zeros((), jnp.int32),
            ), like)

        def run(_):
            # The box of the block's active queries; a non-finite query (traced NaN or
            # inf: its own sums are NaN) must not blow the box up for the others.
            inbox = (aq & jnp.all(jnp.isfinite(fq), axis=1))[:, None]
            qlo = jnp.min(jnp.where(inbox, fq, jnp.inf), axis=0)
            qhi = jnp.max(jnp.where(inbox, fq, -jnp.inf), axis=0)
            if geo.pruned:
                idx, count = _reach(geo, plan, qlo, qhi, sc, bounds, inv, dtype)
                # Slots past ``count`` hold index 0: scattering them would overwrite
                # block 0's entry (duplicate indices, last write wins), so they are dropped.
                listed = jnp.zeros((nb,), bool).at[jnp.where(jnp.arange(nb) < count, idx, nb)].set(
                    True, mode="drop")
            else:
                idx, count = jnp.arange(nb, dtype=jnp.int32), jnp.asarray(nb, jnp.int32)
                listed = jnp.ones((nb,), bool)
            # The anchor: the centre of the data block nearest the query box (a data point).
            mid = 0.5 * (qlo + qhi)
            near = jnp.argmin(jnp.where(plan.wsum > 0, jnp.sum(_apply(plan.centre - mid, sc0) ** 2, axis=1), jnp.inf))
            anchor = jnp.broadcast_to(lax.stop_gradient(plan.centre[near]), (bm, d))
            # Is any listed block pair too wide for the GEMM form? (a bound from the boxes)
            far = jnp.maximum(jnp.abs(qhi - plan.centre), jnp.abs(qlo - plan.centre))
            wide = (_box_sq(far, sc0, bounds, upper=True) + yymax) * inv0 * jnp.finfo(dtype).eps > 1e-4
            any_wide = jnp.any(wide & listed)

            def walk_blocks(checked):
                def pair(carry, blk):
                    return _pair_block(geo, carry, xq, iq, blk, sc, inv, checked)

                if not geo.pruned:
                    return lax.scan(lambda c, blk: (pair(c, blk), None), init(anchor), blocks)[0]
                if walk == "while":
                    return lax.fori_loop(0, count, lambda k, c: pair(c, tuple(a[idx[k]] for a in blocks)), init(anchor))
                return lax.scan(
                    lambda c, k: (lax.cond(k < count, lambda c: pair(c, tuple(a[idx[k]] for a in blocks)),
                                           lambda c: c, c), None),
                    init(anchor), jnp.arange(nb, dtype=jnp.int32),
                )[0]

            out = lax.cond(any_wide, lambda _: walk_blocks(True), lambda _: walk_blocks(False), None)
            mx, s, t, anchor, pairs = out
            if not compact:
                # max_j (log w_j - u_ij / 2) <= log max w: the clamp only removes rounding
                # (tiny bandwidths in float32), which could otherwise overflow exp. It is a
                # constant shift (jnp.minimum would cut the gradient wherever it binds).
                log_wmax = lax.stop_gradient(jnp.log(jnp.max(plan.w)))
                mx = mx - lax.stop_gradient(jnp.maximum(mx - log_wmax, 0.0))
            return (mx, s, t, pairs), anchor

        zero = _shard.vary(jnp.zeros((bm, d), dtype), like)
        return lax.cond(jnp.any(aq), run, lambda _: (init(zero)[:3] + init(zero)[4:], zero), None)

    (mx, s, t, pairs), anchor = lax.map(one, (xb, ab, ib, fb))
    mx = mx.reshape(-1)[:m]
    log_scale = mx if compact else jnp.where(jnp.isfinite(mx), mx, 0.0)
    return (
        log_scale, s.reshape(-1)[:m], t.reshape(-1, dm)[:m] if dm else jnp.zeros((m, 0), dtype), anchor.reshape(-1, d)[:m],
        jnp.sum(pairs).astype(dtype) * (bm * plan.y.shape[1]),
    )


@functools.partial(jax.custom_jvp, nondiff_argnums=(5,))
def _sums_fast(x, plan, bandwidth, active, ids, geo):
    return _sums(x, plan, bandwidth, active, ids, geo, "while")


@_sums_fast.defjvp
def _sums_fast_jvp(geo, primals, tangents):
    return jax.jvp(lambda *a: _sums(*a, geo, "scan"), primals, tangents)


def sums_against(x, plan: DataPlan, bandwidth, kernel: Kernel, *, with_mean: bool, active=None,
                 query_block: int, pruned: bool, exclude_self: bool = False, query_ids=None,
                 data_axes: tuple[str, ...] = ()) -> Sums:
    """:class:`Sums` of ``x`` ``[m, d]`` against a prepared :class:`DataPlan`.

    Queries are reordered internally (active first, then along the Morton curve of
    the data's box when ``pruned``) and the results put back in input order.

    ``data_axes`` (inside ``shard_map``): the plan holds this device's slice of data
    split over these mesh axes, and every device of the group has the same queries;
    the partial sums are combined (:func:`jaxshift._shard.combine`: one ``psum``, and one
    ``pmax`` for a kernel of infinite support), and ``t`` is then the sum of the data
    themselves (``anchor`` 0). ``pairs`` stays this device's count.
    """
    m, d = x.shape
    dtype = x.dtype
    like = (x, active, bandwidth)  # what the combined sums vary over (inside shard_map)
    if m == 0:
        z = jnp.zeros((0,), dtype)
        return Sums(z, z, jnp.zeros((0, d if with_mean else 0), dtype), jnp.zeros((0, d), dtype),
                    jnp.zeros((), dtype))
    if with_mean and kernel.support == math.inf and not kernel.log_linear and kernel.weight is not kernel.profile:
        raise ValueError(f"kernel {kernel.name!r}: a kernel of infinite support needs its weight profile to be "
                         "its profile")
    _, _, unscaled = _scales(bandwidth, d, dtype, kernel)
    geo = _Geometry(kernel, with_mean, query_block, pruned, exclude_self, unscaled)
    act = jnp.ones((m,), bool) if active is None else active
    ids = jnp.arange(m, dtype=jnp.int32) if query_ids is None else query_ids
    if pruned:
        fixed = lax.stop_gradient(x)
        lo = jnp.min(plan.lo, axis=0)
        hi = jnp.max(plan.hi, axis=0)
        k_hi, k_lo = morton_keys(fixed, lo, hi)
        order = jnp.lexsort((k_lo, k_hi, ~act))
    elif active is not None:
        order = jnp.argsort(~act, stable=True)
    else:
        order = None
    if order is not None:
        x, act, ids = x[order], act[order], ids[order]
    log_scale, s, t, anchor, pairs = _sums_fast(x, plan, bandwidth.astype(dtype), act, ids, geo)
    if order is not None:
        back = jnp.zeros((m,), jnp.int32).at[order].set(jnp.arange(m, dtype=jnp.int32))
        log_scale, s, t, anchor = log_scale[back], s[back], t[back], anchor[back]
    if data_axes:
        total = t + s[:, None] * anchor if with_mean else t
        compact = kernel.support != math.inf
        log_scale, s, t = _shard.combine(log_scale, s, total, data_axes, compact)
        # Now the same on every device of the data group (as the queries are).
        anchor = _shard.vary(jnp.zeros(anchor.shape, dtype), like)
        if compact:  # 0 everywhere
            log_scale = _shard.vary(jnp.zeros((m,), dtype), like)
    return Sums(log_scale, s, t, anchor, pairs)


def kernel_sums(
    x,
    data,
    weights,
    bandwidth,
    kernel: Kernel,
    *,
    with_mean: bool,
    active=None,
    query_block: int | None = None,
    data_block: int | None = None,
    exclude_self: bool = False,
    algorithm: str = "auto",
    query_ids=None,
    data_ids=None,
    data_axes: tuple[str, ...] = (),
) -> Sums:
    """Blocked kernel sums of ``x`` ``[m, d]`` against ``data`` ``[n, d]``.

    Args:
        x: ``[m, d]`` queries.
        data: ``[n, d]`` data, same dtype as ``x``.
        weights: ``[n]`` non-negative weights.
        bandwidth: ``[]`` or ``[d]`` positive bandwidth, or a ``[d, d]`` symmetric
            positive definite bandwidth matrix (the kernel's covariance ``H``;
            ``h`` means ``H = diag(h^2)``).
        kernel: the kernel whose profile weighs the pairs.
        with_mean: also accumulate ``T`` (the weighted sum of data) with the kernel's
            weight profile; a KDE does not need it.
        active: optional ``[m]`` bool; query blocks with no active query are
            skipped (inactive queries' sums are garbage and must be masked by the caller).
        query_block, data_block: block sizes (static; ``None``: the algorithm's default).
        exclude_self: leave out the pairs ``(i, i)`` (static): the queries are the
            data themselves (``x is data``, ``m == n``), as in leave-one-out sums.
            The pair is masked inside the block, so the running maximum of a
            gaussian never sees the self term and a point far from all others
            still gets finite logs.
        algorithm: ``"auto"``, ``"dense"`` or ``"pruned"`` (static), see the module
            docstring; both give the same sums up to rounding.
        query_ids, data_ids: ``[m]``, ``[n]`` int32 indices of the queries and data
            points (the pairs left out by ``exclude_self`` are those of equal index;
            default ``0 .. m - 1`` and ``0 .. n - 1``).
        data_axes: mesh axes the data are split over (inside ``shard_map``; static):
            see :func:`sums_against`.

    Returns:
        :class:`Sums`.
    """
    m, d = x.shape
    n = data.shape[0]
    if exclude_self and m != n and query_ids is None:
        raise ValueError(f"exclude_self=True needs the queries to be the data, got {m} queries and {n} data points")
    algo = choose_algorithm(algorithm, m, n, d, kernel)
    qb, db = block_shape(algo, query_block, data_block)
    plan = plan_data(data, weights.astype(x.dtype), data_block=db, pruned=algo == "pruned", ids=data_ids)
    return sums_against(
        x, plan, jnp.asarray(bandwidth), kernel, with_mean=with_mean, active=active, query_block=qb,
        pruned=algo == "pruned", exclude_self=exclude_self, query_ids=query_ids, data_axes=data_axes,
    )


def pairs_evaluated(x, data, *, bandwidth, kernel="gaussian", weights=None, algorithm="auto"):
    """The number of query-data pairs that :func:`jaxshift.kde` evaluates for these
    inputs (whole blocks counted), for benchmarks; ``m * n`` rounded up to blocks
    for the dense plan."""
    from .kernels import get_kernel

    x = jnp.asarray(x)
    data = jnp.asarray(data, x.dtype)
    w = jnp.ones((data.shape[0],), x.dtype) if weights is None else jnp.asarray(weights, x.dtype)
    fn = jax.jit(lambda x, y, w, h: kernel_sums(x, y, w, h, get_kernel(kernel), with_mean=False,
                                                algorithm=algorithm).pairs)
    return float(fn(x, data, w, jnp.asarray(bandwidth, x.dtype)))
