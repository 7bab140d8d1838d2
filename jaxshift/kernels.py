"""Radially symmetric kernels, described by their profile.

A kernel is a *profile* ``k(u)`` of the squared scaled distance
``u = |(x - y) / h|^2``. Its density in ``d`` dimensions is
``K(z) = c_{k,d} k(|z|^2)`` with ``c_{k,d}`` chosen so that ``K`` integrates to 1.

Mean shift with a kernel uses its profile as the weight profile ``g``: one step
moves ``x`` to ``sum_j w_j g(u_j) y_j / sum_j w_j g(u_j)``. That step climbs the
density of the kernel's *shadow* ``k_s`` (``g = -c k_s'``), see :func:`shadow`:
flat -> epanechnikov -> biweight -> triweight -> ..., gaussian -> gaussian.

scikit-learn's ``KernelDensity`` kernels are all here: ``"gaussian"``, ``"tophat"``
(our ``"flat"``), ``"epanechnikov"``, and ``"exponential"`` (``exp(-r)``),
``"linear"`` (``(1 - r)_+``) and ``"cosine"`` (``cos(pi r / 2)`` for ``r < 1``) with
``r = sqrt(u)``, normalised in ``d`` dimensions as scikit-learn does, except the
cosine kernel in even ``d``, where scikit-learn's constant is wrong (its density
integrates to 0.363 in 2-D; see :func:`_cosine_log_norm`) and ours integrates to 1.
All three are mean-shift kernels too: their shadows ``k_s(u) = int_u^inf g(v) dv``
(scaled to ``k_s(0) = 1``) are convex and decreasing, so a step still climbs the
shadow's density, and ``shadow("exponential")`` etc. return them (names
``"exponential_shadow"``, ``"linear_shadow"``, ``"cosine_shadow"``). A shadow of a
weight profile ``g`` is normalised by ``c_{k_s,d} = pi c_{g,d+2} / k_s^{raw}(0)``
(integrate ``int_u^inf g`` over ``R^d`` by parts in polar coordinates). The shadows
themselves are kernels for :func:`jaxshift.kde` only: they have no shadow of their
own, and mean shift with one of them as its weight profile is refused.

The exponential and linear kernels have a kink at ``r = 0`` (``sqrt(u)``): their
derivatives at a data point are taken as 0 there (a subgradient), never NaN. The kink
also makes them sensitive to rounding: near ``u = 0`` an absolute error ``e`` in ``u``
moves ``k`` by ``~sqrt(e)``, and the hot loop's matrix-product form of ``u`` errs by
``~eps`` times the squared extent of a block. In float32 that costs ~1e-4 bandwidths in
a mean-shift step and up to ~1e-3 relative in a density where it is small (measured on
3,000 points in 3-D; the other kernels: ~2e-6 and ~3e-5); float64 makes both negligible.
(The difference form, exact for nearby points, was tried for them: 3-7x slower on CPU.)

References:
    Comaniciu & Meer (2002), "Mean shift: a robust approach toward feature space
    analysis", IEEE TPAMI 24(5). Cheng (1995), "Mean shift, mode seeking, and
    clustering", IEEE TPAMI 17(8).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from typing import NamedTuple

import jax.numpy as jnp

__all__ = ["Kernel", "get_kernel", "shadow", "KERNEL_NAMES"]


class Kernel(NamedTuple):
    """A radially symmetric kernel: a small, hashable, immutable value.

    Attributes:
        name: registry name, e.g. ``"gaussian"``.
        profile: ``k(u)``, the profile of the squared scaled distance ``u >= 0``.
        log_profile: ``log k(u)`` (``-inf`` outside the support).
        weight: ``g(u)``, the weight profile a mean-shift step uses. For every
            built-in kernel it is the kernel's own profile, and the step climbs
            the density of :func:`shadow` of the kernel.
        support: support radius in units of bandwidth (``inf`` for the gaussian).
        power: ``p`` for the compact family ``k(u) = (1 - u)_+^p`` (``p = 0`` is the
            flat kernel, with ``k(1) = 1``: the ``<=`` radius test of
            scikit-learn), ``None`` for every other kernel (the gaussian, the
            exponential, linear and cosine kernels and their shadows).
        log_norm: ``d -> log c_{k,d}``, the log of the constant that makes
            ``c_{k,d} k(|z|^2)`` integrate to 1 over ``R^d``.
        log_linear: ``log k(u) = -u / 2`` (the gaussian): the hot loop then takes a
            pair's log-weight as one matrix-product entry plus per-point and
            per-query terms, and sums in log space with a running maximum. Other
            kernels of infinite support (the exponential) sum in log space too,
            from ``log_profile`` of the squared distance.

    Every built-in profile has ``k(0) = 1`` and is non-increasing, so a pair's
    log-weight never exceeds its data weight's log (the hot loop relies on it).
    """

    name: str
    profile: Callable
    log_profile: Callable
    weight: Callable
    support: float
    power: int | None
    log_norm: Callable[[int], float]
    log_linear: bool = False


# --- gaussian: k(u) = exp(-u / 2); -2 k'(u) = k(u), so it is its own shadow ---

def _gaussian_profile(u):
    return jnp.exp(-0.5 * u)


def _gaussian_log_profile(u):
    return -0.5 * u


def _gaussian_log_norm(d: int) -> float:
    return -0.5 * d * math.log(2.0 * math.pi)


GAUSSIAN = Kernel(
    name="gaussian",
    profile=_gaussian_profile,
    log_profile=_gaussian_log_profile,
    weight=_gaussian_profile,
    support=math.inf,
    power=None,
    log_norm=_gaussian_log_norm,
    log_linear=True,
)

_POLY_NAMES = {0: "flat", 1: "epanechnikov", 2: "biweight", 3: "triweight"}


@functools.cache
def _poly_kernel(p: int) -> Kernel:
    """The compact kernel ``k(u) = (1 - u)_+^p``; cached, so equal powers are one value.

    ``integral over the unit ball of (1 - |z|^2)^p dz = pi^(d/2) Gamma(p+1) / Gamma(p+1+d/2)``.
    """

    def profile(u):
        inside = u <= 1.0
        if p == 0:
            return jnp.where(inside, 1.0, 0.0).astype(jnp.result_type(u, float))
        # Clamp so that 1 - u stays >= 0 and the unused branch has a finite gradient.
        return jnp.where(inside, jnp.maximum(1.0 - u, 0.0) ** p, 0.0)

    def log_profile(u):
        inside = u <= 1.0
        if p == 0:
            return jnp.where(inside, 0.0, -jnp.inf).astype(jnp.result_type(u, float))
        safe = jnp.where(inside, u, 0.0)
        return jnp.where(inside, p * jnp.log1p(-safe), -jnp.inf)

    def log_norm(d: int) -> float:
        return -(0.5 * d * math.log(math.pi) + math.lgamma(p + 1) - math.lgamma(p + 1 + 0.5 * d))

    return Kernel(
        name=_POLY_NAMES.get(p, f"poly{p}"),
        profile=profile,
        log_profile=log_profile,
        weight=profile,
        support=1.0,
        power=p,
        log_norm=log_norm,
    )


FLAT = _poly_kernel(0)
EPANECHNIKOV = _poly_kernel(1)
BIWEIGHT = _poly_kernel(2)
TRIWEIGHT = _poly_kernel(3)


# --- scikit-learn's exponential, linear and cosine kernels, profiles of r = sqrt(u) ---


def _root(u):
    """``sqrt(u)`` with a zero derivative at ``u = 0`` (a subgradient of the kink of
    ``|z|``), never ``inf * 0 = NaN``."""
    pos = u > 0
    return jnp.where(pos, jnp.sqrt(jnp.where(pos, u, 1.0)), 0.0)


def _log_unit_ball(d: int) -> float:
    """``log V_d``, the volume of the unit ball in ``R^d``."""
    return 0.5 * d * math.log(math.pi) - math.lgamma(0.5 * d + 1)


def _log_unit_sphere(d: int) -> float:
    """``log S_{d-1}``, the area of the unit sphere in ``R^d``."""
    return math.log(2.0) + 0.5 * d * math.log(math.pi) - math.lgamma(0.5 * d)


def _exponential_log_norm(d: int) -> float:
    # int_0^inf r^(d-1) e^-r dr = Gamma(d): scikit-learn's logSn(d - 1) + lgamma(d)
    return -(_log_unit_sphere(d) + math.lgamma(d))


def _linear_log_norm(d: int) -> float:
    # int_0^1 r^(d-1) (1 - r) dr = 1 / (d (d + 1)): scikit-learn's logVn(d) - log(d + 1)
    return -(_log_unit_ball(d) - math.log(d + 1.0))


def _cosine_moment(n: int) -> float:
    """``I_n = int_0^1 r^n cos(pi r / 2) dr``.

    By parts twice, with ``a = pi / 2``: ``I_n = 1/a - n (n - 1) / a^2 I_{n-2}``,
    from ``I_0 = 1/a`` and ``I_1 = 1/a - 1/a^2``. scikit-learn unrolls the same
    recursion but always ends it at ``I_0``: right for odd ``d`` (``n = d - 1``
    even), wrong for even ``d``, where its 2-D density integrates to 0.363 and its
    4-D constant is the log of a negative number (NaN).
    """
    a = 0.5 * math.pi
    if n == 0:
        return 1.0 / a
    if n == 1:
        return 1.0 / a - 1.0 / (a * a)
    return 1.0 / a - n * (n - 1) / (a * a) * _cosine_moment(n - 2)


def _cosine_log_norm(d: int) -> float:
    return -(_log_unit_sphere(d) + math.log(_cosine_moment(d - 1)))


def _exponential_profile(u):
    return jnp.exp(-_root(u))


def _exponential_log_profile(u):
    return -_root(u)


def _linear_profile(u):
    inside = u < 1.0
    return jnp.where(inside, jnp.maximum(1.0 - _root(jnp.where(inside, u, 0.0)), 0.0), 0.0)


def _linear_log_profile(u):
    inside = u < 1.0
    return jnp.where(inside, jnp.log1p(-_root(jnp.where(inside, u, 0.0))), -jnp.inf)


def _cosine_profile(u):
    inside = u < 1.0  # cos(pi / 2) rounds to 6e-17, not 0
    return jnp.where(inside, jnp.maximum(jnp.cos(0.5 * math.pi * _root(jnp.where(inside, u, 0.0))), 0.0), 0.0)


def _cosine_log_profile(u):
    inside = u < 1.0
    return jnp.where(inside, jnp.log(jnp.cos(0.5 * math.pi * _root(jnp.where(inside, u, 0.0)))), -jnp.inf)


EXPONENTIAL = Kernel("exponential", _exponential_profile, _exponential_log_profile, _exponential_profile,
                     math.inf, None, _exponential_log_norm)
LINEAR = Kernel("linear", _linear_profile, _linear_log_profile, _linear_profile, 1.0, None, _linear_log_norm)
COSINE = Kernel("cosine", _cosine_profile, _cosine_log_profile, _cosine_profile, 1.0, None, _cosine_log_norm)


# --- their shadows: k_s(u) = int_u^inf g(v) dv / (that at u = 0); with v = t^2, s = sqrt(u):
#     exponential: 2 (1 + s) e^-s, linear: (1 - s)^2 (1 + 2 s) / 3,
#     cosine: (4/pi) (2 sin^2(x/2) + (2/pi)(x cos x - sin x)), x = (pi/2)(1 - s)
#     (the last written around s = 1, where the direct form cancels).


def _exponential_shadow_log_profile(u):
    s = _root(u)
    return jnp.log1p(s) - s


def _linear_shadow_log_profile(u):
    inside = u < 1.0
    s = _root(jnp.where(inside, u, 0.0))
    return jnp.where(inside, 2.0 * jnp.log1p(-s) + jnp.log1p(2.0 * s), -jnp.inf)


_COSINE_SHADOW_0 = (4.0 / math.pi) * (1.0 - 2.0 / math.pi)  # int_0^1 2 t cos(pi t / 2) dt


def _cosine_shadow_raw(u):
    x = 0.5 * math.pi * (1.0 - _root(jnp.minimum(u, 1.0)))
    half = jnp.sin(0.5 * x)
    return (4.0 / math.pi) * (2.0 * half * half + (2.0 / math.pi) * (x * jnp.cos(x) - jnp.sin(x)))


def _cosine_shadow_profile(u):
    return jnp.where(u < 1.0, jnp.maximum(_cosine_shadow_raw(u), 0.0) / _COSINE_SHADOW_0, 0.0)


def _cosine_shadow_log_profile(u):
    inside = u < 1.0
    raw = _cosine_shadow_raw(jnp.where(inside, u, 0.0))
    return jnp.where(inside, jnp.log(jnp.maximum(raw, 0.0) / _COSINE_SHADOW_0), -jnp.inf)


def _shadow_kernel(weight: Kernel, log_profile, profile, raw_at_0: float) -> Kernel:
    """The shadow ``k_s = raw / raw_at_0``, ``raw(u) = int_u^inf g(v) dv``, of a weight
    profile ``g``. In polar coordinates, swapping the integrals,
    ``int_{R^d} raw(|z|^2) dz = S_{d-1} / d int g(v) v^{d/2} dv = 1 / (pi c_{g,d+2})``,
    so ``c_{k_s,d} = pi c_{g,d+2} raw_at_0``."""

    def log_norm(d: int) -> float:
        return math.log(math.pi) + weight.log_norm(d + 2) + math.log(raw_at_0)

    if profile is None:
        def profile(u):
            return jnp.exp(log_profile(u))
    return Kernel(f"{weight.name}_shadow", profile, log_profile, profile, weight.support, None, log_norm)


def _linear_shadow_profile(u):
    inside = u < 1.0
    s = _root(jnp.where(inside, u, 0.0))
    one = jnp.maximum(1.0 - s, 0.0)
    return jnp.where(inside, one * one * (1.0 + 2.0 * s), 0.0)


_SHADOWS = {
    "exponential": _shadow_kernel(EXPONENTIAL, _exponential_shadow_log_profile, None, 2.0),
    "linear": _shadow_kernel(LINEAR, _linear_shadow_log_profile, _linear_shadow_profile, 1.0 / 3.0),
    "cosine": _shadow_kernel(COSINE, _cosine_shadow_log_profile, _cosine_shadow_profile, _COSINE_SHADOW_0),
}

_REGISTRY = {
    "gaussian": GAUSSIAN,
    "flat": FLAT,
    "tophat": FLAT,
    "epanechnikov": EPANECHNIKOV,
    "biweight": BIWEIGHT,
    "triweight": TRIWEIGHT,
    "exponential": EXPONENTIAL,
    "linear": LINEAR,
    "cosine": COSINE,
}
KERNEL_NAMES = tuple(_REGISTRY)


def get_kernel(kernel: str | Kernel) -> Kernel:
    """Resolve a kernel name (or pass a :class:`Kernel` through).

    Args:
        kernel: one of ``"gaussian"``, ``"flat"`` (alias ``"tophat"``),
            ``"epanechnikov"``, ``"biweight"``, ``"triweight"``, ``"exponential"``,
            ``"linear"``, ``"cosine"``, or a :class:`Kernel`.

    Returns:
        The :class:`Kernel`.

    Raises:
        ValueError: for an unknown name; the message lists the valid ones.

    Examples:
        >>> get_kernel("tophat").name
        'flat'
    """
    if isinstance(kernel, Kernel):
        return kernel
    if isinstance(kernel, str) and kernel.lower() in _REGISTRY:
        return _REGISTRY[kernel.lower()]
    raise ValueError(
        f"kernel={kernel!r} is not a known kernel; valid names are {', '.join(map(repr, KERNEL_NAMES))}"
    )


def shadow(kernel: str | Kernel) -> Kernel:
    """The kernel whose density a mean-shift step with ``kernel`` climbs.

    A step with weight profile ``g`` climbs the KDE of the profile ``k`` with
    ``g = -c k'``: flat -> epanechnikov -> biweight -> triweight (->
    ``(1 - u)_+^4``, named ``"poly4"``); the gaussian is its own shadow; the
    exponential, linear and cosine kernels have the shadows ``"exponential_shadow"``
    (``(1 + r) e^{-r}``), ``"linear_shadow"`` (``(1 - r)^2 (1 + 2 r)``) and
    ``"cosine_shadow"`` (see the module docstring), ``r = sqrt(u)``.

    Args:
        kernel: a kernel name or :class:`Kernel`.

    Returns:
        The shadow :class:`Kernel`.

    Raises:
        ValueError: for a kernel with no known shadow (the three shadows above and
            user-built kernels): mean shift refuses it as a weight profile.

    Examples:
        >>> shadow("flat").name
        'epanechnikov'
        >>> shadow("gaussian").name
        'gaussian'
    """
    k = get_kernel(kernel)
    if k.log_linear:
        return k
    if k.power is not None:
        return _poly_kernel(k.power + 1)
    if k.name in _SHADOWS and get_kernel(k.name) is k:
        return _SHADOWS[k.name]
    raise ValueError(
        f"kernel {k.name!r} has no known shadow (the density a mean-shift step with it climbs), "
        "so mean shift refuses it; it is a kernel for kde/log_kde only"
    )
