"""shift / find_modes / trajectory against a brute-force NumPy reference, and the code paths."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxshift
from jaxshift.kernels import get_kernel

NAMES = ["gaussian", "flat", "epanechnikov", "biweight", "triweight"]


def blobs(n=200, d=2, seed=0):
    rng = np.random.default_rng(seed)
    centres = rng.uniform(-6, 6, size=(3, d))
    return centres[rng.integers(0, 3, n)] + rng.normal(size=(n, d))


def np_shift(x, data, h, name, w=None):
    """The textbook step, O(m n) in NumPy float64."""
    w = np.ones(len(data)) if w is None else np.asarray(w, float)
    u = (((x[:, None, :] - data[None]) / h) ** 2).sum(-1)
    if name == "gaussian":
        g = np.exp(-0.5 * (u - u.min(1, keepdims=True)))
    else:
        p = get_kernel(name).power
        g = np.where(u <= 1, np.clip(1 - u, 0, None) ** p, 0.0)
    g = g * w
    s = g.sum(1, keepdims=True)
    return np.where(s > 0, (g @ data) / np.where(s > 0, s, 1), x)


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("h", [0.8, [0.6, 1.5]])
def test_shift_matches_numpy(x64, name, h):
    data = blobs(300, 2)
    x = blobs(50, 2, seed=1)
    w = np.random.default_rng(0).uniform(0, 2, 300)
    ours = jaxshift.shift(x, data, bandwidth=h, kernel=name, weights=w, query_block=16, data_block=64)
    np.testing.assert_allclose(ours, np_shift(x, data, np.asarray(h), name, w), rtol=1e-10, atol=1e-10)


def test_isolated_point_stays_for_compact_and_moves_for_gaussian():
    data = np.array([[0.0, 0.0], [1.0, 0.0]])
    far = np.array([[50.0, 50.0]])
    np.testing.assert_array_equal(jaxshift.shift(far, data, bandwidth=1.0, kernel="flat"), far)
    g = np.asarray(jaxshift.shift(far, data, bandwidth=1.0))
    assert np.all(np.isfinite(g))
    # relative to the nearest point the other weighs exp(-(dist^2 gap)/2) ~ exp(-50): all on the nearest
    np.testing.assert_allclose(g, [[1.0, 0.0]], atol=1e-6)


def test_seed_with_no_data_in_reach_is_not_converged():
    """Issue 10: a compact kernel's seed with no data in reach never moves and is at no
    mode: ``converged`` is False (scikit-learn drops such seeds), its derivative is 0
    (not NaN), and ``find_clusters`` drops it (no cluster at all: every label -1).
    Epanechnikov: its modes have non-zero derivatives (the flat kernel's are 0)."""
    name = "epanechnikov"
    data = np.array([[0.0, 0.0], [1.0, 0.0], [0.5, 0.5]])
    seeds = np.array([[0.4, 0.1], [50.0, 50.0]])
    res = jaxshift.find_modes(seeds, data, bandwidth=1.0, kernel=name)
    assert res.converged.tolist() == [True, False] and int(res.n_iter[1]) == 1
    np.testing.assert_array_equal(res.modes[1], seeds[1])
    # the derivatives jitted: one program each, not one per eager primitive
    dh = jax.jit(jax.jacfwd(lambda h: jaxshift.find_modes(seeds, data, bandwidth=h, kernel=name).modes))(1.0)
    assert np.all(np.isfinite(dh)) and np.all(dh[1] == 0.0)
    gd = jax.jit(jax.grad(lambda y: jnp.sum(jaxshift.find_modes(seeds, y, bandwidth=1.0, kernel=name).modes)))(
        jnp.asarray(data, jnp.float32))
    assert np.all(np.isfinite(gd))
    from jaxshift.cluster import find_clusters

    # jitted: one program for both calls (the eager call compiles ~60 primitives and its
    # merge loop)
    clusters = jax.jit(find_clusters, static_argnames=("capacity", "kernel"))
    one = clusters(data, bandwidth=1.0, seeds=seeds, capacity=2, kernel=name)
    assert int(one.n_clusters) == 1 and one.labels.tolist() == [0, 0, 0]
    none = clusters(data, bandwidth=1.0, seeds=seeds[::-1] + 40.0, capacity=2, kernel=name)
    assert int(none.n_clusters) == 0 and none.labels.tolist() == [-1, -1, -1]


def np_find_modes(seeds, data, h, name, max_iter, tol):
    x = seeds.copy()
    n_iter = np.zeros(len(x), int)
    conv = np.zeros(len(x), bool)
    for i in range(len(x)):
        for _ in range(max_iter):
            new = np_shift(x[i : i + 1], data, h, name)[0]
            n_iter[i] += 1
            moved = np.linalg.norm(new - x[i])
            x[i] = new
            if moved <= tol:
                conv[i] = True
                break
    return x, n_iter, conv


@pytest.mark.parametrize("name", ["flat", "gaussian", "epanechnikov"])
def test_find_modes_matches_per_seed_loop(x64, name):
    data = blobs(250, 2)
    seeds = data[::10]
    res = jaxshift.find_modes(seeds, data, bandwidth=1.5, kernel=name, query_block=8)
    x, n_iter, conv = np_find_modes(seeds, data, 1.5, name, 300, 1.5e-3)
    assert conv.all() and bool(res.converged.all())
    np.testing.assert_allclose(res.modes, x, atol=1e-9)
    np.testing.assert_array_equal(res.n_iter, n_iter)


def test_find_modes_max_iter_and_freezing():
    data = blobs(200, 2)
    seeds = data[:20]
    res0 = jaxshift.find_modes(seeds, data, bandwidth=1.0, max_iter=0)
    np.testing.assert_array_equal(res0.modes, seeds.astype(res0.modes.dtype))
    assert not res0.converged.any() and (res0.n_iter == 0).all()
    res3 = jaxshift.find_modes(seeds, data, bandwidth=1.0, max_iter=3, tol=0.0)
    assert (res3.n_iter == 3).all()
    np.testing.assert_allclose(res3.modes, jaxshift.trajectory(seeds, data, bandwidth=1.0, steps=3)[-1], rtol=1e-6)
    full = jaxshift.find_modes(seeds, data, bandwidth=1.0, kernel="flat")
    # seeds converge at different times; each stops exactly when its own step is small
    assert len(set(np.asarray(full.n_iter).tolist())) > 1
    again = jaxshift.find_modes(full.modes, data, bandwidth=1.0, kernel="flat")
    assert (again.n_iter == 1).all() and again.converged.all()


def test_find_modes_per_feature_tol():
    data = blobs(200, 2)
    loose = jaxshift.find_modes(data[:10], data, bandwidth=[1.0, 2.0], tol=[1e9, 1e9])
    assert (loose.n_iter == 1).all()
    default = jaxshift.find_modes(data[:10], data, bandwidth=[1.0, 2.0])
    explicit = jaxshift.find_modes(data[:10], data, bandwidth=[1.0, 2.0], tol=[1e-3, 2e-3])
    np.testing.assert_array_equal(default.n_iter, explicit.n_iter)


def test_single_seed_shapes():
    data = blobs(50, 3)
    r = jaxshift.find_modes(data[0], data, bandwidth=2.0)
    assert r.modes.shape == (3,) and r.n_iter.shape == () and r.converged.shape == ()
    assert jaxshift.trajectory(data[0], data, bandwidth=2.0, steps=4).shape == (5, 3)
    assert jaxshift.trajectory(data[:7], data, bandwidth=2.0, steps=0).shape == (1, 7, 3)
    assert jaxshift.shift(data[0], data, bandwidth=2.0).shape == (3,)


def test_find_modes_jit_and_vmap_over_bandwidth():
    data = blobs(300, 2)
    seeds = data[::15]
    hs = jnp.array([0.5, 1.0, 2.0])

    @jax.jit
    def run(h):
        return jaxshift.find_modes(seeds, data, bandwidth=h, kernel="gaussian")

    batched = jax.vmap(run)(hs)
    for i, h in enumerate(hs):
        one = jaxshift.find_modes(seeds, data, bandwidth=float(h), kernel="gaussian")
        np.testing.assert_allclose(batched.modes[i], one.modes, atol=1e-4)
        np.testing.assert_array_equal(batched.n_iter[i], one.n_iter)
    # max_iter and tol are traced too: no recompilation for a sweep
    sweep = jax.vmap(lambda it: jaxshift.find_modes(seeds, data, bandwidth=1.0, max_iter=it).n_iter)(jnp.array([1, 2, 5]))
    assert sweep.max(axis=1).tolist() == [1, 2, 5]


@pytest.mark.parametrize("name", ["gaussian", "flat"])
def test_blocked_equals_single_block_with_frozen_blocks(name):
    data = blobs(500, 3)
    seeds = data[::3]
    big = jaxshift.find_modes(seeds, data, bandwidth=1.2, kernel=name, query_block=1024, data_block=1024)
    small = jaxshift.find_modes(seeds, data, bandwidth=1.2, kernel=name, query_block=4, data_block=50)
    np.testing.assert_allclose(small.modes, big.modes, atol=1e-4)
    np.testing.assert_array_equal(small.converged, big.converged)


def test_float32_agrees_with_float64_modes():
    data = blobs(300, 2)
    seeds = data[::20]
    f32 = jaxshift.find_modes(seeds.astype(np.float32), data.astype(np.float32), bandwidth=1.5, kernel="epanechnikov")
    with jax.enable_x64(True):
        f64 = jaxshift.find_modes(seeds, data, bandwidth=1.5, kernel="epanechnikov")
        assert f64.modes.dtype == jnp.float64
    assert f32.modes.dtype == jnp.float32
    np.testing.assert_allclose(f32.modes, f64.modes, atol=2e-3)


def test_trajectory_is_repeated_shift_and_differentiable(x64):
    data = blobs(120, 2)
    seeds = data[:6] + 0.3
    path = jaxshift.trajectory(seeds, data, bandwidth=1.1, steps=3)
    x = seeds
    for t in range(1, 4):
        x = jaxshift.shift(x, data, bandwidth=1.1)
        np.testing.assert_allclose(path[t], x, rtol=1e-12)

    def loss(h):
        return jnp.sum(jaxshift.trajectory(seeds, data, bandwidth=h, steps=5)[-1] ** 2)

    # jitted: one program each (the finite difference calls one with two values)
    g = jax.jit(jax.grad(loss))(1.1)
    loss_jit = jax.jit(loss)
    fd = (float(loss_jit(1.1 + 1e-6)) - float(loss_jit(1.1 - 1e-6))) / 2e-6
    assert float(g) == pytest.approx(fd, rel=1e-5)
    gd = jax.jit(jax.grad(lambda y: jnp.sum(jaxshift.trajectory(seeds, y, bandwidth=1.1, steps=2)[-1])))(
        jnp.asarray(data))
    assert gd.shape == data.shape and bool(jnp.all(jnp.isfinite(gd)))


def test_flat_step_on_integer_data_is_numpys_mean_exactly(x64):
    """Pixel-like data: the neighbour set (<= radius) and the mean are both exact."""
    rng = np.random.default_rng(5)
    data = rng.integers(0, 12, size=(400, 3)).astype(np.float64)
    x = data[:60]
    ours = np.asarray(jaxshift.shift(x, data, bandwidth=3.0, kernel="flat"))
    d2 = ((x[:, None] - data[None]) ** 2).sum(-1)
    expected = np.stack([data[row <= 9.0].mean(axis=0) for row in d2])
    np.testing.assert_array_equal(ours, expected)
    assert (d2 == 9.0).any()  # points exactly one bandwidth away exist, and count
