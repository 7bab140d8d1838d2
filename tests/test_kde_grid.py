"""kde_grid (linear binning + one FFT) against the exact KDE at the grid points, KDEpy's
FFTKDE, finite differences, and its own identities (points on grid nodes, no wraparound)."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxshift
from jaxshift.kernels import get_kernel

KERNELS = ["gaussian", "flat", "epanechnikov", "biweight", "triweight"]
SIZES = {1: 256, 2: 48, 3: 20}


def numpy_kde(points, data, h, kernel, weights=None):
    """The exact KDE, transcribed: c_{k,d} / (W prod h) sum_j w_j k(|(x - y_j) / h|^2)."""
    n, d = data.shape
    h = np.broadcast_to(np.asarray(h, float), (d,))
    w = np.ones(n) if weights is None else np.asarray(weights, float)
    u = (((points[:, None, :] - data[None]) / h) ** 2).sum(-1)
    k = get_kernel(kernel)
    if k.power is None:
        prof = np.exp(-0.5 * u)
    else:
        prof = np.where(u <= 1.0, np.clip(1.0 - u, 0.0, None) ** k.power, 0.0)
    return math.exp(k.log_norm(d)) * (prof @ w) / (w.sum() * np.prod(h))


def grid_points(res):
    return np.stack(np.meshgrid(*[np.asarray(a, float) for a in res.axes], indexing="ij"), -1).reshape(
        -1, len(res.axes))


def _data(d, n=200, seed=0):
    return np.random.default_rng(seed).normal(size=(n, d))


@pytest.mark.parametrize("d", [1, 2, 3])
@pytest.mark.parametrize("kernel", KERNELS)
def test_matches_the_exact_kde_at_the_grid_points(d, kernel, x64):
    # Linear binning moves each point by less than a grid step delta: the error is of order
    # (delta / h)^2 for the smooth kernels and delta / h for the flat (discontinuous) one.
    data, h = _data(d), 0.8
    res = jaxshift.kde_grid(data, bandwidth=h, kernel=kernel, size=SIZES[d])
    dens = np.asarray(res.density).ravel()
    exact = numpy_kde(grid_points(res), data, h, kernel)
    delta = max(float(a[1] - a[0]) for a in res.axes) / h
    err = np.max(np.abs(dens - exact)) / exact.max()
    bound = 2.0 * delta if kernel == "flat" else 1.5 * delta**2
    assert err <= bound, (err, bound, delta)
    assert res.density.shape == (SIZES[d],) * d and res.density.dtype == jnp.float64


@pytest.mark.parametrize("d, kernel", [(2, "epanechnikov")])
def test_matches_jaxshift_kde(d, kernel):
    data, h = _data(d, seed=1).astype(np.float32), 0.9
    res = jaxshift.kde_grid(data, bandwidth=h, kernel=kernel, size=SIZES[d])
    exact = np.asarray(jaxshift.kde(grid_points(res).astype(np.float32), data, bandwidth=h, kernel=kernel))
    delta = max(float(a[1] - a[0]) for a in res.axes) / h
    err = np.max(np.abs(np.asarray(res.density).ravel() - exact)) / exact.max()
    assert err <= (2.0 * delta if kernel == "flat" else 1.5 * delta**2)


def test_the_target_error_on_a_fine_grid():
    """The issue's target: at most 1e-3 of the peak, gaussian, 1,024 points in 1-D."""
    data = np.concatenate([_data(1, 3000), 4.0 + 0.5 * _data(1, 1000, seed=3)])
    h = float(jaxshift.bandwidth.silverman(data)[0])
    res = jaxshift.kde_grid(data, bandwidth=h, size=1024)
    exact = numpy_kde(grid_points(res), data, h, "gaussian")
    assert np.max(np.abs(np.asarray(res.density) - exact)) <= 1e-3 * exact.max()


def test_oversampling_meets_the_target_error_in_2d():
    """The issue's 2-D target (at most 1e-3 of the peak on 256 x 256), against a chunked NumPy
    KDE at every 8th grid point: the default bins on a grid twice as fine, and errs at least
    four times less than binning on the output grid (what KDEpy computes), which misses it."""
    rng = np.random.default_rng(2)
    data = rng.standard_normal((100_000, 2))
    data[:30_000] = 3.0 + 0.5 * data[:30_000]  # the benchmark's mixture, at its bandwidth
    data = data.astype(np.float32)
    h = 0.0735
    errors = {}
    for oversample in (None, 1):
        res = jaxshift.kde_grid(data, bandwidth=h, size=256, oversample=oversample)
        pts = grid_points(res).reshape(256, 256, 2)[::8, ::8].reshape(-1, 2)
        exact = np.concatenate([numpy_kde(pts[i:i + 128], data.astype(float), h, "gaussian")
                                for i in range(0, len(pts), 128)])
        dens = np.asarray(res.density, float)[::8, ::8].ravel()
        errors[oversample] = np.max(np.abs(dens - exact)) / exact.max()
    assert errors[None] <= 1e-3 < errors[1], errors
    assert errors[None] <= errors[1] / 4, errors


@pytest.mark.parametrize("oversample", [1, 3])
def test_oversampled_output_nodes_are_the_fine_grids(oversample, x64):
    # Binning r times finer keeps the output grid, and the result is the fine grid's own
    # (oversample=1) density at every r-th node; points on output nodes stay exact.
    data, h, bounds = _data(2, 80, seed=7), np.array([0.6, 0.9]), [(-4.0, 4.0), (-3.5, 4.5)]
    res = jaxshift.kde_grid(data, bandwidth=h, size=17, bounds=bounds, oversample=oversample)
    fine = jaxshift.kde_grid(data, bandwidth=h, size=16 * oversample + 1, bounds=bounds, oversample=1)
    np.testing.assert_allclose(grid_points(res), grid_points(fine).reshape(
        16 * oversample + 1, 16 * oversample + 1, 2)[::oversample, ::oversample].reshape(-1, 2), atol=1e-12)
    np.testing.assert_allclose(res.density, np.asarray(fine.density)[::oversample, ::oversample],
                               rtol=1e-9, atol=1e-14)
    exact = numpy_kde(grid_points(res), data, h, "gaussian")
    err = np.max(np.abs(np.asarray(res.density).ravel() - exact)) / exact.max()
    assert err <= 1.5 * (0.5 / 0.6 / oversample) ** 2, err  # (delta / h)^2, delta the fine step


@pytest.mark.parametrize("kernel", KERNELS)
def test_points_on_grid_nodes_are_exact(kernel, x64):
    # No binning error: the binned KDE is then the exact one, for every kernel.
    size, bounds = 24, np.array([[-2.0, 2.6], [0.0, 4.6]])
    step = (bounds[:, 1] - bounds[:, 0]) / (size - 1)
    idx = np.random.default_rng(2).integers(0, size, size=(60, 2))
    data = bounds[:, 0] + idx * step
    w = np.random.default_rng(3).random(60)
    h = np.array([0.7, 1.1])
    res = jaxshift.kde_grid(data, bandwidth=h, kernel=kernel, weights=w, size=size, bounds=bounds)
    exact = numpy_kde(grid_points(res), data, h, kernel, w)
    np.testing.assert_allclose(np.asarray(res.density).ravel(), exact, rtol=1e-9, atol=1e-12 * exact.max())


@pytest.mark.parametrize("kernel", ["gaussian", "epanechnikov"])
def test_no_wraparound_with_data_at_both_ends(kernel, x64):
    # Data at both ends of a tight grid, with a kernel reaching past the ends: a circular
    # convolution without padding would fold one end's mass onto the other.
    data = np.array([[0.0], [0.05], [0.1], [9.9], [10.0]])
    h = 3.0
    res = jaxshift.kde_grid(data, bandwidth=h, kernel=kernel, size=64, bounds=[(0.0, 10.0)])
    exact = numpy_kde(grid_points(res), data, h, kernel)
    delta = float(res.axes[0][1] - res.axes[0][0]) / h
    assert np.max(np.abs(np.asarray(res.density) - exact)) <= 1.5 * delta**2 * exact.max()
    if kernel == "epanechnikov":  # nothing reaches the middle
        assert np.max(np.asarray(res.density)[28:36]) <= 1e-12 * exact.max()


def test_weights_and_per_feature_bandwidth(x64):
    data, w, h = _data(2, seed=4), np.random.default_rng(5).random(200), np.array([0.5, 1.2])
    res = jaxshift.kde_grid(data, bandwidth=h, weights=w, size=64)
    exact = numpy_kde(grid_points(res), data, h, "gaussian", w)
    delta = max(float(a[1] - a[0]) / hh for a, hh in zip(res.axes, h, strict=True))
    assert np.max(np.abs(np.asarray(res.density).ravel() - exact)) <= 1.5 * delta**2 * exact.max()
    # The default grid covers the data plus the gaussian's reach.
    lo, hi = data.min(0) - 4.29 * h, data.max(0) + 4.29 * h
    assert np.allclose([float(a[0]) for a in res.axes], lo, atol=0.01)
    assert np.allclose([float(a[-1]) for a in res.axes], hi, atol=0.01)


def test_against_kdepy_fftkde():
    kdepy = pytest.importorskip("KDEpy")
    rng = np.random.default_rng(6)
    x1 = np.concatenate([rng.normal(size=2000), rng.normal(3.0, 0.5, size=1000)])
    # oversample=1 is KDEpy's computation (binning on the output grid): the same numbers.
    grid, ref = kdepy.FFTKDE(bw=0.3).fit(x1).evaluate(512)
    ours = jaxshift.kde_grid(x1[:, None], bandwidth=0.3, size=512, bounds=[(grid[0], grid[-1])], oversample=1)
    assert np.max(np.abs(np.asarray(ours.density) - ref)) <= 1e-4 * ref.max()
    # KDEpy scales its kernels to unit variance: epanechnikov bw b is our h = sqrt(5) b.
    grid, ref = kdepy.FFTKDE(kernel="epa", bw=0.3).fit(x1).evaluate(512)
    ours = jaxshift.kde_grid(x1[:, None], bandwidth=0.3 * math.sqrt(5), kernel="epanechnikov", size=512,
                             bounds=[(grid[0], grid[-1])], oversample=1)
    assert np.max(np.abs(np.asarray(ours.density) - ref)) <= 1e-4 * ref.max()
    x2 = rng.normal(size=(3000, 2))
    pts, ref = kdepy.FFTKDE(bw=0.4).fit(x2).evaluate(64)
    bounds = [(pts[:, 0].min(), pts[:, 0].max()), (pts[:, 1].min(), pts[:, 1].max())]
    ours = jaxshift.kde_grid(x2, bandwidth=0.4, size=64, bounds=bounds, oversample=1)
    assert np.allclose(grid_points(ours), pts, atol=1e-5)  # the same grid, in the same order
    assert np.max(np.abs(np.asarray(ours.density).ravel() - ref)) <= 1e-4 * ref.max()


def _fd(f, x, eps):
    return (f(x + eps) - f(x - eps)) / (2 * eps)


def test_gradients_against_finite_differences(x64):
    data = _data(2, n=50, seed=7)
    w = np.random.default_rng(8).random(50) + 0.5
    bounds = jnp.array([[-4.0, 4.0], [-4.0, 4.0]])
    probe = np.random.default_rng(9).random((32, 32))

    @jax.jit  # one program for the loss, one for its gradient (eagerly: op by op)
    def loss(h, x, ww):
        return jnp.sum(probe * jaxshift.kde_grid(x, bandwidth=h, weights=ww, size=32, bounds=bounds).density)

    h = jnp.array([0.6, 0.9])
    gh, gx, gw = jax.jit(jax.grad(loss, argnums=(0, 1, 2)))(h, data, w)
    for j in range(2):
        np.testing.assert_allclose(gh[j], _fd(lambda t, j=j: loss(h + t * np.eye(2)[j], data, w), 0.0, 1e-6),
                                   rtol=1e-6)
    # The binning is linear in a point between grid nodes: a central difference is exact there.
    e = np.zeros_like(data)
    e[3, 1] = 1.0
    np.testing.assert_allclose(gx[3, 1], _fd(lambda t: loss(h, data + t * e, w), 0.0, 1e-5), rtol=1e-6)
    ew = np.eye(50)[11]
    np.testing.assert_allclose(gw[11], _fd(lambda t: loss(h, data, w + t * ew), 0.0, 1e-6), rtol=1e-6)
    # Scalar bandwidth with the default grid, which moves with the bandwidth.
    total = jax.jit(lambda hh: jaxshift.kde_grid(data, bandwidth=hh, size=32).density.sum())
    g = jax.jit(jax.grad(total))(0.7)
    fd = _fd(total, 0.7, 1e-6)
    np.testing.assert_allclose(g, fd, rtol=1e-5)


def test_jit_with_a_static_size_and_vmap_over_bandwidths():
    data = _data(1, seed=10).astype(np.float32)
    run = jax.jit(lambda x, h: jaxshift.kde_grid(x, bandwidth=h, size=128))
    eager = jaxshift.kde_grid(data, bandwidth=0.4, size=128)
    jitted = run(data, 0.4)
    np.testing.assert_allclose(jitted.density, eager.density, rtol=2e-5, atol=1e-7)
    np.testing.assert_allclose(jitted.axes[0], eager.axes[0], rtol=1e-6)
    bounds = jnp.array([[-5.0, 5.0]])
    sweep = jax.vmap(lambda h: jaxshift.kde_grid(data, bandwidth=h, size=128, bounds=bounds).density)(
        jnp.array([0.3, 0.6]))
    np.testing.assert_allclose(sweep[1], jaxshift.kde_grid(data, bandwidth=0.6, size=128, bounds=bounds).density,
                               rtol=2e-5, atol=1e-7)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(data=np.zeros((5, 4))), "d = 1, 2 or 3"),
        (dict(size=1), "size must be an integer >= 2"),
        (dict(size=2.5), "size must be an integer"),
        (dict(size=5000), r"at most 67,108,864 \(oversample \* \(size - 1\) \+ 1 <= 4096 in d=2\)"),
        (dict(size=3000, oversample=2), r"size=3000 with oversample=2 in d=2 needs an FFT of .* = 143,952,004"),
        (dict(oversample=0), "oversample must be an integer >= 1"),
        (dict(oversample=1.5), "oversample must be an integer"),
        (dict(bounds=[(0.0, 1.0)]), r"bounds must be \[\(lo, hi\)\] \* d, shape \(2, 2\)"),
        (dict(bounds=[(0.0, 1.0), (2.0, 2.0)]), "lo < hi in every feature"),
        (dict(bounds=[(-9.0, 9.0), (-0.1, 9.0)]), r"data point 1 \(\[1.0, -1.0\]\) lies outside bounds"),
        (dict(bounds=[(-9.0, 9.0), (0.0, np.inf)]), "bounds must be finite"),
        (dict(bandwidth=-1.0), "bandwidth must be positive"),
        (dict(kernel="parzen"), "not a known kernel"),
        (dict(weights=[1.0, -1.0, 1.0]), "weights must be non-negative"),
        (dict(bandwidth="isj"), "isj is for 1-D data"),
        (dict(data=np.array([[0.0, 0.0], [1.0, np.nan]])), r"data must be finite, got nan at index \(1, 1\)"),
    ],
)
def test_bad_input_is_refused_with_a_clear_message(kwargs, message):
    args = dict(data=np.array([[0.0, 0.0], [1.0, -1.0], [2.0, 1.0]]), bandwidth=1.0)
    args.update(kwargs)
    with pytest.raises(ValueError, match=message):
        jaxshift.kde_grid(args.pop("data"), **args)


@pytest.mark.skipif(jax.config.jax_enable_x64, reason="float64 data stay float64 with x64 on")
def test_float64_data_past_float32_range_is_refused_naming_the_value():
    """Without x64 the data are cast to float32 before the checks: a finite float64 value
    that the cast makes infinite is named as an overflow, not a silent NaN density."""
    data = np.array([[0.0], [1e300], [2.0]])
    with pytest.raises(ValueError, match=r"data value 1e\+300 at index \(1, 0\) overflows float32"):
        jaxshift.kde_grid(data, bandwidth=1.0)
