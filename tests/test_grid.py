"""Grid mean shift (MeanShift++ and its refinement): the steps against NumPy transcriptions,
the estimator's algorithm="grid" against the exact estimator."""

import itertools

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from references import numpy_grid_climb, numpy_meanshiftpp, numpy_refinement
from sklearn.metrics import adjusted_rand_score

import jaxshift
from jaxshift import _grid
from jaxshift.cluster import InvalidParameterError, MeanShift, find_clusters, mean_shift
from jaxshift.kernels import get_kernel


@jax.jit
def _coarse(x, data, w, h):
    grid = _grid.build(data, w, h)
    return (*_grid.coarse_step(grid, x, h), grid.dense)



_fine = jax.jit(lambda x, data, w, h, *, s, kernel: _grid.fine_step(_grid.build(data, w, h / s, s), x, h, s, kernel),
                static_argnames=("s", "kernel"))
CENTRES = np.array([[2.0, 2.0, 3.0], [6.0, 7.0, 8.0], [5.0, 10.0, 13.0]])


def blobs(n=600, seed=0):
    rng = np.random.default_rng(seed)
    return np.concatenate([c + 0.6 * rng.standard_normal((n // 3, 3)) for c in CENTRES])


def _integer_case(outlier):
    rng = np.random.default_rng(1)
    data = rng.integers(0, 30, (300, 2)).astype(float)
    if outlier:  # the data then span more cells than points: the sorted-key path
        data[0] = [3.0e6, -3.0e6]
    w = rng.integers(0, 4, 300).astype(float)
    seeds = np.concatenate([data[rng.permutation(300)[:40]], [[-50.0, -50.0]]])  # the last: no data near
    return data, w, seeds


@pytest.mark.parametrize("outlier", [False, True])
def test_meanshiftpp_steps_are_numpys_exactly(outlier, x64):
    """Integer data, weights and bandwidth: every partial sum is an integer, so our steps
    and NumPy's are equal bit for bit, after each of several steps."""
    data, w, seeds = _integer_case(outlier)
    h = 3.0
    x = seeds.copy()
    for k in range(4):
        ours = jaxshift.grid_modes(seeds, data, bandwidth=h, weights=w, max_iter=k, tol=0.0, refine=0)
        np.testing.assert_array_equal(np.asarray(ours.modes), x)
        new, count = numpy_meanshiftpp(x, data, w, h)
        step, got, dense = _coarse(x, data, w, h)
        assert bool(dense) is not outlier
        np.testing.assert_array_equal(np.asarray(step), new)
        np.testing.assert_array_equal(np.asarray(got), count)
        x = new
    assert not bool(ours.converged[-1]) and np.array_equal(ours.modes[-1], seeds[-1])


@pytest.mark.parametrize("kernel", ["flat", "epanechnikov"])
def test_refinement_step_matches_numpy(kernel, x64):
    data, w, _ = _integer_case(False)
    data = data + np.random.default_rng(2).random(data.shape)
    x = data[:25] + 0.3
    h, s = np.array([3.0, 4.5]), 3
    new, count = _fine(x, data, w, h, s=s, kernel=get_kernel(kernel))
    ref_new, ref_count = numpy_refinement(x, data, w, h, s, kernel)
    np.testing.assert_allclose(np.asarray(new), ref_new, rtol=1e-12)
    np.testing.assert_allclose(np.asarray(count), ref_count, rtol=1e-12)


def test_refinement_extrapolation_keeps_the_fixed_points_and_saves_steps(x64):
    """Aitken's extrapolation in the refinement: against NumPy's plain refinement steps,
    iterated from the same stage-1 modes to their fixed points (steps below 1e-13), our
    modes at tol = 1e-3 h are at least as close to those fixed points as NumPy's plain
    steps stopped by the same rule, in fewer steps. A broad gaussian (h half its scale)
    converges slowly: rates ~0.94, up to 120 plain steps."""
    rng = np.random.default_rng(5)
    data = rng.normal(size=(3000, 2)) * [4.0, 5.0]
    w, h, s = np.ones(3000), 2.5, 3
    seeds, tol = data[::300], 1e-3 * 2.5
    stage1 = jaxshift.grid_modes(seeds, data, bandwidth=h, refine=0, tol=tol)
    x = np.asarray(stage1.modes)
    plain_steps, at_tol, done = np.zeros(len(x), int), x.copy(), np.zeros(len(x), bool)
    for _ in range(2000):
        new, _ = numpy_refinement(x, data, w, h, s, "flat")
        step = np.linalg.norm(new - x, axis=1)
        plain_steps += ~done
        at_tol[~done & (step <= tol)] = new[~done & (step <= tol)]
        done |= step <= tol
        x = new
        if np.all(step <= 1e-13):
            break
    assert np.all(step <= 1e-13)
    ours = jaxshift.grid_modes(seeds, data, bandwidth=h, refine=s, tol=tol)
    assert bool(np.all(ours.converged))
    ours_steps = np.asarray(ours.n_iter) - np.asarray(stage1.n_iter)
    assert plain_steps.max() >= 100 and ours_steps.max() <= 0.6 * plain_steps.max(), (ours_steps, plain_steps)
    err_ours = np.linalg.norm(np.asarray(ours.modes) - x, axis=1).max()
    err_plain = np.linalg.norm(at_tol - x, axis=1).max()
    assert err_ours <= err_plain <= 0.02 * h, (err_ours, err_plain)


def test_seeds_step_through_a_window_of_slots_as_numpy_climbs_them(x64):
    """On CPU a stage steps a few seeds at a time, in slots refilled as seeds stop
    (``_grid.window_rows``). Many seeds stopping after different numbers of steps (1 to
    7 here) and one without data near: MeanShift++ alone equals NumPy's climb seed by
    seed, bit for bit (integer data); the refinement's converged modes are fixed points
    of NumPy's refinement step within 2 tol, as without the window."""
    data, w, _ = _integer_case(False)
    seeds = np.concatenate([data[:200] + 0.5, [[-50.0, -50.0]]])
    h = 3.0
    assert _grid.window_rows(len(seeds), 9) < len(seeds)  # the driver does use the window
    assert _grid.window_rows(len(seeds), len(_grid._ball(2, 3))) < len(seeds)
    ours = jaxshift.grid_modes(seeds, data, bandwidth=h, weights=w, refine=0)
    modes, n_iter, converged = numpy_grid_climb(seeds, data, w, h)
    assert n_iter.min() == 1 and n_iter.max() >= 4
    np.testing.assert_array_equal(np.asarray(ours.modes), modes)
    np.testing.assert_array_equal(np.asarray(ours.n_iter), n_iter)
    np.testing.assert_array_equal(np.asarray(ours.converged), converged)
    fine = jaxshift.grid_modes(seeds, data + 0.25, bandwidth=h, weights=w + 1.0)
    conv = np.asarray(fine.converged)
    assert conv[:-1].all() and not conv[-1]
    step, _ = numpy_refinement(np.asarray(fine.modes)[:-1], data + 0.25, w + 1.0, h, 3, "flat")
    assert np.abs(step - np.asarray(fine.modes)[:-1]).max() <= 2 * 1e-3 * h


def test_grid_modes_jit_gradients_and_errors(x64):
    data = blobs(300, seed=3)
    seeds = data[::30]
    res = jaxshift.grid_modes(seeds, data, bandwidth=1.5, tol=1e-12)
    assert bool(res.converged.all())
    # A mode is a (weighted, cut) mean of the data near it: its derivative is that of the
    # last step, the cells held fixed; a central difference agrees where no cell changes.
    # Implicit derivatives at the fixed point (the cells held fixed; jax.grad traces the
    # whole climb) against central differences, small enough that no cell changes.
    e, eps = np.zeros_like(data), 1e-7
    e[5, 0] = 1.0
    @jax.jit  # one program for the four differences (h and the data traced), not op by op
    def f(h, d):
        return jnp.sum(jaxshift.grid_modes(seeds, d, bandwidth=h, tol=1e-12).modes[:, 0])

    gh, gd = jax.jit(jax.grad(f, argnums=(0, 1)))(1.5, data)
    np.testing.assert_allclose(gh, (f(1.5 + eps, data) - f(1.5 - eps, data)) / (2 * eps), rtol=1e-5, atol=1e-9)
    np.testing.assert_allclose(gd[5, 0], (f(1.5, data + eps * e) - f(1.5, data - eps * e)) / (2 * eps), rtol=1e-5,
                               atol=1e-9)
    with pytest.raises(ValueError, match="needs a compact kernel.*got kernel='gaussian'"):
        jaxshift.grid_modes(seeds, data, bandwidth=1.5, kernel="gaussian")
    with pytest.raises(ValueError, match="refine must be an integer >= 0"):
        jaxshift.grid_modes(seeds, data, bandwidth=1.5, refine=-1)
    with pytest.raises(ValueError, match="d=7 features gives 2,187; it is limited to d <= 6"):
        jaxshift.grid_modes(np.zeros((2, 7)), np.zeros((5, 7)), bandwidth=1.0)
    with pytest.raises(ValueError, match="limited to d <= 6"):
        MeanShift(bandwidth=1.0, algorithm="grid").fit(np.random.default_rng(0).random((20, 7)))


def test_too_many_cells_is_refused_or_flagged():
    data = np.array([[0.0, 0.0, 0.0], [1e6, 1e6, 1e6]], np.float32)
    with pytest.raises(ValueError, match=r"bandwidth=0.01 is too small for grid mean shift.*int32 key"):
        jaxshift.grid_modes(data, data, bandwidth=0.01)
    res = jax.jit(lambda d: jaxshift.grid_modes(d, d, bandwidth=0.01))(data)  # traced: flagged
    assert not bool(res.converged.any()) and np.array_equal(res.modes, data)


def test_estimator_agrees_with_scikit_learn_on_blobs():
    from sklearn.cluster import MeanShift as SkMeanShift

    X = blobs(300).astype(np.float32)
    exact = SkMeanShift(bandwidth=1.5).fit(X)
    for kwargs in [dict(), dict(bin_seeding=True)]:
        grid = MeanShift(bandwidth=1.5, algorithm="grid", **kwargs).fit(X)
        assert len(grid.cluster_centers_) == len(exact.cluster_centers_) == 3
        assert adjusted_rand_score(exact.labels_, grid.labels_) >= 0.95, kwargs
        gap = np.linalg.norm(exact.cluster_centers_[:, None] - grid.cluster_centers_[None], axis=-1).min(1)
        assert gap.max() <= 0.1 * 1.5, (kwargs, gap)
    # cluster_all=False: -1 exactly for points farther than one bandwidth from every centre.
    grid = MeanShift(bandwidth=1.5, algorithm="grid", cluster_all=False).fit(X)
    dist = np.linalg.norm(X[:, None] - grid.cluster_centers_[None], axis=-1).min(1)
    np.testing.assert_array_equal(grid.labels_ == -1, dist > 1.5)
    assert np.any(grid.labels_ == -1)
    # The pure pipeline climbs every seed (no thinning) to the same modes.
    res = jax.jit(lambda x: find_clusters(x, bandwidth=1.5, seeds=x, capacity=8, algorithm="grid"))(X)
    k = int(res.n_clusters)
    centres, labels = mean_shift(X, bandwidth=1.5, algorithm="grid")
    np.testing.assert_allclose(np.asarray(res.centres[:k]), centres, rtol=1e-5)
    np.testing.assert_array_equal(np.asarray(res.labels), labels)


def test_estimator_parameter():
    from sklearn.base import clone

    model = MeanShift(bandwidth=2.0, algorithm="grid")
    assert model.get_params()["algorithm"] == "grid" and repr(model) == "MeanShift(bandwidth=2.0, algorithm='grid')"
    assert clone(model).algorithm == "grid"
    assert model.set_params(algorithm="dense").algorithm == "dense"
    X = blobs(60)
    with pytest.raises(InvalidParameterError, match="algorithm must be one of 'auto', 'dense', 'pruned', 'grid'"):
        MeanShift(algorithm="fast").fit(X)
    with pytest.raises(InvalidParameterError, match="algorithm='grid' needs a compact kernel"):
        MeanShift(algorithm="grid", kernel="gaussian").fit(X)
    with pytest.raises(ValueError, match="algorithm must be one of"):
        find_clusters(X, bandwidth=1.0, seeds=X, capacity=4, algorithm="gird")


def test_segment_colors_on_the_grid():
    from sklearn.cluster import MeanShift as SkMeanShift

    rng = np.random.default_rng(4)
    palette = np.array([[20, 30, 200], [220, 40, 30], [40, 200, 60], [240, 240, 240]], np.uint8)
    img = palette[rng.integers(0, 4, (24, 32))].astype(np.int16) + rng.integers(-6, 7, (24, 32, 3))
    img = np.clip(img, 0, 255).astype(np.uint8)
    exact = SkMeanShift(bandwidth=30.0, bin_seeding=True).fit(img.reshape(-1, 3))
    grid = jaxshift.image.segment_colors(img, bandwidth=30.0, algorithm="grid")
    assert len(grid.palette) == len(exact.cluster_centers_) == 4
    assert adjusted_rand_score(exact.labels_, grid.labels.ravel()) == 1.0
    np.testing.assert_allclose(grid.palette, exact.cluster_centers_, atol=3.0)
    with pytest.raises(ValueError, match="algorithm must be one of"):
        jaxshift.image.segment_colors(img, bandwidth=30.0, algorithm="cells")


def test_offsets_cover_the_ball():
    # Every fine cell whose centre can lie within h + g/2 of a point of the centre cell.
    for d, s in itertools.product([1, 2, 3], [2, 3]):
        o = _grid._ball(d, s)
        f = np.random.default_rng(d).uniform(-0.5, 0.5, (200, d))
        r = s + 2
        allc = np.array(list(itertools.product(range(-r, r + 1), repeat=d)), float)
        reach = (np.linalg.norm(allc[None] - f[:, None], axis=-1) < s + 0.5).any(0)
        assert {tuple(v) for v in allc[reach]} <= {tuple(v) for v in o}
