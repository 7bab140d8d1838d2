"""Hypothesis property tests of the theory, for every kernel.

Arrays are built from a drawn seed and a few fixed sizes, so that examples reuse
compilations. Run in float64 so the tolerances can be tight.
"""

import jax
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import jaxshift

NAMES = ["gaussian", "flat", "epanechnikov", "biweight", "triweight", "exponential", "linear", "cosine"]
INFINITE = {name: jaxshift.kernels.get_kernel(name).support == np.inf for name in NAMES}


# Every example has N data points, so that the shapes (and the compilations) stay few:
# a smaller data set (7 points) is padded to N with copies of its points of zero weight
# (points that must not pull), so weights are an array then.
N = 24


@st.composite
def problems(draw):
    seed = draw(st.integers(0, 2**31 - 1))
    n = draw(st.sampled_from([7, N]))
    d = draw(st.sampled_from([1, 2, 3]))
    rng = np.random.default_rng(seed)
    k = draw(st.integers(1, 3))
    centres = rng.uniform(-5, 5, size=(k, d))
    data = centres[rng.integers(0, k, n)] + rng.normal(size=(n, d)) * rng.uniform(0.2, 2.0)
    # the padding: copies of the points, of zero weight (the box and the scale of the
    # data stay those of the n points)
    data = np.concatenate([data, data[rng.integers(0, n, N - n)]])
    # one value per feature, equal or not: the shapes (and compilations) stay few
    h = rng.uniform(0.5, 3.0, size=d) if draw(st.booleans()) else np.full(d, rng.uniform(0.5, 3.0))
    # seeds: some data points (the classic choice), some off the data
    seeds = np.concatenate([data[:4], data[:4] + rng.normal(size=(4, d)) * 0.5])
    # weights: none, positive, or with zeros (points that must not pull; the first point,
    # also the first seed, keeps a positive weight)
    kind = draw(st.sampled_from(["none", "positive", "zeros"]))
    w = None if kind == "none" else rng.uniform(0.1, 2.0, N)
    if kind == "zeros":
        w[rng.random(N) < 0.4] = 0.0
        w[0] = 1.0
    if n < N:  # the padding: zero weight
        w = np.ones(N) if w is None else w
        w[n:] = 0.0
    return data, seeds, h, w, rng


def in_reach(x, data, h, name, w):
    """``[m]`` bool: does a point of positive weight lie where the kernel's weight is
    positive (``u <= 1`` flat, ``u < 1`` the other compact kernels, anywhere for the
    gaussian and the exponential)?"""
    if INFINITE[name]:
        return np.ones(len(x), bool)
    u = np.sum(((x[:, None] - data[None]) / h) ** 2, axis=-1)
    inside = u <= 1 if name == "flat" else u < 1
    pulls = np.ones(len(data), bool) if w is None else w > 0
    return np.any(inside & pulls[None], axis=1)


# Block sizes that cut the N = 24 points (and 8 seeds) into several blocks (5 data
# blocks, 2 query blocks, padded), so that the blocked sums, the padding and the
# frozen-block skipping are exercised; and the default (one block). The choice is tied
# to the dimension (blocked for d = 1 and 3, the default for d = 2) so that each
# kernel and property compiles one program per dimension.
def blocks(d):
    return {} if d == 2 else dict(query_block=4, data_block=5)


@pytest.mark.parametrize("name", NAMES)
@given(problems())
def test_shadow_density_never_decreases_along_trajectory(name, problem):
    data, seeds, h, w, _ = problem
    blk = blocks(data.shape[1])
    with jax.enable_x64(True):
        path = jaxshift.trajectory(seeds, data, bandwidth=h, steps=8, kernel=name, weights=w, **blk)
        dens = np.asarray(
            jax.vmap(lambda x: jaxshift.kde(x, data, bandwidth=h, kernel=jaxshift.shadow(name), weights=w))(path)
        )
    steps = np.diff(dens, axis=0)
    assert np.all(steps >= -1e-12 * np.maximum(dens[:-1], 1e-300)), steps.min()
    # not vacuous: somebody climbs
    assert np.any(steps > 0) or np.allclose(path[0], path[-1])


@pytest.mark.parametrize("name", NAMES)
@given(problems())
def test_modes_are_fixed_points_of_shift(name, problem):
    data, seeds, h, w, _ = problem
    blk = blocks(data.shape[1])
    with jax.enable_x64(True):
        # tol one value per feature, all equal (the Euclidean length of the step, as a
        # scalar tol): the shape of the default tol, so that this program is also the
        # equivariance test's (max_iter is traced)
        tol = np.full(len(h), 1e-10 * np.max(h))
        res = jaxshift.find_modes(seeds, data, bandwidth=h, kernel=name, weights=w, tol=tol, max_iter=2000, **blk)
        moved = jaxshift.shift(res.modes, data, bandwidth=h, kernel=name, weights=w)
    conv = np.asarray(res.converged)
    reach = in_reach(np.asarray(res.modes), data, h, name, w)
    # Every seed converged, but one with no data in a compact kernel's reach, which
    # stays where it started and is reported as not converged.
    np.testing.assert_array_equal(conv, reach)
    stuck = ~reach
    np.testing.assert_array_equal(np.asarray(res.modes)[stuck], seeds[stuck])
    own = np.ones(4, bool) if w is None else w[:4] > 0  # seeds on points that pull
    assert own[0] and reach[:4][own].all()
    np.testing.assert_allclose(np.asarray(moved)[conv], np.asarray(res.modes)[conv], atol=1e-8 * np.max(h))


@pytest.mark.parametrize("name", NAMES)
@given(problems(), st.floats(0.1, 10.0), st.floats(-100.0, 100.0))
def test_translation_and_scale_equivariance(name, problem, scale, offset):
    data, seeds, h, w, _ = problem
    blk = blocks(data.shape[1])  # the fixed-point test's program (the default tol is [d])
    with jax.enable_x64(True):
        base = jaxshift.find_modes(seeds, data, bandwidth=h, kernel=name, weights=w, max_iter=50, **blk)
        moved = jaxshift.find_modes(
            seeds * scale + offset, data * scale + offset, bandwidth=h * scale, kernel=name, weights=w, max_iter=50,
            **blk,
        )
        np.testing.assert_allclose(moved.modes, np.asarray(base.modes) * scale + offset, atol=1e-7 * scale * (1 + abs(offset)))
        np.testing.assert_array_equal(moved.n_iter, base.n_iter)
        # densities scale by 1 / scale^d
        d = data.shape[1]
        ka = np.asarray(jaxshift.kde(seeds, data, bandwidth=h, kernel=name, weights=w))
        kb = np.asarray(jaxshift.kde(seeds * scale + offset, data * scale + offset, bandwidth=h * scale, kernel=name, weights=w))
        np.testing.assert_allclose(kb * scale**d, ka, rtol=1e-7, atol=1e-12)


@pytest.mark.parametrize("name", NAMES)
@given(problems())
def test_shifted_points_lie_in_data_bounding_box(name, problem):
    """A step lands in the box of the data that pull (positive weight); a point with no
    data in reach stays exactly where it is. The seeds on data points always have data
    in reach, so every example checks the box, and the far points the other case."""
    data, seeds, h, w, rng = problem
    blk = blocks(data.shape[1])
    data = data.astype(np.float32)  # the default dtype, the same values for NumPy
    x = np.concatenate([seeds, seeds + rng.normal(size=seeds.shape) * 10]).astype(np.float32)
    moved = np.asarray(jaxshift.shift(x, data, bandwidth=h, kernel=name, weights=w, **blk))
    reach = in_reach(x.astype(float), data.astype(float), h, name, w)
    pull = data if w is None else data[w > 0]
    lo, hi = pull.min(0), pull.max(0)
    eps = 1e-5 * (1 + np.abs(data).max())
    inside = np.all((moved >= lo - eps) & (moved <= hi + eps), axis=1)
    own = np.ones(4, bool) if w is None else w[:4] > 0  # seeds on points that pull
    assert own[0] and reach[:4][own].all()
    assert inside[reach].all()
    np.testing.assert_array_equal(moved[~reach], x[~reach])
    if INFINITE[name]:
        assert reach.all()


@pytest.mark.parametrize("name", NAMES)
@given(problems())
def test_permutation_invariance(name, problem):
    data, seeds, h, w, rng = problem
    perm = rng.permutation(len(data))
    wp = None if w is None else w[perm]
    a = jaxshift.shift(seeds, data, bandwidth=h, kernel=name, weights=w)
    b = jaxshift.shift(seeds, data[perm], bandwidth=h, kernel=name, weights=wp)
    np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-5)
    la = np.asarray(jaxshift.log_kde(seeds, data, bandwidth=h, kernel=name, weights=w))
    lb = np.asarray(jaxshift.log_kde(seeds, data[perm], bandwidth=h, kernel=name, weights=wp))
    np.testing.assert_allclose(la, lb, rtol=1e-5, atol=1e-5)
