"""jaxshift.bandwidth: rules of thumb vs scipy, cross-validation objectives vs brute force and
statsmodels, gradients vs finite differences, extreme bandwidths, select vs statsmodels' cv_ml/cv_ls,
string bandwidths in the core, input validation."""

import functools
import warnings

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy.special import logsumexp
from scipy.stats import gaussian_kde

import jaxshift
from jaxshift import bandwidth as bw


@pytest.fixture
def x64():
    with jax.enable_x64(True):
        yield


def sample(kind, n, d, seed=0):
    """Test data with standard deviations near 1, so statsmodels' absolute xtol=1e-3 on the
    bandwidth is well below 2% of it."""
    rng = np.random.default_rng(seed)
    if kind == "normal":
        return rng.normal(size=(n, d))
    if kind == "bimodal":
        centres = np.where(rng.random((n, 1)) < 0.4, -1.5, 1.5)
        return centres + 0.6 * rng.normal(size=(n, d))
    if kind == "skewed":
        return rng.gamma(2.0, 0.8, size=(n, d))
    raise AssertionError(kind)


# --------------------------------------------------------------------------- rules of thumb


@pytest.mark.parametrize("d", [1, 3])
@pytest.mark.parametrize("weighted", [False, True])
def test_rules_equal_scipy_factors_times_std(d, weighted):
    rng = np.random.default_rng(d)
    x = rng.normal(size=(150, d)) * np.arange(1, d + 1) + 5.0
    w = rng.uniform(0.0, 3.0, size=150) if weighted else None
    ref = gaussian_kde(x.T, weights=w)
    std = np.sqrt(np.diag(ref._data_covariance))
    np.testing.assert_allclose(bw.scott(x, w), ref.scotts_factor() * std, rtol=2e-5)
    np.testing.assert_allclose(bw.silverman(x, w), ref.silverman_factor() * std, rtol=2e-5)
    if weighted:  # the effective sample size matters: not the plain n
        assert ref.neff < 150


def test_rules_weights_scale_free_and_zero_weight_drops_point():
    x = sample("skewed", 60, 2)
    w = np.r_[np.ones(50), np.zeros(10)]
    np.testing.assert_allclose(bw.scott(x, 7.0 * w), bw.scott(x[:50]), rtol=1e-5)
    np.testing.assert_allclose(bw.silverman(x, w), bw.silverman(x[:50]), rtol=1e-5)


# --------------------------------------------------------------------------- objectives


def np_loo(x, h, w=None, profile="gaussian"):
    """Brute-force mean leave-one-out log-density with an [n, n] array."""
    n, d = x.shape
    w = np.ones(n) if w is None else np.asarray(w, float)
    h = np.broadcast_to(np.asarray(h, float), (d,))
    u = (((x[:, None, :] - x[None, :, :]) / h) ** 2).sum(-1)
    if profile == "gaussian":
        logk = -0.5 * u - 0.5 * d * np.log(2 * np.pi)
    else:  # epanechnikov: (1 - u)_+ / c,  c = vol(unit ball) * 2 / (d + 2)
        from math import gamma, pi

        c = pi ** (d / 2) / gamma(d / 2 + 1) * 2 / (d + 2)
        with np.errstate(divide="ignore"):
            logk = np.log(np.maximum(1 - u, 0)) - np.log(c)
    logk = logk + np.log(w)[None, :] - np.log(h).sum()
    np.fill_diagonal(logk, -np.inf)
    logf = logsumexp(logk, axis=1) - np.log(w.sum() - w)
    return np.sum(w * logf) / w.sum()


def np_lscv(x, h, w=None):
    n, d = x.shape
    w = np.ones(n) if w is None else np.asarray(w, float)
    h = np.broadcast_to(np.asarray(h, float), (d,))
    W = w.sum()

    def gauss(s):
        u = (((x[:, None, :] - x[None, :, :]) / s) ** 2).sum(-1)
        return np.exp(-0.5 * u) / ((2 * np.pi) ** (d / 2) * np.prod(s))

    sq = w @ gauss(np.sqrt(2) * h) @ w / W**2
    k = gauss(h) * w[None, :]
    np.fill_diagonal(k, 0.0)
    loo = k.sum(1) / (W - w)
    return sq - 2 * np.sum(w * loo) / W


@pytest.mark.parametrize("h", [0.3, [0.2, 0.7]])
def test_loo_and_lscv_match_brute_force_blocked(x64, h):
    x = sample("bimodal", 70, 2, seed=3)
    w = np.random.default_rng(4).uniform(0.2, 2.0, 70)
    for weights in (None, w):
        want = np_loo(x, h, weights)
        # the default blocks (256, 2048: one block here; None shares the compile with
        # test_objectives_equal_statsmodels_objectives), and small blocks: the self pair
        # is masked across block boundaries and in padded blocks
        for qb, db in ((None, None), (16, 24)):
            got = bw.loo_log_likelihood(x, bandwidth=h, weights=weights, query_block=qb, data_block=db)
            np.testing.assert_allclose(got, want, rtol=1e-12)
            got = bw.lscv(x, bandwidth=h, weights=weights, query_block=qb, data_block=db)
            np.testing.assert_allclose(got, np_lscv(x, h, weights), rtol=1e-12)


def test_loo_compact_kernel_and_float32():
    x = sample("normal", 50, 2, seed=5).astype(np.float32)  # float32 in, float32 out, x64 or not
    got = bw.loo_log_likelihood(x, bandwidth=1.5, kernel="epanechnikov", data_block=16)
    np.testing.assert_allclose(got, np_loo(x.astype(np.float64), 1.5, profile="epanechnikov"), rtol=1e-5)
    assert got.dtype == jnp.float32
    # a point with no neighbour within a compact kernel's support has zero LOO density
    far = np.r_[x, [[40.0, 40.0]]]
    assert bw.loo_log_likelihood(far, bandwidth=1.5, kernel="epanechnikov") == -np.inf


def test_objectives_equal_statsmodels_objectives(x64):
    kd = pytest.importorskip("statsmodels.nonparametric.kernel_density")
    x = sample("skewed", 70, 2, seed=6)  # n as in the brute-force test: one compile
    h = np.array([0.4, 0.6])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = kd.KDEMultivariate(x, "cc", bw=h)
        sm_loo = -model.loo_likelihood(h, np.log)  # sum_i log(sum_{j != i} K_h), no 1/(n-1)
        sm_imse = model.imse(h)
    n = len(x)
    np.testing.assert_allclose(n * bw.loo_log_likelihood(x, bandwidth=h) + n * np.log(n - 1), sm_loo, rtol=1e-12)
    np.testing.assert_allclose(bw.lscv(x, bandwidth=h), sm_imse, rtol=1e-10)


# --------------------------------------------------------------------------- gradients


@functools.partial(jax.jit, static_argnames="fn")
def value_and_grad_h(fn, x, h, w):
    """An objective and its gradient in the bandwidth, one compiled program per shape
    (eager ``jax.grad`` compiles its pieces one by one)."""
    return jax.value_and_grad(lambda hh: fn(x, bandwidth=hh, weights=w))(h)


@jax.jit
def grad_w_loo(x, h, w):
    return jax.grad(lambda ww: bw.loo_log_likelihood(x, bandwidth=h, weights=ww))(w)


def central(f, h, eps=1e-6):
    h = np.asarray(h, float)
    if h.ndim == 0:
        return (f(h + eps) - f(h - eps)) / (2 * eps)
    out = []
    for k in range(h.size):
        e = np.zeros_like(h)
        e[k] = eps
        out.append((f(h + e) - f(h - e)) / (2 * eps))
    return np.array(out)


@pytest.mark.parametrize("h", [0.35, np.array([0.25, 0.8])])
def test_gradients_match_finite_differences(x64, h):
    # with exact duplicates: pairs at distance 0 outside the diagonal (and, for the LSCV
    # squared-density term, on it) must keep their gradient in the streaming log-sum-exp
    x = sample("bimodal", 115, 2, seed=7)
    x = jnp.asarray(np.r_[x, x[:5]])
    w = jnp.asarray(np.random.default_rng(8).uniform(0.5, 1.5, 120))
    h = np.asarray(h, np.float64)
    for name, fn in (("loo", bw.loo_log_likelihood), ("lscv", bw.lscv)):
        f = lambda hh, fn=fn: float(value_and_grad_h(fn, x, np.asarray(hh, np.float64), w)[0])  # noqa: E731
        g = value_and_grad_h(fn, x, h, w)[1]
        np.testing.assert_allclose(g, central(f, h), rtol=1e-6, err_msg=name)
    # and with respect to the weights (one coordinate)
    gw = grad_w_loo(x, h, w)[5]
    loo = bw.loo_log_likelihood
    fw = (float(value_and_grad_h(loo, x, h, w.at[5].add(1e-6))[0])
          - float(value_and_grad_h(loo, x, h, w.at[5].add(-1e-6))[0])) / 2e-6
    np.testing.assert_allclose(gw, fw, rtol=1e-6)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("scale", [1e-6, 1e-3, 1e3, 1e6])
def test_objectives_finite_and_gradients_not_nan_at_extreme_bandwidths(dtype, scale):
    with jax.enable_x64(dtype == "float64"):
        # an outlier: its LOO density underflows for small bandwidths (n = 120 and unit
        # weights, as in the gradient test: its float64 programs serve here too)
        x = jnp.asarray(np.r_[sample("normal", 119, 2, seed=9), [[30.0, -30.0]]], dtype)
        w = jnp.ones(120, dtype)
        hs = (scale, np.array([scale, 3 * scale])) if dtype == "float64" else (scale,)
        for h in hs:
            for fn in (bw.loo_log_likelihood, bw.lscv):
                v, g = value_and_grad_h(fn, x, np.asarray(h, dtype), w)
                assert np.isfinite(v), (fn.__name__, h, v)
                assert not np.any(np.isnan(g)), (fn.__name__, h, g)
                if fn is bw.loo_log_likelihood and scale <= 1e-3:
                    # the log-likelihood falls like -min distance^2 / (2 h^2)
                    assert np.all(np.asarray(g) > 0)


# --------------------------------------------------------------------------- select vs statsmodels

# One n per dimension: three distributions share one compiled select (compile time is
# most of this test's cost; statsmodels' brute-force search the rest).
CASES = [
    ("normal", 400, 1),
    ("bimodal", 400, 1),
    ("skewed", 400, 1),
    ("normal", 300, 2),
    ("bimodal", 300, 2),
    ("skewed", 300, 2),
]


@pytest.mark.slow
@pytest.mark.parametrize("kind,n,d", CASES)
def test_select_matches_statsmodels_cv(x64, kind, n, d):
    kd = pytest.importorskip("statsmodels.nonparametric.kernel_density")
    x = sample(kind, n, d, seed=n + d)
    for method, sm_bw in (("likelihood", "cv_ml"), ("lscv", "cv_ls")):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # statsmodels: log(0) while it probes tiny bandwidths
            ref = kd.KDEMultivariate(x, "c" * d, bw=sm_bw).bw
        h, info = bw.select(x, method=method, per_feature=True)
        # converged: the Newton step in log-bandwidth is below 1e-7 at positive curvature
        assert bool(info.converged) and 0 < int(info.n_iter) <= 50
        np.testing.assert_allclose(h, ref, rtol=0.02, err_msg=f"{method} vs {sm_bw}")
        # and at least as good as statsmodels' own optimum, on the same objective
        obj = bw.loo_log_likelihood if method == "likelihood" else bw.lscv
        at_ref = float(obj(x, bandwidth=ref))
        better = float(info.objective) >= at_ref - 1e-12 if method == "likelihood" else float(info.objective) <= at_ref + 1e-12
        assert better, (float(info.objective), at_ref)


def scaled(n=300):
    """Features of unequal spread, float64 at n = 300 as the 2-D statsmodels cases: the
    per-feature likelihood select compiles once for all of them."""
    return sample("normal", n, 2, seed=11) * np.array([1.0, 2.0])


def test_select_scalar_rules_weights_and_kernels(x64):
    x = scaled()
    h, info = bw.select(x)
    assert h.shape == () and bool(info.converged)
    h2, info2 = bw.select(x, per_feature=True)
    assert h2.shape == (2,) and h2[1] > h2[0]  # the wider feature gets the wider bandwidth
    assert info2.objective >= info.objective - 1e-5  # more freedom, no worse optimum
    for rule, fn in (("scott", bw.scott), ("silverman", bw.silverman)):
        hr, ir = bw.select(x, method=rule, per_feature=True)
        np.testing.assert_allclose(hr, fn(x), rtol=1e-6)
        hs, _ = bw.select(x, method=rule)
        np.testing.assert_allclose(hs, np.exp(np.mean(np.log(fn(x)))), rtol=1e-6)
        assert np.isnan(ir.objective) and int(ir.n_iter) == 0 and bool(ir.converged)
    # weights: equal weights change nothing, zero weights drop points
    w = np.r_[np.ones(240), np.zeros(60)]
    hw, _ = bw.select(x, weights=3.0 * w)
    hd, _ = bw.select(x[:240])
    np.testing.assert_allclose(hw, hd, rtol=1e-4)
    # a smooth compact kernel: finite optimum, a local maximum of its likelihood
    he, ie = bw.select(x, kernel="epanechnikov")
    assert bool(ie.converged) and np.isfinite(ie.objective)
    for f in (0.97, 1.03):
        assert bw.loo_log_likelihood(x, bandwidth=f * he, kernel="epanechnikov") <= ie.objective + 1e-5


# --------------------------------------------------------------------------- string bandwidths in the core


def test_string_bandwidths_in_core_functions(x64):
    x = scaled()
    h_scott = np.asarray(bw.scott(x))
    np.testing.assert_allclose(jaxshift.kde(x[:4], x, bandwidth="scott"), jaxshift.kde(x[:4], x, bandwidth=h_scott))
    h_lik, _ = bw.select(x, per_feature=True)
    np.testing.assert_allclose(
        jaxshift.log_kde(x[:4], x, bandwidth="likelihood"), jaxshift.log_kde(x[:4], x, bandwidth=h_lik), rtol=1e-5
    )
    np.testing.assert_allclose(
        jaxshift.shift(x[:4], x, bandwidth="Silverman"), jaxshift.shift(x[:4], x, bandwidth=bw.silverman(x))
    )
    assert jaxshift.trajectory(x[:3], x, bandwidth="scott", steps=2).shape == (3, 3, 2)
    # mean shift with the flat kernel selects for the density it climbs: the epanechnikov shadow
    he, _ = bw.select(x, kernel="epanechnikov", per_feature=True)
    np.testing.assert_allclose(bw.resolve("likelihood", x, kernel=jaxshift.shadow("flat")), he)
    res = jaxshift.find_modes(x[:5], x, bandwidth="likelihood", kernel="flat")
    np.testing.assert_allclose(res.modes, jaxshift.find_modes(x[:5], x, bandwidth=he, kernel="flat").modes)
    assert bw.resolve(0.5, x) == 0.5
    with pytest.raises(ValueError, match=r"bandwidth='scott' needs concrete data"):
        jax.jit(lambda d: jaxshift.kde(d[:2], d, bandwidth="scott"))(x)
    with pytest.raises(ValueError, match=r"bandwidth='wide' is not a number nor a known rule"):
        jaxshift.kde(x[:2], x, bandwidth="wide")


# --------------------------------------------------------------------------- validation


@pytest.mark.parametrize(
    "call,match",
    [
        (lambda x: bw.select(x, method="cv_ml"), r"method='cv_ml' is not a known method"),
        (lambda x: bw.select(x, method="lscv", kernel="biweight"), r"kernel='biweight'.*gaussian"),
        (lambda x: bw.select(x, kernel="flat"), r"kernel='flat'.*piecewise constant"),
        (lambda x: bw.select(x, per_feature="yes"), r"per_feature must be True or False, got 'yes'"),
        (lambda x: bw.select(x, tol=-1.0), r"tol must be a positive finite number, got -1.0"),
        (lambda x: bw.select(x, max_iter=-2), r"max_iter must be an integer >= 0, got -2"),
        (lambda x: bw.select(x, kernel="cauchy"), r"kernel='cauchy' is not a known kernel"),
        (lambda x: bw.select(x[:1]), r"data has 1 point\(s\).*need at least 2"),
        (lambda x: bw.scott(x, weights=np.r_[1.0, np.zeros(len(x) - 1)]), r"weights have 1 positive value\(s\)"),
        (lambda x: bw.silverman(np.c_[x[:, 0], np.ones(len(x))]), r"data feature 1 has zero spread"),
        (lambda x: bw.loo_log_likelihood(x, bandwidth=0.0), r"bandwidth must be positive and finite, got 0.0"),
        (lambda x: bw.loo_log_likelihood(x, bandwidth="scott"), r"bandwidth='scott': give numbers here"),
        (lambda x: bw.lscv(x, bandwidth=1.0, kernel="epanechnikov"), r"kernel='epanechnikov': lscv"),
        (lambda x: bw.scott(np.zeros((5, 2, 1))), r"data must be a 2-D array"),
        (lambda x: bw.resolve("nrd0", x), r"bandwidth='nrd0' is not a number nor a known rule"),
    ],
)
def test_bad_input_raises_value_error_naming_argument(call, match):
    x = sample("normal", 20, 2, seed=13)
    with pytest.raises(ValueError, match=match):
        call(x)
