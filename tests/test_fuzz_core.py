"""Fuzzing the core's public functions and the numerics of the clustering helpers (issue 10).

For every input a user can hand over: a correct, finite result as documented, or a
``ValueError``/``TypeError`` that names the argument and the value, raised before
anything is traced or compiled. Never a NaN or inf where the docstring promises a
number, never a hang.

1. Bad input (NaN and inf anywhere, empty data, wrong ranks, mismatched dimensions, bad
   bandwidths, weights and options): a table of calls, each refused before compilation
   (every jitted entry is replaced by a function that fails the test if reached).
2. Odd but valid input, drawn by hypothesis over values on a few fixed shapes (``n`` in
   1, 7, 40 with ``d`` in 1, 3, 64), so that the compiled executables are reused:
   coordinates around 1e-6, 1 and 1e6 (and offset by 1e6), bandwidths 1e-12, 1 and 1e12
   times the data's scale, constant data and duplicates, zero weights and a single
   non-zero weight, seeds far from all data, ``max_iter=0``, integer, bool and list
   input. ``kde``, ``log_kde`` and ``shift`` are checked against a float64 NumPy
   transcription; ``trajectory`` and ``find_modes`` against ``shift`` and each other;
   the bandwidth rules against NumPy; the clustering helpers against scikit-learn's
   definitions.
"""

import warnings

import jax
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from references import as_input, draw_data, draw_weights
from scipy.special import logsumexp

import jaxshift
from jaxshift import bandwidth as bw
from jaxshift.cluster import MeanShift, estimate_bandwidth, find_clusters, get_bin_seeds, mean_shift
from jaxshift.kernels import get_kernel

# --------------------------------------------------------------------------- 1. bad input

X = np.arange(21.0).reshape(7, 3) / 7.0
W = np.ones(7)
NAN = np.where(X == X[2, 1], np.nan, X)  # nan at (2, 1)
INF = np.where(X == X[4, 0], -np.inf, X)  # -inf at (4, 0)

CORE = {
    "kde": lambda q, d, **k: jaxshift.kde(q, d, **k),
    "log_kde": lambda q, d, **k: jaxshift.log_kde(q, d, **k),
    "shift": lambda q, d, **k: jaxshift.shift(q, d, **k),
    "find_modes": lambda q, d, **k: jaxshift.find_modes(q, d, **k),
    "trajectory": lambda q, d, **k: jaxshift.trajectory(q, d, steps=2, **k),
}
QNAME = {"kde": "x", "log_kde": "x", "shift": "x", "find_modes": "seeds", "trajectory": "seeds"}

CORE_BAD = [  # (queries, data, keywords, message); {q} is the query argument's name
    (X[:2], NAN, {}, r"data must be finite, got nan at index \(2, 1\)"),
    (X[:2], INF, {}, r"data must be finite, got -inf at index \(4, 0\)"),
    (NAN[2:4], X, {}, r"{q} must be finite, got nan at index \(0, 1\)"),
    (INF[4], X, {}, r"{q} must be finite, got -inf at index 0"),
    (X[:2], np.zeros((0, 3)), {}, r"data is empty \(shape \(0, 3\)\)"),
    (X[:2], X[0], {}, r"data must be a 2-D array \[n, d\], got shape \(3,\)"),
    (X[:2], X[None], {}, r"data must be a 2-D array \[n, d\], got shape \(1, 7, 3\)"),
    (X[None], X, {}, r"{q} must be one point \[d\] or a batch \[m, d\], got shape \(1, 7, 3\)"),
    (np.float64(1.0), X, {}, r"{q} must be one point \[d\] or a batch \[m, d\], got shape \(\)"),
    (X[:, :2], X, {}, r"{q} has 2 features \(shape \(7, 2\)\) but data has 3"),
    (X, X, dict(bandwidth=np.nan), r"bandwidth must be positive and finite, got nan"),
    (X, X, dict(bandwidth=np.inf), r"bandwidth must be positive and finite, got inf"),
    (X, X, dict(bandwidth=-1e-12), r"bandwidth must be positive and finite, got -1e-12"),
    (X, X, dict(bandwidth=[1.0, np.nan, 1.0]), r"bandwidth must be positive and finite, got \[1.0, nan, 1.0\]"),
    (X, X, dict(bandwidth=np.ones((3, 1))), r"bandwidth as a matrix .* must be \[3, 3\], got shape \(3, 1\)"),
    (X, X, dict(bandwidth=np.ones((3, 3, 1))), r"bandwidth must be a scalar or one value per feature \[3\]"),
    (X, X, dict(bandwidth=[[1.0, 2.0, 0.0], [2.0, 1.0, 0.0], [0.0, 0.0, 1.0]]), r"bandwidth must be positive definite"),
    (X, X, dict(bandwidth=True), r"bandwidth must be a positive number, got True"),
    (X, X, dict(bandwidth=1j), r"bandwidth must be real, got dtype complex128"),
    (X, X, dict(bandwidth="nonsense"), r"bandwidth='nonsense' is not a number nor a known rule"),
    (X, X, dict(bandwidth=None), r"bandwidth must be an array of numbers, got None"),
    (X, X[:1], dict(bandwidth="scott"), r"data has 1 point\(s\)"),
    (X, np.ones((7, 3)), dict(bandwidth="silverman"), r"data feature 0 has zero spread"),
    (X, X, dict(weights=np.r_[np.nan, W[1:]]), r"weights must be finite, got nan at index 0"),
    (X, X, dict(weights=-W), r"weights must be non-negative, got -1.0 at index 0"),
    (X, X, dict(weights=0 * W), r"weights are all zero"),
    (X, X, dict(weights=W[:5]), r"weights must have shape \[7\].*got shape \(5,\)"),
    (X, X, dict(weights=W[:, None]), r"weights must have shape \[7\].*got shape \(7, 1\)"),
    (X + 0j, X, {}, r"{q} must be real, got dtype complex128"),
    (np.array(X, dtype=object), X, {}, r"{q} must be an array of numbers, got dtype object"),
    ([[1.0, 2.0], [3.0]], X, {}, r"{q} must be an array of numbers"),
    (None, X, {}, r"{q} must be an array of numbers, got None"),
    (X, "data", {}, r"data must be an array of numbers, got 'data'"),
    (X, X, dict(kernel="parabolic"), r"parabolic"),
    (X, X, dict(algorithm="fast"), r"algorithm must be one of 'auto', 'dense', 'pruned', got 'fast'"),
    (X, X, dict(query_block=0), r"query_block must be an integer >= 1, got 0"),
    (X, X, dict(data_block=True), r"data_block must be an integer >= 1, got True"),
]

OTHER_BAD = [  # (entry point, call, message)
    ("find_modes", lambda: jaxshift.find_modes(X, X, bandwidth=1.0, max_iter=-1), r"max_iter must be a non-negative integer, got -1"),
    ("find_modes", lambda: jaxshift.find_modes(X, X, bandwidth=1.0, max_iter=1.5), r"max_iter must be a non-negative integer, got 1.5"),
    ("find_modes", lambda: jaxshift.find_modes(X, X, bandwidth=1.0, max_iter=True), r"max_iter must be a non-negative integer, got True"),
    ("find_modes", lambda: jaxshift.find_modes(X, X, bandwidth=1.0, tol=np.nan), r"tol must be non-negative and finite, got nan"),
    ("find_modes", lambda: jaxshift.find_modes(X, X, bandwidth=1.0, tol=-1.0), r"tol must be non-negative and finite, got -1.0"),
    ("find_modes", lambda: jaxshift.find_modes(X, X, bandwidth=1.0, tol=False), r"tol must be a non-negative number, got False"),
    ("find_modes", lambda: jaxshift.find_modes(X, X, bandwidth=1.0, tol=[1.0, 2.0]), r"tol must be a scalar or one value per feature \[3\]"),
    ("trajectory", lambda: jaxshift.trajectory(X, X, bandwidth=1.0, steps=-1), r"steps must be an integer >= 0, got -1"),
    ("trajectory", lambda: jaxshift.trajectory(X, X, bandwidth=1.0, steps=2.0), r"steps must be an integer >= 0, got 2.0"),
    ("scott", lambda: bw.scott(NAN), r"data must be finite, got nan at index \(2, 1\)"),
    ("scott", lambda: bw.scott(X[:1]), r"data has 1 point\(s\) \(shape \(1, 3\)\); need at least 2"),
    ("scott", lambda: bw.scott(X, np.eye(7)[3]), r"weights have 1 positive value\(s\); need at least 2"),
    ("silverman", lambda: bw.silverman(np.ones((7, 2))), r"data feature 0 has zero spread \(every point has value 1.0\)"),
    ("silverman", lambda: bw.silverman(np.zeros((0, 2))), r"data is empty"),
    ("resolve", lambda: bw.resolve("median", X), r"bandwidth='median' is not a number nor a known rule"),
    ("loo_log_likelihood", lambda: bw.loo_log_likelihood(X, bandwidth=0.0), r"bandwidth must be positive and finite, got 0.0"),
    ("loo_log_likelihood", lambda: bw.loo_log_likelihood(INF, bandwidth=1.0), r"data must be finite, got -inf"),
    ("loo_log_likelihood", lambda: bw.loo_log_likelihood(X, bandwidth=[1.0, 1.0]), r"bandwidth must be a scalar or one value per feature \[3\]"),
    ("loo_log_likelihood", lambda: bw.loo_log_likelihood(X, bandwidth="scott"), r"bandwidth='scott': give numbers here"),
    ("lscv", lambda: bw.lscv(X, bandwidth=np.inf), r"bandwidth must be positive and finite, got inf"),
    ("lscv", lambda: bw.lscv(X, bandwidth=1.0, kernel="epanechnikov"), r"kernel='epanechnikov': lscv has a closed form only"),
    ("lscv", lambda: bw.lscv(X, bandwidth=1.0, weights=-W), r"weights must be non-negative, got -1.0 at index 0"),
    ("select", lambda: bw.select(X, method="aic"), r"method='aic' is not a known method"),
    ("select", lambda: bw.select(X, kernel="flat"), r"kernel='flat': the flat kernel's likelihood is piecewise constant"),
    ("select", lambda: bw.select(X, max_iter=-1), r"max_iter must be an integer >= 0, got -1"),
    ("select", lambda: bw.select(X, tol=0.0), r"tol must be a positive finite number, got 0.0"),
    ("select", lambda: bw.select(X, per_feature="yes"), r"per_feature must be True or False, got 'yes'"),
    ("select", lambda: bw.select(NAN), r"data must be finite, got nan at index \(2, 1\)"),
    ("find_clusters", lambda: find_clusters(NAN, bandwidth=1.0, seeds=X, capacity=4), r"data must be finite, got nan at index \(2, 1\)"),
    ("find_clusters", lambda: find_clusters(X, bandwidth=1.0, seeds=INF, capacity=4), r"seeds must be finite, got -inf at index \(4, 0\)"),
    ("find_clusters", lambda: find_clusters(X, bandwidth=1.0, seeds=X[:, :2], capacity=4), r"seeds has 2 features \(shape \(7, 2\)\) but data has 3"),
    ("find_clusters", lambda: find_clusters(X, bandwidth=0.0, seeds=X, capacity=4), r"bandwidth must be positive and finite, got 0.0"),
    ("find_clusters", lambda: find_clusters(X, bandwidth=True, seeds=X, capacity=4), r"bandwidth must be a positive number, got True"),
    ("find_clusters", lambda: find_clusters(X, bandwidth=1.0, seeds=X, capacity=0), r"capacity must be an integer >= 1, got 0"),
    ("find_clusters", lambda: find_clusters(X, bandwidth=1.0, seeds=X, capacity=4, max_iter=-1), r"max_iter.*-1"),
    ("find_clusters", lambda: find_clusters(np.zeros((0, 3)), bandwidth=1.0, seeds=X, capacity=4), r"data is empty"),
    ("get_bin_seeds", lambda: get_bin_seeds(NAN, 1.0), r"X must be finite, got nan at index \(2, 1\)"),
    ("get_bin_seeds", lambda: get_bin_seeds(X, np.nan), r"bin_size must be non-negative and finite, got nan"),
    ("get_bin_seeds", lambda: get_bin_seeds(X, -1.0), r"bin_size must be non-negative and finite, got -1.0"),
    ("get_bin_seeds", lambda: get_bin_seeds(X, [1.0, 2.0]), r"bin_size must be a non-negative number or one per feature, got \[1.0, 2.0\]"),
    ("get_bin_seeds", lambda: get_bin_seeds(X[0], 1.0), r"X must be a 2-D array \[n, d\], got shape \(3,\)"),
    ("estimate_bandwidth", lambda: estimate_bandwidth(NAN), r"X must be finite, got nan at index \(2, 1\)"),
    ("estimate_bandwidth", lambda: estimate_bandwidth(np.zeros((0, 3))), r"X is empty"),
    ("estimate_bandwidth", lambda: estimate_bandwidth(X, quantile=1.5), r"quantile.*1.5"),
    # The estimator's own checks are scikit-learn's (messages follow scikit-learn's): the
    # argument and the offending value must be named.
    ("MeanShift", lambda: MeanShift(bandwidth=1.0).fit(NAN), r"X.*(nan|NaN)"),
    ("MeanShift", lambda: MeanShift(bandwidth=1.0).fit(INF), r"X.*(inf|infinity)"),
    ("MeanShift", lambda: MeanShift(bandwidth=1.0).fit(X[0]), r"2-?D"),
    ("MeanShift", lambda: MeanShift(bandwidth=-1.0).fit(X), r"bandwidth.*-1.0"),
    ("MeanShift", lambda: MeanShift(bandwidth=1.0, seeds=X[:, :2]).fit(X), r"seeds has 2 features"),
    ("MeanShift", lambda: MeanShift(bandwidth=1.0).fit(X, sample_weight=-W), r"sample_weight.*-1.0"),
    ("mean_shift", lambda: mean_shift(INF, bandwidth=1.0), r"X.*(inf|infinity)"),
]


@pytest.fixture
def no_compilation(monkeypatch):
    """Every bad call must fail before anything is traced or compiled."""

    def boom(*a, **k):
        raise AssertionError("compiled before validating")

    import jaxshift._density as dens
    import jaxshift._meanshift as ms
    import jaxshift.cluster._estimate as est
    import jaxshift.cluster._host as host
    import jaxshift.cluster._pipeline as pipe

    for mod, names in [(dens, ["_kde"]), (ms, ["_shift", "_find_modes", "_trajectory"]),
                       (bw, ["_loo_jit", "_lscv_jit", "_select"]), (pipe, ["_cluster"]),
                       (host, ["_climb", "_merge_jit", "nearest"]), (est, ["kth_neighbour_sq_dist"])]:
        for n in names:
            monkeypatch.setattr(mod, n, boom)


@pytest.mark.parametrize("fname", list(CORE))
@pytest.mark.parametrize("q,data,kw,msg", CORE_BAD)
def test_core_refuses_bad_input_before_compiling(no_compilation, fname, q, data, kw, msg):
    with pytest.raises((ValueError, TypeError), match=msg.format(q=QNAME[fname])):
        CORE[fname](q, data, **{"bandwidth": 1.0, **kw})


@pytest.mark.parametrize("entry,call,msg", OTHER_BAD, ids=[f"{e}-{i}" for i, (e, _, _) in enumerate(OTHER_BAD)])
def test_other_entry_points_refuse_bad_input_before_compiling(no_compilation, entry, call, msg):
    with pytest.raises((ValueError, TypeError), match=msg):
        call()


# --------------------------------------------------------------------------- 2. odd, valid input

# Compilation dominates: every (n, d, kernel, bandwidth form) compiles each function once,
# so the draws come from six such configurations, each kernel and bandwidth form (one
# value, or one per feature) met in every dimension; hypothesis varies the values.
CONFIGS = [  # (n, d, kernel, per-feature bandwidth): one point, a few, many features
    (1, 1, "gaussian", False), (1, 1, "epanechnikov", True),
    (7, 3, "gaussian", True), (7, 3, "epanechnikov", False),
    (40, 64, "gaussian", False), (40, 64, "epanechnikov", True),
]
M = 4  # queries: on a data point, near one, far from all data, between points


@st.composite
def cases(draw, configs=CONFIGS):
    """``(queries [M, d], data [n, d], bandwidth, weights or None, kind, kernel)`` in
    float64 as the user would hand them over (``kind``: numpy, list, int or bool input)."""
    n, d, kernel, per_feature = draw(st.sampled_from(configs))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    data, scale = draw_data(draw, st, rng, n, d, groups=max(1, (n + 1) // 2))
    far = data[0] + 1e4 * scale
    between = data[-1] + 0.3 * scale * rng.normal(size=d)
    q = np.stack([data[0], data[-1] + 0.05 * scale, far, between])
    h_rel = draw(st.sampled_from([1e-12, 1.0, 1e12]))
    h = h_rel * scale * (rng.uniform(0.5, 2.0, size=d) if per_feature else rng.uniform(0.5, 2.0))
    w = draw_weights(draw, st, rng, n)
    kind = draw(st.sampled_from(["numpy", "numpy", "list", "int", "bool"]))
    return q, data, h, w, kind, kernel


def np_log_kde(x, data, h, kernel, w):
    """Log-density in float64 NumPy: a log-sum-exp of the profile, normalised."""
    w = np.ones(len(data)) if w is None else w
    d = data.shape[1]
    u = np.sum(((x[:, None] - data[None]) / h) ** 2, axis=-1)
    if kernel == "gaussian":
        logk = -0.5 * u
    else:
        with np.errstate(divide="ignore"):
            logk = np.where(u < 1, np.log(np.clip(1 - u, 1e-300, None)), -np.inf)
    with np.errstate(divide="ignore"):
        s = logsumexp(logk + np.log(w), axis=1)
    return s + float(get_kernel(kernel).log_norm(d)) - np.log(np.sum(w)) - np.sum(np.log(np.broadcast_to(h, (d,))))


def np_shift(x, data, h, kernel, w):
    """One step in float64 NumPy; a point with no weight in reach stays."""
    w = np.ones(len(data)) if w is None else w
    u = np.sum(((x[:, None] - data[None]) / h) ** 2, axis=-1)
    # the gaussian's weights relative to the nearest point that pulls (positive weight)
    near = np.min(np.where(w > 0, u, np.inf), axis=1, keepdims=True)
    with np.errstate(over="ignore"):  # points nearer than that one have weight 0
        g = np.exp(-0.5 * (u - near)) if kernel == "gaussian" else np.clip(1 - u, 0, None)
    g = np.where(w > 0, g, 0.0)
    g = g * w
    s = g.sum(1, keepdims=True)
    with np.errstate(invalid="ignore"):
        return np.where(s > 0, (g @ data) / np.where(s > 0, s, 1), x)


def coord_tol(*arrays, rel):
    """An absolute tolerance on coordinates: ``rel`` of the largest magnitude around."""
    return rel * max(float(np.max(np.abs(a))) for a in arrays) + 1e-300


@given(cases())
def test_core_functions_match_numpy_and_each_other(case):
    """kde, log_kde and shift against float64 NumPy; trajectory against shift;
    find_modes against trajectory (three steps at tol 0), at max_iter 0, and to
    convergence (finite modes, fixed points of the step; a seed with no data in a
    compact kernel's reach stays, not converged)."""
    with jax.enable_x64(True):
        _core_functions(case)


def _core_functions(case):
    q, data, h, w, kind, kernel = case
    q_in, qv = as_input(q, kind)
    d_in, dv = as_input(data, kind)
    kw = dict(bandwidth=h, kernel=kernel, weights=w)
    log_f = np.asarray(jaxshift.log_kde(q_in, d_in, **kw))
    f = np.asarray(jaxshift.kde(q_in, d_in, **kw))
    moved = np.asarray(jaxshift.shift(q_in, d_in, **kw))
    assert log_f.dtype == f.dtype == moved.dtype == np.float64 and moved.shape == qv.shape
    ref = np_log_kde(qv, dv, h, kernel, w)
    # -inf exactly where no data is in a compact kernel's reach (never for the gaussian)
    np.testing.assert_array_equal(np.isneginf(log_f), np.isneginf(ref))
    assert not np.any(np.isnan(log_f)) and not np.any(log_f == np.inf)
    fin = np.isfinite(ref)
    np.testing.assert_allclose(log_f[fin], ref[fin], rtol=1e-9, atol=1e-9)
    # the density: exp of the log-density, overflowing to inf only past float64's range
    big = ref > np.log(np.finfo(np.float64).max)
    np.testing.assert_allclose(f[~big], np.exp(ref[~big]), rtol=1e-8, atol=0)
    assert np.all(f[big] == np.inf)
    assert np.all(np.isfinite(moved))
    np.testing.assert_allclose(moved, np_shift(qv, dv, h, kernel, w), rtol=0, atol=coord_tol(qv, dv, rel=1e-11))

    path = np.asarray(jaxshift.trajectory(q_in, d_in, steps=3, **kw))
    assert path.shape == (4,) + qv.shape and np.all(np.isfinite(path))
    np.testing.assert_array_equal(path[0], qv)
    np.testing.assert_array_equal(path[1], moved)
    # max_iter = 0: nothing moves, nothing converged
    none = jaxshift.find_modes(q_in, d_in, max_iter=0, **kw)
    np.testing.assert_array_equal(none.modes, qv)
    assert not np.any(none.converged) and np.all(none.n_iter == 0)
    # three steps at tol = 0: the trajectory's third point (a seed with no data in reach
    # stops after one update, where it started); tol shaped as h's: one compilation
    three = jaxshift.find_modes(q_in, d_in, max_iter=3, tol=0.0 * np.asarray(h), **kw)
    np.testing.assert_allclose(three.modes, path[3], rtol=0, atol=coord_tol(qv, dv, rel=1e-12))
    # to convergence: finite; a converged mode is a fixed point of the step; a seed with
    # no data in reach is where it started, not converged
    res = jaxshift.find_modes(q_in, d_in, **kw)
    modes = np.asarray(res.modes)
    assert np.all(np.isfinite(modes))
    reach = np.isfinite(np.asarray(jaxshift.log_kde(modes, d_in, **kw)))  # (kde may underflow)
    stuck = ~reach
    conv = np.asarray(res.converged)
    assert not np.any(conv[stuck])
    np.testing.assert_array_equal(modes[stuck], qv[stuck])
    again = np.asarray(jaxshift.shift(modes, d_in, **kw))[conv]  # (all rows: one compilation)
    tol = 1e-3 * np.max(h)
    assert np.all(np.linalg.norm(again - modes[conv], axis=1) <= 2 * tol + coord_tol(modes, rel=1e-12))
    if kernel == "gaussian":
        assert reach.all()


@given(cases(configs=[(7, 3, "gaussian", False)]))
def test_float32_results_are_finite_and_close(case):
    """The default dtype: the same inputs rounded to float32, compared with float64
    NumPy on the rounded values (float32 can do no better than its inputs)."""
    q, data, h, w, _, _ = case
    q32, d32 = q.astype(np.float32), data.astype(np.float32)
    h32 = np.asarray(h, np.float32)
    kw = dict(bandwidth=h32, weights=w)
    log_f = np.asarray(jaxshift.log_kde(q32, d32, **kw))
    assert log_f.dtype == np.float32 and np.all(np.isfinite(log_f))
    ref = np_log_kde(q32.astype(float), d32.astype(float), h32.astype(float), "gaussian", w)
    np.testing.assert_allclose(log_f, ref, rtol=1e-4, atol=1e-3)
    moved = np.asarray(jaxshift.shift(q32, d32, **kw))
    assert np.all(np.isfinite(moved))
    expected = np_shift(q32.astype(float), d32.astype(float), h32.astype(float), "gaussian", w)
    np.testing.assert_allclose(moved, expected, rtol=0, atol=coord_tol(q32, d32, rel=1e-5))
    res = jaxshift.find_modes(q32, d32, **kw)
    assert np.all(np.isfinite(np.asarray(res.modes)))


@given(cases(configs=[c for c in CONFIGS if c[0] > 1]))
def test_bandwidth_rules_and_objectives(case):
    """Scott and Silverman against NumPy (scipy's factors times the weighted standard
    deviation); the leave-one-out likelihood against NumPy; LSCV finite. Data with a
    constant feature or fewer than two weighted points are refused, naming why."""
    with jax.enable_x64(True):
        _bandwidth_rules_and_objectives(case)


def _bandwidth_rules_and_objectives(case):
    _, data, h, w, kind, _ = case
    d_in, dv = as_input(data, kind)
    wv = np.ones(len(dv)) if w is None else w
    pos = dv[wv > 0]
    if (wv > 0).sum() < 2:
        with pytest.raises(ValueError, match=r"weights have 1 positive value"):
            bw.scott(d_in, w)
        return
    if np.any(pos.max(0) == pos.min(0)):
        with pytest.raises(ValueError, match=r"data feature \d+ has zero spread"):
            bw.silverman(d_in, w)
        return
    p = wv / wv.sum()
    neff = 1 / np.sum(p**2)
    std = np.sqrt((p @ (dv - p @ dv) ** 2) / (1 - np.sum(p**2)))
    n_d = dv.shape[1]
    np.testing.assert_allclose(bw.scott(d_in, w), neff ** (-1 / (n_d + 4)) * std, rtol=1e-10)
    np.testing.assert_allclose(bw.silverman(d_in, w), (neff * (n_d + 2) / 4) ** (-1 / (n_d + 4)) * std, rtol=1e-10)
    np.testing.assert_allclose(bw.resolve("scott", d_in, weights=w), bw.scott(d_in, w), rtol=0)
    loo = float(bw.loo_log_likelihood(d_in, bandwidth=h, weights=w))
    terms = []
    for i in np.flatnonzero(wv > 0):
        rest = np.delete(np.arange(len(dv)), i)
        if wv[rest].sum() == 0:
            terms.append(-np.inf)
            continue
        terms.append(wv[i] * np_log_kde(dv[i:i + 1], dv[rest], h, "gaussian", wv[rest])[0])
    ref = np.sum(terms) / wv.sum()
    if np.isfinite(ref):
        assert loo == pytest.approx(ref, rel=1e-9, abs=1e-9)
    else:
        assert loo == ref
    score = float(bw.lscv(d_in, bandwidth=h, weights=w))
    ref = np_lscv(dv, h, wv)
    if abs(ref) < 1e300:
        assert score == pytest.approx(ref, rel=1e-9, abs=1e-12 * np.exp(np_log_lscv_unit(dv, h, wv)))
    else:
        assert score == ref  # past float64's range: the right infinity, never NaN


def np_log_lscv_unit(x, h, w):
    """log of the LSCV's first term, the integral of the squared density (NumPy)."""
    pairs = np_log_kde(x, x, np.sqrt(2) * np.asarray(h), "gaussian", w)  # log (sum_j w_j N_{sqrt2 h}) - log W
    with np.errstate(divide="ignore"):
        return logsumexp(pairs + np.log(w)) - np.log(np.sum(w))


def np_lscv(x, h, w):
    """LSCV in float64 NumPy, from the logs of its two terms."""
    log_sq = np_log_lscv_unit(x, h, w)
    terms = [np_log_kde(x[i:i + 1], np.delete(x, i, 0), h, "gaussian", np.delete(w, i))[0] if w[i] > 0 else -np.inf
             for i in range(len(x))]
    with np.errstate(divide="ignore"):
        log_cross = np.log(2) + logsumexp(np.asarray(terms) + np.log(w)) - np.log(np.sum(w))
    m = max(log_sq, log_cross)
    r = np.exp(log_sq - m) - np.exp(log_cross - m)
    with np.errstate(over="ignore"):
        return 0.0 if r == 0 else r * np.exp(m)


@given(st.integers(0, 2**32 - 1), st.sampled_from(["likelihood", "lscv"]))
def test_select_finds_a_stationary_bandwidth(seed, method):
    """select: a positive, finite bandwidth whose objective beats the neighbours' (on
    well-posed data, distinct points), whatever the data's scale."""
    with jax.enable_x64(True):
        _select_stationary(seed, method)


def _select_stationary(seed, method):
    rng = np.random.default_rng(seed)
    scale = [1e-6, 1.0, 1e6][seed % 3]
    data = rng.normal(size=(7, 3)) * scale + (1e6 if seed % 5 == 0 else 0.0)
    h, info = bw.select(data, method=method)
    h = float(h)
    assert np.isfinite(h) and h > 0 and np.isfinite(float(info.objective))
    f = bw.loo_log_likelihood if method == "likelihood" else (lambda x, bandwidth: -bw.lscv(x, bandwidth=bandwidth))
    if bool(info.converged):
        best = float(f(data, bandwidth=h))
        assert best >= float(f(data, bandwidth=h * 1.05)) - 1e-9 * abs(best)
        assert best >= float(f(data, bandwidth=h / 1.05)) - 1e-9 * abs(best)


def sklearn_bin_seeds(X, bin_size, min_bin_freq=1):
    """scikit-learn's ``get_bin_seeds``, transcribed (a dict of rounded points)."""
    if bin_size == 0:
        return X
    counts = {}
    for point in X:
        key = tuple(np.round(point / bin_size) + 0.0)
        counts[key] = counts.get(key, 0) + 1
    seeds = np.array([k for k, c in counts.items() if c >= min_bin_freq], dtype=np.float32).reshape(-1, X.shape[1])
    if len(seeds) == len(X):
        return X
    return seeds * bin_size


@given(cases(configs=[c for c in CONFIGS if not c[3]]), st.sampled_from([0, 1, 2]))
def test_cluster_helpers_numerics(case, min_bin_freq):
    """get_bin_seeds against a transcription of scikit-learn's; estimate_bandwidth
    against NumPy's k-th neighbour distances; MeanShift and find_clusters: finite
    centres, every label a valid centre, the same clustering both ways."""
    with jax.enable_x64(True):
        _cluster_helpers(case, min_bin_freq)


_find_clusters_jit = jax.jit(find_clusters, static_argnames="capacity")


def _cluster_helpers(case, min_bin_freq):
    _, data, h, w, kind, _ = case
    d_in, dv = as_input(data, kind)
    h = float(np.max(h))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # "using data points as seeds", as scikit-learn
        seeds = get_bin_seeds(d_in, h, min_bin_freq)
    ref = sklearn_bin_seeds(dv, h, min_bin_freq)
    np.testing.assert_allclose(np.asarray(seeds, float), np.asarray(ref, float), rtol=1e-6, atol=0)
    est = estimate_bandwidth(d_in, quantile=0.3)
    k = max(int(len(dv) * 0.3), 1)
    dist = np.sort(np.sqrt(np.sum((dv[:, None] - dv[None]) ** 2, axis=-1)), axis=1)[:, k - 1]
    assert est == pytest.approx(dist.mean(), rel=1e-9, abs=1e-300)
    ms = MeanShift(bandwidth=h, kernel="flat").fit(d_in, sample_weight=w)
    centres, labels = ms.cluster_centers_, ms.labels_
    assert np.all(np.isfinite(centres)) and labels.shape == (len(dv),)
    assert labels.min() >= 0 and labels.max() < len(centres)
    # jitted (weights always an array: None means ones): one program per shape, where the
    # eager call compiles its merge loop anew on every call
    fc = _find_clusters_jit(dv, bandwidth=h, seeds=dv, capacity=len(dv), weights=np.ones(len(dv)) if w is None else w)
    assert int(fc.n_clusters) == len(centres) and not bool(fc.overflow)
    np.testing.assert_array_equal(np.asarray(fc.labels), labels)
    np.testing.assert_allclose(np.asarray(fc.centres)[: len(centres)], centres, rtol=0, atol=coord_tol(dv, rel=1e-12))


def test_empty_seeds_and_queries_give_empty_results():
    """``[0, d]`` queries: empty results of the right shapes, before and under jit."""
    empty = np.zeros((0, 3))
    assert jaxshift.kde(empty, X, bandwidth=1.0).shape == (0,)
    assert jaxshift.log_kde(empty, X, bandwidth=1.0).shape == (0,)
    assert jaxshift.shift(empty, X, bandwidth=1.0).shape == (0, 3)
    assert jaxshift.trajectory(empty, X, bandwidth=1.0, steps=2).shape == (3, 0, 3)
    res = jaxshift.find_modes(empty, X, bandwidth=1.0)
    assert res.modes.shape == (0, 3) and res.n_iter.shape == (0,) and res.converged.shape == (0,)
    cl = find_clusters(X, bandwidth=1.0, seeds=empty, capacity=2)
    assert int(cl.n_clusters) == 0 and cl.labels.tolist() == [-1] * 7 and not np.any(cl.valid)
    assert get_bin_seeds(empty, 1.0).shape == (0, 3)


def test_seeds_far_from_all_data():
    """Seeds with no data in reach: ``find_clusters`` finds no cluster, every label -1
    (``MeanShift`` raises scikit-learn's error then: tests/test_cluster.py)."""
    cl = find_clusters(X, bandwidth=1.0, seeds=X + 100.0, capacity=2)
    assert int(cl.n_clusters) == 0 and cl.labels.tolist() == [-1] * 7
