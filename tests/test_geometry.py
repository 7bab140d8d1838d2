"""The geometry-aware hot loop and the one driver (issue 13), against the dense path and NumPy.

Every comparison forces many blocks (``query_block=8``, ``data_block=32``: 4 query blocks
against 4 data blocks) so that the pruned plan really skips block pairs, and keeps to a
few shapes so that compilation stays cheap: each test runs all its code paths inside
one ``jax.jit``, compiled once per parametrisation, and hypothesis then only draws the
values (a seed), never the shapes.

Tolerances are error bounds, per dtype and per query (:func:`error_bounds`): the hot
loop takes squared distances in the GEMM form around a block centre ``c``, off by about
``eps (|x - c|^2 + |y - c|^2) / h^2``; each kernel turns that into a bound on the sums
(relative, for the gaussian; relative to the weight in reach, for a compact kernel, so
that a sum made only of terms at the edge of the support gets the loose bound it needs).
With ``D`` the diameter of data and queries that is at most ``4 eps (1 + D^2 / h^2)``
relative on the gaussian's sums: in float64 at most the issue's ``1e-10`` on the widest
data here (240 bandwidths, d = 8) and ``1e-13`` on compact data; in float32
(``eps = 1.2e-7``) ``5e-3`` on data spanning 100 bandwidths, which is what float32 can do. On integer data with an integer bandwidth and half-integer
queries every distance, count and sum of points is exact: the flat kernel must agree bit
for bit, and the first mean-shift step too.
"""

import functools
import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import example, given
from hypothesis import strategies as st

import jaxshift
from jaxshift import _density, _meanshift, _pairwise
from jaxshift import cluster as cluster_module
from jaxshift.cluster import find_clusters
from jaxshift.kernels import get_kernel

QB, DB = 8, 32  # small blocks: many block pairs, so that pruning has something to skip
N, M = 128, 32  # data points and queries: one shape per dimension
ALGOS = ("dense", "pruned")
POWER = {"flat": 0, "epanechnikov": 1, "biweight": 2, "triweight": 3}
KINDS = ("lattice", "lattice_spread", "identical", "single", "spread")
LATTICE = ("lattice", "lattice_spread")


# --- inputs --------------------------------------------------------------------------------


def case(kind, seed, d, n=N, m=M):
    """``(data [n, d], queries [m, d], weights [n], h)``, float64, of one kind.

    - ``lattice``: integers in ``[0, 5)``, an integer bandwidth: many duplicates, many
      pairs exactly one bandwidth apart (``u == 1``), points on every box border.
    - ``lattice_spread``: integer clusters far apart (pruning), with exact borders too.
    - ``identical``: all points the same.
    - ``single``: one cluster as wide as the bandwidth (nothing to prune).
    - ``spread``: blobs over ~60 bandwidths (pruning), with duplicated rows.

    Every kind has duplicated rows and integer weights with zeros among them (integer
    weights keep the flat kernel's sums exact). Lattice queries are half-integers, so
    that their distances to the data stay exact in float32 too.
    """
    rng = np.random.default_rng(seed)
    if kind == "lattice":
        data = rng.integers(0, 5, (n, d)).astype(float)
        h = float(rng.integers(1, 4))
    elif kind == "lattice_spread":
        centres = rng.integers(0, 60, (6, d))
        data = (centres[rng.integers(0, 6, n)] + rng.integers(-2, 3, (n, d))).astype(float)
        h = float(rng.integers(1, 4))
    elif kind == "identical":
        data = np.repeat(rng.normal(size=(1, d)) * 3, n, axis=0)
        h = 0.5 + rng.uniform()
    elif kind == "single":
        data = rng.normal(size=(n, d))
        h = 0.5 + rng.uniform()
    elif kind == "spread":
        centres = rng.uniform(0, 60, (8, d))
        data = centres[rng.integers(0, 8, n)] + rng.normal(size=(n, d))
        h = 0.7 + rng.uniform()
    else:
        raise AssertionError(kind)
    data[rng.integers(0, n, n // 4)] = data[rng.integers(0, n, n // 4)]  # duplicates
    rows = data[rng.integers(0, n, m)]
    if kind in LATTICE:
        queries = rows + rng.integers(-2 * int(h), 2 * int(h) + 1, (m, d)) / 2
    else:
        queries = rows + rng.normal(size=(m, d)) * h * rng.uniform(0, 2, (m, 1))
        queries[: m // 4] = rows[: m // 4]  # queries exactly on data points
    weights = rng.integers(0, 4, n).astype(float)
    weights[rng.integers(0, n)] = 2.0  # not all zero
    return data, queries, weights, h


# --- NumPy float64 references --------------------------------------------------------------


def np_u(q, data, h):
    """Squared scaled distances by differences; exact on the lattice cases (the
    numerator is an exact sum of squares of half-integers, one correct division)."""
    diff = q[:, None, :] - data[None, :, :]
    return np.sum(diff * diff, axis=-1) / (h * h)


def np_log_norm(name, d):
    """``log c_{k,d}`` from the textbook formulas."""
    if name == "gaussian":
        return -0.5 * d * math.log(2 * math.pi)
    p = POWER[name]
    return math.lgamma(p + 1 + 0.5 * d) - math.lgamma(p + 1) - 0.5 * d * math.log(math.pi)


def np_weights(q, data, w, h, name):
    """``w_j k(u_ij)`` ``[m, n]``; for the gaussian relative to each row's nearest
    positive-weight point (a stable log-sum-exp), with that row's log-scale ``[m]``."""
    u = np_u(q, data, h)
    if name == "gaussian":
        pos = w > 0
        u_min = np.min(np.where(pos, u, np.inf), axis=1)
        return w * np.exp(-0.5 * (u - u_min[:, None])), -0.5 * u_min
    k = np.where(u <= 1, np.clip(1 - u, 0, None) ** POWER[name], 0.0)
    return w * k, np.zeros(len(q))


def np_log_kde(q, data, w, h, name):
    g, log_scale = np_weights(q, data, w, h, name)
    with np.errstate(divide="ignore"):
        log_s = np.log(g.sum(1))
    d = q.shape[1]
    return np_log_norm(name, d) - np.log(w.sum()) - d * np.log(h) + log_scale + log_s


def np_shift(q, data, w, h, name):
    g, _ = np_weights(q, data, w, h, name)
    s = g.sum(1)
    return np.where(s[:, None] > 0, (g @ data) / np.where(s > 0, s, 1.0)[:, None], q)


def np_find_modes(seeds, data, h, name, max_iter, tol):
    """The textbook driver: one seed at a time, no merging.

    Returns ``(modes, n_iter, converged, edge)``. ``edge`` flags the seeds whose path
    stood, off the lattice, within rounding of a compact support's edge (``u`` within
    ``1e-9`` of 1): there two distance formulas (ours by differences, the hot loop's GEMM
    form around a block centre) may round either way, as in ``test_cluster``'s
    ``test_parity_on_integer_grids``; on the lattice itself distances are exact.
    """
    w = np.ones(len(data))
    modes = np.array(seeds, float)
    n_iter = np.zeros(len(seeds), int)
    converged = np.zeros(len(seeds), bool)
    edge = np.zeros(len(seeds), bool)
    for i in range(len(seeds)):
        x = modes[i : i + 1]
        for _ in range(max_iter):
            if name != "gaussian" and np.any(x != np.round(x)):
                edge[i] |= bool(np.any(np.abs(np_u(x, data, h) - 1) < 1e-9))
            g, _ = np_weights(x, data, w, h, name)
            n_iter[i] += 1
            if g.sum() == 0:  # no data in reach: it stays, not converged
                break
            new = np_shift(x, data, w, h, name)
            moved = np.sqrt(np.sum((new - x) ** 2))
            x = new
            if moved <= tol:
                converged[i] = True
                break
        modes[i] = x[0]
    return modes, n_iter, converged, edge


# --- the code paths, each set compiled once ------------------------------------------------


def _blocked(algorithm):
    return dict(algorithm=algorithm, query_block=QB, data_block=DB)


@functools.partial(jax.jit, static_argnames=("kernel",))
def _density_paths(q, data, w, h, *, kernel):
    """kde, log_kde, shift and the raw sums, for both algorithms."""
    out = {}
    for algo in ALGOS:
        kw = dict(bandwidth=h, kernel=kernel, weights=w, **_blocked(algo))
        sums = _pairwise.kernel_sums(q, data, w, h, get_kernel(kernel), with_mean=False, **_blocked(algo))
        out[algo] = dict(
            kde=jaxshift.kde(q, data, **kw), log_kde=jaxshift.log_kde(q, data, **kw),
            shift=jaxshift.shift(q, data, **kw), s=sums.s, pairs=sums.pairs,
        )
    return out


@functools.partial(jax.jit, static_argnames=("kernel", "clusters"))
def _climb_paths(data, h, max_iter, *, kernel, clusters=True):
    """find_modes (every point a seed) and find_clusters(), for both algorithms."""
    out = {}
    for algo in ALGOS:
        res = jaxshift.find_modes(data, data, bandwidth=h, kernel=kernel, max_iter=max_iter, **_blocked(algo))
        out[algo] = dict(modes=res)
        if clusters:
            out[algo]["clusters"] = find_clusters(data, bandwidth=h, seeds=data, capacity=N, kernel=kernel,
                                            max_iter=max_iter, **_blocked(algo))
    return out


@functools.partial(jax.jit, static_argnames=("kernel", "steps"))
def _trajectories(data, h, *, kernel, steps):
    return {algo: jaxshift.trajectory(data, data, bandwidth=h, kernel=kernel, steps=steps, **_blocked(algo))
            for algo in ALGOS}


# --- 1. every fast path equals the dense path (and NumPy) ----------------------------------


# Every kernel, and d from 1 to 8 (d = 6 in the find_modes cases below): "auto" would
# choose dense for d > 6, "pruned" is forced.
DENSITY_CASES = [
    ("gaussian", 1), ("flat", 2), ("epanechnikov", 3), ("biweight", 4), ("triweight", 5),
    ("flat", 7), ("gaussian", 8),
]


def error_bounds(q, data, w, h, name, dtype):
    """Per query, how far a path may be from the NumPy reference: ``(rel [m], step [m])``,
    the relative error of the sum (so of the density) and the absolute error of a step.

    The hot loop takes ``u`` in the GEMM form around a block centre ``c``, whose rounding
    error is about ``eps (|x - c|^2 + |y - c|^2) / h^2``: at most ``du = 4 eps (1 + D^2 / h^2)``,
    ``D`` the diameter of data and queries (measured: under a fifth of ``du``). Then

    - gaussian: each weight is off by a relative ``du / 2``, a sum by a relative ``du``,
      a step by ``du D``;
    - ``(1 - u)^p``, ``p >= 1``: each weight is off by at most ``p du``, so a sum by a
      relative ``p du W_in / S`` (``W_in`` the weight in reach): large only for a sum made
      of terms at the edge of the support; a step by ``2 h`` times that;
    - flat: only a term within ``du`` of the edge can flip, by its weight ``W_edge``.

    Plus the rounding of a sum of ``n`` terms, ``n eps``. An infinite bound (a zero sum
    with a term at the edge) means rounding decides; elsewhere a zero sum is exact.
    """
    eps = float(np.finfo(dtype).eps)
    pts = np.concatenate([q, data])
    diam2 = np.sum((pts.max(0) - pts.min(0)) ** 2) / h**2
    du = 4 * eps * (1 + diam2)
    scale = np.max(np.abs(pts)) + h
    rounding = len(data) * eps
    if name == "gaussian":
        return np.full(len(q), du + rounding), np.full(len(q), du * np.sqrt(diam2) * h + rounding * scale)
    u = np_u(q, data, h)
    g, _ = np_weights(q, data, w, h, name)
    total = g.sum(1)
    p = POWER[name]
    near = (w * (u <= 1 + du)).sum(1) * p * du if p else (w * (np.abs(u - 1) <= du)).sum(1)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(near > 0, near / total, 0.0)  # inf: a zero sum with an edge term
    return ratio + rounding, 2 * h * ratio + rounding * scale


def assert_within(got, ref, bound, what):
    """``|got - ref| <= bound`` elementwise (infinite values must match exactly, an
    infinite bound accepts anything)."""
    bound = np.broadcast_to(bound, ref.shape)
    with np.errstate(invalid="ignore"):  # -inf - -inf
        ok = (got == ref) | (np.abs(got - ref) <= bound) | np.isinf(bound)
    if not ok.all():
        i = np.argmax(~ok)
        raise AssertionError(f"{what}: {int((~ok).sum())} of {ok.size} beyond the bound; first at flat index "
                             f"{i}: got {got.ravel()[i]!r}, want {ref.ravel()[i]!r} +- {bound.ravel()[i]!r}")


def _check_density_paths(kind, seed, name, d, dtype):
    data, q, w, h = case(kind, seed, d)
    data, q, w, h = data.astype(dtype), q.astype(dtype), w.astype(dtype), float(dtype(h))
    out = jax.tree.map(np.asarray, _density_paths(q, data, w, h, kernel=name))
    dense, pruned = out["dense"], out["pruned"]
    assert pruned["kde"].dtype == dtype and pruned["shift"].dtype == dtype
    assert pruned["pairs"] <= dense["pairs"] == N * M
    data, q, w = data.astype(float), q.astype(float), w.astype(float)  # the same inputs, in float64
    ref_log = np_log_kde(q, data, w, h, name)
    ref_kde = np.exp(ref_log)
    ref_shift = np_shift(q, data, w, h, name)
    if name == "flat" and kind in LATTICE:
        # Counts of integer weights at exact distances: every path equals NumPy bit for bit.
        count = (w * (np_u(q, data, h) <= 1)).sum(1)
        np.testing.assert_array_equal(pruned["s"], count)
        np.testing.assert_array_equal(dense["s"], count)
        for key in ("kde", "log_kde", "shift"):
            np.testing.assert_array_equal(pruned[key], dense[key], err_msg=key)
        np.testing.assert_array_equal(pruned["shift"], ref_shift.astype(dtype))
    rel, step = error_bounds(q, data, w, h, name, dtype)
    if dtype == np.float64 and name == "gaussian":
        assert rel.max() < 1e-10  # the bound itself is within the 1e-10
    edge = np.isinf(rel)  # a zero sum and a term at the edge: rounding decides
    rel = np.where(edge, 1.0, rel)
    with np.errstate(divide="ignore"):
        log_bound = -np.log1p(-np.minimum(rel, 1.0))  # |log(1 + r)| for |r| <= rel; inf from rel = 1
    log_bound += 4 * rel * np.where(np.isfinite(ref_log), np.abs(ref_log), 0.0)  # and the log's rounding
    kde_bound = np.where(edge, np.inf, rel * ref_kde)
    for algo, got in out.items():
        assert_within(got["kde"], ref_kde, kde_bound, f"{algo} kde")
        assert_within(got["log_kde"], ref_log, log_bound, f"{algo} log_kde")  # -inf exactly where the sum is 0
        assert_within(got["shift"], ref_shift, step[:, None], f"{algo} shift")
    assert_within(pruned["kde"], dense["kde"], 2 * kde_bound, "pruned vs dense kde")
    assert_within(pruned["shift"], dense["shift"], 2 * step[:, None], "pruned vs dense shift")


@pytest.mark.parametrize("name,d", DENSITY_CASES)
@given(seed=st.integers(0, 2**32 - 1), kind=st.sampled_from(KINDS))
@example(seed=0, kind="lattice")
@example(seed=1, kind="lattice_spread")
@example(seed=2, kind="identical")
@example(seed=3, kind="single")
@example(seed=4, kind="spread")
def test_kde_log_kde_shift_pruned_equal_dense_and_numpy(name, d, seed, kind):
    with jax.enable_x64(True):
        _check_density_paths(kind, seed, name, d, np.float64)


@given(seed=st.integers(0, 2**32 - 1), kind=st.sampled_from(KINDS))
@example(seed=0, kind="lattice")
@example(seed=4, kind="spread")
def test_float32_gaussian_pruned_equals_dense_and_numpy(seed, kind):
    _check_density_paths(kind, seed, "gaussian", 2, np.float32)


@pytest.mark.parametrize("name,d", [("flat", 2), ("epanechnikov", 3), ("flat", 7)])
def test_pruning_is_not_vacuous(x64, name, d):
    """On spread data the pruned plan skips block pairs, also at d = 7 where "auto"
    would not prune. (The gaussian's bound: see the skip-bound test.)"""
    data, q, w, h = case("spread", 5, d)
    out = _density_paths(q, data, w, h, kernel=name)
    pruned, dense = float(out["pruned"]["pairs"]), float(out["dense"]["pairs"])
    assert dense == N * M
    assert pruned < 0.75 * dense


# find_modes and find_clusters(): every point a seed, both paths, against the NumPy per-seed loop.
CLIMB_CASES = [("flat", 2, "lattice_spread"), ("gaussian", 3, "spread"), ("epanechnikov", 6, "spread")]


@pytest.mark.parametrize("seed", [0, 2])
@pytest.mark.parametrize("name,d,kind", CLIMB_CASES)
def test_find_modes_and_cluster_pruned_equal_dense(x64, name, d, kind, seed):
    data, _, _, h = case(kind, seed, d)
    clusters = name != "epanechnikov"  # find_clusters() in two kernel families is enough
    out = jax.tree.map(np.asarray, _climb_paths(data, h, 300, kernel=name, clusters=clusters))
    dense, pruned = out["dense"], out["pruned"]
    modes, n_iter, conv, edge = np_find_modes(data, data, h, name, 300, 1e-3 * h)
    assert conv.all()
    assert not edge.any()  # these seeds were chosen free of rounding ties at a support's edge
    exact = name == "flat" and kind in LATTICE  # sums of integer points: exact means
    atol = 0 if exact else 1e-9 * (h + np.abs(data).max())
    for got in (pruned, dense):
        res = got["modes"]
        np.testing.assert_array_equal(res.n_iter, n_iter)
        np.testing.assert_array_equal(res.converged, conv)
        np.testing.assert_allclose(res.modes, modes, rtol=0, atol=atol)
    if not clusters:
        return
    a, b = pruned["clusters"], dense["clusters"]
    assert int(a.n_clusters) == int(b.n_clusters) and not bool(a.overflow)
    np.testing.assert_array_equal(a.labels, b.labels)
    np.testing.assert_array_equal(a.valid, b.valid)
    np.testing.assert_array_equal(a.intensity, b.intensity)  # counts of points: exact
    np.testing.assert_allclose(a.centres, b.centres, rtol=0, atol=atol)
    assert int(a.n_iter) == int(b.n_iter) == int(n_iter.max()) - 1


def test_float32_find_modes_and_cluster_pruned_equal_dense():
    """Float32 on well-separated blobs: same labels and clusters; modes within 1e-2 h, a
    few of the stopping tolerance (1e-3 h): rounding may stop a seed a step earlier."""
    data, _, _, h = case("spread", 0, 3)
    data = data.astype(np.float32)
    out = jax.tree.map(np.asarray, _climb_paths(data, h, 300, kernel="gaussian"))
    dense, pruned = out["dense"], out["pruned"]
    assert pruned["modes"].modes.dtype == np.float32
    assert bool(pruned["modes"].converged.all()) and bool(dense["modes"].converged.all())
    np.testing.assert_allclose(pruned["modes"].modes, dense["modes"].modes, rtol=0, atol=1e-2 * h)
    a, b = pruned["clusters"], dense["clusters"]
    assert int(a.n_clusters) == int(b.n_clusters)
    np.testing.assert_array_equal(a.labels, b.labels)
    np.testing.assert_allclose(a.centres, b.centres, rtol=0, atol=1e-2 * h)


# --- 2. the gaussian skip bound ------------------------------------------------------------


@jax.jit
def _gaussian_paths(q, data, h):
    # Blocks of 8 points, one blob each, so that the bound is nearly tight: it compares a
    # data block's largest contribution with the least sum any query of the query block
    # can have, which is close to the true sum only when both blocks are compact.
    out = {}
    for algo in ALGOS:
        kw = dict(algorithm=algo, query_block=8, data_block=8)
        sums = _pairwise.kernel_sums(q, data, jnp.ones(data.shape[:1], data.dtype), h, get_kernel("gaussian"),
                                     with_mean=False, **kw)
        out[algo] = dict(log_kde=jaxshift.log_kde(q, data, bandwidth=h, **kw),
                         shift=jaxshift.shift(q, data, bandwidth=h, **kw), pairs=sums.pairs)
    return out


def test_gaussian_skip_bound_is_exact_to_rounding(x64):
    """16 tight blobs in a row, the gaps between neighbours growing from 1 to 12
    bandwidths, so that a neighbouring blob weighs from 0.6 down to 1e-32 of a blob's own
    sum, on both sides of the rounding (2e-16); queries on every point, between blobs, and
    one 1e3 bandwidths from all data. The bound must visit every block that matters and
    may skip the rest: the results are NumPy's to a few ulps (1e-14 relative, far below
    the 1e-12 asked), while a quarter of the pairs are evaluated."""
    rng = np.random.default_rng(7)
    h = 0.5
    gaps = np.array([1, 2, 3, 4, 5, 6, 6.5, 7, 7.5, 8, 8.5, 9, 9.5, 10, 12]) * h
    pos = np.concatenate([[0.0], np.cumsum(gaps)])
    centres = np.stack([pos, 0.2 * pos], axis=1)
    data = np.repeat(centres, N // 16, axis=0) + rng.normal(size=(N, 2)) * 0.05 * h
    far = data.min(0) - 1e3 * h * np.array([0.6, 0.8])  # 1e3 bandwidths from the nearest corner
    q = np.concatenate([far[None], data, (centres[:7] + centres[1:8]) / 2])
    out = jax.tree.map(np.asarray, _gaussian_paths(q, data, h))
    w = np.ones(N)
    ref_log = np_log_kde(q, data, w, h, "gaussian")
    ref_shift = np_shift(q, data, w, h, "gaussian")
    assert out["pruned"]["pairs"] < 0.5 * out["dense"]["pairs"]  # the bound really skips
    for algo in ALGOS:
        log_f, moved = out[algo]["log_kde"], out[algo]["shift"]
        assert np.all(np.isfinite(log_f)) and np.all(np.isfinite(moved)), algo
        np.testing.assert_allclose(log_f, ref_log, rtol=1e-14, atol=0, err_msg=algo)
        np.testing.assert_allclose(moved, ref_shift, rtol=0, atol=1e-14 * np.abs(data).max(), err_msg=algo)
    # The far query: a log-density near -u/2 of its nearest point, and a step to that point.
    nearest = data[np.argmin(np.sum((data - far) ** 2, axis=1))]
    assert out["pruned"]["log_kde"][0] < -4e5
    assert np.linalg.norm(out["pruned"]["shift"][0] - nearest) < 1e-6 * np.linalg.norm(far - nearest)


# --- 3. float32 on spread-out data ---------------------------------------------------------

# Issue 13's case, fixed: blocks that straddle the groups used to take their distances
# around one far centre (log_kde off by ~4 in float32), and a tol below float32's spacing
# at 1e4 left seeds cycling between neighbouring floats (a third unconverged).


def spread_groups(d, seed=0):
    """Two groups 2e4 bandwidths apart (h = 0.5, coordinates around 1e4), rounded to
    float32 once: the float64 run then sees exactly the same inputs."""
    rng = np.random.default_rng(seed)
    offset = np.zeros(d)
    offset[0] = 5e3
    groups = [1e4 - offset + rng.normal(size=(300, d)) * 0.5, 1e4 + offset + rng.normal(size=(300, d)) * 0.5]
    return np.concatenate(groups).astype(np.float32)


@pytest.mark.parametrize("algorithm", ["auto", "pruned"])
def test_float32_log_kde_on_spread_data(algorithm):
    data = spread_groups(2)
    q = np.concatenate([data[::5], data[:60:5] + np.float32(0.3)])
    f32 = np.asarray(jaxshift.log_kde(q, data, bandwidth=0.5, algorithm=algorithm))
    assert f32.dtype == np.float32
    with jax.enable_x64(True):
        f64 = np.asarray(jaxshift.log_kde(q.astype(np.float64), data.astype(np.float64), bandwidth=0.5,
                                          algorithm=algorithm))
    ref = np_log_kde(q.astype(float), data.astype(float), np.ones(len(data)), 0.5, "gaussian")
    np.testing.assert_allclose(f64, ref, rtol=1e-12)
    np.testing.assert_allclose(f32, f64, rtol=0, atol=1e-3)


@pytest.mark.parametrize("algorithm", ["auto", "pruned"])
def test_float32_find_modes_on_spread_data(algorithm):
    data = spread_groups(2)
    res = jaxshift.find_modes(data, data, bandwidth=0.5, algorithm=algorithm)
    assert res.modes.dtype == np.float32
    with jax.enable_x64(True):
        ref = jaxshift.find_modes(data.astype(np.float64), data.astype(np.float64), bandwidth=0.5,
                                  algorithm=algorithm)
    assert bool(ref.converged.all())
    assert bool(res.converged.all()), f"{int((~res.converged).sum())} of {len(data)} seeds did not converge"
    np.testing.assert_allclose(res.modes, ref.modes, rtol=0, atol=4e-3)



def test_float32_tiny_bandwidth_counts_each_point_once():
    """Issue 10: 128 distinct float32 points in [0, 1) with h = 1e-9 (below float32's
    spacing there): every block pair is wide, so the difference form must decide; the
    flat kernel counts each point once (itself) and a step stays on it. Before, a query
    block whose only data block in reach was block 0 lost that block's "wide" flag (a
    scatter of the unused list slots, all index 0, overwrote it), took the GEMM form,
    and counted points thousands of bandwidths away: MeanShift lost clusters on the
    pruned path (tests/test_cluster.py)."""
    data = np.random.default_rng(0).random((N, 1)).astype(np.float32)
    assert len(np.unique(data)) == N
    h = np.float32(1e-9)
    kw = dict(kernel="flat", algorithm="pruned", query_block=QB, data_block=DB)
    count = np.asarray(jaxshift.kde(data, data, bandwidth=h, **kw)) * (2 * h * N)
    np.testing.assert_allclose(count, 1.0, rtol=1e-5)
    np.testing.assert_array_equal(np.asarray(jaxshift.shift(data, data, bandwidth=h, **kw)), data)


# --- 4. merging bit-identical seeds is exact -----------------------------------------------


def _from_trajectory(path, tol, max_iter):
    """Per seed, ``(mode, n_iter, converged)`` read off a fixed-step trajectory: the first
    step that moved by at most ``tol``, or ``max_iter`` steps (every seed here has data
    in reach: the seeds are the data)."""
    moved = np.sqrt(np.sum(np.diff(path, axis=0) ** 2, axis=-1))  # [steps, m]
    done = moved <= tol
    first = np.where(done.any(0), np.argmax(done, axis=0) + 1, path.shape[0])
    n_iter = np.minimum(first, max_iter)
    return path[n_iter, np.arange(path.shape[1])], n_iter, first <= max_iter


@pytest.mark.parametrize("max_iter", [2, 300])
@pytest.mark.parametrize("seed", [1, 3])
def test_seed_merging_is_exact(x64, seed, max_iter):
    """Flat kernel on clustered integer data, every point a seed: many seeds start equal
    and many more become equal after a step (same window, same mean). Merging them must
    change nothing: every original seed's mode, ``n_iter`` and ``converged`` are those of
    the plain step repeated (``trajectory``, bit for bit) and of the seed run alone in
    NumPy (bit for bit, save for seeds whose path meets a rounding tie at a support's
    edge, where NumPy's distances round differently)."""
    data, _, _, h = case("lattice_spread", seed, 2)
    steps = 12
    paths = jax.tree.map(np.asarray, _trajectories(data, h, kernel="flat", steps=steps))
    out = jax.tree.map(np.asarray, _climb_paths(data, h, max_iter, kernel="flat", clusters=True))
    tol = 1e-3 * h
    ref_modes, ref_iter, ref_conv, edge = np_find_modes(data, data, h, "flat", max_iter, tol)
    assert ref_conv.all() or max_iter == 2
    assert ref_iter.max() < steps
    assert edge.mean() < 0.05
    assert max_iter == 2 or len(np.unique(ref_iter)) > 1  # n_iter differs from seed to seed
    for algo in ALGOS:
        path = paths[algo]
        distinct = [len(np.unique(p, axis=0)) for p in path[:3]]
        assert distinct[0] < N and distinct[1] < distinct[0], distinct  # duplicates, then merges
        res = out[algo]["modes"]
        modes, n_iter, conv = _from_trajectory(path, tol, max_iter)
        np.testing.assert_array_equal(res.modes, modes, err_msg=algo)
        np.testing.assert_array_equal(res.n_iter, n_iter, err_msg=algo)
        np.testing.assert_array_equal(res.converged, conv, err_msg=algo)
        np.testing.assert_array_equal(res.modes[~edge], ref_modes[~edge], err_msg=algo)
        np.testing.assert_array_equal(res.n_iter[~edge], ref_iter[~edge], err_msg=algo)
        np.testing.assert_array_equal(res.converged[~edge], ref_conv[~edge], err_msg=algo)


# --- 5. gradients through the pruned path --------------------------------------------------


GRAD_KERNELS = ("gaussian", "epanechnikov")


@jax.jit
def _log_kde_grads(q, data, h):
    def total(h, data, kernel, algo):
        return jaxshift.log_kde(q, data, bandwidth=h, kernel=kernel, **_blocked(algo)).sum()

    return {(kernel, algo): jax.grad(total, argnums=(0, 1))(h, data, kernel, algo)
            for kernel in GRAD_KERNELS for algo in ALGOS}


@jax.jit
def _mode_grads(seeds, data, h):
    def total(h, algo):
        res = jaxshift.find_modes(seeds, data, bandwidth=h, tol=1e-10 * h, max_iter=2000, **_blocked(algo))
        return res.modes.sum(), jnp.all(res.converged)

    return {algo: jax.grad(total, has_aux=True)(h, algo) for algo in ALGOS}


@pytest.mark.parametrize("name", GRAD_KERNELS)
def test_log_kde_gradients_pruned_equal_dense(x64, name):
    """d/dh and d/d(data) of sum log f through the pruned path (its derivative twin scans
    the same list of blocks) equal the dense path's, and for the gaussian the textbook
    derivatives."""
    data, _, _, h = case("spread", 2, 2)
    q = data[::4] + 0.1 * h  # inside every compact support: finite logs
    g = jax.tree.map(np.asarray, _log_kde_grads(q, data, h))
    (gh_p, gy_p), (gh_d, gy_d) = g[name, "pruned"], g[name, "dense"]
    assert np.all(np.isfinite(gy_p)) and np.isfinite(gh_p)
    np.testing.assert_allclose(gh_p, gh_d, rtol=1e-8)
    np.testing.assert_allclose(gy_p, gy_d, rtol=0, atol=1e-8 * np.abs(gy_d).max())
    if name == "gaussian":  # and the textbook derivatives of sum_i log f(x_i)
        u = np_u(q, data, h)
        p = np.exp(-0.5 * (u - u.min(1, keepdims=True)))
        p /= p.sum(1, keepdims=True)
        dh = np.sum(-2 / h + np.sum(p * u, axis=1) / h)
        dy = np.einsum("ij,ijk->jk", p, q[:, None, :] - data[None]) / h**2
        np.testing.assert_allclose(gh_p, dh, rtol=1e-9)
        np.testing.assert_allclose(gy_p, dy, rtol=0, atol=1e-9 * np.abs(dy).max())


def test_mode_gradient_pruned_equals_dense(x64):
    """The implicit derivative of the modes (at a tight tolerance, where it is exact)."""
    data, _, _, h = case("spread", 3, 2)
    out = jax.tree.map(np.asarray, _mode_grads(data[::8], data, h))
    (g_pruned, conv_pruned), (g_dense, conv_dense) = out["pruned"], out["dense"]
    assert conv_pruned and conv_dense
    assert np.isfinite(g_pruned) and g_pruned != 0
    np.testing.assert_allclose(g_pruned, g_dense, rtol=1e-8)


# --- 6. a bad algorithm name ---------------------------------------------------------------


def test_bogus_algorithm_raises_before_compiling():
    """Every entry point refuses an unknown name with a ValueError that names the
    argument and the valid values, and nothing gets compiled first."""
    data = np.zeros((3, 2), np.float32)
    jitted = [_density._kde, _meanshift._shift, _meanshift._find_modes, _meanshift._trajectory,
              cluster_module._climb]
    before = [f._cache_size() for f in jitted]
    calls = [
        lambda: jaxshift.kde(data, data, bandwidth=1.0, algorithm="bogus"),
        lambda: jaxshift.log_kde(data, data, bandwidth=1.0, algorithm="bogus"),
        lambda: jaxshift.shift(data, data, bandwidth=1.0, algorithm="bogus"),
        lambda: jaxshift.find_modes(data, data, bandwidth=1.0, algorithm="bogus"),
        lambda: jaxshift.trajectory(data, data, bandwidth=1.0, steps=1, algorithm="bogus"),
        lambda: find_clusters(data, bandwidth=1.0, seeds=data, capacity=2, algorithm="bogus"),
        lambda: _pairwise.kernel_sums(data, data, np.ones(3, np.float32), 1.0, get_kernel("flat"),
                                      with_mean=False, algorithm="bogus"),
    ]
    for call in calls:
        with pytest.raises(ValueError, match=r"algorithm.*'bogus'") as info:
            call()
        assert all(repr(name) in str(info.value) for name in ("auto", "dense", "pruned"))
    assert [f._cache_size() for f in jitted] == before
