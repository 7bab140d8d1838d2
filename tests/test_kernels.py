import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import integrate

import jaxshift
from jaxshift.kernels import KERNEL_NAMES, Kernel, get_kernel, shadow

NAMES = ["gaussian", "flat", "epanechnikov", "biweight", "triweight", "exponential", "linear", "cosine"]


def test_registry_names_and_alias():
    assert set(NAMES) | {"tophat"} == set(KERNEL_NAMES)
    assert get_kernel("tophat") is get_kernel("flat")
    assert get_kernel("Gaussian") is get_kernel("gaussian")
    k = get_kernel("biweight")
    assert get_kernel(k) is k


@pytest.mark.parametrize("bad", ["gauss", "", 3, None])
def test_unknown_kernel_lists_valid_names(bad):
    with pytest.raises(ValueError, match=r"kernel=.*valid names are 'gaussian', 'flat'"):
        get_kernel(bad)


def test_public_functions_reject_unknown_kernel():
    with pytest.raises(ValueError, match="kernel='cauchy'"):
        jaxshift.kde(np.zeros(1), np.zeros((3, 1)), bandwidth=1.0, kernel="cauchy")


def test_shadow_chain():
    chain = [shadow(n).name for n in ["flat", "epanechnikov", "biweight", "triweight"]]
    assert chain == ["epanechnikov", "biweight", "triweight", "poly4"]
    assert shadow("gaussian") is get_kernel("gaussian")
    assert shadow("tophat") is get_kernel("epanechnikov")
    # cached: the same power is the same (hashable, jit-static) value
    assert shadow("triweight") is shadow(get_kernel("triweight"))


@pytest.mark.parametrize("name", NAMES)
def test_shadow_derivative_is_weight(name):
    """g = -c k_s' : the shadow's profile derivative is proportional to the weight profile."""
    k, s = get_kernel(name), shadow(name)
    u = jnp.linspace(0.05, 0.95, 19)
    dk = jax.vmap(jax.grad(s.profile))(u)
    ratio = -dk / k.weight(u)
    np.testing.assert_allclose(ratio, ratio[0], rtol=1e-5)
    assert ratio[0] > 0


@pytest.mark.parametrize("name", NAMES)
def test_kernel_is_hashable_static_value(name):
    k = get_kernel(name)
    assert isinstance(k, Kernel)
    assert hash(k) == hash(get_kernel(name))
    f = jax.jit(lambda u, kern: kern.profile(u), static_argnames="kern")
    np.testing.assert_allclose(f(jnp.array([0.25]), kern=k), k.profile(jnp.array([0.25])))


@pytest.mark.parametrize("name", NAMES)
def test_log_profile_matches_profile(name):
    k = get_kernel(name)
    u = jnp.array([0.0, 0.3, 0.999, 1.0, 1.5, 40.0])
    p = np.asarray(k.profile(u))
    lp = np.asarray(k.log_profile(u))
    with np.errstate(divide="ignore"):
        np.testing.assert_allclose(lp, np.log(p), rtol=1e-6, atol=1e-6)


def test_flat_boundary_is_inclusive():
    # scikit-learn's radius test is <=: a point at exactly one bandwidth counts
    assert float(get_kernel("flat").profile(jnp.array(1.0))) == 1.0
    assert float(get_kernel("flat").profile(jnp.array(1.0000001))) == 0.0


@pytest.mark.parametrize("name", NAMES + ["poly4"])
@pytest.mark.parametrize("d", [1, 2, 3, 5])
def test_normalising_constant_integrates_to_one(name, d):
    k = shadow("triweight") if name == "poly4" else get_kernel(name)
    surface = 2 * math.pi ** (d / 2) / math.gamma(d / 2)  # area of the unit sphere in R^d
    c = math.exp(k.log_norm(d))
    upper = 1.0 if k.support == 1.0 else 40.0

    def radial(r):
        return surface * r ** (d - 1) * c * float(k.profile(jnp.asarray(r * r, jnp.float32)))

    total, _ = integrate.quad(radial, 0.0, upper, limit=200)
    assert total == pytest.approx(1.0, rel=1e-5)
