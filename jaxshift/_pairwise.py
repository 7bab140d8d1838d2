"""The one hot loop: blocked, kernel-weighted sums of queries against data.

Every KDE value and every mean-shift step is, per query ``x_i``,
``S_i = sum_j w_j phi(u_ij)`` and ``T_i = sum_j w_j phi(u_ij) (y_j - c)`` with
``u_ij = |(x_i - y_j) / h|^2``. They are computed in blocks of
``query_block x data_block`` pairs (``lax.map`` over query blocks, ``lax.scan`` over
data blocks), so peak memory is ``O(query_block * data_block)``, never ``O(m * n)``.

Squared distances use the GEMM form ``|x|^2 + |y|^2 - 2 x.y`` (the fastest on CPU by
far) on data centred at their mean and scaled by the bandwidth, clamped at 0, with
the matrix products at ``Precision.HIGHEST`` so that TPUs and GPUs do not drop to
bfloat16/TF32 passes.

Kernels with infinite support (the gaussian) accumulate with a running maximum of
the log-weights, as in a streaming log-sum-exp: the sums are returned as
``S = exp(log_scale) * s`` so that a query far from all data gets finite logs and a
well-defined step instead of ``0 / 0``. Compact kernels accumulate directly
(``log_scale = 0``).
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
from jax import lax

from .kernels import Kernel, _gaussian_log_profile

QUERY_BLOCK = 256
DATA_BLOCK = 2048


class Sums(NamedTuple):
    """Per-query weighted sums: ``S = exp(log_scale) * s``, ``T = exp(log_scale) * t``.

    Attributes:
        log_scale: ``[m]``, 0 for compact kernels.
        s: ``[m]``, the scaled sum of weights.
        t: ``[m, d]``, the scaled weighted sum of centred data ``y - centre``
            (zeros when not requested).
        centre: ``[d]``, the centre subtracted from the data.
    """

    log_scale: jax.Array
    s: jax.Array
    t: jax.Array
    centre: jax.Array


def _blocks(a, size, fill=0):
    """Pad the leading axis of ``a`` to a multiple of ``size`` and split it into blocks."""
    n = a.shape[0]
    nb = -(-n // size)
    pad = nb * size - n
    if pad:
        a = jnp.pad(a, [(0, pad)] + [(0, 0)] * (a.ndim - 1), constant_values=fill)
    return a.reshape((nb, size) + a.shape[1:])


def _centre(data):
    """Per feature, the data value nearest the mean: as good a centre as the mean for
    the GEMM form's accuracy, and on a lattice (integers, pixel values) subtracting
    it is exact, so lattice distances come out exact."""
    mean = jnp.mean(data, axis=0)
    nearest = jnp.argmin(jnp.abs(data - mean), axis=0)
    return jnp.take_along_axis(data, nearest[None, :], axis=0)[0]


def _sq_dist(xs, xx, ys, yy):
    cross = jnp.matmul(xs, ys.T, precision=lax.Precision.HIGHEST)
    return jnp.maximum(xx[:, None] + yy[None, :] - 2.0 * cross, 0.0)


def kernel_sums(
    x,
    data,
    weights,
    bandwidth,
    kernel: Kernel,
    *,
    with_mean: bool,
    active=None,
    query_block: int = QUERY_BLOCK,
    data_block: int = DATA_BLOCK,
    exclude_self: bool = False,
) -> Sums:
    """Blocked kernel sums of ``x`` ``[m, d]`` against ``data`` ``[n, d]``.

    Args:
        x: ``[m, d]`` queries.
        data: ``[n, d]`` data, same dtype as ``x``.
        weights: ``[n]`` non-negative weights.
        bandwidth: ``[]`` or ``[d]`` positive bandwidth.
        kernel: the kernel whose profile weighs the pairs.
        with_mean: also accumulate ``T`` (the weighted sum of data); a KDE does not
            need it.
        active: optional ``[m]`` bool; query blocks with no active query are
            skipped (their sums are garbage and must be masked by the caller).
        query_block, data_block: block sizes (static).
        exclude_self: leave out the pairs ``(i, i)`` (static): the queries are the
            data themselves (``x is data``, ``m == n``), as in leave-one-out sums.
            The pair is masked inside the block, so the running maximum of a
            gaussian never sees the self term and a point far from all others
            still gets finite logs.

    Returns:
        :class:`Sums`.
    """
    m, d = x.shape
    n = data.shape[0]
    if exclude_self and m != n:
        raise ValueError(f"exclude_self=True needs the queries to be the data, got {m} queries and {n} data points")
    dtype = x.dtype
    h = jnp.broadcast_to(bandwidth, (d,)).astype(dtype)
    compact = kernel.support != float("inf")
    # Translation does not change distances; centring keeps the GEMM form accurate.
    centre = lax.stop_gradient(_centre(data))
    yc = data - centre
    # A compact kernel tests u <= 1 at the edge of its support. With one bandwidth the
    # distances are computed unscaled and multiplied by 1 / h^2 (rounded down if need
    # be) afterwards: on a lattice (integer data and bandwidth, e.g. pixel values) a
    # point exactly one bandwidth away is then inside, as in scikit-learn's radius
    # test, where scaling by 1 / h first would round it either way.
    unscaled = compact and jnp.size(bandwidth) == 1
    if unscaled:
        hh = h[0] * h[0]
        inv = 1.0 / hh
        inv0, hh0 = lax.stop_gradient(inv), lax.stop_gradient(hh)
        down = jnp.where(hh0 * inv0 > 1.0, jnp.nextafter(inv0, jnp.zeros_like(inv0)), inv0)
        inv = inv + (down - inv0)  # the rounding fix carries no gradient
        xs, ys = x - centre, yc
    else:
        xs = (x - centre) / h
        ys = yc / h
    bm = min(query_block, m)
    bn = min(data_block, n)
    yb = _blocks(ys, bn)
    yyb = jnp.sum(yb * yb, axis=-1)
    ycb = _blocks(yc, bn)
    wb = _blocks(weights.astype(dtype), bn)  # padding has weight 0
    xb = _blocks(xs, bm)
    act = None if active is None else _blocks(active, bm, fill=False)
    # Global indices of queries and data (padding never matches) for exclude_self.
    qib = _blocks(jnp.arange(m), bm, fill=-1) if exclude_self else None
    dib = _blocks(jnp.arange(n), bn, fill=-2) if exclude_self else jnp.zeros((yb.shape[0], 0), jnp.int32)
    # The gaussian's log-weight -u/2 = x.y - |x|^2/2 - |y|^2/2 + log w: the per-query
    # -|x|^2/2 moves into log_scale and the per-point log w - |y|^2/2 into one bias, so
    # each pair costs one GEMM entry, a max and an exp (about 20% less work than via u).
    gauss = kernel.log_profile is _gaussian_log_profile
    if gauss:
        pos = wb > 0
        biasb = jnp.where(pos, jnp.log(jnp.where(pos, wb, 1.0)), -jnp.inf) - 0.5 * yyb
        log_wmax = lax.stop_gradient(jnp.log(jnp.max(weights)))
    else:
        biasb = wb
    phi = kernel.weight if with_mean else kernel.profile

    def one_query_block(args):
        xq, aq, iq = args
        xx = jnp.sum(xq * xq, axis=-1)

        def step(carry, blk):
            mx, s, t = carry
            yq, yy, yv, w, jd = blk
            if gauss:  # w holds the bias log w - |y|^2 / 2
                a = jnp.matmul(xq, yq.T, precision=lax.Precision.HIGHEST) + w[None, :]
                if exclude_self:
                    a = jnp.where(iq[:, None] == jd[None, :], -jnp.inf, a)
                new = lax.stop_gradient(jnp.maximum(mx, jnp.max(a, axis=1)))
                base = jnp.where(jnp.isfinite(new), new, 0.0)
                alpha = jnp.exp(mx - base)
                e = jnp.exp(a - base[:, None])
                s = s * alpha + jnp.sum(e, axis=1)
                if with_mean:
                    t = t * alpha[:, None] + jnp.matmul(e, yv, precision=lax.Precision.HIGHEST)
                return (new, s, t), None
            u = _sq_dist(xq, xx, yq, yy)
            if unscaled:
                u = u * inv
            if exclude_self:
                w = jnp.where(iq[:, None] == jd[None, :], 0.0, w[None, :])
            else:
                w = w[None, :]
            if compact:
                e = w * phi(u)
                s = s + jnp.sum(e, axis=1)
                if with_mean:
                    t = t + jnp.matmul(e, yv, precision=lax.Precision.HIGHEST)
                return (mx, s, t), None
            logk = jnp.where(w > 0, kernel.log_profile(u), -jnp.inf)
            new = lax.stop_gradient(jnp.maximum(mx, jnp.max(logk, axis=1)))
            base = jnp.where(jnp.isfinite(new), new, 0.0)
            alpha = jnp.exp(mx - base)
            e = w * jnp.exp(logk - base[:, None])
            s = s * alpha + jnp.sum(e, axis=1)
            if with_mean:
                t = t * alpha[:, None] + jnp.matmul(e, yv, precision=lax.Precision.HIGHEST)
            return (new, s, t), None

        init = (
            jnp.full((bm,), -jnp.inf if not compact else 0.0, dtype),
            jnp.zeros((bm,), dtype),
            jnp.zeros((bm, d if with_mean else 0), dtype),
        )

        def run(_):
            (mx, s, t), _ = lax.scan(step, init, (yb, yyb, ycb, biasb, dib))
            if gauss:
                # max_j (log w_j - u_ij / 2) <= log max w: the clamp only removes rounding
                # (tiny bandwidths in float32), which could otherwise overflow exp.
                # (the clamp is a constant shift: jnp.minimum would cut the gradient of
                # -|x|^2/2 wherever the bound is hit, e.g. at a query equal to a data point)
                mx = mx - 0.5 * xx
                mx = mx - lax.stop_gradient(jnp.maximum(mx - log_wmax, 0.0))
            return mx, s, t

        if aq is None:
            return run(None)
        return lax.cond(jnp.any(aq), run, lambda _: init, None)

    if act is None and qib is None:
        mx, s, t = lax.map(lambda xq: one_query_block((xq, None, None)), xb)
    elif act is None:
        mx, s, t = lax.map(lambda a: one_query_block((a[0], None, a[1])), (xb, qib))
    elif qib is None:
        mx, s, t = lax.map(lambda a: one_query_block((a[0], a[1], None)), (xb, act))
    else:
        mx, s, t = lax.map(one_query_block, (xb, act, qib))
    mx = mx.reshape(-1)[:m]
    s = s.reshape(-1)[:m]
    t = t.reshape(-1, t.shape[-1])[:m] if with_mean else jnp.zeros((m, 0), dtype)
    log_scale = jnp.where(jnp.isfinite(mx), mx, 0.0) if not compact else mx
    return Sums(log_scale, s, t, centre)
