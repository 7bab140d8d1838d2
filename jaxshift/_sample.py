"""Drawing from a KDE: :func:`sample` (a data point by weight, plus kernel noise).

A radially symmetric kernel ``c k(|z|^2)`` is the law of ``z = r theta`` with ``theta``
uniform on the unit sphere and the radius ``r`` of density ``~ r^(d-1) k(r^2)``; the
noise added to a data point is ``z`` mapped by the bandwidth: ``h z`` for a scalar or
``[d]`` ``h``, ``L z`` for a bandwidth matrix ``H = L L^T`` (so its covariance is
``E[r^2] / d H``). The radii:

- gaussian: ``z`` is a standard normal vector;
- the compact family ``(1 - u)_+^p`` (flat/tophat ``p = 0``, epanechnikov, biweight,
  triweight, ...): ``r^2 ~ Beta(d/2, p + 1)`` (for the flat kernel, uniform in the ball);
- exponential ``e^-r``: ``r ~ Gamma(d, 1)``;
- linear ``(1 - r)_+``: ``r ~ Beta(d, 2)``;
- cosine ``cos(pi r / 2)``: ``r ~ Beta(d, 2)`` accepted with probability
  ``sin(x) / x``, ``x = pi (1 - r) / 2`` (``cos(pi r / 2) = sin(x) <= x``, so the
  proposal ``~ r^(d-1) (1 - r)`` is an envelope; at least 2 / pi of the proposals are
  accepted, in every ``d``); the rejected ones are drawn again in a ``while_loop``
  until every radius is accepted (exact, not truncated).
"""

from __future__ import annotations

import functools
import math

import jax
import jax.numpy as jnp
from jax import lax
from jax.typing import ArrayLike

from . import _validate
from ._scaling import whitening
from .kernels import Kernel, get_kernel

__all__ = ["sample"]

SAMPLED = ("gaussian", "flat", "epanechnikov", "biweight", "triweight", "exponential", "linear", "cosine")


def _has_sampler(k: Kernel) -> bool:
    return k.log_linear or k.power is not None or (k.name in ("exponential", "linear", "cosine")
                                                   and get_kernel(k.name) is k)


def _cosine_radius(key, n, d, dtype):
    def draw(key):
        k1, k2 = jax.random.split(key)
        r = jax.random.beta(k1, float(d), 2.0, (n,), dtype)
        x = 0.5 * math.pi * (1.0 - r)
        accept = jnp.where(x > 0, jnp.sin(x) / jnp.where(x > 0, x, 1.0), 1.0)
        return r, jax.random.uniform(k2, (n,), dtype) < accept

    def body(state):
        key, r, done = state
        key, sub = jax.random.split(key)
        new, ok = draw(sub)
        return key, jnp.where(done, r, new), done | ok

    init = (key, jnp.zeros((n,), dtype), jnp.zeros((n,), bool))
    return lax.while_loop(lambda s: ~jnp.all(s[2]), body, init)[1]


def _unit_noise(key, n, d, kernel: Kernel, dtype):
    """``[n, d]`` draws from the kernel at unit bandwidth, density ``c k(|z|^2)``."""
    k_dir, k_rad = jax.random.split(key)
    g = jax.random.normal(k_dir, (n, d), dtype)
    if kernel.log_linear:
        return g
    norm = jnp.sqrt(jnp.sum(g * g, axis=1, keepdims=True))
    e1 = jnp.zeros((d,), dtype).at[0].set(1.0)
    theta = jnp.where(norm > 0, g / jnp.where(norm > 0, norm, 1.0), e1)
    if kernel.power is not None:
        r = jnp.sqrt(jax.random.beta(k_rad, 0.5 * d, kernel.power + 1.0, (n,), dtype))
    elif kernel.name == "exponential":
        r = jax.random.gamma(k_rad, float(d), (n,), dtype)
    elif kernel.name == "linear":
        r = jax.random.beta(k_rad, float(d), 2.0, (n,), dtype)
    else:
        r = _cosine_radius(k_rad, n, d, dtype)
    return theta * r[:, None]


@functools.partial(jax.jit, static_argnames=("n", "kernel", "weighted"))
def _sample(key, data, bandwidth, weights, *, n, kernel, weighted):
    m, d = data.shape
    k_idx, k_noise = jax.random.split(key)
    p = weights / jnp.sum(weights) if weighted else None
    idx = jax.random.choice(k_idx, m, (n,), replace=True, p=p)
    z = _unit_noise(k_noise, n, d, kernel, data.dtype)
    if bandwidth.ndim == 2:
        chol, _ = whitening(bandwidth)
        noise = jnp.matmul(z, chol.T, precision=lax.Precision.HIGHEST)
    else:
        noise = z * bandwidth
    return data[idx] + noise


def sample(
    key: jax.Array,
    data: ArrayLike,
    n: int,
    *,
    bandwidth: ArrayLike,
    kernel: str | Kernel = "gaussian",
    weights: ArrayLike | None = None,
) -> jax.Array:
    """Draw ``n`` points from the kernel density estimate of ``data``.

    Each draw picks a data point with probability proportional to its weight, then
    adds the kernel's noise scaled by the bandwidth (see the module docstring for the
    radial laws). scikit-learn's ``KernelDensity.sample`` (gaussian, tophat) and
    scipy's ``gaussian_kde.resample`` draw from the same distributions (not the same
    numbers: the random streams differ). Pure and jit-able: ``n`` and ``kernel`` are
    static, everything else may be traced (``jax.jit(sample, static_argnums=2,
    static_argnames="kernel")``); ``vmap`` over keys gives independent batches.

    Args:
        key: a ``jax.random`` key.
        data: ``[n_data, d]`` sample points.
        n: how many points to draw (static, ``>= 0``).
        bandwidth: positive scalar, ``[d]``, or a ``[d, d]`` bandwidth matrix ``H``
            (the kernel's covariance, as :func:`~jaxshift.kde`; a scalar or ``[d]``
            ``h`` means ``H = diag(h^2)``: the noise is ``h z`` or ``L z``,
            ``H = L L^T``), or a rule name resolved by
            :func:`jaxshift.bandwidth.resolve` (concrete data only).
        kernel: a kernel with a sampler: ``"gaussian"``, ``"flat"``/``"tophat"``,
            ``"epanechnikov"``, ``"biweight"``, ``"triweight"`` (and the rest of the
            compact family, e.g. :func:`~jaxshift.shadow` of ``"triweight"``),
            ``"exponential"``, ``"linear"``, ``"cosine"``.
        weights: ``[n_data]`` non-negative sample weights (default all 1).

    Returns:
        ``[n, d]`` draws, in the float dtype of ``data``. The draws' covariance is the
        weighted data covariance (with weights ``p = w / sum w``, the biased
        ``sum_j p_j (y_j - mean)(y_j - mean)^T``) plus the kernel's, ``E[r^2] / d H``:
        ``H`` for the gaussian, ``H / (d + 2 p + 2)`` for ``(1 - u)_+^p`` (``H / 3``
        for the flat kernel in 1-D), ``(d + 1) H`` for the exponential,
        ``(d + 1) / ((d + 2)(d + 3)) H`` for the linear kernel.

    Raises:
        ValueError: for bad data, bandwidth, weights or ``n``, or a kernel without a
            sampler.

    Examples:
        >>> import jax, jax.numpy as jnp
        >>> draws = sample(jax.random.key(0), jnp.zeros((1, 2)), 4, bandwidth=1.0, kernel="flat")
        >>> draws.shape, bool(jnp.all(jnp.sum(draws**2, axis=1) <= 1.0))
        ((4, 2), True)
    """
    from .bandwidth import resolve

    k = get_kernel(kernel)
    if not _has_sampler(k):
        raise ValueError(
            f"kernel {k.name!r} has no sampler; kernels with one: {', '.join(map(repr, SAMPLED))}"
        )
    n = _validate.positive_int(n, "n", minimum=0)
    key = _validate.key(key)
    data = _validate.data(data)
    num, d = data.shape
    weights = _validate.weights(weights, num)
    bandwidth = resolve(bandwidth, data, weights=weights, kernel=k)
    dtype = _validate.float_dtype(data)
    bandwidth = _validate.bandwidth(bandwidth, d, dtype)
    data = jnp.asarray(data, dtype)
    weighted = weights is not None
    w = jnp.asarray(weights, dtype) if weighted else jnp.ones((num,), dtype)
    return _sample(key, data, bandwidth, w, n=n, kernel=k, weighted=weighted)
