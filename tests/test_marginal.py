"""jaxshift.marginal and jaxshift.integrate_box against scipy's gaussian_kde and quadrature."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import integrate, special
from scipy.stats import gaussian_kde

import jaxshift

COMPACT = ["flat", "epanechnikov", "biweight", "triweight", "exponential", "linear", "cosine"]


def correlated(n=60, d=3, seed=0):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, d)) @ np.tril(rng.uniform(0.3, 1.0, (d, d))).T


def test_marginal_matches_scipy(x64):
    data = correlated()
    w = np.random.default_rng(1).uniform(0.1, 2.0, len(data))
    ref = gaussian_kde(data.T, weights=w)
    for features in ([2, 0], [1], 1, [-1, 0]):
        m = jaxshift.marginal(data, features, ref.covariance)
        want = ref.marginal(features)
        np.testing.assert_allclose(m.bandwidth, want.covariance, rtol=1e-14)
        x = np.asarray(m.data[:8]) + 0.1
        np.testing.assert_allclose(jaxshift.kde(x, **m._asdict(), weights=w), want(x.T), rtol=1e-10)
    # a rule name is resolved on the full data, as scipy keeps the full estimate's covariance
    m = jaxshift.marginal(data, [0, 2], "scott", weights=w)
    np.testing.assert_allclose(m.bandwidth, np.sqrt(np.diag(ref.covariance))[[0, 2]], rtol=1e-12)


def test_marginal_of_scalar_and_vector_bandwidths():
    data = correlated()
    m = jaxshift.marginal(data, [2, 0], 0.5)
    assert m.data.shape == (60, 2) and m.bandwidth.shape == ()
    np.testing.assert_allclose(m.data, data[:, [2, 0]].astype(np.float32))
    m = jaxshift.marginal(data, [2, 0], [0.1, 0.2, 0.3])
    np.testing.assert_allclose(m.bandwidth, [0.3, 0.1])
    # the gaussian's marginal: integrating the 2-D KDE over one feature gives the 1-D one
    with jax.enable_x64(True):
        x = np.array([0.3, -0.4])
        full = lambda y: float(jaxshift.kde(np.array([x[0], y]), data[:, :2], bandwidth=[0.4, 0.7]))  # noqa: E731
        total, _ = integrate.quad(full, -np.inf, np.inf)
        m = jaxshift.marginal(data[:, :2], 0, [0.4, 0.7])
        assert total == pytest.approx(float(jaxshift.kde(x[:1], **m._asdict())), rel=1e-9)


@pytest.mark.parametrize(
    "features,match",
    [([0, 0], "features must be distinct"), ([3], r"features must be in \[-3, 3\)"), ([], "non-empty"),
     ("a", "int or a non-empty sequence of ints"), (1.5, "int or a sequence of ints")],
)
def test_marginal_bad_features(features, match):
    with pytest.raises(ValueError, match=match):
        jaxshift.marginal(np.zeros((2, 3)), features, 1.0)


def test_integrate_box_1d_matches_scipy(x64):
    data = correlated(d=1)
    w = np.random.default_rng(2).uniform(0.1, 2.0, len(data))
    ref = gaussian_kde(data[:, 0], weights=w)
    h1 = float(np.sqrt(ref.covariance[0, 0]))
    p = w / w.sum()
    for lo, hi in [(-0.3, 0.9), (-np.inf, 0.2), (1.0, np.inf), (8.0, 9.0), (-9.0, -8.0)]:
        want = ref.integrate_box_1d(lo, hi)
        for h in (h1, ref.covariance):
            got = float(jaxshift.integrate_box(lo, hi, data, bandwidth=h, weights=w))
            if lo == 8.0:
                # far right, scipy's ndtr(b) - ndtr(a) cancels to 0; ours keeps the tail
                assert want < 1e-15
                tail = p @ (special.ndtr(-(lo - data[:, 0]) / h1) - special.ndtr(-(hi - data[:, 0]) / h1))
                assert tail > 1e-250 and got == pytest.approx(tail, rel=1e-12)
            else:
                assert got == pytest.approx(want, rel=1e-12, abs=1e-300)
    # a batch, the whole line, a reversed interval (the oriented integral, as scipy)
    got = jaxshift.integrate_box(np.array([[-1.0], [-np.inf]]), np.array([[1.0], [np.inf]]), data,
                                 bandwidth=0.5, weights=w)
    assert got.shape == (2,) and float(got[1]) == pytest.approx(1.0, abs=1e-15)
    assert float(jaxshift.integrate_box(0.9, -0.3, data, bandwidth=0.5)) == pytest.approx(
        -float(jaxshift.integrate_box(-0.3, 0.9, data, bandwidth=0.5)), rel=1e-14)


def test_integrate_box_gaussian_per_feature_matches_scipy(x64):
    """A diagonal bandwidth: closed form (products of normal CDFs) in any d, against
    scipy's integrate_box (its multivariate normal CDF) with that covariance."""
    data = correlated()
    w = np.random.default_rng(3).uniform(0.1, 2.0, len(data))
    h = np.array([0.5, 0.8, 0.3])
    lo, hi = np.array([-1.0, -0.5, -np.inf]), np.array([1.0, 2.0, 0.5])
    ref = gaussian_kde(data.T, weights=w)
    ref.covariance = np.diag(h**2)  # integrate_box reads the attribute
    got = float(jaxshift.integrate_box(lo, hi, data, bandwidth=h, weights=w))
    assert got == pytest.approx(ref.integrate_box(lo, hi, rng=np.random.default_rng(0)), abs=2e-6)
    p = w / w.sum()
    exact = p @ np.prod(special.ndtr((hi - data) / h) - special.ndtr((lo - data) / h), axis=1)
    assert got == pytest.approx(exact, rel=1e-12)


def test_integrate_box_matrix_is_monte_carlo(x64):
    data = correlated()
    ref = gaussian_kde(data.T)
    lo, hi = np.array([-1.0, -0.5, -2.0]), np.array([1.0, 2.0, 0.5])
    want = ref.integrate_box(lo, hi, rng=np.random.default_rng(0))
    n = 200_000
    got = float(jaxshift.integrate_box(lo, hi, data, bandwidth=ref.covariance, key=jax.random.key(0), n_samples=n))
    assert abs(got - want) <= 5 * np.sqrt(want * (1 - want) / n)
    with pytest.raises(ValueError, match="no closed form for a bandwidth matrix; pass key="):
        jaxshift.integrate_box(lo, hi, data, bandwidth=ref.covariance)
    with pytest.raises(ValueError, match="no closed form for the flat kernel in 3 dimensions"):
        jaxshift.integrate_box(lo, hi, data, bandwidth=0.5, kernel="flat")


@pytest.mark.parametrize("name", COMPACT)
def test_integrate_box_1d_kernels_match_quadrature(x64, name):
    rng = np.random.default_rng(4)
    data = rng.normal(size=(12, 1))
    w = rng.uniform(0.1, 2.0, 12)
    h = 0.7

    def dens(t):
        return float(jaxshift.kde(np.array([t]), data, bandwidth=h, kernel=name, weights=w))

    for lo, hi in [(-0.3, 0.9), (-5.0, 0.1), (0.5, 30.0)]:
        kinks = np.concatenate([data[:, 0] - h, data[:, 0], data[:, 0] + h])
        kinks = kinks[(kinks > lo) & (kinks < hi)]
        want, _ = integrate.quad(dens, lo, hi, points=kinks, limit=500, epsabs=1e-13, epsrel=1e-13)
        got = float(jaxshift.integrate_box(lo, hi, data, bandwidth=h, kernel=name, weights=w))
        assert got == pytest.approx(want, abs=1e-10)
    assert float(jaxshift.integrate_box(-np.inf, np.inf, data, bandwidth=h, kernel=name)) == pytest.approx(1.0, abs=1e-14)


def test_integrate_box_gradients_and_errors():
    data = jnp.asarray([[0.0], [1.0]])
    g = jax.jit(jax.grad(lambda b: jaxshift.integrate_box(-b, b, data, bandwidth=1.0)))(0.5)  # one program
    # d/db [Phi(b) - Phi(-b) + Phi(b - 1) - Phi(-b - 1)] / 2
    want = 0.5 * (2 * np.exp(-0.125) + np.exp(-0.125) + np.exp(-1.125)) / np.sqrt(2 * np.pi)
    assert float(g) == pytest.approx(want, rel=1e-5)
    with pytest.raises(ValueError, match="lo must not be NaN"):
        jaxshift.integrate_box(np.nan, 1.0, data, bandwidth=1.0)
    with pytest.raises(ValueError, match=r"hi must be \[1\] \(one box\)"):
        jaxshift.integrate_box(0.0, [1.0, 2.0], data, bandwidth=1.0)
    with pytest.raises(ValueError, match="kernel 'cosine_shadow' has no CDF"):
        jaxshift.integrate_box(0.0, 1.0, data, bandwidth=1.0, kernel=jaxshift.shadow("cosine"))


def test_integrate_box_keeps_float32_precision_when_the_bandwidth_dwarfs_the_box():
    """A bandwidth 1e4 or 1e12 times the data's scale: every point's interval is a sliver
    near 0 of the kernel's CDF, where F = 1/2 + tiny. Taken as F(b) - F(a) in float32 that
    is 0.5 - 0.5 = 0 (it was, at 1e12); taken as G(b) - G(a), G = F - 1/2, it keeps float32's
    relative precision. The reference is the float64 value (checked against scipy above)."""
    from jaxshift._marginal import CDF_KERNELS

    rng = np.random.default_rng(0)
    data, lo, hi = rng.normal(size=(50, 1)), np.array([-0.5]), np.array([0.7])
    for kernel in CDF_KERNELS:
        for h in (0.3, 1e4, 1e12):
            got = float(jaxshift.integrate_box(lo.astype(np.float32), hi.astype(np.float32),
                                               data.astype(np.float32), bandwidth=h, kernel=kernel))
            with jax.enable_x64(True):
                want = float(jaxshift.integrate_box(lo, hi, data, bandwidth=h, kernel=kernel))
            assert want > 0 and abs(got / want - 1) <= 1e-5, (kernel, h, got, want)
    data2 = rng.normal(size=(50, 2))
    got = float(jaxshift.integrate_box(np.float32([-0.5, 0.0]), np.float32([0.7, 0.2]), data2.astype(np.float32),
                                       bandwidth=1e12))
    with jax.enable_x64(True):
        want = float(jaxshift.integrate_box(np.array([-0.5, 0.0]), np.array([0.7, 0.2]), data2, bandwidth=1e12))
    assert want > 0 and abs(got / want - 1) <= 1e-5, (got, want)
