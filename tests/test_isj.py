"""The improved Sheather-Jones bandwidth against KDEpy, and its identities."""

import jax
import numpy as np
import pytest

import jaxshift
from jaxshift import bandwidth as jbw


def _samples():
    rng = np.random.default_rng(0)
    return {
        "normal, range < 12": rng.normal(size=1000),
        "normal, range > 12": 5.0 * rng.normal(size=1000),
        "bimodal": np.concatenate([rng.normal(-2.0, 0.5, 500), rng.normal(2.0, 0.5, 500)]),
        "skewed": rng.gamma(2.0, 3.0, 1000),
    }


@pytest.mark.parametrize("name", list(_samples()))
def test_against_kdepy(name):
    """Within 2% of KDEpy's value with its scale bug undone.

    KDEpy 1.1.12 solves for ``t`` on its grid (the data's range plus
    ``max(0.5 range, 6)`` each side) and returns ``sqrt(t)`` times the data's range
    (tommyod/KDEpy #199, #201); Botev's ``h`` is ``sqrt(t)`` times the grid's width.
    """
    kdepy = pytest.importorskip("KDEpy")
    x = _samples()[name]
    grid = kdepy.utils.autogrid(x[:, None], boundary_abs=6, num_points=2**10, boundary_rel=0.5).ravel()
    ref = kdepy.bw_selection.improved_sheather_jones(x[:, None]) * (grid.max() - grid.min()) / np.ptp(x)
    ours = float(jbw.isj(x)[0])
    assert abs(ours / ref - 1.0) <= 0.02, (ours, ref)


def test_scale_equivariant_and_frequency_weights():
    x = _samples()["bimodal"]
    h = float(jbw.isj(x)[0])
    np.testing.assert_allclose(float(jbw.isj(1e-3 * x)[0]), 1e-3 * h, rtol=1e-4)
    np.testing.assert_allclose(float(jbw.isj(100.0 * x + 7.0)[0]), 100.0 * h, rtol=1e-4)
    # Integer weights bin exactly as repeated points, and N counts distinct values either way.
    rng = np.random.default_rng(1)
    w = rng.integers(1, 3, size=1000)
    np.testing.assert_allclose(jbw.isj(x, weights=w), jbw.isj(np.repeat(x, w)), rtol=1e-5)


def test_select_resolve_and_jit():
    x = _samples()["skewed"][:, None]
    h = jbw.isj(x)
    hs, info = jbw.select(x, method="isj")
    assert float(hs) == float(h[0]) and bool(info.converged)
    assert jbw.select(x, method="isj", per_feature=True)[0].shape == (1,)
    np.testing.assert_array_equal(jbw.resolve("isj", x), h)
    np.testing.assert_allclose(jax.jit(jbw.isj)(x), h, rtol=1e-6)
    # A string bandwidth, like the other rules.
    np.testing.assert_array_equal(jaxshift.kde_grid(x, bandwidth="isj", size=64).density,
                                  jaxshift.kde_grid(x, bandwidth=h, size=64).density)


@pytest.mark.parametrize(
    "data, weights, message",
    [
        (np.zeros((10, 2)), None, "isj is for 1-D data"),
        (np.ones(20), None, "at least two distinct data values"),
        (np.arange(5.0), np.array([0.0, 0.0, 0.0, 0.0, 1.0]), "at least two distinct"),
        (np.array([0.0, 1.0, 2.0, np.nan]), None, "data must be finite"),
        (np.arange(3.0), None, "too little data"),
    ],
)
def test_bad_input(data, weights, message):
    with pytest.raises(ValueError, match=message):
        jbw.isj(data, weights=weights)
