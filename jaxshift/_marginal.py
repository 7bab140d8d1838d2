"""Marginals and box probabilities of a KDE: :func:`marginal`, :func:`integrate_box`.

- :func:`marginal` keeps some features: the data's columns and the bandwidth restricted
  to them (a scalar stays, ``h[features]``, ``H[features][:, features]``). For the
  gaussian kernel this *is* the marginal density (a gaussian's marginal is the
  gaussian of the restricted covariance), as scipy's ``gaussian_kde.marginal``. A
  radially symmetric compact kernel's marginal is not the same kernel in fewer
  dimensions (the flat kernel's 1-D marginal in 2-D is a semicircle), so for other
  kernels the result is the KDE of the kept features with that kernel, not the
  marginal of the original estimate.
- :func:`integrate_box` is the estimate's probability of an axis-aligned box,
  ``sum_j p_j P(lo <= y_j + noise <= hi)``. Exact (closed form) for the gaussian with
  a scalar or per-feature bandwidth in any ``d`` (a product of normal CDFs per data
  point) and for every kernel with a 1-D CDF in ``d = 1``; otherwise (a bandwidth
  matrix in ``d >= 2``, a radially symmetric kernel in ``d >= 2``) a Monte-Carlo
  estimate from ``n_samples`` draws of :func:`jaxshift.sample` when a ``key`` is
  given (standard error ``sqrt(P (1 - P) / n_samples)``), refused without one.

The 1-D CDFs, ``F(t) = int_{-inf}^t c k(s^2) ds`` at unit bandwidth:
gaussian ``Phi(t)``; ``(1 - u)_+^p``: ``1/2 + c_{p,1} sum_i C(p, i) (-1)^i t^(2i+1) / (2i+1)``
for ``|t| <= 1`` (flat: ``(1 + t) / 2``, epanechnikov: ``1/2 + 3/4 (t - t^3/3)``);
exponential: ``e^t / 2`` for ``t < 0``; linear: ``(1 + t)^2 / 2`` for ``t < 0``;
cosine: ``(1 + sin(pi t / 2)) / 2``. Every kernel is symmetric (``F(-t) = 1 - F(t)``),
and an interval right of 0 is computed as ``F(-a) - F(-b)`` so that tail
probabilities keep their relative precision (as ``1 - F`` would not).
"""

from __future__ import annotations

import functools
import math
from typing import NamedTuple

import jax
import jax.numpy as jnp
from jax import lax
from jax.scipy.special import erf, ndtr
from jax.typing import ArrayLike

from . import _validate
from ._sample import _has_sampler, _sample
from .kernels import Kernel, get_kernel

__all__ = ["Marginal", "integrate_box", "marginal"]


class Marginal(NamedTuple):
    """Result of :func:`marginal`: the data and bandwidth of the kept features.

    Its fields are the keyword arguments of the core functions, so it is used as
    ``kde(x, m.data, bandwidth=m.bandwidth)`` or ``kde(x, **m._asdict())`` (with the
    same ``weights`` as the full estimate).

    Attributes:
        data: ``[n, k]`` the kept columns, in the order of ``features``.
        bandwidth: ``[]`` (a scalar stays a scalar), ``[k]`` (per feature), or
            ``[k, k]`` (the bandwidth matrix restricted to the kept features).
    """

    data: jax.Array
    bandwidth: jax.Array


def marginal(
    data: ArrayLike,
    features,
    bandwidth: ArrayLike,
    *,
    weights: ArrayLike | None = None,
) -> Marginal:
    """The KDE of ``data`` restricted to some ``features``: scipy's ``gaussian_kde.marginal``.

    For the gaussian kernel the KDE of the result is the marginal density of the full
    estimate over the kept features, exactly (the bandwidth matrix ``H`` restricted,
    ``H[features][:, features]``). For other kernels it is the KDE of the kept
    features with the same kernel, which is not the marginal (see the module docstring).

    Args:
        data: ``[n, d]`` sample points.
        features: an int or a sequence of distinct ints in ``[-d, d)``, the features to
            keep, in the order wanted.
        bandwidth: positive scalar, ``[d]`` or a ``[d, d]`` bandwidth matrix (the
            kernel's covariance; ``h`` means ``H = diag(h^2)``), or a rule name
            (``"scott"``, ...) resolved on the full data (as scipy keeps the full
            estimate's covariance; not the rule applied to the kept features).
        weights: ``[n]`` sample weights, only to resolve a rule name (the marginal
            keeps the same weights; pass them to :func:`~jaxshift.kde` with it).

    Returns:
        :class:`Marginal` ``(data [n, k], bandwidth)``, in the float dtype of ``data``.

    Raises:
        ValueError: for bad data, bandwidth or features (out of range, repeated, empty).

    Examples:
        >>> import jax.numpy as jnp
        >>> H = jnp.array([[1.0, 0.5, 0.0], [0.5, 2.0, 0.1], [0.0, 0.1, 3.0]])
        >>> m = marginal(jnp.zeros((4, 3)), [2, 0], H)
        >>> m.data.shape, m.bandwidth.tolist()
        ((4, 2), [[3.0, 0.0], [0.0, 1.0]])
    """
    from .bandwidth import resolve

    data = _validate.data(data)
    n, d = data.shape
    keep = _validate.features(features, d)
    weights = _validate.weights(weights, n)
    bandwidth = resolve(bandwidth, data, weights=weights)
    dtype = _validate.float_dtype(data)
    h = _validate.bandwidth(bandwidth, d, dtype)
    idx = jnp.asarray(keep, jnp.int32)
    if h.ndim == 2:
        h = h[idx][:, idx]
    elif h.ndim == 1:
        h = h[idx]
    return Marginal(jnp.asarray(data, dtype)[:, idx], h)


# --------------------------------------------------------------------------- box probabilities

CDF_KERNELS = ("gaussian", "flat", "epanechnikov", "biweight", "triweight", "exponential", "linear", "cosine")


def _has_cdf(k: Kernel) -> bool:
    return _has_sampler(k)  # the same kernels: gaussian, the compact family, exponential, linear, cosine


def _centred(k: Kernel, t):
    """``F(t) - 1/2``, the 1-D CDF of the kernel at unit bandwidth (``d = 1``
    normalisation) less its value at 0, computed without forming ``F``: accurate near 0,
    where ``F(t)`` rounds to ``1/2`` (an odd function of ``t``)."""
    if k.log_linear:
        return 0.5 * erf(t * (1.0 / math.sqrt(2.0)))
    if k.name == "exponential" and k.power is None:
        return -0.5 * jnp.sign(t) * jnp.expm1(-jnp.abs(t))
    c = jnp.clip(t, -1.0, 1.0)
    if k.power is not None:
        coef = math.exp(k.log_norm(1))
        total = jnp.zeros_like(c)
        for i in range(k.power + 1):
            total = total + math.comb(k.power, i) * (-1.0) ** i * c ** (2 * i + 1) / (2 * i + 1)
        return jnp.clip(coef * total, -0.5, 0.5)
    if k.name == "linear":
        return 0.5 * c * (2.0 - jnp.abs(c))
    return 0.5 * jnp.sin(0.5 * math.pi * c)  # cosine


def _cdf(k: Kernel, t):
    """``F(t)``, the 1-D CDF of the kernel at unit bandwidth (``d = 1`` normalisation),
    accurate in the lower tail (small values)."""
    if k.log_linear:
        return ndtr(t)
    if k.name == "exponential" and k.power is None:
        e = 0.5 * jnp.exp(-jnp.abs(t))
        return jnp.where(t < 0, e, 1.0 - e)
    return 0.5 + _centred(k, t)


def _interval(k: Kernel, a, b):
    """``F(b) - F(a)`` for ``a <= b``: in the upper tail (``a > 1``) as ``F(-a) - F(-b)``,
    in the lower tail (``b < -1``) as is, both differences of small values; in between as
    ``G(b) - G(a)`` with ``G = F - 1/2`` (:func:`_centred`), so that a narrow interval near
    0 (a bandwidth far larger than the box) keeps its precision instead of cancelling
    ``1/2 - 1/2``."""
    upper, lower = a > 1.0, b < -1.0
    tails = jnp.where(upper, _cdf(k, -a) - _cdf(k, -b), _cdf(k, b) - _cdf(k, a))
    return jnp.where(upper | lower, tails, _centred(k, b) - _centred(k, a))


@functools.partial(jax.jit, static_argnames=("kernel",))
def _exact(lo, hi, data, h, weights, *, kernel):
    p = weights / jnp.sum(weights)

    def one(box):
        a, b = box
        probs = _interval(kernel, (a - data) / h, (b - data) / h)  # [n, d]
        return p @ jnp.prod(probs, axis=1)

    return lax.map(one, (lo, hi))


@functools.partial(jax.jit, static_argnames=("kernel", "n_samples", "weighted"))
def _monte_carlo(key, lo, hi, data, h, weights, *, kernel, n_samples, weighted):
    draws = _sample(key, data, h, weights, n=n_samples, kernel=kernel, weighted=weighted)
    low, high = jnp.minimum(lo, hi), jnp.maximum(lo, hi)
    sign = jnp.prod(jnp.sign(hi - lo), axis=1)

    def one(box):
        a, b = box
        return jnp.mean(jnp.all((draws >= a) & (draws <= b), axis=1).astype(data.dtype))

    return sign * lax.map(one, (low, high))


def integrate_box(
    lo: ArrayLike,
    hi: ArrayLike,
    data: ArrayLike,
    *,
    bandwidth: ArrayLike,
    kernel: str | Kernel = "gaussian",
    weights: ArrayLike | None = None,
    key: jax.Array | None = None,
    n_samples: int = 65536,
) -> jax.Array:
    """The KDE's probability of the box ``lo <= x <= hi``: scipy's ``integrate_box``.

    ``sum_j p_j P(lo <= y_j + noise <= hi)`` with ``p = w / sum w``. Closed form for
    the gaussian with a scalar or ``[d]`` bandwidth (a product of normal CDFs per data
    point, scipy's ``integrate_box_1d`` in 1-D and ``integrate_box`` in d-D) and for
    every kernel with a 1-D CDF in ``d = 1`` (see the module docstring); otherwise
    (a ``[d, d]`` bandwidth matrix or a non-gaussian kernel in ``d >= 2``) a
    Monte-Carlo estimate from ``n_samples`` draws of :func:`~jaxshift.sample` with
    ``key``, standard error ``sqrt(P (1 - P) / n_samples)``; without a ``key`` that
    case is refused. Bounds may be infinite. A reversed interval (``hi < lo`` on a
    feature) gives the oriented integral, the negative, as scipy's
    ``integrate_box_1d``. Differentiable in the bounds, ``data``, ``bandwidth`` and
    ``weights`` in the closed-form cases.

    Args:
        lo, hi: ``[d]`` one box or ``[m, d]`` a batch (a scalar when ``d = 1``).
        data: ``[n, d]`` sample points.
        bandwidth: positive scalar, ``[d]`` or a ``[d, d]`` bandwidth matrix (the
            kernel's covariance; ``h`` means ``H = diag(h^2)``; a ``[1, 1]`` matrix is
            ``h = sqrt(H)``), or a rule name resolved by
            :func:`jaxshift.bandwidth.resolve` (concrete data only).
        kernel: ``"gaussian"``, ``"flat"``/``"tophat"``, ``"epanechnikov"``,
            ``"biweight"``, ``"triweight"``, ``"exponential"``, ``"linear"``, ``"cosine"``.
        weights: ``[n]`` non-negative sample weights (default all 1).
        key: a ``jax.random`` key for the Monte-Carlo cases (ignored otherwise).
        n_samples: draws for the Monte-Carlo cases (static).

    Returns:
        ``[]`` for one box, ``[m]`` for a batch: the probability.

    Raises:
        ValueError: for bad arguments, a kernel without a CDF, or a Monte-Carlo case
            without ``key``.

    Examples:
        >>> import jax.numpy as jnp
        >>> round(float(integrate_box(-1.0, 1.0, jnp.zeros((1, 1)), bandwidth=1.0)), 4)  # Phi(1) - Phi(-1)
        0.6827
        >>> float(integrate_box(0.0, 5.0, jnp.zeros((1, 1)), bandwidth=2.0, kernel="flat"))
        0.5
    """
    from .bandwidth import resolve

    k = get_kernel(kernel)
    if not _has_cdf(k):
        raise ValueError(f"kernel {k.name!r} has no CDF here; kernels with one: {', '.join(map(repr, CDF_KERNELS))}")
    data = _validate.data(data)
    n, d = data.shape
    lo, single = _validate.bounds(lo, d, "lo")
    hi, single_hi = _validate.bounds(hi, d, "hi")
    if lo.shape != hi.shape:
        raise ValueError(f"lo and hi must have the same shape, got {tuple(lo.shape)} and {tuple(hi.shape)}")
    weights = _validate.weights(weights, n)
    bandwidth = resolve(bandwidth, data, weights=weights, kernel=k)
    dtype = _validate.float_dtype(data, lo, hi)
    h = _validate.bandwidth(bandwidth, d, dtype)
    data = jnp.asarray(data, dtype)
    lo, hi = jnp.asarray(lo, dtype), jnp.asarray(hi, dtype)
    w = jnp.ones((n,), dtype) if weights is None else jnp.asarray(weights, dtype)
    if d == 1 and h.ndim == 2:
        h = jnp.sqrt(h[0])
    if h.ndim < 2 and (d == 1 or k.log_linear):
        out = _exact(lo, hi, data, h, w, kernel=k)
    else:
        if key is None:
            why = "a bandwidth matrix" if h.ndim == 2 else f"the {k.name} kernel in {d} dimensions"
            raise ValueError(
                f"integrate_box has no closed form for {why}; pass key= (a jax.random key) for a Monte-Carlo "
                "estimate from n_samples draws of jaxshift.sample"
            )
        n_samples = _validate.positive_int(n_samples, "n_samples")
        key = _validate.key(key)
        out = _monte_carlo(key, lo, hi, data, h, w, kernel=k, n_samples=n_samples, weighted=weights is not None)
    return out[0] if single else out
