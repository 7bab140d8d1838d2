"""Grid mean shift: MeanShift++ (Jang & Jiang 2021) and a refinement, both on per-cell sums.

The data are binned into cells of a regular grid centred on the multiples of the cell
width ``w`` (cell ``round(y / w)``, the lattice of scikit-learn's ``get_bin_seeds``), with
per-cell weights ``N_c = sum w`` and sums ``S_c = sum w (y - c w)``; no step looks at a
single data point. Two stages, each a ``lax.while_loop`` over all seeds:

1. MeanShift++, cells one bandwidth wide: a point moves to the mean of the data in the
   ``3^d`` cells around its own, ``sum (S_c + N_c c h) / sum N_c``. Unlike the paper,
   which re-bins the moving points at every step (blurring mean shift), the data stay
   put and the seeds move, as in scikit-learn's ``MeanShift``: the cells are built once.
   It converges in a few steps, but stops a point as soon as that mean stays in its
   cell, early on plateaus and ridges.
2. The refinement, cells ``h / s`` wide (:func:`fine_step`): the cells that can reach the
   ball of radius ``h`` around the point, each with the fraction of it inside, so the
   points creep on to the modes as in exact mean shift. Its step is a continuous map
   that converges linearly, slowly on broad modes (up to ~170 steps on a photo's
   colours): two plain steps that shrink by a steady factor are extrapolated (Aitken,
   :func:`_run`), which halves that without moving the fixed points.

Cells are keyed by integer coordinates: a cell's key is its index in the box of cells
the data span, widened by twice a step's reach, in int32 (int64 for float64 data); a
neighbour's key is the cell's key plus a fixed offset. When the box has at most
``2 n + 4096`` cells (the table's static capacity) the key is the slot itself (per-cell
sums by ``segment_sum``, lookups by indexing); otherwise the distinct keys are sorted
(``jnp.unique`` with that capacity) and looked up by binary search. Either way it runs
under ``jit`` on any device. A box with more cells than the key type holds is refused
on concrete inputs (a ``ValueError``) and flagged under ``jit``: every seed stays where
it is, not converged.

References:
    Jang & Jiang (2021), "MeanShift++: Extremely fast mode-seeking with applications to
    segmentation and object tracking", CVPR. Cheng (1995) (blurring mean shift).
"""

from __future__ import annotations

import functools
import itertools
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax
from jax.typing import ArrayLike

from . import _validate
from ._meanshift import Climb, Modes, _within_tol
from .bandwidth import _resolve_for
from .kernels import Kernel, get_kernel, shadow

__all__ = ["grid_modes"]


class _Grid(NamedTuple):
    base: jax.Array  # [d] float: the cell coordinates of the box's first cell
    lo: jax.Array  # [d] float: the data's smallest cell coordinate less the reach
    hi: jax.Array  # [d] float: the data's largest cell coordinate plus the reach
    stride: jax.Array  # [d] int: key = sum_l (c_l - base_l) stride_l
    dense: jax.Array  # [] bool: keys are slots (the box has at most the table's capacity of cells)
    keys: jax.Array  # [capacity] int: the distinct keys, sorted, padded with the largest key
    count: jax.Array  # [capacity] N_c per slot
    sums: jax.Array  # [capacity, d] sum w (y - c w) per slot: offsets from the cell's centre
    overflow: jax.Array  # [] bool: more cells than the key type holds


def _key_type(dtype):
    return jnp.int64 if jnp.dtype(dtype) == jnp.float64 else jnp.int32


@functools.cache
def _cube(d: int) -> np.ndarray:
    """The ``3^d`` offsets of a cell's neighbours (itself included)."""
    return np.asarray(list(itertools.product((-1.0, 0.0, 1.0), repeat=d))).reshape(-1, d)


@functools.cache
def _ball(d: int, s: int) -> np.ndarray:
    """Offsets of the fine cells that can reach a point of the centre cell: those within
    ``s + 1/2`` cells of the centre cell (its cube, not its centre)."""
    r = s + 1
    o = np.asarray(list(itertools.product(range(-r, r + 1), repeat=d)), float).reshape(-1, d)
    gap = np.linalg.norm(np.maximum(np.abs(o) - 0.5, 0.0), axis=1)
    return o[gap < s + 0.5]


def default_refine(d: int) -> int:
    """Fine cells per bandwidth of the refinement: 3 up to d = 4 (275 cells a step in
    3-D, 1,561 in 4-D), none above (the count grows as ``(2 s + 1)^d``)."""
    return 3 if d <= 4 else 0


def build(data, weights, cell, reach: int = 1) -> _Grid:
    """The cells ``cell`` wide (``[]`` or ``[d]``) of ``data`` ``[n, d]`` with ``weights`` ``[n]``,
    for steps that look ``reach`` cells (static) around a point's cell.

    The box of cells is the data's, widened by ``2 reach`` cells on each side: a point whose
    cell is within ``reach`` of the data's box has all its neighbours in the box (their keys
    are its key plus fixed offsets), and a point farther has no data in reach. The table
    holds ``2 n + 4096`` cells (static): by index when the box fits, else sorted keys.
    """
    n, d = data.shape
    capacity = 2 * n + 4096
    kt = _key_type(data.dtype)
    top = jnp.iinfo(kt).max
    c = jnp.round(data / cell)
    cmin, cmax = jnp.min(c, axis=0), jnp.max(c, axis=0)
    base = cmin - 2 * reach
    extent = cmax - cmin + 1 + 4 * reach
    cells = jnp.prod(extent)
    overflow = ~(cells < float(top))
    ext = jnp.where(overflow, 1, extent).astype(kt)
    stride = jnp.concatenate([jnp.cumprod(ext[::-1])[::-1][1:], jnp.ones((1,), kt)])
    key = jnp.sum(jnp.where(overflow, 0, c - base).astype(kt) * stride, axis=1, dtype=kt)
    # Sums taken about each cell's centre: the rounding is that of the offsets (bounded by
    # the cell), not of the coordinates. The steps add the cells' centres relative to the
    # moving point's own cell (small integers times the cell), and that cell's centre once,
    # after the division: in float32 at coordinates ~1e6, adding N c w back per cell would
    # round the sums to 2 (the spacing at 2.4e7), and the mean to ~2 / N.
    sums = weights[:, None] * (data - c * cell)

    def dense(_):
        return jnp.arange(capacity, dtype=kt), key

    def sparse(_):
        keys = jnp.unique(key, size=capacity, fill_value=top)
        return keys, jnp.searchsorted(keys, key).astype(kt)

    is_dense = cells <= capacity
    keys, slot = lax.cond(is_dense, dense, sparse, None)
    count = jax.ops.segment_sum(weights, slot, num_segments=capacity)
    sums = jax.ops.segment_sum(sums, slot, num_segments=capacity)
    return _Grid(base, cmin - reach, cmax + reach, stride, is_dense, keys, count, sums, overflow)


def _cells_around(grid: _Grid, c0, offsets, cell):
    """``(N_c, sum w (y - c0 w))`` of the cells ``c0 + offsets`` (``c0`` ``[m, d]`` cell
    coordinates, ``offsets`` ``[K, d]`` within the grid's reach, ``w`` = ``cell`` the cell
    width): ``[m, K]`` and ``[m, K, d]``, the sums relative to the centre of ``c0``'s cell,
    zero for cells without data."""
    capacity = grid.count.shape[0]
    kt = grid.stride.dtype
    near = jnp.all((c0 >= grid.lo) & (c0 <= grid.hi), axis=-1)
    k0 = jnp.sum((jnp.clip(c0, grid.lo, grid.hi) - grid.base).astype(kt) * grid.stride, axis=-1, dtype=kt)
    delta = jnp.sum(offsets.astype(kt) * grid.stride, axis=-1, dtype=kt)
    key = k0[:, None] + delta

    def dense(k):
        return k, jnp.ones(k.shape, bool)

    def sparse(k):
        slot = jnp.minimum(jnp.searchsorted(grid.keys, k), capacity - 1).astype(k.dtype)
        return slot, grid.keys[slot] == k

    slot, found = lax.cond(grid.dense, dense, sparse, key)
    ok = near[:, None] & found
    cnt = jnp.where(ok, grid.count[slot], 0.0)
    return cnt, jnp.where(ok[..., None], grid.sums[slot] + cnt[..., None] * (offsets * cell), 0.0)


def _mean(total, weight, count, x, origin):
    """The weighted mean ``origin + total / weight`` where ``weight > 0`` (``total``
    relative to ``origin``), else ``x``; and ``count`` where ``weight > 0``, else 0.

    Where the absolute sum ``total + weight origin`` stays below ``2^mantissa`` (integers
    are exact there) the mean is that sum over ``weight``, one correctly rounded division:
    on integer data exactly NumPy's mean. Beyond (float32 coordinates ~1e6 with a few
    dozen points), that sum would round by more than the offsets it holds, and the mean
    is taken relative to ``origin``, the moving point's cell centre. (XLA would multiply
    by a reciprocal: the barrier keeps the divisions correctly rounded.)"""
    live = weight > 0
    denom = lax.optimization_barrier(jnp.broadcast_to(jnp.where(live, weight, 1.0)[:, None], total.shape))
    absolute = total + denom * origin
    small = jnp.all(jnp.abs(absolute) < 2.0 ** jnp.finfo(total.dtype).nmant, axis=1, keepdims=True)
    mean = jnp.where(small, absolute / denom, origin + total / denom)
    return jnp.where(live[:, None], mean, x), jnp.where(live, count, 0.0)


def coarse_step(grid: _Grid, x, bandwidth):
    """The MeanShift++ step for ``x`` ``[m, d]`` on cells one bandwidth wide (``grid`` built
    with ``reach=1``): the mean of the data in the ``3^d`` cells around ``x``'s cell.
    ``(new [m, d], count [m])``, ``count`` the weight in those cells (0, and ``x`` unmoved,
    where there is none)."""
    c0 = jnp.round(x / bandwidth)
    cnt, total = _cells_around(grid, c0, jnp.asarray(_cube(x.shape[1]), x.dtype), bandwidth)
    count = jnp.sum(cnt, axis=1)
    return _mean(jnp.sum(total, axis=1), count, count, x, c0 * bandwidth)


def fine_step(grid: _Grid, x, bandwidth, s: int, kernel: Kernel):
    """The refinement step for ``x`` ``[m, d]`` on cells ``bandwidth / s`` wide (``grid``
    built with ``reach=s``).

    A cell counts with the fraction of it taken to lie in the ball of radius ``h``
    around ``x``, ``clip(s (1 - |centre - x| / h) + 1/2, 0, 1)`` (1 inside ``h - g/2``,
    0 beyond ``h + g/2``, linear between: the volume fraction of a cell of width ``g``
    cut by a plane). The flat kernel averages the cells' sums with those fractions; the
    ``(1 - u)^p`` kernels weigh each cell as its centroid ``mu_c``, by
    ``N_c g(|(x - mu_c) / h|^2)``. ``(new [m, d], count [m])``, ``count`` the weight in
    the ball (scikit-learn's intensity, estimated).
    """
    cell = bandwidth / s
    offsets = jnp.asarray(_ball(x.shape[1], s), x.dtype)
    c0 = jnp.round(x / cell)
    cnt, total = _cells_around(grid, c0, offsets, cell)
    origin = c0 * cell
    u = jnp.sum((offsets - (x / cell - c0)[:, None, :]) ** 2, axis=-1) / (s * s)  # |centre - x|^2 / h^2
    root = jnp.where(u > 0, jnp.sqrt(jnp.where(u > 0, u, 1.0)), 0.0)  # no NaN gradient at 0
    inside = jnp.clip(s * (1.0 - root) + 0.5, 0.0, 1.0)
    count = jnp.sum(inside * cnt, axis=1)
    if kernel.power == 0:
        return _mean(jnp.sum(inside[..., None] * total, axis=1), count, count, x, origin)
    mu = total / jnp.where(cnt > 0, cnt, 1.0)[..., None]  # centroids, relative to origin
    a = jnp.where(cnt > 0, cnt * kernel.weight(jnp.sum((((x - origin)[:, None, :] - mu) / bandwidth) ** 2, axis=-1)), 0.0)
    return _mean(jnp.sum(a[..., None] * mu, axis=1), jnp.sum(a, axis=1), count, x, origin)


_AITKEN_MAX_RATIO = 0.95  # larger ratios (jumps up to 49 steps long) cost agreement with exact mean shift
_AITKEN_MIN_COS = 0.95  # consecutive steps within ~18 degrees of one line
_AITKEN_MAX_JUMP = 1.0  # bandwidths: no farther than a plain step of the flat kernel can go


def _run(step, state, max_iter, tol, extrapolate=False, window=None, scale=1.0):
    """Steps until every seed stopped: after an update of at most ``tol`` (converged), with
    no data in reach (stays, weight 0), or at ``max_iter`` updates in all.

    ``extrapolate`` (static): Aitken's extrapolation of two plain steps in a row that
    shrink by a steady factor ``r`` (``0 < r <= 0.95`` along the previous step, the two
    within ~18 degrees of one line): the update goes on to ``new + r / (1 - r) (new -
    x)``, the limit of the steps were they to go on shrinking by ``r``, when that jump
    is at most one bandwidth (``scale``: no farther than a plain step can go). The
    refinement's step, a continuous map, converges linearly, with ``r`` up to ~0.97 on
    a photo's colours (171 steps to reach ``tol`` there; 74 extrapolated). Larger
    ratios (jumps up to 49 steps long; 48 steps there) cost agreement with exact mean
    shift (ARI against scikit-learn 0.961 instead of 0.981 in float32); jumps not along
    a line, or longer, left seeds in regions without data on sparse data (no data in
    reach: stopped, not converged). The stopping rule is unchanged: a seed stops after a plain
    step of at most ``tol``, which is not extrapolated, so a converged seed is a fixed
    point of the step to within ``tol``. After an extrapolated update the next one is
    plain (the two steps compared are always plain ones).

    ``window`` (static, :func:`window_rows`): step only that many seeds at a time, in
    slots refilled with the next moving seed as one stops. A seed's path does not
    depend on the others', so the result is the same; the work is the steps the seeds
    take, not the longest path times every seed (on a photo's colours the refinement's
    seeds stop after 7 to 83 steps). ``None``: every seed steps until all have stopped."""
    def active_of(st):
        return ~st["stopped"] & (st["n_iter"] < max_iter)

    def advance(st, live):
        """One step of the seeds of ``st`` (and the flags ``plain``) that are ``live``."""
        x, active = st["x"], live & active_of(st)
        new, weight = step(x)
        ok = weight > 0
        done = _within_tol(new - x, tol, x)
        jump = jnp.zeros_like(done)
        if extrapolate:
            d1, d2 = x - st["prev"], new - x
            r = jnp.sum(d1 * d2, axis=1) / jnp.maximum(jnp.sum(d1 * d1, axis=1), jnp.finfo(x.dtype).tiny)
            ahead = (r / (1.0 - r))[:, None] * d2
            # Steps along one line (d2 within ~18 degrees of d1), and a jump of at most a
            # bandwidth: elsewhere the steps are not shrinking geometrically, and a long
            # jump can leave the data (seen on sparse data: a jump of 1.7 bandwidths, then
            # one past the data's edge, where the seed stopped with no data in reach).
            aligned = jnp.sum(d1 * d2, axis=1) >= _AITKEN_MIN_COS * jnp.sqrt(
                jnp.sum(d1 * d1, axis=1) * jnp.sum(d2 * d2, axis=1))
            short = jnp.sum((ahead / scale) ** 2, axis=1) <= _AITKEN_MAX_JUMP**2
            jump = st["plain"] & ~done & ok & (r > 0.0) & (r <= _AITKEN_MAX_RATIO) & aligned & short
            new = jnp.where(jump[:, None], new + ahead, new)
        return dict(
            x=jnp.where(active[:, None], new, x),
            prev=jnp.where(active[:, None], x, st["prev"]),
            n_iter=st["n_iter"] + active.astype(jnp.int32),
            weight=jnp.where(active, weight, st["weight"]),
            converged=st["converged"] | (active & done & ok),
            stopped=st["stopped"] | (active & (done | ~ok)),
            plain=jnp.where(active, ~jump, st["plain"]),
        )

    # The first update of a stage is compared with no plain step of the same map.
    m = state["stopped"].shape[0]
    state = dict(state, plain=jnp.zeros((m,), bool))
    if window is None or window >= m:
        everyone = jnp.ones((m,), bool)
        state = lax.while_loop(lambda st: jnp.any(active_of(st)), lambda st: advance(st, everyone), state)
        del state["plain"]
        return state

    # The moving seeds in order, then the others; slot j holds seed slots[j] while live.
    moving = active_of(state)
    queue = jnp.argsort(~moving, stable=True).astype(jnp.int32)
    waiting = jnp.sum(moving, dtype=jnp.int32)
    slots = queue[:window]
    live = jnp.arange(window) < waiting

    def gather(st, idx):
        return {key: v[idx] for key, v in st.items()}

    def body(carry):
        st, slots, live, sub, taken = carry
        sub = advance(sub, live)
        finished = live & ~active_of(sub)
        # Finished seeds go back to their rows (the others' targets fall outside, dropped).
        target = jnp.where(finished, slots, m)
        st = {key: st[key].at[target].set(sub[key], mode="drop") for key in st}
        # Their slots take the next seeds in the queue, while any wait.
        nxt = taken + jnp.cumsum(finished, dtype=jnp.int32) - 1
        refill = finished & (nxt < waiting)
        slots = jnp.where(refill, queue[jnp.minimum(nxt, m - 1)], slots)
        fresh = gather(st, slots)
        sub = {key: jnp.where(refill.reshape((-1,) + (1,) * (v.ndim - 1)), fresh[key], v) for key, v in sub.items()}
        live = jnp.where(finished, refill, live)
        return st, slots, live, sub, taken + jnp.sum(finished, dtype=jnp.int32)

    carry = (state, slots, live, gather(state, slots), jnp.minimum(waiting, window))
    state = lax.while_loop(lambda c: jnp.any(c[2]), body, carry)[0]
    del state["plain"]
    return state


def window_rows(m: int, cells: int):
    """The seeds that :func:`_run` steps at a time, for ``m`` seeds whose step visits
    ``cells`` cells each (static). On CPU, the power of two nearest below
    ``1024 / cells`` (at least 4): XLA:CPU takes a step in time proportional to its rows,
    so a stopped seed kept in the step costs as much as a moving one, and about a
    thousand cell visits a step pay for the loop's own cost (measured, 20k points, 2048
    seeds: 3-D refinement 509 -> 197 ms with 4 rows at a time, 2-D 26 -> 7 ms with 16,
    1-D 10 -> 1.3 ms with 128). ``None`` (every seed at once) where that is ``m`` or
    more, and off CPU: an accelerator steps thousands of rows in the time of one."""
    rows = 1 << max(2, (1024 // cells).bit_length() - 1)
    if jax.default_backend() != "cpu" or rows >= m:
        return None
    return rows


def start(seeds, frozen=None):
    """The state of seeds about to climb (``frozen`` ones never move)."""
    m = seeds.shape[0]
    return dict(
        x=seeds, prev=seeds, n_iter=jnp.zeros((m,), jnp.int32), weight=jnp.zeros((m,), seeds.dtype),
        converged=jnp.zeros((m,), bool), stopped=jnp.zeros((m,), bool) if frozen is None else jnp.asarray(frozen, bool),
    )


def coarse(state, data, bandwidth, weights, max_iter, tol):
    """Stage 1, MeanShift++ on cells one bandwidth wide, from ``state``: ``(state, overflow)``."""
    grid = build(data, weights, bandwidth)
    state = dict(state, stopped=state["stopped"] | grid.overflow)
    return _run(lambda x: coarse_step(grid, x, bandwidth), state, max_iter, tol,
                window=window_rows(state["x"].shape[0], 3 ** data.shape[1])), grid.overflow


def fine(state, data, bandwidth, weights, max_iter, tol, *, kernel, refine):
    """Stage 2, the refinement on cells ``bandwidth / refine`` wide, from where stage 1
    left the seeds (those it stopped for want of data stay stopped): ``(state, overflow)``."""
    grid = build(data, weights, bandwidth / refine, refine)
    # Converged seeds go on; frozen ones and those without data stay stopped.
    stopped = state["stopped"] & ~state["converged"]
    state = dict(state, stopped=stopped | grid.overflow, converged=jnp.zeros_like(state["converged"]))
    return _run(lambda x: fine_step(grid, x, bandwidth, refine, kernel), state, max_iter, tol,
                extrapolate=True, scale=bandwidth, window=window_rows(state["x"].shape[0], len(_ball(data.shape[1], refine)))), grid.overflow


def climb(seeds, data, bandwidth, weights, max_iter, tol, frozen=None, *, kernel, refine=None) -> Climb:
    """Every seed at once, MeanShift++ then (``refine`` fine cells per bandwidth, default
    :func:`default_refine`; 0: none) the refinement, with the semantics of
    :func:`jaxshift._meanshift.climb`: a seed stops after an update of at most ``tol``
    or ``max_iter`` updates in all (both stages); with no data in reach it stays, weight
    0, not converged; ``frozen`` seeds never move. ``weight`` is the count at ``prev`` of
    the last stage; ``pairs`` is 0 (no point pairs are evaluated)."""
    refine = default_refine(data.shape[1]) if refine is None else refine
    state, _ = coarse(start(seeds, frozen), data, bandwidth, weights, max_iter, tol)
    if refine:
        state, _ = fine(state, data, bandwidth, weights, max_iter, tol, kernel=kernel, refine=refine)
    return Climb(state["x"], state["n_iter"], state["converged"], state["prev"], state["weight"],
                 jnp.zeros((), seeds.dtype))


@jax.jit
def coarse_jit(seeds, data, bandwidth, weights, max_iter, tol, frozen):
    """Stage 1 from ``seeds`` (compiled): ``(state, overflow)``, for the host to thin the seeds."""
    return coarse(start(seeds, frozen), data, bandwidth, weights, max_iter, tol)


@functools.partial(jax.jit, static_argnames=("kernel", "refine"))
def fine_jit(state, data, bandwidth, weights, max_iter, tol, *, kernel, refine):
    """Stage 2 from a stage-1 ``state`` (compiled): ``(state, overflow)``."""
    return fine(state, data, bandwidth, weights, max_iter, tol, kernel=kernel, refine=refine)


def _last_step(x, data, bandwidth, weights, kernel, refine):
    if refine:
        return fine_step(build(data, weights, bandwidth / refine, refine), x, bandwidth, refine, kernel)[0]
    return coarse_step(build(data, weights, bandwidth), x, bandwidth)[0]


@functools.partial(jax.custom_jvp, nondiff_argnums=(4, 5))
def _at_fixed_point(modes, data, bandwidth, weights, kernel, refine):
    """The identity on converged ``modes``, with the implicit derivative of the fixed point
    ``x* = m(x*)`` of the last stage's step ``m``, the cells held fixed (they are locally
    constant): ``dx* = (I - dm/dx)^{-1} dm/d(data, h, w)``, as
    :func:`jaxshift._meanshift._at_fixed_point`. MeanShift++'s step is constant in ``x``
    within a cell, so there it is the derivative of the last step."""
    return modes


@_at_fixed_point.defjvp
def _at_fixed_point_jvp(kernel, refine, primals, tangents):
    x, data, bandwidth, weights = primals
    _, ddata, dh, dw = tangents
    m, d = x.shape

    def step(y, dd, hh, ww):
        return _last_step(y, dd, hh, ww, kernel, refine)

    eye = jnp.eye(d, dtype=x.dtype)
    cols = jax.vmap(
        lambda e: jax.jvp(lambda y: step(y, data, bandwidth, weights), (x,), (jnp.broadcast_to(e, x.shape),))[1]
    )(eye)
    jac = jnp.moveaxis(cols, 0, -1)  # [m, d_out, d_in]
    _, rhs = jax.jvp(lambda dd, hh, ww: step(x, dd, hh, ww), (data, bandwidth, weights), (ddata, dh, dw))
    return x, jnp.linalg.solve(eye - jac, rhs[..., None])[..., 0]


@functools.partial(jax.jit, static_argnames=("kernel", "refine"))
def _grid_modes(seeds, data, bandwidth, weights, max_iter, tol, *, kernel, refine):
    sg = lax.stop_gradient
    res = climb(sg(seeds), sg(data), sg(bandwidth), sg(weights), max_iter, sg(tol), kernel=kernel, refine=refine)
    return Modes(_at_fixed_point(res.modes, data, bandwidth, weights, kernel, refine), res.n_iter, res.converged)


def compact(kernel, what: str = "grid mean shift") -> Kernel:
    """The kernel, which must be compact (the grid's cells are one support wide)."""
    k = get_kernel(kernel)
    if k.power is None:
        raise ValueError(
            f"{what} needs a compact kernel (its cells are one bandwidth wide): 'flat', 'epanechnikov', "
            f"'biweight' or 'triweight'; got kernel={k.name!r}"
        )
    return k


def algorithm(name, kernel, arg: str = "algorithm") -> str:
    """``"grid"`` (with a compact kernel) or one of the exact hot loop's algorithms."""
    if isinstance(name, str) and name == "grid":
        compact(kernel, f"{arg}='grid'")
        return name
    if not isinstance(name, str) or name not in _validate.ALGORITHMS:
        valid = ", ".join(map(repr, (*_validate.ALGORITHMS, "grid")))
        raise ValueError(f"{arg} must be one of {valid}, got {name!r}")
    return name


def overflow_error(bandwidth, cells_per_bandwidth, dtype, cells=None):
    kt = np.dtype(_key_type(dtype))
    count = "" if cells is None else f" number {cells:.3g},"
    h = np.asarray(bandwidth, np.float64)
    shown = f"{float(h):.6g}" if h.ndim == 0 else "[" + ", ".join(f"{v:.6g}" for v in h) + "]"
    return ValueError(
        f"bandwidth={shown} is too small for grid mean shift on this data: the grid's "
        f"cells ({cells_per_bandwidth} per bandwidth) spanning it{count} more than a {kt.name} key holds "
        f"({np.iinfo(kt).max}); use a larger bandwidth{'' if kt == np.int64 else ', float64 data (x64)'} or fewer "
        "cells per bandwidth (refine)"
    )


MAX_FEATURES = 6  # a step visits 3^d cells per seed: 729 at d = 6


def check_features(d: int):
    """A ``ValueError`` above :data:`MAX_FEATURES` features (the ``3^d`` cells a step visits)."""
    if d > MAX_FEATURES:
        raise ValueError(
            f"grid mean shift visits the 3^d cells around a point at every step: d={d} features gives "
            f"{3 ** d:,}; it is limited to d <= {MAX_FEATURES} (use the exact algorithm)"
        )


def check_cells(data, bandwidth, refine=None):
    """A ``ValueError`` for too many features and, on concrete inputs, when the data span
    more cells (of the fine grid, ``bandwidth / refine`` wide) than a key holds."""
    check_features(data.shape[1])
    if not (_validate.is_concrete(data) and _validate.is_concrete(bandwidth)):
        return
    x = np.asarray(data)
    refine = default_refine(x.shape[1]) if refine is None else refine
    cell = np.asarray(bandwidth, np.float64) / max(refine, 1)
    lo, hi = (np.round(v / cell) for v in _validate.column_range(x))
    cells = float(np.prod(hi - lo + 1 + 4 * max(refine, 1)))  # the box build() widens by 2 reach cells a side
    if not cells < np.iinfo(_key_type(x.dtype)).max:
        raise overflow_error(bandwidth, max(refine, 1), x.dtype, cells)


def grid_modes(
    seeds: ArrayLike,
    data: ArrayLike,
    *,
    bandwidth: ArrayLike,
    kernel: str | Kernel = "flat",
    weights: ArrayLike | None = None,
    max_iter: int = 300,
    tol: ArrayLike | None = None,
    refine: int | None = None,
) -> Modes:
    """Grid mean shift: MeanShift++ on per-cell sums, then a refinement on a finer grid.

    The data are binned into cells of a regular grid (cell ``round(y / w)``), with
    per-cell weights ``N_c`` and sums; no step looks at a single data point, so the cost
    is ``O(n)`` to bin (``O(n log n)`` when the data span more than ``n`` cells) and a
    fixed number of cells per seed and step, whatever ``n``.

    1. MeanShift++ (Jang & Jiang 2021), cells one bandwidth wide: a step moves a point to
       the (weighted) mean of the data in the ``3^d`` cells around its own. It converges
       in a few steps, but a point stops as soon as that mean stays in its cell.
    2. The refinement (``refine = s`` cells per bandwidth, width ``g = h / s``): a step
       averages the cells that can reach the ball of radius ``h`` around the point, each
       with the fraction of it taken to lie inside, ``clip(s (1 - |c - x| / h) + 1/2, 0,
       1)`` for the cell centre ``c``; the ``(1 - u)^p`` kernels weigh each cell as its
       centroid, ``N_c g(|(x - mu_c) / h|^2)``. This is mean shift on the data binned to
       ``h / s``, moving continuously, so points creep on to the modes as in exact mean
       shift. 275 cells a step in 3-D for ``s = 3``.

    What is approximated: the kernel's ball, by cells: in stage 1 by the ``3^d`` cube
    of side ``3h`` aligned to the cells, in stage 2 by cells ``h / s`` wide with the
    boundary cells cut linearly. Measured against scikit-learn's exact ``MeanShift``
    (``n_jobs=-1``) with the same seeds, merge and labels (``MeanShift(algorithm="grid")``),
    by the adjusted Rand index (ARI) of the labels, in one run of ``benchmarks/run.py
    --only grid``: 0.982 on the 640x427 ``china.jpg`` by colour with bin seeding (5
    clusters, as scikit-learn; 99.05% of the pixels labelled alike) and 1.000 on 50,000
    points in three 3-D gaussian blobs, every point a seed. MeanShift++ alone
    (``refine=0``) stops early on plateaus and ridges and finds extra modes there: on
    the photo 12 clusters and ARI 0.46. ``tests/test_grid.py`` checks ARI >= 0.95
    against scikit-learn on blobs.

    Differences from the paper: cells are centred on multiples of the cell width (the
    lattice of scikit-learn's ``get_bin_seeds``, so a bin seed is its cell's centre), and
    the data stay put while the seeds move, as in scikit-learn (the paper moves the data
    too, blurring mean shift), so the cells are built once. Seeds that share a stage-1
    cell take the same path from their first step on: one seed per cell is enough.
    The modes are differentiable with respect to ``data``, ``weights`` and ``bandwidth``
    by implicit differentiation at the fixed point of the last stage's step, the cells
    held fixed (they are locally constant), as :func:`~jaxshift.find_modes`: accurate for
    converged seeds (a small ``tol`` helps). ``jit``-able; ``bandwidth``, ``max_iter``
    and ``tol`` may be traced.

    Args:
        seeds: ``[d]`` or ``[m, d]`` starting points.
        data: ``[n, d]``.
        bandwidth: positive scalar or ``[d]`` (cells ``h_l`` wide per feature), or a rule
            chosen from ``data`` by :func:`jaxshift.bandwidth.resolve` (concrete data only).
        kernel: a compact kernel (static): ``"flat"`` (scikit-learn's), ``"epanechnikov"``,
            ``"biweight"``, ``"triweight"``. Stage 1 is flat for all.
        weights: ``[n]`` non-negative sample weights.
        max_iter: the most steps any seed takes, both stages together (``>= 0``).
        tol: convergence threshold as :func:`~jaxshift.find_modes` (default
            ``1e-3 * bandwidth``), in each stage.
        refine: fine cells per bandwidth of stage 2 (static); 0 skips it (MeanShift++
            alone). Default 3 for ``d <= 4``, 0 above (stage 2 visits about
            ``(2 s + 1)^d`` cells a step).

    Returns:
        :class:`~jaxshift.Modes` ``(modes, n_iter, converged)``.

    Raises:
        ValueError: as :func:`~jaxshift.find_modes`; for the gaussian kernel, a bad
            ``refine`` or more than 6 features; and (concrete inputs) when the data span more cells than an int32
            key holds (int64 for float64 data). Under ``jit`` that case leaves every seed
            where it is, with ``converged`` False.

    Examples:
        >>> import jax.numpy as jnp
        >>> data = jnp.array([[0.0], [0.5], [1.0], [9.0], [10.0]])
        >>> res = grid_modes(jnp.array([[0.1], [9.8]]), data, bandwidth=1.5)
        >>> res.modes.ravel().tolist(), bool(res.converged.all())
        ([0.5, 9.5], True)

    References:
        Jang & Jiang (2021), "MeanShift++: Extremely fast mode-seeking with applications
        to segmentation and object tracking", CVPR.
    """
    k = compact(kernel)
    bandwidth = _resolve_for(bandwidth, seeds, "seeds", data, weights, kernel=shadow(k))
    seeds, data, bandwidth, weights, single = _validate.inputs(seeds, "seeds", data, bandwidth, weights)
    if jnp.ndim(bandwidth) == 2:
        raise ValueError(
            f"grid mean shift takes a scalar or [d] per-feature bandwidth, not a [d, d] matrix (got shape "
            f"{tuple(jnp.shape(bandwidth))}): its cells are boxes along the features"
        )
    _validate.max_iter(max_iter)
    refine = default_refine(data.shape[1]) if refine is None else _validate.positive_int(refine, "refine", minimum=0)
    tol = 1e-3 * bandwidth if tol is None else jnp.asarray(_validate.tolerance(tol, data.shape[1]), data.dtype)
    check_cells(data, bandwidth, refine)
    res = _grid_modes(seeds, data, bandwidth, weights, jnp.asarray(max_iter, jnp.int32), tol, kernel=k, refine=refine)
    if single:
        return Modes(res.modes[0], res.n_iter[0], res.converged[0])
    return res
