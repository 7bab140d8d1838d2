"""Implicit gradients of find_modes (custom_jvp at the fixed point) against central finite
differences of the while-loop output, in float64, and their documented limits."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxshift


@pytest.fixture
def x64():
    with jax.enable_x64(True):
        yield


def blobs(seed=0):
    rng = np.random.default_rng(seed)
    return np.concatenate([rng.normal(size=(25, 2)), rng.normal(size=(25, 2)) * 0.7 + [3.5, 1.0]])


TOL = 1e-12  # converge to the fixed point far below the finite-difference step


def modes(seeds, data, h, weights=None, kernel="gaussian"):
    res = jaxshift.find_modes(seeds, data, bandwidth=h, weights=weights, kernel=kernel, tol=TOL, max_iter=3000)
    return res.modes


def central(f, v, eps):
    v = np.asarray(v, float)
    out = np.zeros(v.shape)
    for idx in np.ndindex(v.shape):
        e = np.zeros_like(v)
        e[idx] = eps
        out[idx] = (f(v + e) - f(v - e)) / (2 * eps)
    return out


def test_mode_gradients_match_finite_differences(x64):
    # Every derivative and every finite difference is one jitted program, called with
    # new values of one shape (the bandwidth as a float64 array, never a Python float).
    data = np.asarray(blobs())
    seeds = data[::6]
    res = jaxshift.find_modes(seeds, data, bandwidth=0.8, tol=TOL, max_iter=3000)
    assert bool(res.converged.all())
    coef = jnp.asarray(np.random.default_rng(1).normal(size=seeds.shape))

    def loss(h, d, w):
        return jnp.sum(coef * modes(seeds, d, h, w))

    f = jax.jit(loss)
    grad_hd = jax.jit(jax.grad(loss, argnums=(0, 1)))  # bandwidth and data (weights None)
    h0 = np.asarray(0.8)
    # scalar bandwidth: reverse and forward mode
    g, gd = grad_hd(h0, data, None)
    fd = central(lambda h: float(f(h, data, None)), h0, 1e-5)
    np.testing.assert_allclose(g, fd, rtol=1e-6)
    np.testing.assert_allclose(jax.jit(jax.jacfwd(loss))(h0, data, None), fd, rtol=1e-6)
    # per-feature bandwidth
    h2 = np.array([0.7, 1.1])
    np.testing.assert_allclose(grad_hd(h2, data, None)[0], central(lambda h: float(f(h, data, None)), h2, 1e-5),
                               rtol=1e-6)
    # data and weights (a few coordinates)
    for i, k in ((3, 0), (30, 1), (44, 0)):
        e = np.zeros_like(data)
        e[i, k] = 1e-5
        fd = (float(f(h0, data + e, None)) - float(f(h0, data - e, None))) / 2e-5
        np.testing.assert_allclose(gd[i, k], fd, rtol=1e-5, atol=1e-9)
    w = np.ones(len(data))
    gw = jax.jit(jax.grad(loss, argnums=2))(h0, data, w)
    for i in (2, 40):
        e = np.zeros_like(w)
        e[i] = 1e-5
        fd = (float(f(h0, data, w + e)) - float(f(h0, data, w - e))) / 2e-5
        np.testing.assert_allclose(gw[i], fd, rtol=1e-5, atol=1e-9)


def test_mode_gradient_equals_long_trajectory_gradient_and_jit_vmap(x64):
    data = jnp.asarray(blobs(2))
    seeds = data[:3]

    def by_modes(h):
        return jnp.sum(modes(seeds, data, h) ** 2)

    def by_path(h):  # reverse-mode through 400 unrolled steps: converges to the same derivative
        return jnp.sum(jaxshift.trajectory(seeds, data, bandwidth=h, steps=400)[-1] ** 2)

    h0 = jnp.asarray(0.9)  # the same shape and dtype as the entries of hs below
    jitted = jax.jit(jax.grad(by_modes))
    np.testing.assert_allclose(jitted(h0), jax.jit(jax.grad(by_path))(h0), rtol=1e-6)
    hs = jnp.array([0.8, 0.9])
    np.testing.assert_allclose(jax.jit(jax.vmap(jax.grad(by_modes)))(hs), [jitted(h) for h in hs], rtol=1e-9)
    # jit against the eager (un-jitted) gradient
    np.testing.assert_allclose(jitted(h0), jax.grad(by_modes)(h0), rtol=1e-9)


def test_mode_gradient_limits():
    data = blobs(3).astype(np.float32)
    seeds = data[:4]
    # seeds do not move a converged mode: zero derivative, not NaN
    gs = jax.jit(jax.grad(lambda s: jnp.sum(jaxshift.find_modes(s, data, bandwidth=0.8).modes)))(jnp.asarray(seeds))
    np.testing.assert_array_equal(gs, 0.0)
    # a compact kernel: modes are piecewise constant in the bandwidth (zero derivative a.e.)
    g = jax.jit(jax.grad(lambda h: jnp.sum(jaxshift.find_modes(seeds, data, bandwidth=h, kernel="flat").modes)))(1.3)
    assert g == 0.0
    # public behaviour unchanged: same modes, n_iter, converged as without differentiation
    res = jaxshift.find_modes(seeds, data, bandwidth=0.8)
    assert res.modes.dtype == jnp.float32 and res.n_iter.dtype == jnp.int32 and bool(res.converged.all())


def test_second_derivatives_match_finite_differences_of_the_gradient(x64):
    """Issue 10: derivatives of the derivative. One parameter vector moves the per-feature
    bandwidth, the data (along a fixed direction) and the weights, so one ``[4, 4]``
    Hessian holds every second and mixed partial; each column must equal central
    differences of the (correct) gradient. Before, the rule's own dependence on the modes
    was lost (they entered it as the loop's constants) and every second derivative was
    wrong (0.635 for 0.420 on d2/dh2 of a scalar bandwidth)."""
    data = jnp.asarray(blobs())
    seeds = data[::6]
    rng = np.random.default_rng(1)
    coef = jnp.asarray(rng.normal(size=seeds.shape))
    direction = jnp.asarray(rng.normal(size=data.shape))
    wdir = jnp.asarray(rng.uniform(size=len(data)))

    def loss(p):
        h = p[:2]
        d = data + p[2] * direction
        w = 1.0 + p[3] * wdir
        return jnp.sum(coef * modes(seeds, d, h, w))

    p0 = np.array([0.8, 0.9, 0.0, 0.0])
    grad = jax.jit(jax.grad(loss))
    eps = 1e-5
    fd = np.stack([(np.asarray(grad(p0 + eps * e)) - np.asarray(grad(p0 - eps * e))) / (2 * eps) for e in np.eye(4)],
                  axis=1)
    assert np.all(np.abs(fd) > 1e-3)  # every entry matters
    np.testing.assert_allclose(fd, fd.T, rtol=1e-5)  # a Hessian: symmetric
    for name, hess in [("hessian", jax.hessian), ("jacrev(jacrev)", lambda f: jax.jacrev(jax.jacrev(f))),
                       ("jacfwd(jacfwd)", lambda f: jax.jacfwd(jax.jacfwd(f)))]:
        np.testing.assert_allclose(jax.jit(hess(loss))(p0), fd, rtol=1e-5, atol=1e-8, err_msg=name)
