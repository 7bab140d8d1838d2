"""Mean shift: one step, the ``lax.while_loop`` driver and the ``lax.scan`` trajectory."""

from __future__ import annotations

import functools
from typing import NamedTuple

import jax
import jax.numpy as jnp
from jax import lax
from jax.sharding import PartitionSpec as P
from jax.typing import ArrayLike

from . import _pairwise, _shard, _validate
from .bandwidth import _resolve_for
from .kernels import Kernel, get_kernel, shadow

__all__ = ["Modes", "shift", "find_modes", "trajectory"]


class Modes(NamedTuple):
    """Result of :func:`find_modes`.

    Attributes:
        modes: ``[m, d]`` (``[d]`` for one seed): where each seed ended.
        n_iter: ``[m]`` int32 (``[]`` for one seed): the mean-shift steps each seed
            took before it converged or ran out of ``max_iter``.
        converged: ``[m]`` bool (``[]`` for one seed): whether the last step moved
            the seed by at most ``tol``. ``False`` for a seed with no data within a
            compact kernel's reach (it stays where it is, at no mode: scikit-learn
            drops such seeds), and for every seed when a traced input is bad (then
            ``modes`` is NaN; see :func:`find_modes`).
    """

    modes: jax.Array
    n_iter: jax.Array
    converged: jax.Array


class Climb(NamedTuple):
    """Everything the one driver, :func:`climb`, knows at the end.

    Attributes:
        modes: ``[m, d]`` where each seed ended.
        n_iter: ``[m]`` int32, the mean-shift updates each seed took.
        converged: ``[m]`` bool, the last update moved the seed by at most ``tol``
            and it had data within the kernel's reach.
        prev: ``[m, d]`` where each seed stood before its last update.
        weight: ``[m]`` the kernel weight at ``prev`` (for the flat kernel, the weight
            of the points within one bandwidth: scikit-learn's intensity); 0 where no
            data was in reach.
        pairs: ``[]`` the query-data pairs the hot loop evaluated (whole blocks).
    """

    modes: jax.Array
    n_iter: jax.Array
    converged: jax.Array
    prev: jax.Array
    weight: jax.Array
    pairs: jax.Array


class _Plan(NamedTuple):
    data: _pairwise.DataPlan
    query_block: int
    pruned: bool


def _plan(data, weights, m, *, kernel, algorithm, query_block, data_block) -> _Plan:
    """The data side of the hot loop for ``m`` queries, built once per data set."""
    n, d = data.shape
    algo = _pairwise.choose_algorithm(algorithm, m, n, d, kernel)
    qb, db = _pairwise.block_shape(algo, query_block, data_block)
    pruned = algo == "pruned"
    return _Plan(_pairwise.plan_data(data, weights.astype(data.dtype), data_block=db, pruned=pruned), qb, pruned)


def _step(x, plan: _Plan, bandwidth, *, kernel, active=None, data_axes=()):
    """One mean-shift step for ``x`` ``[m, d]``: ``(new [m, d], weight [m], pairs [])``.

    ``weight`` is the total kernel weight at ``x`` up to a positive per-point factor
    (exactly the total for compact kernels: for the flat kernel, the weight of the
    points within one bandwidth); 0 where no data is within the kernel's support, and
    such a point stays where it is, as in scikit-learn. ``data_axes``: the plan holds
    this device's slice of data split over these mesh axes (inside ``shard_map``).
    """
    sums = _pairwise.sums_against(
        x, plan.data, bandwidth, kernel, with_mean=True, active=active,
        query_block=plan.query_block, pruned=plan.pruned, data_axes=data_axes,
    )
    ok = sums.s > 0
    # The weighted sum, then one division: on integer data exactly NumPy's mean. XLA on
    # CPU rewrites a / broadcast(b) as a * (1 / b), rounding twice; the barrier keeps the
    # division correctly rounded.
    total = sums.t + sums.s[:, None] * sums.anchor
    denom = lax.optimization_barrier(jnp.broadcast_to(jnp.where(ok, sums.s, 1.0)[:, None], total.shape))
    return jnp.where(ok[:, None], total / denom, x), jnp.where(ok, sums.s, 0.0), sums.pairs


_STATIC = ("kernel", "algorithm", "query_block", "data_block", "mesh", "data_axes")


def _spread(local, mesh, data_axes, queries, data, weights, rest, out_specs, per_query=()):
    """``local(queries, data, weights, pad, *per_query, *rest)`` under ``shard_map`` over
    ``mesh``: queries (and the ``per_query`` arrays) split over the axes not in
    ``data_axes`` (padded with copies of the last row, marked ``pad`` [m] bool), data
    and weights over ``data_axes`` (padded at weight 0), ``rest`` replicated.
    ``out_specs`` maps the query spec to the output specs; the padded query rows are
    the caller's to cut."""
    qa, da, nq, nd = _shard.layout(mesh, data_axes)
    m = queries.shape[0]
    xp = _shard.pad_rows(queries, nq)
    pad = jnp.arange(xp.shape[0]) >= m
    extra = tuple(_shard.pad_rows(a, nq) for a in per_query)
    yp = _shard.pad_rows(data, nd)
    wp = _shard.pad_rows(weights, nd, fill=0)
    qs, ds = _shard.spec(qa), _shard.spec(da)
    in_specs = (qs, ds, ds, qs) + (qs,) * len(extra) + (P(),) * len(rest)
    return _shard.run(local, mesh, in_specs, out_specs(qs), xp, yp, wp, pad, *extra, *rest)


@functools.partial(jax.jit, static_argnames=_STATIC)
def _shift(x, data, bandwidth, weights, *, kernel, algorithm="auto", query_block=None, data_block=None,
           mesh=None, data_axes=()):
    """:func:`shift` on validated arrays: the plan for ``data``, then one :func:`_step`
    (under ``shard_map`` over ``mesh`` when given)."""
    if mesh is not None:
        def local(x, y, w, pad, h):
            return _shift(x, y, h, w, kernel=kernel, algorithm=algorithm, query_block=query_block,
                          data_block=data_block, data_axes=data_axes)

        out = _spread(local, mesh, data_axes, x, data, weights, (bandwidth,), lambda qs: qs)
        return _shard.cut(out, x.shape[0], mesh)
    plan = _plan(data, weights, x.shape[0], kernel=kernel, algorithm=algorithm, query_block=query_block,
                 data_block=data_block)
    good = _validate.values_ok(data, bandwidth, weights, axes=data_axes) & _validate.finite_rows(x)
    new = _step(x, plan, bandwidth, kernel=kernel, data_axes=data_axes)[0]
    return jnp.where(good[:, None], new, jnp.nan)


def default_tol(bandwidth):
    """scikit-learn's stop, ``1e-3 * bandwidth``; for a ``[d, d]`` bandwidth matrix
    ``H``, ``1e-3 * sqrt(diag(H))`` per feature (the same for ``H = diag(h^2)``)."""
    if jnp.ndim(bandwidth) == 2:
        return 1e-3 * jnp.sqrt(jnp.diagonal(bandwidth))
    return 1e-3 * bandwidth


def _within_tol(delta, tol, x=None):
    """``|delta| <= tol`` (scalar ``tol``, as scikit-learn), or ``|delta / tol| <= 1``
    for a per-feature ``tol`` (a zero entry demands no movement on that feature).

    With ``x`` (the position), a step no larger than the float spacing at ``x`` (the
    largest coordinate's) also counts: far from the origin in float32 (coordinates
    ~1e4) a ``tol`` below the spacing could only be met by a step of exactly 0, and the
    mean's rounding can leave a seed cycling between neighbouring floats forever. In
    float64 this floor is far below any useful ``tol``.
    """
    if x is not None:
        spacing = jnp.finfo(delta.dtype).eps * jnp.max(jnp.abs(x), axis=-1)
        small = jnp.all(jnp.abs(delta) <= spacing[:, None], axis=-1)
    else:
        small = False
    if tol.ndim == 0:
        return (jnp.sqrt(jnp.sum(delta * delta, axis=-1)) <= tol) | small
    r = jnp.where(tol > 0, delta / jnp.where(tol > 0, tol, 1.0), jnp.where(delta == 0, 0.0, jnp.inf))
    return (jnp.sum(r * r, axis=-1) <= 1.0) | small


def _row_hash(x):
    """``(hash [m] uint32, bits [m, d])``: the rows' bit patterns and a hash of them;
    rows with equal bits have equal hashes."""
    bits = lax.bitcast_convert_type(x, jnp.uint64 if x.dtype == jnp.float64 else jnp.uint32)
    words = bits if x.dtype != jnp.float64 else (bits ^ (bits >> 32))
    h = jnp.zeros(x.shape[:1], jnp.uint32)
    for f in range(x.shape[1]):
        h = (h * jnp.uint32(0x9E3779B1)) ^ words[:, f].astype(jnp.uint32)
        h = h ^ (h >> 15)
    return h, bits


def _duplicates(x, active):
    """``(dup [m] bool, rep [m] int32)``: active rows bit-identical to another active row
    (all but one of each group) and, for each, a row of its group that stays."""
    m = x.shape[0]
    h, bits = _row_hash(x)
    order = jnp.lexsort((h, ~active))
    b, a = bits[order], active[order]
    same = jnp.concatenate([jnp.zeros((1,), bool), a[1:] & a[:-1] & jnp.all(b[1:] == b[:-1], axis=1)])
    prev = jnp.concatenate([order[:1], order[:-1]])
    dup = jnp.zeros((m,), bool).at[order].set(same)
    rep = jnp.arange(m, dtype=jnp.int32).at[order].set(jnp.where(same, prev, order).astype(jnp.int32))
    return dup, rep


def climb(seeds, data, bandwidth, weights, max_iter, tol, frozen=None, *, kernel, algorithm="auto",
          query_block=None, data_block=None, data_axes=()) -> Climb:
    """The one mean-shift driver: every seed at once, in a ``lax.while_loop``.

    A seed stops after the update that moved it by at most ``tol`` (converged), when
    no data is within the kernel's reach (it stays put, weight 0, not converged, as
    scikit-learn drops such seeds), or after ``max_iter`` updates. Its cost follows the
    moving seeds: stopped seeds are sorted behind the moving ones and their query blocks
    skipped, and moving seeds that became bit-identical (identical points take
    identical steps) are merged into one representative, whose result they share at
    the end (``n_iter`` stays per seed: they had taken the same number of steps when
    they met). With every point a seed, thousands of seeds collapse to a few hundred
    within a few steps. ``frozen`` ``[m]`` bool marks seeds that never move (padding).
    Not differentiable (see :func:`_find_modes` for the implicit derivative).

    Inside ``shard_map`` it runs on this device's seeds; with ``data_axes`` on this
    device's slice of the data, the step's partial sums combined over those axes (one
    ``psum``, and a ``pmax`` for kernels of infinite support: the only collectives of
    an iteration). The seeds' bookkeeping (stopped, merged) stays on the device: every
    device of a data group holds the same seeds and, after the ``psum``, the same
    steps, so their loops agree without a collective. ``pairs`` is this device's.
    """
    m = seeds.shape[0]
    plan = _plan(data, weights, m, kernel=kernel, algorithm=algorithm, query_block=query_block, data_block=data_block)
    idx = jnp.arange(m, dtype=jnp.int32)
    dtype = seeds.dtype

    def cond(state):
        return (state["it"] < max_iter) & ~jnp.all(state["stopped"] | (state["rep"] != idx))

    def body(state):
        x = state["x"]
        active = ~state["stopped"] & (state["rep"] == idx)
        dup, rep = _duplicates(x, active)
        active = active & ~dup
        new, weight, pairs = _step(x, plan, bandwidth, kernel=kernel, active=active, data_axes=data_axes)
        ok = weight > 0
        done = _within_tol(new - x, tol, x)
        return dict(
            x=jnp.where(active[:, None], new, x),
            prev=jnp.where(active[:, None], x, state["prev"]),
            n_iter=state["n_iter"] + active.astype(jnp.int32),
            weight=jnp.where(active, weight, state["weight"]),
            converged=state["converged"] | (active & done & ok),
            stopped=state["stopped"] | (active & (done | ~ok)),
            rep=jnp.where(dup, rep, state["rep"]),
            it=state["it"] + 1,
            pairs=state["pairs"] + pairs,
        )

    # Inside shard_map the state varies over the mesh axes its inputs do, save the
    # data's (the step's psum makes it the same on every device of them); the pair
    # count is this device's.
    like = (seeds, data, bandwidth, weights, max_iter, tol, frozen)
    init = _shard.vary(dict(
        x=seeds, prev=seeds, n_iter=jnp.zeros((m,), jnp.int32), weight=jnp.zeros((m,), dtype),
        converged=jnp.zeros((m,), bool),
        stopped=jnp.zeros((m,), bool) if frozen is None else jnp.asarray(frozen, bool),
        rep=idx, it=jnp.asarray(0, jnp.int32),
    ), like, but=data_axes)
    init["pairs"] = _shard.vary(jnp.zeros((), dtype), like)
    out = lax.while_loop(cond, body, init)
    # A merged seed follows a chain of representatives to one that kept moving.
    root = lax.while_loop(lambda r: jnp.any(r[r] != r), lambda r: r[r], out["rep"])
    return Climb(
        out["x"][root], out["n_iter"][root], out["converged"][root], out["prev"][root],
        out["weight"][root], out["pairs"],
    )


@functools.partial(jax.custom_jvp, nondiff_argnums=(4, 5, 6, 7, 8))
def _at_fixed_point(modes, data, bandwidth, weights, kernel, algorithm, query_block, data_block, data_axes=()):
    """The identity on converged ``modes``, with the implicit derivative of the fixed point.

    A mode satisfies ``x* = m(x*; data, h, w)``, so
    ``dx* = (I - dm/dx)^{-1} (dm/d(data, h, w)) d(data, h, w)``. The step acts on
    each seed separately, so ``dm/dx`` is block diagonal: ``d`` forward passes give
    every seed's ``[d, d]`` block at once. The rule is linear in the tangents (a JVP
    of the step and a linear solve), so JAX transposes it for reverse mode; the
    ``lax.while_loop`` that found the modes is never differentiated. Seeds get no
    derivative (a converged mode does not move when its seed does), nor does a seed with
    no data in a compact kernel's reach (it stays put).

    Higher orders: the rule is itself differentiated (``hessian``, ``jacfwd(jacrev)``,
    ...), and its value depends on the modes through ``dm/dx`` and ``dm/dtheta``
    evaluated at them. So the rule takes the modes from this function again, not as
    the loop's constants: their tangent is then given by this rule once more, and
    derivatives of every order are those of the exact fixed point.
    """
    return modes


@_at_fixed_point.defjvp
def _at_fixed_point_jvp(kernel, algorithm, query_block, data_block, data_axes, primals, tangents):
    x, data, bandwidth, weights = primals
    _, ddata, dh, dw = tangents
    m, d = x.shape
    # The identity on values; differentiated, the modes' own tangent (this rule again).
    x = _at_fixed_point(x, data, bandwidth, weights, kernel, algorithm, query_block, data_block, data_axes)

    def step(y, dd, hh, ww):
        return _shift(y, dd, hh, ww, kernel=kernel, algorithm=algorithm, query_block=query_block,
                      data_block=data_block, data_axes=data_axes)

    eye = jnp.eye(d, dtype=x.dtype)
    cols = jax.vmap(
        lambda e: jax.jvp(lambda y: step(y, data, bandwidth, weights), (x,), (jnp.broadcast_to(e, x.shape),))[1]
    )(eye)  # [d (input direction), m, d (output)]
    jac = jnp.moveaxis(cols, 0, -1)  # [m, d_out, d_in]
    _, rhs = jax.jvp(lambda dd, hh, ww: step(x, dd, hh, ww), (data, bandwidth, weights), (ddata, dh, dw))
    # A seed with no data in a compact kernel's reach: the step is exactly the identity
    # there (rhs exactly 0), I - dm/dx is 0, and the seed stays put: derivative 0, not NaN.
    stuck = jnp.all(jac == eye, axis=(1, 2))
    dx = jnp.linalg.solve(jnp.where(stuck[:, None, None], eye, eye - jac), rhs[..., None])[..., 0]
    return x, dx


@functools.partial(jax.jit, static_argnames=_STATIC)
def _find_modes(seeds, data, bandwidth, weights, max_iter, tol, pad=None, *, kernel, algorithm, query_block,
                data_block, mesh=None, data_axes=()):
    """:func:`find_modes` on validated arrays: ``(Modes, pairs)``. ``pad`` ``[m]`` bool:
    seeds that never move (padding); with ``mesh``, the same under ``shard_map``."""
    if mesh is not None:
        everything = tuple(mesh.axis_names)

        def local(s, y, w, pad, h, it, tl):
            res, pairs = _find_modes(s, y, h, w, it, tl, pad, kernel=kernel, algorithm=algorithm,
                                     query_block=query_block, data_block=data_block, data_axes=data_axes)
            return res, lax.psum(pairs, everything)

        m = seeds.shape[0]
        res, pairs = _spread(local, mesh, data_axes, seeds, data, weights, (bandwidth, max_iter, tol),
                             lambda qs: (Modes(qs, qs, qs), P()))
        return Modes(*(_shard.cut(a, m, mesh) for a in res)), pairs
    # The loop sees no tangents (it cannot be reverse-differentiated); derivatives of
    # the modes come from the implicit function theorem at the fixed point instead.
    seeds0, data0, h0, w0, tol0 = (lax.stop_gradient(a) for a in (seeds, data, bandwidth, weights, tol))
    # Bad traced values (what a concrete call rejects) never move and give NaN modes,
    # never converged: a wrong answer must not look like a mode.
    good = _validate.values_ok(data0, h0, w0, tol0, axes=data_axes) & _validate.finite_rows(seeds0)
    res = climb(seeds0, data0, h0, w0, max_iter, tol0, ~good if pad is None else ~good | pad,
                kernel=kernel, algorithm=algorithm, query_block=query_block, data_block=data_block,
                data_axes=data_axes)
    modes = _at_fixed_point(res.modes, data, bandwidth, weights, kernel, algorithm, query_block, data_block,
                            data_axes)
    modes = jnp.where(good[:, None], modes, jnp.nan)
    return Modes(modes, res.n_iter, res.converged & good), res.pairs


@functools.partial(jax.jit, static_argnames=_STATIC + ("steps",))
def _trajectory(seeds, data, bandwidth, weights, *, steps, kernel, algorithm, query_block, data_block, mesh=None,
                data_axes=()):
    if mesh is not None:
        def local(s, y, w, pad, h):
            return _trajectory(s, y, h, w, steps=steps, kernel=kernel, algorithm=algorithm,
                               query_block=query_block, data_block=data_block, data_axes=data_axes)

        path = _spread(local, mesh, data_axes, seeds, data, weights, (bandwidth,), lambda qs: P(None, *qs))
        return _shard.cut(path, seeds.shape[0], mesh, axis=1)
    plan = _plan(data, weights, seeds.shape[0], kernel=kernel, algorithm=algorithm, query_block=query_block,
                 data_block=data_block)

    def body(x, _):
        new = _step(x, plan, bandwidth, kernel=kernel, data_axes=data_axes)[0]
        return new, new

    seeds = _shard.vary(seeds, (data, bandwidth, weights), but=data_axes)
    _, path = lax.scan(body, seeds, None, length=steps)
    good = _validate.values_ok(data, bandwidth, weights, axes=data_axes) & _validate.finite_rows(seeds)
    return jnp.concatenate([seeds[None], jnp.where(good[None, :, None], path, jnp.nan)], axis=0)


def shift(
    x: ArrayLike,
    data: ArrayLike,
    *,
    bandwidth: ArrayLike,
    kernel: str | Kernel = "gaussian",
    weights: ArrayLike | None = None,
    algorithm: str = "auto",
    query_block: int | None = None,
    data_block: int | None = None,
    mesh=None,
    data_axes: str | tuple[str, ...] | None = None,
) -> jax.Array:
    r"""One mean-shift step.

    .. math::
        m(x) = \frac{\sum_j w_j\, g(u_j)\, y_j}{\sum_j w_j\, g(u_j)},
        \qquad u_j = (x - y_j)^T H^{-1} (x - y_j)

    with ``g`` the kernel's weight profile and ``H`` the bandwidth matrix
    (``H = diag(h^2)`` for a scalar or per-feature ``h``: ``u_j = |(x - y_j) / h|^2``):
    with ``H``, the weighted mean under Mahalanobis distances. The step climbs the KDE of
    :func:`~jaxshift.shadow` ``(kernel)``. A point with no data inside a compact
    kernel's support stays where it is (scikit-learn's behaviour); for the
    gaussian the weights are computed relative to the nearest point, so a point
    far from all data still moves (towards its nearest data) instead of giving NaN.

    Args:
        x: ``[d]`` or ``[m, d]`` points to move.
        data: ``[n, d]``.
        bandwidth: positive scalar or ``[d]``; a ``[d, d]`` symmetric positive
            definite bandwidth matrix ``H`` (the kernel's covariance, scipy
            ``gaussian_kde``'s ``covariance``; a scalar or ``[d]`` ``h`` means
            ``H = diag(h^2)``); or a rule (``"scott"``, ``"silverman"``,
            ``"likelihood"``, ``"lscv"``) chosen from ``data`` by
            :func:`jaxshift.bandwidth.resolve` for the shadow kernel (concrete data only).
        kernel: kernel name or :class:`~jaxshift.kernels.Kernel`: every built-in
            kernel (a kernel without a known :func:`~jaxshift.shadow` is refused).
        weights: ``[n]`` non-negative sample weights (default all 1).
        algorithm: ``"auto"``, ``"dense"`` or ``"pruned"`` (static): how the hot loop
            visits the data (see :func:`~jaxshift.kde`); same results to rounding.
        query_block, data_block: block sizes (static; default per algorithm); memory is
            ``O(query_block * data_block)``.
        mesh, data_axes: spread the work over a device mesh, the points split over the
            axes not in ``data_axes`` (padded with copies of the last point), the data over
            ``data_axes`` (padded at weight 0); or, ``data_axes`` alone, the data
            split inside the caller's ``shard_map``. As :func:`~jaxshift.kde`.

    Returns:
        The moved points, same shape as ``x``, in the float dtype of ``x`` and ``data``.

    Raises:
        ValueError: as :func:`~jaxshift.kde`, and for a kernel with no known shadow.

    Examples:
        >>> import jax.numpy as jnp
        >>> data = jnp.array([[0.0], [1.0], [5.0]])
        >>> shift(jnp.array([0.2]), data, bandwidth=2.0, kernel="flat").tolist()
        [0.5]

    References:
        Comaniciu & Meer (2002); Fukunaga & Hostetler (1975).
    """
    k = get_kernel(kernel)
    qb, db = _validate.block_sizes(query_block, data_block)
    _validate.algorithm(algorithm)
    bandwidth = _resolve_for(bandwidth, x, "x", data, weights, kernel=shadow(k))
    mesh, data_axes = _shard.check(mesh, data_axes)
    x, data, bandwidth, weights, single = _validate.inputs(x, "x", data, bandwidth, weights)
    out = _shift(x, data, bandwidth, weights, kernel=k, algorithm=algorithm, query_block=qb, data_block=db,
                 mesh=mesh, data_axes=data_axes)
    return out[0] if single else out


def find_modes(
    seeds: ArrayLike,
    data: ArrayLike,
    *,
    bandwidth: ArrayLike,
    kernel: str | Kernel = "gaussian",
    weights: ArrayLike | None = None,
    max_iter: int = 300,
    tol: ArrayLike | None = None,
    algorithm: str = "auto",
    query_block: int | None = None,
    data_block: int | None = None,
    mesh=None,
    data_axes: str | tuple[str, ...] | None = None,
) -> Modes:
    """Run mean shift from every seed at once until each converges.

    A ``lax.while_loop`` moves all seeds together; a seed whose step moved it by
    at most ``tol`` is converged and frozen from then on (and, with the other
    frozen seeds of its block, costs nothing). The loop stops when every seed
    has converged or after ``max_iter`` steps. ``bandwidth``, ``max_iter`` and
    ``tol`` may be traced: a sweep over them ``vmap``s without recompiling.
    The modes are differentiable (``jax.grad``, ``jax.jvp``) with respect to
    ``bandwidth``, ``data`` and ``weights`` by implicit differentiation at the
    fixed point ``x* = shift(x*)``: ``dx* = (I - dshift/dx)^{-1} dshift/dtheta``;
    the loop itself is never differentiated. Second and higher derivatives
    (``jax.hessian``, ``jacrev(jacrev(...))``, ...) are those of the exact fixed point too. The derivative is that of the exact
    fixed point, so it is accurate when the seeds converged (a small ``tol``
    helps) and meaningless for seeds that did not (check ``converged``). With a
    compact kernel (flat, ...) the modes are piecewise constant in the bandwidth
    and the data weights (zero derivative almost everywhere); the gaussian is the
    kernel for which these gradients are useful. For gradients of a fixed number
    of steps, use :func:`trajectory`.

    A seed with no data within a compact kernel's reach stays where it is and is
    reported as not converged (it never reached a mode; its derivative is 0). Under
    ``jit`` the values cannot be checked: bad traced data, bandwidth, weights or
    ``tol`` (what a concrete call rejects) give NaN modes and ``converged`` all
    ``False``, and a NaN or inf seed gives a NaN mode, not converged.

    Args:
        seeds: ``[d]`` or ``[m, d]`` starting points.
        data: ``[n, d]``.
        bandwidth: positive scalar or ``[d]``; a ``[d, d]`` symmetric positive
            definite bandwidth matrix ``H`` (the kernel's covariance, scipy
            ``gaussian_kde``'s ``covariance``; a scalar or ``[d]`` ``h`` means
            ``H = diag(h^2)``); or a rule (``"scott"``, ``"silverman"``,
            ``"likelihood"``, ``"lscv"``) chosen from ``data`` by
            :func:`jaxshift.bandwidth.resolve` for the shadow kernel (concrete data only).
        kernel: kernel name or :class:`~jaxshift.kernels.Kernel` (weight profile).
        weights: ``[n]`` non-negative sample weights.
        max_iter: the most steps any seed takes (``>= 0``).
        tol: convergence threshold, scalar or ``[d]``; default ``1e-3 * bandwidth``
            (scikit-learn's; ``1e-3 * sqrt(diag(H))`` for a bandwidth matrix ``H``). A
            scalar compares the Euclidean length of the step (``<= tol``, as
            scikit-learn); a vector compares ``|step / tol| <= 1``.
        algorithm: ``"auto"``, ``"dense"`` or ``"pruned"`` (static), as :func:`~jaxshift.kde`.
        query_block, data_block: block sizes (static; default per algorithm).
        mesh, data_axes: spread the work over a device mesh, the seeds split over the
            axes not in ``data_axes`` (padded with frozen copies of the last seed), the data over
            ``data_axes`` (padded at weight 0); or, ``data_axes`` alone, the data
            split inside the caller's ``shard_map``. As :func:`~jaxshift.kde`.

    Returns:
        :class:`Modes` ``(modes, n_iter, converged)``; ``[0, d]`` seeds give empty arrays.

    Raises:
        ValueError: as :func:`~jaxshift.kde`, and for a negative ``max_iter`` or ``tol``.

    Examples:
        >>> import jax.numpy as jnp
        >>> data = jnp.array([[0.0], [0.5], [1.0], [9.0], [10.0]])
        >>> res = find_modes(jnp.array([[0.1], [9.8]]), data, bandwidth=1.5, kernel="flat")
        >>> res.modes.ravel().tolist(), bool(res.converged.all())
        ([0.5, 9.5], True)
    """
    k = get_kernel(kernel)
    qb, db = _validate.block_sizes(query_block, data_block)
    _validate.algorithm(algorithm)
    bandwidth = _resolve_for(bandwidth, seeds, "seeds", data, weights, kernel=shadow(k))
    mesh, data_axes = _shard.check(mesh, data_axes)
    seeds, data, bandwidth, weights, single = _validate.inputs(seeds, "seeds", data, bandwidth, weights)
    _validate.max_iter(max_iter)
    tol = default_tol(bandwidth) if tol is None else jnp.asarray(_validate.tolerance(tol, data.shape[1]), data.dtype)
    res, _ = _find_modes(
        seeds, data, bandwidth, weights, jnp.asarray(max_iter, jnp.int32), tol,
        kernel=k, algorithm=algorithm, query_block=qb, data_block=db, mesh=mesh, data_axes=data_axes,
    )
    if single:
        return Modes(res.modes[0], res.n_iter[0], res.converged[0])
    return res


def trajectory(
    seeds: ArrayLike,
    data: ArrayLike,
    *,
    bandwidth: ArrayLike,
    steps: int,
    kernel: str | Kernel = "gaussian",
    weights: ArrayLike | None = None,
    algorithm: str = "auto",
    query_block: int | None = None,
    data_block: int | None = None,
    mesh=None,
    data_axes: str | tuple[str, ...] | None = None,
) -> jax.Array:
    """The path of ``steps`` mean-shift steps from each seed (``lax.scan``).

    Unlike :func:`find_modes` it runs a fixed number of steps, so it is
    reverse-differentiable (e.g. with respect to ``bandwidth`` or ``data``).

    Args:
        seeds: ``[d]`` or ``[m, d]``.
        data: ``[n, d]``.
        bandwidth: positive scalar or ``[d]``; a ``[d, d]`` symmetric positive
            definite bandwidth matrix ``H`` (the kernel's covariance, scipy
            ``gaussian_kde``'s ``covariance``; a scalar or ``[d]`` ``h`` means
            ``H = diag(h^2)``); or a rule (``"scott"``, ``"silverman"``,
            ``"likelihood"``, ``"lscv"``) chosen from ``data`` by
            :func:`jaxshift.bandwidth.resolve` for the shadow kernel (concrete data only).
        steps: number of steps (static, ``>= 0``).
        kernel: kernel name or :class:`~jaxshift.kernels.Kernel`.
        weights: ``[n]`` non-negative sample weights.
        algorithm: ``"auto"``, ``"dense"`` or ``"pruned"`` (static), as :func:`~jaxshift.kde`.
        query_block, data_block: block sizes (static; default per algorithm).
        mesh, data_axes: spread the work over a device mesh, the seeds split over the
            axes not in ``data_axes`` (padded with copies of the last seed), the data over
            ``data_axes`` (padded at weight 0); or, ``data_axes`` alone, the data
            split inside the caller's ``shard_map``. As :func:`~jaxshift.kde`.

    Returns:
        ``[steps + 1, m, d]`` (``[steps + 1, d]`` for one seed); entry 0 is the seeds.

    Examples:
        >>> import jax.numpy as jnp
        >>> data = jnp.array([[0.0], [1.0], [5.0]])
        >>> trajectory(jnp.array([0.2]), data, bandwidth=2.0, steps=2, kernel="flat").ravel().tolist()
        [0.2..., 0.5, 0.5]
    """
    k = get_kernel(kernel)
    qb, db = _validate.block_sizes(query_block, data_block)
    _validate.algorithm(algorithm)
    steps = _validate.positive_int(steps, "steps", minimum=0)
    bandwidth = _resolve_for(bandwidth, seeds, "seeds", data, weights, kernel=shadow(k))
    mesh, data_axes = _shard.check(mesh, data_axes)
    seeds, data, bandwidth, weights, single = _validate.inputs(seeds, "seeds", data, bandwidth, weights)
    path = _trajectory(seeds, data, bandwidth, weights, steps=steps, kernel=k, algorithm=algorithm,
                       query_block=qb, data_block=db, mesh=mesh, data_axes=data_axes)
    return path[:, 0] if single else path
