"""Full ``[d, d]`` bandwidth matrices (the kernel's covariance ``H``): parity with scipy
``gaussian_kde``, the step under Mahalanobis distances, affine equivariance, gradients
with respect to ``H``, the rules' ``full=True``, and the checks."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy.stats import gaussian_kde

import jaxshift
from jaxshift import bandwidth as bw
from jaxshift.cluster import find_clusters

A2 = np.array([[1.0, 0.0], [0.8, 0.5]])  # correlates the two features
H2 = np.array([[0.30, 0.12], [0.12, 0.20]])
E2 = np.array([[0.3, 0.7], [0.7, -0.2]])  # a symmetric direction for derivatives


def correlated(n=120, d=2, seed=0):
    rng = np.random.default_rng(seed)
    a = A2 if d == 2 else np.tril(rng.uniform(0.3, 1.0, (d, d)))
    return rng.normal(size=(n, d)) @ a.T + rng.integers(0, 3, size=(n, 1)) * 1.5


@pytest.mark.parametrize("d,weighted", [(2, False), (2, True), (3, True)])
@pytest.mark.parametrize("algorithm", ["dense", "pruned"])
def test_kde_matches_scipy_covariance(x64, d, weighted, algorithm):
    data = correlated(d=d)
    rng = np.random.default_rng(1)
    w = rng.uniform(0.1, 2.0, len(data)) if weighted else None
    ref = gaussian_kde(data.T, weights=w)
    x = np.concatenate([data[:20], rng.normal(size=(20, d)) * 3.0])
    kw = dict(bandwidth=ref.covariance, weights=w, algorithm=algorithm, query_block=16, data_block=32)
    dens = np.asarray(jaxshift.kde(x, data, **kw))
    np.testing.assert_allclose(dens, ref(x.T), rtol=1e-10, atol=0)
    logs = np.asarray(jaxshift.log_kde(x, data, **kw))
    np.testing.assert_allclose(logs, ref.logpdf(x.T), rtol=0, atol=1e-10)


def test_rules_full_match_scipy_covariance(x64):
    data = correlated(d=3)
    w = np.random.default_rng(2).uniform(0.1, 2.0, len(data))
    for rule in ("scott", "silverman"):
        for weights in (None, w):
            want = gaussian_kde(data.T, bw_method=rule, weights=weights).covariance
            got = np.asarray(getattr(bw, rule)(data, weights, full=True))
            np.testing.assert_allclose(got, want, rtol=1e-12, atol=0)
            # the diagonal is the square of the per-feature rule
            np.testing.assert_allclose(np.sqrt(np.diag(got)), getattr(bw, rule)(data, weights), rtol=1e-12)
    # the rule's matrix goes straight into the core
    ref = gaussian_kde(data.T, weights=w)
    got = jaxshift.kde(data[:5], data, bandwidth=bw.scott(data, w, full=True), weights=w)
    np.testing.assert_allclose(got, ref(data[:5].T), rtol=1e-10)


def test_rules_full_refuse_a_singular_covariance():
    x = np.random.default_rng(0).normal(size=(20, 1))
    with pytest.raises(ValueError, match="data covariance is singular"):
        bw.scott(np.hstack([x, 2.0 * x]), full=True)
    with pytest.raises(ValueError, match="full must be True or False"):
        bw.silverman(np.hstack([x, x**2]), full="yes")


def test_diagonal_matrix_is_the_per_feature_bandwidth(x64):
    data = correlated()
    x = data[:30] + 0.1
    h = np.array([0.6, 0.35])
    for name in ("gaussian", "epanechnikov", "exponential"):
        a = jaxshift.log_kde(x, data, bandwidth=h, kernel=name)
        b = jaxshift.log_kde(x, data, bandwidth=np.diag(h**2), kernel=name)
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-12)
        np.testing.assert_allclose(jaxshift.shift(x, data, bandwidth=h, kernel=name),
                                   jaxshift.shift(x, data, bandwidth=np.diag(h**2), kernel=name), rtol=0, atol=1e-12)


def test_one_by_one_matrix_is_h_squared(x64):
    data = correlated(d=2)[:, :1]
    x = data[:10] + 0.05
    for name in ("gaussian", "flat"):
        a = jaxshift.kde(x, data, bandwidth=0.7, kernel=name)
        b = jaxshift.kde(x, data, bandwidth=[[0.49]], kernel=name)
        np.testing.assert_allclose(a, b, rtol=1e-12)
        np.testing.assert_allclose(jaxshift.shift(x, data, bandwidth=[[0.49]], kernel=name),
                                   jaxshift.shift(x, data, bandwidth=0.7, kernel=name), rtol=0, atol=1e-12)
    # [h] is a vector (h), [[v]] a matrix (H = v) (the matrix call shares the compile above)
    np.testing.assert_allclose(jaxshift.kde(x, data, bandwidth=[4.0]), jaxshift.kde(x, data, bandwidth=[[16.0]]),
                               rtol=1e-12)


def test_one_gaussian_step_matches_numpy(x64):
    data = correlated()
    rng = np.random.default_rng(4)
    w = rng.uniform(0.1, 2.0, len(data))
    x = rng.normal(size=(25, 2)) * 2.0 + 1.5
    diff = x[:, None, :] - data[None]
    u = np.einsum("mnd,de,mne->mn", diff, np.linalg.inv(H2), diff)  # Mahalanobis distances
    g = w * np.exp(-0.5 * u)
    want = g @ data / g.sum(1, keepdims=True)
    for algorithm in ("dense", "pruned"):
        got = jaxshift.shift(x, data, bandwidth=H2, weights=w, algorithm=algorithm, query_block=8, data_block=16)
        np.testing.assert_allclose(got, want, rtol=0, atol=1e-12)
    # the flat kernel: the mean of the points within Mahalanobis distance 1
    inside = u <= 1.0
    got = np.asarray(jaxshift.shift(x, data, bandwidth=H2, kernel="flat"))
    some = inside.any(1)
    want = (inside * 1.0) @ data / np.maximum(inside.sum(1), 1)[:, None]
    np.testing.assert_allclose(got[some], want[some], rtol=0, atol=1e-12)
    np.testing.assert_array_equal(got[~some], x[~some])


@pytest.mark.parametrize("name", ["gaussian", "flat"])
def test_affine_equivariance(x64, name):
    """Modes of data A y under A H A^T are A times the modes of y under H; clusters too."""
    data = correlated(n=90)
    seeds = data[::3]
    a = np.array([[2.0, -1.0], [0.5, 1.5]])
    h = np.array([[0.5, 0.1], [0.1, 0.4]])
    base = jaxshift.find_modes(seeds, data, bandwidth=h, kernel=name, tol=1e-10, max_iter=1000)
    moved = jaxshift.find_modes(seeds @ a.T, data @ a.T, bandwidth=a @ h @ a.T, kernel=name,
                                tol=1e-10, max_iter=1000)
    assert bool(base.converged.all())
    np.testing.assert_allclose(moved.modes, np.asarray(base.modes) @ a.T, rtol=0, atol=1e-8)
    path = jaxshift.trajectory(seeds, data, bandwidth=h, steps=3, kernel=name)
    path_a = jaxshift.trajectory(seeds @ a.T, data @ a.T, bandwidth=a @ h @ a.T, steps=3, kernel=name)
    np.testing.assert_allclose(path_a, np.asarray(path) @ a.T, rtol=0, atol=1e-9)
    if name != "gaussian":
        # (the flat kernel's clusters hang on where the stop, 1e-3 sqrt(diag(H)) per
        # feature and not affine-invariant, leaves each mode: its counts jump)
        return
    c = find_clusters(data, bandwidth=h, seeds=data, capacity=16, kernel=name)
    ca = find_clusters(data @ a.T, bandwidth=a @ h @ a.T, seeds=data @ a.T, capacity=16, kernel=name)
    assert int(c.n_clusters) == int(ca.n_clusters) >= 2
    np.testing.assert_array_equal(c.labels, ca.labels)
    # (the stop is not affine-invariant: the modes agree to it)
    np.testing.assert_allclose(ca.centres, np.asarray(c.centres) @ a.T, rtol=0, atol=1e-2)


def test_find_clusters_diagonal_matrix_is_per_feature():
    data = correlated(n=90).astype(np.float32)
    h = np.array([0.8, 0.5], np.float32)
    a = find_clusters(data, bandwidth=h, seeds=data, capacity=16, cluster_all=False)
    b = find_clusters(data, bandwidth=np.diag(h**2), seeds=data, capacity=16, cluster_all=False)
    assert int(a.n_clusters) == int(b.n_clusters)
    np.testing.assert_array_equal(a.labels, b.labels)
    np.testing.assert_allclose(a.centres, b.centres, rtol=0, atol=1e-5)


def _fd(f, h, e, eps=1e-6):
    return (f(h + eps * e) - f(h - eps * e)) / (2 * eps)


def test_gradients_with_respect_to_h_match_finite_differences(x64):
    data = correlated(n=60)
    rng = np.random.default_rng(5)
    w = rng.uniform(0.1, 2.0, len(data))
    x = data[:6] + rng.normal(size=(6, 2)) * 0.3
    h = jnp.asarray(H2)

    def dens(hm):
        return jnp.sum(jaxshift.log_kde(x, data, bandwidth=hm, weights=w))

    def step(hm):
        return jnp.sum(jnp.sin(jaxshift.shift(x, data, bandwidth=hm, weights=w)))

    def path(hm):
        return jnp.sum(jaxshift.trajectory(x, data, bandwidth=hm, steps=3, weights=w) ** 2)

    def modes(hm):
        return jnp.sum(jaxshift.find_modes(x[:3], data, bandwidth=hm, weights=w, tol=1e-12, max_iter=5000).modes)

    for f in (dens, step, path, modes):
        f = jax.jit(f)  # one program each for f and its gradient (eagerly: op by op)
        g = jax.jit(jax.grad(f))(h)
        np.testing.assert_allclose(g, g.T, rtol=1e-12, atol=1e-12)  # symmetric: d/dH of a symmetric argument
        assert float(jnp.sum(g * E2)) == pytest.approx(float(_fd(f, h, E2)), rel=1e-6, abs=1e-8)
    # forward mode agrees
    dens = jax.jit(dens)
    _, t = jax.jit(lambda h, e: jax.jvp(dens, (h,), (e,)))(h, jnp.asarray(E2))
    assert float(t) == pytest.approx(float(_fd(dens, h, E2)), rel=1e-6)


def test_loo_likelihood_and_lscv_take_a_matrix(x64):
    data = correlated(n=40)
    h = np.array([0.6, 0.35])
    np.testing.assert_allclose(bw.loo_log_likelihood(data, bandwidth=np.diag(h**2)),
                               bw.loo_log_likelihood(data, bandwidth=h), rtol=1e-12)
    np.testing.assert_allclose(bw.lscv(data, bandwidth=np.diag(h**2)), bw.lscv(data, bandwidth=h), rtol=1e-10)
    # against a direct leave-one-out sum under H
    n = len(data)
    diff = data[:, None, :] - data[None]
    u = np.einsum("mnd,de,mne->mn", diff, np.linalg.inv(H2), diff)
    k = np.exp(-0.5 * u) / (2 * np.pi * np.sqrt(np.linalg.det(H2)))
    np.fill_diagonal(k, 0.0)
    want = np.mean(np.log(k.sum(1) / (n - 1)))
    assert float(bw.loo_log_likelihood(data, bandwidth=H2)) == pytest.approx(want, rel=1e-12)


@pytest.mark.parametrize(
    "h,match",
    [
        (np.array([[1.0, 0.5], [0.0, 1.0]]), r"bandwidth must be a symmetric matrix .* got bandwidth\[0, 1\] = 0.5"),
        (np.array([[1.0, 2.0], [2.0, 1.0]]), r"bandwidth must be positive definite .* least eigenvalue is -1.0"),
        (np.array([[1.0, 0.0], [0.0, 0.0]]), r"bandwidth must be positive definite"),
        (np.array([[1.0, np.nan], [np.nan, 1.0]]), r"bandwidth must be finite"),
        (np.eye(3), r"bandwidth as a matrix \(the kernel's covariance\) must be \[2, 2\], got shape \(3, 3\)"),
        (np.ones((2, 2, 2)), r"bandwidth must be a scalar or one value per feature \[2\].*\[2, 2\] matrix"),
    ],
)
def test_bad_matrices_are_refused(h, match):
    data = np.zeros((3, 2))
    for call in (
        lambda: jaxshift.kde(np.zeros(2), data, bandwidth=h),
        lambda: jaxshift.shift(np.zeros(2), data, bandwidth=h),
        lambda: jaxshift.find_modes(np.zeros(2), data, bandwidth=h),
        lambda: jaxshift.trajectory(np.zeros(2), data, bandwidth=h, steps=1),
        lambda: find_clusters(data, bandwidth=h, seeds=data, capacity=2),
        lambda: jaxshift.sample(jax.random.key(0), data, 2, bandwidth=h),
    ):
        with pytest.raises(ValueError, match=match):
            call()


def test_matrix_under_jit_and_vmap():
    data = correlated(n=50).astype(np.float32)
    x = data[:7]
    f = jax.jit(lambda hm: jaxshift.kde(x, data, bandwidth=hm))
    hs = jnp.stack([jnp.asarray(H2, jnp.float32), 2.0 * jnp.asarray(H2, jnp.float32)])
    batched = jax.vmap(f)(hs)
    np.testing.assert_allclose(batched[1], f(hs[1]), rtol=1e-6)
    diff = x[:, None, :].astype(np.float64) - data[None].astype(np.float64)
    u = np.einsum("mnd,de,mne->mn", diff, np.linalg.inv(H2), diff)
    want = np.exp(-0.5 * u).mean(1) / (2 * np.pi * np.sqrt(np.linalg.det(H2)))
    np.testing.assert_allclose(batched[0], want, rtol=2e-5)


@pytest.mark.parametrize("name", ["gaussian", "flat", "epanechnikov", "exponential", "linear", "cosine"])
@given(seed=st.integers(0, 2**31 - 1))
def test_shadow_density_never_decreases_with_a_matrix(name, seed):
    """The ascent property under the metric H: a step with a kernel never lowers the
    KDE of its shadow at the same bandwidth matrix."""
    rng = np.random.default_rng(seed)
    data = rng.uniform(-4, 4, size=(3, 2))[rng.integers(0, 3, 24)] + rng.normal(size=(24, 2)) * 0.8
    a = rng.normal(size=(2, 2))
    h = a @ a.T + rng.uniform(0.3, 1.5) * np.eye(2)
    seeds = np.concatenate([data[:4], data[:4] + rng.normal(size=(4, 2))])
    with jax.enable_x64(True):
        path = jaxshift.trajectory(seeds, data, bandwidth=h, steps=6, kernel=name)
        dens = np.asarray(jax.vmap(
            lambda x: jaxshift.kde(x, data, bandwidth=h, kernel=jaxshift.shadow(name)))(path))
    steps = np.diff(dens, axis=0)
    assert np.all(steps >= -1e-12 * np.maximum(dens[:-1], 1e-300)), steps.min()
    assert np.any(steps > 0) or np.allclose(path[0], path[-1])
