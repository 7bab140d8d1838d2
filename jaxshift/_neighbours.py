"""Nearest neighbours, blocked beside the hot loop: each point's nearest centre (the
labels of :mod:`jaxshift.cluster`) and each point's ``k``-th nearest data point
(``estimate_bandwidth``).

Squared distances take the GEMM form around a query block's centre ``c`` (a point
near the block, as in :mod:`jaxshift._pairwise`):
``|x - c|^2 + |y - c|^2 - 2 (x - c).(y - c)``, clamped at 0. Its rounding error
is bounded, per pair, by ``tau (|x - c|^2 + |y - c|^2)`` with
``tau = (4 d + 16) eps`` (:func:`_slack`), which covers the rounding of the shifts,
the sums and the product, and that of the difference form
``sum((x - y)^2)`` it is compared with. The GEMM form only *chooses*; every
distance returned is recomputed in the difference form, exact for equal points and
the form scikit-learn's trees use:

- :func:`nearest`: the GEMM form's argmin is taken when it is unambiguous (every
  other centre is farther by more than the two pairs' bounds); a block of queries
  with a near-tie is decided by the difference form, ties to the lowest index.
- :func:`kth_neighbour_sq_dist`: queries in Morton order, so a block is a compact
  piece of space; per block, the full rows of ``[query_block, n]`` squared distances
  (memory ``O(query_block * n)``), and the ``k``-th smallest of each row found by
  counting (:func:`_narrow`): a bracket ``(lo, hi]`` around it, first from a strided
  sample of the row, then narrowed by regula falsi (Illinois) steps on the count
  ``#{g <= t}``. About 10 counting passes per block instead of a sort: on CPU, XLA's
  sort and ``top_k`` cost ~200 ns per element, its argmin ~5 ns, a counting pass
  ~0.4 ns. The chosen neighbour's distance is recomputed in the difference form:
  exact, or, where the GEMM form's rounding swapped two near-equal neighbours, off by
  at most the bound above, which is kept below ``~100 tau`` times the result (a
  block with a query farther from its centre than 4 k-th neighbour distances is
  redone in the difference form; so is one whose ``k``-th distances are 0, repeated
  points, unless all its queries sit at its centre: 0 comes out exactly 0).
"""

from __future__ import annotations

import functools
import math

import jax
import jax.numpy as jnp
from jax import lax

from ._plan import _blocks, _blocks_edge, _centre, morton_keys

_MAX_PASSES = 48 + 2 * 64 + 8  # see _narrow: bisections from pass 48 end every row within 64 of them
_SAMPLE = 256  # entries per row for the first bracket of the k-th smallest


def _slack(d, dtype):
    """``tau``: the GEMM form's rounding, per pair, is below ``tau (|x - c|^2 + |y - c|^2)``."""
    return (4 * d + 16) * jnp.finfo(dtype).eps


def _sq_dist(x, y, scale=None):
    """``[q, k]`` squared distances in the difference form (exact 0 for equal points);
    with ``scale`` (a ``[d]`` bandwidth) in bandwidth units."""
    diff = x[:, None, :] - y[None, :, :]
    if scale is not None:
        diff = diff / scale
    return jnp.sum(diff * diff, axis=-1)


def _gemm_sq_dist(xs, ys):
    """``([q, k] squared distances, [q, k] their rounding bound)`` of points already
    shifted by a common centre (and scaled), in the GEMM form.

    The whole sum is one product of augmented rows, ``[-2 x, |x|^2, 1] . [y, 1, |y|^2]``:
    with the norms added outside a product, XLA may recompute the sum inside each
    consumer's fusion (small ``d`` turns the product into multiplies) and contract
    it into fused multiply-adds in some and not in others, so that, say, a row's
    maximum is not one of its entries. A product is computed once.
    """
    xx = jnp.sum(xs * xs, axis=-1)
    yy = jnp.sum(ys * ys, axis=-1)
    a = jnp.concatenate([-2.0 * xs, xx[:, None], jnp.ones_like(xx)[:, None]], axis=1)
    b = jnp.concatenate([ys, jnp.ones_like(yy)[:, None], yy[:, None]], axis=1)
    g = jnp.maximum(jnp.matmul(a, b.T, precision=lax.Precision.HIGHEST), 0.0)
    return g, _slack(xs.shape[1], xs.dtype) * (xx[:, None] + yy[None, :])


@functools.partial(jax.jit, static_argnames=("scaled", "query_block", "centre_block", "few_terms"))
def nearest(x, centres, valid, scale, *, scaled, query_block=1024, centre_block=256, few_terms=128):
    """Index of and squared distance to the nearest valid centre, blocked both ways.

    Args:
        x: ``[m, d]`` queries.
        centres: ``[k, d]``.
        valid: ``[k]`` bool, which centres count.
        scale: ``[d]`` bandwidth (distances in bandwidth units) when ``scaled``,
            otherwise ignored.
        scaled: static.
        query_block, centre_block: block sizes (static).
        few_terms: with few centres, ``k d <= few_terms`` (static; a photo's colours and
            a handful of clusters), every distance is taken in the difference form
            (:func:`_nearest_few`) rather than chosen by the blocked GEMM form.

    Returns:
        ``(index [m] int32, squared distance [m])``, the distance in the difference
        form; ties go to the lowest index (as a brute-force argmin), and a query with
        no valid centre gets index 0 and distance ``inf``.
    """
    m, d = x.shape
    k = centres.shape[0]
    if k * d <= few_terms:
        return _nearest_few(x, centres, valid, scale if scaled else None)
    bq, bc = min(query_block, m), min(centre_block, k)
    cb = _blocks(centres, bc)
    vb = _blocks(valid, bc, fill=False)
    offsets = jnp.arange(cb.shape[0], dtype=jnp.int32) * bc
    sc = scale if scaled else None

    def one(xq):
        c = _centre(xq)
        xs = (xq - c) / sc if scaled else xq - c
        cols = jnp.arange(bc)

        def step(carry, blk):
            best, arg = carry
            cen, v, off = blk
            ys = (cen - c) / sc if scaled else cen - c
            g, err = _gemm_sq_dist(xs, ys)
            g = jnp.where(v[None, :], g, jnp.inf)
            j = jnp.argmin(g, axis=1)
            gj = jnp.take_along_axis(g, j[:, None], axis=1)[:, 0]
            ej = jnp.take_along_axis(err, j[:, None], axis=1)[:, 0]
            others = jnp.where(cols[None, :] == j[:, None], jnp.inf, g - err)
            # A near-tie, within the rounding bounds: the difference form decides.
            tie = jnp.any(jnp.isfinite(gj) & (jnp.min(others, axis=1) <= gj + ej))
            j = lax.cond(
                tie, lambda _: jnp.argmin(jnp.where(v[None, :], _sq_dist(xq, cen, sc), jnp.inf), axis=1),
                lambda _: j, None,
            )
            diff = xq - cen[j]
            if scaled:
                diff = diff / sc
            dj = jnp.where(v[j], jnp.sum(diff * diff, axis=-1), jnp.inf)
            better = dj < best
            return (jnp.where(better, dj, best), jnp.where(better, j.astype(jnp.int32) + off, arg)), None

        init = (jnp.full((bq,), jnp.inf, x.dtype), jnp.zeros((bq,), jnp.int32))
        (best, arg), _ = lax.scan(step, init, (cb, vb, offsets))
        return arg, best

    arg, best = lax.map(one, _blocks_edge(x, bq))
    return arg.reshape(-1)[:m], best.reshape(-1)[:m]


def _nearest_few(x, centres, valid, scale):
    """:func:`nearest` for few centres: each centre's squared distance from every query
    in the difference form, a centre at a time (ties to the lower index), on the
    queries' columns. XLA:CPU fuses it into one pass over the queries: on a photo's 98k
    colours and 8 centres, 0.2 ms against 5 ms blocked (whose GEMM, argmin and gathers
    are separate passes over narrow rows)."""
    m, d = x.shape
    cols = [x[:, j] for j in range(d)]

    def term(i, j):
        diff = cols[j] - centres[i, j]
        return (diff if scale is None else diff / scale[j]) ** 2

    best = jnp.full((m,), jnp.inf, x.dtype)
    arg = jnp.zeros((m,), jnp.int32)
    for i in range(centres.shape[0]):
        dist = term(i, 0)
        for j in range(1, d):
            dist = dist + term(i, j)
        better = valid[i] & (dist < best)
        best = jnp.where(better, dist, best)
        arg = jnp.where(better, i, arg)
    return arg, best


def _count(g, t):
    """``#{g <= t}`` per row of ``g`` ``[q, n]``."""
    return jnp.sum(g <= t[:, None], axis=1, dtype=jnp.int32)


def _narrow(g, k, lo, clo, hi, chi):
    """Per row of ``g`` ``[q, n]`` (entries ``>= 0``), the index of its ``k``-th
    smallest entry, given a bracket ``(lo, hi]`` around it: ``clo = #{g <= lo} < k
    <= chi = #{g <= hi}`` (``lo = -1``: below every entry).

    Each pass counts the entries below one threshold per row: a regula falsi step
    (Illinois: the end kept twice in a row has its weight halved), or, after three
    passes that left the count in the bracket unchanged (a run of ties), the least
    entry above ``lo`` (done if it reaches ``k``). After 48 passes, every other one
    halves the bracket's bit patterns (non-negative floats are ordered as their
    bits), which ends any row within 64 more. A row is done when the ``k``-th entry
    is the least above ``lo`` (``clo = k - 1``), the greatest up to ``hi``
    (``chi = k``), or the only value in the bracket.
    """
    q, n = g.shape
    dtype = g.dtype
    ints = jnp.int64 if dtype == jnp.float64 else jnp.int32
    target = k - 0.5
    inf = jnp.asarray(jnp.inf, dtype)

    def above(lo):
        """The least representable value above ``lo``."""
        return jnp.where(lo < 0, 0.0, jnp.nextafter(lo, inf))

    def is_open(lo, clo, hi, chi, single):
        return ~single & (clo != k - 1) & (chi != k) & (hi > above(lo))

    def threshold(lo, hi, f_lo, f_hi, snap, it):
        """The next pass's thresholds, from the bracket (kept in the loop's state, so
        that the count's fusion reads them rather than recomputing them per entry)."""
        lo0 = jnp.maximum(lo, 0.0)
        t = lo0 - f_lo * (hi - lo0) / (f_hi - f_lo)
        lo_bits = jnp.where(lo < 0, -1, lax.bitcast_convert_type(lo0, ints))
        hi_bits = lax.bitcast_convert_type(hi, ints)
        t_bisect = lax.bitcast_convert_type(lo_bits + (hi_bits - lo_bits) // 2, dtype)
        t = jnp.where((it >= 48) & (it % 2 == 0), t_bisect, t)
        t = jnp.clip(t, above(lo), jnp.nextafter(hi, -inf))
        return lax.cond(
            jnp.any(snap), lambda t: jnp.where(snap, jnp.min(jnp.where(g > lo[:, None], g, inf), axis=1), t),
            lambda t: t, t,
        )

    def cond(s):
        return jnp.any(is_open(*s[:5])) & (s[-1] < _MAX_PASSES)

    def body(s):
        lo, clo, hi, chi, single, f_lo, f_hi, side, stall, snap, t, it = s
        live = is_open(lo, clo, hi, chi, single)
        c = _count(g, t)
        up = c >= k  # t is the new hi
        f_c = c - target
        new = (
            jnp.where(up, lo, t), jnp.where(up, clo, c), jnp.where(up, t, hi), jnp.where(up, c, chi),
            single | (snap & up),
            jnp.where(up, jnp.where(side > 0, 0.5 * f_lo, f_lo), f_c),
            jnp.where(up, f_c, jnp.where(side < 0, 0.5 * f_hi, f_hi)),
            jnp.where(up, 1, -1).astype(jnp.int8),
            jnp.where((c == clo) | (c == chi), stall + 1, 0),
        )
        lo, clo, hi, chi, single, f_lo, f_hi, side, stall = (
            jnp.where(live, a, b) for a, b in zip(new, s[:9], strict=True)
        )
        snap = is_open(lo, clo, hi, chi, single) & (stall >= 3)
        stall = jnp.where(snap, 0, stall)
        return lo, clo, hi, chi, single, f_lo, f_hi, side, stall, snap, threshold(lo, hi, f_lo, f_hi, snap, it + 1), it + 1

    f_lo, f_hi = (clo - target).astype(dtype), (chi - target).astype(dtype)
    no = jnp.zeros((q,), bool)
    zero = jnp.zeros((), jnp.int32)
    init = (lo, clo, hi, chi, no, f_lo, f_hi, jnp.zeros((q,), jnp.int8), jnp.zeros((q,), jnp.int32), no,
            threshold(lo, hi, f_lo, f_hi, no, zero), zero)
    lo, _, hi, chi = lax.while_loop(cond, body, init)[:4]
    least_above = jnp.min(jnp.where(g > lo[:, None], g, inf), axis=1)
    greatest_below = jnp.max(jnp.where(g <= hi[:, None], g, -inf), axis=1)
    value = jnp.where(chi == k, greatest_below, least_above)
    # The index by a plain integer maximum: XLA's argmin (a reduction of value-index
    # pairs) costs on CPU as much as ten counting passes.
    return jnp.max(jnp.where(g == value[:, None], jnp.arange(n, dtype=jnp.int32), -1), axis=1)


def _kth_smallest(g, k):
    """Per row of ``g`` ``[q, n]`` (entries ``>= 0``), the index of its ``k``-th
    smallest entry (``1 <= k <= n``, static).

    For long rows the first bracket comes from a strided sample of ``_SAMPLE``
    entries per row: its order statistics three standard deviations either side of
    rank ``k n / _SAMPLE`` bracket the ``k``-th entry but for a few rows (which keep
    ``0`` or the row's maximum on that side). This puts the bracket at the right
    scale when a few entries are far larger than the rest (outliers).
    """
    q, n = g.shape

    def top(g):
        # Padded by a few ulps: XLA may recompute the difference form's entries in
        # another fusion, rounded differently, and #{g <= top} must be all of them.
        return jnp.max(g, axis=1) * (1 + 8 * jnp.finfo(g.dtype).eps)

    lo, clo = jnp.full((q,), -1.0, g.dtype), jnp.zeros((q,), jnp.int32)
    hi, chi = top(g), jnp.full((q,), n, jnp.int32)
    if n >= 4 * _SAMPLE:
        s, stride = _SAMPLE, n // _SAMPLE
        sample = g[:, : s * stride : stride]
        full = (lo, clo, top(sample), jnp.full((q,), s, jnp.int32))
        p = (k - 0.5) / n
        sd = math.sqrt(p * (1 - p) * s)
        a, b = math.floor(p * s - 3 * sd) + 1, math.ceil(p * s + 3 * sd) + 1  # ranks in the sample
        if a >= 1:
            t = jnp.take_along_axis(sample, _narrow(sample, a, *full)[:, None], axis=1)[:, 0]
            c = _count(g, t)
            lo, clo = jnp.where(c < k, t, lo), jnp.where(c < k, c, clo)
        if b <= s:
            t = jnp.take_along_axis(sample, _narrow(sample, b, *full)[:, None], axis=1)[:, 0]
            c = _count(g, t)
            hi, chi = jnp.where(c >= k, t, hi), jnp.where(c >= k, c, chi)
    return _narrow(g, k, lo, clo, hi, chi)


@functools.partial(jax.jit, static_argnames=("k", "query_block"))
def kth_neighbour_sq_dist(x, *, k, query_block=None):
    """Squared distance from each point of ``x`` ``[n, d]`` to its ``k``-th nearest
    point of ``x``, itself included (so ``k = 1`` gives 0), in the difference form.

    Args:
        x: ``[n, d]``.
        k: ``1 <= k <= n`` (static).
        query_block: rows per block (static; default up to 32, fewer for large ``n``
            so that a block's ``[query_block, n]`` distances stay near 8 MiB in
            float64).

    Returns:
        ``[n]`` squared distances.
    """
    n, d = x.shape
    if not 1 <= k <= n:
        raise ValueError(f"k must be in [1, {n}], got {k}")
    if k == 1:
        return jnp.zeros((n,), x.dtype)
    bq = min(query_block or max(1, min(32, (1 << 20) // n)), n)
    # Queries in Morton order: a block is a compact piece of space, so the GEMM
    # form's rounding (bounded by the distances to the block's centre) stays small.
    k_hi, k_lo = morton_keys(x, jnp.min(x, axis=0), jnp.max(x, axis=0))
    order = jnp.lexsort((k_lo, k_hi))
    xo = x[order]

    def one(xq):
        c = _centre(xq)
        xs = xq - c
        g, _ = _gemm_sq_dist(xs, x - c)
        j = _kth_smallest(g, k)
        # The GEMM form's rounding at the k-th neighbour is below about
        # tau (3 |x - c|^2 + 2 g_k): where a query lies farther from the block's centre
        # than 4 k-th neighbour distances, the block is redone in the difference form.
        gk = jnp.take_along_axis(g, j[:, None], axis=1)[:, 0]
        close = jnp.all(jnp.sum(xs * xs, axis=-1) <= 16.0 * gk)
        j = lax.cond(close, lambda _: j, lambda _: _kth_smallest(_sq_dist(xq, x), k), None)
        diff = xq - x[j]
        return jnp.sum(diff * diff, axis=-1)

    d2 = lax.map(one, _blocks_edge(xo, bq)).reshape(-1)[:n]
    return jnp.zeros((n,), x.dtype).at[order].set(d2)
