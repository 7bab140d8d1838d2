"""KDE: normalisation, parity with the references, stability, gradients, code paths, dtypes, memory."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxshift

NAMES = ["gaussian", "flat", "epanechnikov", "biweight", "triweight"]


def blobs(n=200, d=2, seed=0):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, d)) * np.linspace(1.0, 2.0, d) + rng.integers(0, 3, size=(n, 1))


# One query set and one data set (in the default float32) for the checks that do not
# need their own sizes: the density of each kernel then compiles once for all of them.
DATA = blobs(100, 2)
QUERIES = blobs(20, 2, seed=5)


# --- normalisation -------------------------------------------------------------------------


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("bandwidth", [0.7, [0.7]])
def test_integrates_to_one_1d(name, bandwidth):
    data = np.array([[-1.0], [0.0], [0.3], [2.5]])
    grid = np.linspace(-12, 14, 40001)[:, None]
    dens = np.asarray(jaxshift.kde(grid, data, bandwidth=bandwidth, kernel=name, weights=[1, 2, 1, 0.5]))
    total = np.trapezoid(dens, grid[:, 0])
    assert total == pytest.approx(1.0, abs=2e-4 if name == "flat" else 1e-5)


@pytest.mark.parametrize("name", NAMES)
def test_integrates_to_one_2d_per_feature(name):
    data = np.array([[-1.0, 0.5], [0.0, 0.0], [1.5, -0.5]])
    h = np.array([0.8, 1.7])
    gx = np.linspace(-9, 9, 601)
    gy = np.linspace(-16, 16, 801)
    grid = np.stack(np.meshgrid(gx, gy, indexing="ij"), -1).reshape(-1, 2)
    dens = np.asarray(jaxshift.kde(grid, data, bandwidth=h, kernel=name)).reshape(len(gx), len(gy))
    total = np.trapezoid(np.trapezoid(dens, gy, axis=1), gx)
    # the flat kernel's jump makes grid quadrature first order in the spacing
    assert total == pytest.approx(1.0, abs=5e-3 if name == "flat" else 2e-4)


# --- parity with the references (float64) ------------------------------------------------


def _diagonal_cov_data(n, stds, seed, weights=None):
    """Data whose (weighted) sample covariance is exactly diag(stds^2), so that
    gaussian_kde's full bandwidth matrix is diagonal and comparable with per-feature
    bandwidths."""
    rng = np.random.default_rng(seed)
    z = rng.normal(size=(n, len(stds)))
    chol = np.linalg.cholesky(np.atleast_2d(np.cov(z, rowvar=False, aweights=weights)))
    z = np.linalg.solve(chol, z.T).T  # sample covariance exactly I
    return z * np.asarray(stds) + 3.0


@jax.jit
def _jax_scipy_reference(data_t, w, q):
    """jax.scipy's gaussian_kde (bw_method=0.4) as one compiled program (eagerly it
    compiles op by op): its per-feature bandwidths, densities and log-densities at q."""
    from jax.scipy.stats import gaussian_kde

    ref = gaussian_kde(data_t, bw_method=0.4, weights=w)
    return jnp.sqrt(jnp.diag(jnp.atleast_2d(ref.covariance))), ref.evaluate(q), ref.logpdf(q)


@pytest.mark.parametrize("d,weighted", [(1, False), (2, False), (3, True)])
def test_gaussian_matches_jax_scipy_gaussian_kde(x64, d, weighted):
    w = np.random.default_rng(1).uniform(0.1, 2.0, 300) if weighted else None
    data = _diagonal_cov_data(300, np.linspace(0.5, 2.0, d), seed=d, weights=w)
    x = data[:40] + 0.3
    h, want, want_log = _jax_scipy_reference(data.T, w, x.T)
    h = np.asarray(h)
    ours = jaxshift.kde(x, data, bandwidth=h, weights=w)
    assert ours.dtype == jnp.float64
    np.testing.assert_allclose(ours, want, rtol=1e-5)
    np.testing.assert_allclose(jaxshift.log_kde(x, data, bandwidth=h, weights=w), want_log, rtol=1e-5)


@pytest.mark.parametrize("name", ["gaussian", "tophat", "epanechnikov"])
@pytest.mark.parametrize("d", [1, 3])
def test_matches_sklearn_kernel_density(x64, name, d):
    from sklearn.neighbors import KernelDensity

    data = blobs(250, d, seed=d)
    w = np.random.default_rng(2).uniform(0.0, 3.0, len(data))
    x = blobs(60, d, seed=10 + d)
    ref = KernelDensity(kernel=name, bandwidth=0.9).fit(data, sample_weight=w)
    expected = ref.score_samples(x)
    ours = np.asarray(jaxshift.log_kde(x, data, bandwidth=0.9, kernel=name, weights=w))
    # scikit-learn's tree bounds leave rounding residue (log-density ~ -37) where a compact
    # kernel's density is exactly zero; treat densities below 1e-12 as zero.
    finite = expected > np.log(1e-12)
    assert finite.sum() > 30  # the comparison is not vacuous
    np.testing.assert_array_equal(np.isfinite(ours), finite)
    np.testing.assert_allclose(ours[finite], expected[finite], rtol=1e-5)


# --- stability ------------------------------------------------------------------------------


def test_log_kde_far_query_is_finite_for_gaussian():
    data = np.zeros((3, 2))
    far = np.array([[1e3, 0.0], [0.0, -2e3]])
    lk = np.asarray(jaxshift.log_kde(far, data, bandwidth=1.0))
    expected = -0.5 * np.array([1e6, 4e6]) - np.log(2 * np.pi)
    np.testing.assert_allclose(lk, expected, rtol=1e-6)
    assert np.all(np.asarray(jaxshift.kde(far, data, bandwidth=1.0)) == 0.0)


@pytest.mark.parametrize("name", NAMES[1:])
def test_log_kde_is_minus_inf_only_outside_compact_support(name):
    data = np.array([[0.0], [1.0]])
    x = np.array([[0.5], [1.99], [2.01], [-1.5]])
    lk = np.asarray(jaxshift.log_kde(x, data, bandwidth=1.0, kernel=name))
    assert np.all(np.isfinite(lk[:2]))
    assert np.all(lk[2:] == -np.inf)


@pytest.mark.parametrize("name", NAMES)
def test_kde_is_exp_log_kde(name):
    data, x = DATA, QUERIES
    np.testing.assert_allclose(
        jaxshift.kde(x, data, bandwidth=0.8, kernel=name),
        np.exp(jaxshift.log_kde(x, data, bandwidth=0.8, kernel=name)),
        rtol=2e-5,
        atol=1e-30,
    )


def test_far_from_origin_data_keeps_precision():
    """Centring: the GEMM form must not cancel catastrophically for data far from 0."""
    data, x = DATA, QUERIES
    near = np.asarray(jaxshift.log_kde(x, data, bandwidth=0.5))
    far = np.asarray(jaxshift.log_kde(x + 1e4, data + 1e4, bandwidth=0.5))
    np.testing.assert_allclose(far, near, rtol=2e-3, atol=2e-3)


# --- gradients ------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["gaussian", "epanechnikov", "triweight"])
@pytest.mark.parametrize("per_feature", [False, True])
def test_grad_mean_log_kde_wrt_bandwidth_matches_finite_differences(x64, name, per_feature):
    data = blobs(150, 2)
    x = blobs(40, 2, seed=7)
    h0 = np.array([1.1, 1.6]) if per_feature else np.array(1.3)

    @jax.jit  # one program each for f and its gradient, not op by op
    def f(h):
        return jnp.mean(jaxshift.log_kde(x, data, bandwidth=h, kernel=name))

    g = np.atleast_1d(np.asarray(jax.jit(jax.grad(f))(jnp.asarray(h0))))
    eps = 1e-5
    fd = []
    for i in range(np.size(h0)):
        e = np.zeros(np.size(h0))
        e[i] = eps
        e = e.reshape(np.shape(h0))
        fd.append((f(h0 + e) - f(h0 - e)) / (2 * eps))
    np.testing.assert_allclose(g, fd, rtol=1e-5, atol=1e-8)
    assert np.all(np.isfinite(g))


def test_grad_kde_wrt_x_and_data_matches_finite_differences(x64):
    data = blobs(50, 2)
    x0 = jnp.array([0.4, 1.2])
    gx = jax.jit(jax.grad(lambda x: jaxshift.kde(x, data, bandwidth=0.9)))(x0)
    eps = 1e-6
    fd = [
        (jaxshift.kde(x0 + eps * e, data, bandwidth=0.9) - jaxshift.kde(x0 - eps * e, data, bandwidth=0.9)) / (2 * eps)
        for e in np.eye(2)
    ]
    np.testing.assert_allclose(gx, fd, rtol=1e-6)
    gd = jax.jit(jax.grad(lambda y: jaxshift.log_kde(x0, y, bandwidth=0.9)))(jnp.asarray(data))
    assert gd.shape == data.shape and np.all(np.isfinite(gd))
    e = np.zeros_like(data)
    e[3, 1] = eps
    fd = (jaxshift.log_kde(x0, data + e, bandwidth=0.9) - jaxshift.log_kde(x0, data - e, bandwidth=0.9)) / (2 * eps)
    assert float(gd[3, 1]) == pytest.approx(float(fd), rel=1e-5)


def test_grad_outside_compact_support_is_zero_not_nan():
    data = np.array([[0.0], [1.0]])
    g = jax.jit(jax.grad(lambda h: jnp.sum(jaxshift.kde(jnp.array([[5.0]]), data, bandwidth=h, kernel="epanechnikov"))))(1.0)
    assert float(g) == 0.0


def test_log_kde_out_of_reach_is_minus_inf_with_zero_gradient(x64):
    """Issue 10: where a compact kernel's density is 0, ``log_kde`` is ``-inf`` and its
    gradient is 0 in every argument, never NaN (before: 0 for ``x`` but ``-d/h`` for the
    bandwidth, from the constant). A likelihood with such a term is ``-inf``; its
    gradient is that of the finite terms (checked against central differences of
    their sum), and the same holds for the leave-one-out likelihood."""
    data = np.array([[0.0, 0.0], [1.0, 0.0], [0.5, 0.8]])
    x = np.array([[0.4, 0.3], [9.0, 9.0]])  # in reach, out of reach
    w = np.array([1.0, 2.0, 0.5])

    def each(x, y, h, w):
        return jaxshift.log_kde(x, y, bandwidth=h, weights=w, kernel="epanechnikov")

    args = tuple(jnp.asarray(a) for a in (x, data, 1.2, w))
    lk = each(*args)
    assert np.isfinite(lk[0]) and lk[1] == -np.inf
    grads = jax.jit(jax.jacrev(each, argnums=(0, 1, 2, 3)))(*args)  # [2 queries, ...] per argument
    for g in grads:
        g = np.asarray(g)
        assert np.all(np.isfinite(g)) and np.all(g[1] == 0.0)
    # the likelihood's gradient in the bandwidth: that of its finite term
    g_h = float(jax.jit(jax.grad(lambda h: jnp.sum(each(args[0], args[1], h, args[3]))))(1.2))
    eps = 1e-6
    fd = (float(each(args[0][:1], args[1], 1.2 + eps, args[3])[0])
          - float(each(args[0][:1], args[1], 1.2 - eps, args[3])[0])) / (2 * eps)
    assert g_h == pytest.approx(fd, rel=1e-6) and g_h != pytest.approx(fd - 2 / 1.2, rel=1e-3)
    # leave-one-out: one point alone out of everyone's reach, the others' terms finite
    lone = np.concatenate([data, [[9.0, 9.0]]])
    loo = jaxshift.bandwidth.loo_log_likelihood(lone, bandwidth=1.2, kernel="epanechnikov")
    assert loo == -np.inf
    g = float(jax.jit(jax.grad(
        lambda h: jaxshift.bandwidth.loo_log_likelihood(lone, bandwidth=h, kernel="epanechnikov")))(1.2))

    def finite_terms(h):  # the three finite leave-one-out terms, each over n - 1 = 3 others
        return sum(float(each(lone[i], np.delete(lone, i, 0), h, None)) for i in range(3)) / 4

    fd = (finite_terms(1.2 + eps) - finite_terms(1.2 - eps)) / (2 * eps)
    assert g == pytest.approx(fd, rel=1e-6)


# --- two code paths agree -------------------------------------------------------------------


@pytest.mark.parametrize("name", ["gaussian", "flat", "biweight"])
def test_jit_equals_eager_and_blocked_equals_single_block(name):
    data = blobs(700, 3)
    x = blobs(130, 3, seed=9)
    w = np.random.default_rng(0).uniform(0, 1, 700)
    one = jaxshift.log_kde(x, data, bandwidth=0.7, kernel=name, weights=w, query_block=1000, data_block=1000)
    blocked = jaxshift.log_kde(x, data, bandwidth=0.7, kernel=name, weights=w, query_block=32, data_block=100)
    jitted = jax.jit(lambda x, y, h, w: jaxshift.log_kde(x, y, bandwidth=h, kernel=name, weights=w))(x, data, 0.7, w)
    # Each data block is centred on its own point, so the rounding of u differs with the
    # blocking; (1 - u)^p near the support's edge turns float32's ~1e-5 on u into ~1e-4
    # on the log-density (both are that far from float64).
    tol = 1e-9 if jax.config.jax_enable_x64 else (1e-5 if name == "gaussian" else 1e-3)
    np.testing.assert_allclose(blocked, one, rtol=tol, atol=tol)
    np.testing.assert_allclose(jitted, one, rtol=tol, atol=tol)


def test_vmap_over_bandwidths_equals_loop():
    data, x = DATA, QUERIES
    hs = jnp.array([0.2, 0.5, 1.0, 3.0])
    batched = jax.vmap(lambda h: jaxshift.kde(x, data, bandwidth=h))(hs)
    looped = jnp.stack([jaxshift.kde(x, data, bandwidth=h) for h in hs])
    np.testing.assert_allclose(batched, looped, rtol=1e-5)
    per_feature = jax.vmap(lambda h: jaxshift.log_kde(x, data, bandwidth=h, kernel="biweight"))(jnp.ones((3, 2)))
    np.testing.assert_allclose(per_feature[1], jaxshift.log_kde(x, data, bandwidth=1.0, kernel="biweight"), rtol=1e-6)


def test_vmap_over_queries_equals_batch():
    data, x = DATA, QUERIES
    np.testing.assert_allclose(
        jax.vmap(lambda q: jaxshift.kde(q, data, bandwidth=0.5))(jnp.asarray(x, jnp.float32)),
        jaxshift.kde(x, data, bandwidth=0.5),
        rtol=1e-6,
    )


@pytest.mark.parametrize("name", NAMES)
def test_float32_agrees_with_float64(name):
    data, x = DATA, QUERIES
    f32 = np.asarray(jaxshift.log_kde(x.astype(np.float32), data.astype(np.float32), bandwidth=0.8, kernel=name))
    with jax.enable_x64(True):
        f64 = np.asarray(jaxshift.log_kde(x, data, bandwidth=0.8, kernel=name))
    fin = np.isfinite(f64)
    np.testing.assert_array_equal(np.isfinite(f32), fin)
    np.testing.assert_allclose(f32[fin], f64[fin], rtol=1e-4, atol=1e-4)


# --- dtypes and shapes ----------------------------------------------------------------------


def test_dtypes():
    data = np.arange(12, dtype=np.uint8).reshape(6, 2)
    default = jnp.float64 if jax.config.jax_enable_x64 else jnp.float32  # float64 needs x64
    assert jaxshift.kde(data, data, bandwidth=2).dtype == default  # integers: the default float
    assert jaxshift.kde(data.astype(np.float64), data, bandwidth=2.0).dtype == default
    with jax.enable_x64(True):
        assert jaxshift.kde(data.astype(np.float64), data, bandwidth=2.0).dtype == jnp.float64
        assert jaxshift.kde(data.astype(np.float32), data.astype(np.float32), bandwidth=2.0).dtype == jnp.float32
        assert jaxshift.shift(data.astype(np.float32), data.astype(np.float32), bandwidth=np.float64(2.0)).dtype == jnp.float32


def test_single_point_and_batch_shapes():
    data = blobs(30, 2)
    assert jaxshift.kde(data[0], data, bandwidth=1.0).shape == ()
    assert jaxshift.log_kde(data[:4], data, bandwidth=[1.0, 2.0]).shape == (4,)
    assert float(jaxshift.kde(data[0], data, bandwidth=1.0)) == pytest.approx(float(jaxshift.kde(data[:1], data, bandwidth=1.0)[0]))


# --- memory ---------------------------------------------------------------------------------


@pytest.mark.parametrize("algorithm", ["dense", "pruned"])
@pytest.mark.parametrize("name", ["gaussian", "flat"])
def test_200k_by_200k_compiles_to_bounded_memory(name, algorithm):
    """No [m, n] intermediate: XLA's own buffer assignment for 200,000 x 200,000 in 3-D."""
    from jaxshift._density import _kde
    from jaxshift._meanshift import _shift
    from jaxshift.kernels import get_kernel

    m = n = 200_000
    x = jax.ShapeDtypeStruct((m, 3), jnp.float32)
    y = jax.ShapeDtypeStruct((n, 3), jnp.float32)
    h = jax.ShapeDtypeStruct((), jnp.float32)
    w = jax.ShapeDtypeStruct((n,), jnp.float32)
    k = get_kernel(name)
    for fn, kw in [(_kde, dict(log=True)), (_shift, {})]:
        compiled = fn.lower(x, y, h, w, kernel=k, algorithm=algorithm, **kw).compile()
        stats = compiled.memory_analysis()
        # inputs and outputs are O(m + n); temporaries must not be O(m * n) (= 160 GB here)
        assert stats.temp_size_in_bytes < 64 * 2**20, stats


def test_bandwidth_rule_uses_the_kde_kernel(x64):
    from jaxshift.bandwidth import resolve

    data = blobs(400, 1)  # float64 400 x 1 as test_bandwidth's 1-D select: one compile per process
    x = data[:5]
    h_epa = resolve("likelihood", data, kernel="epanechnikov")
    h_gauss = resolve("likelihood", data, kernel="gaussian")
    assert not np.allclose(h_epa, h_gauss)  # the rule depends on the kernel, so the check can fail
    np.testing.assert_allclose(
        jaxshift.kde(x, data, bandwidth="likelihood", kernel="epanechnikov"),
        jaxshift.kde(x, data, bandwidth=h_epa, kernel="epanechnikov"),
        rtol=1e-6,
    )
