"""Radially symmetric kernels, described by their profile.

A kernel is a *profile* ``k(u)`` of the squared scaled distance
``u = |(x - y) / h|^2``. Its density in ``d`` dimensions is
``K(z) = c_{k,d} k(|z|^2)`` with ``c_{k,d}`` chosen so that ``K`` integrates to 1.

Mean shift with a kernel uses its profile as the weight profile ``g``: one step
moves ``x`` to ``sum_j w_j g(u_j) y_j / sum_j w_j g(u_j)``. That step climbs the
density of the kernel's *shadow* ``k_s`` (``g = -c k_s'``), see :func:`shadow`:
flat -> epanechnikov -> biweight -> triweight -> ..., gaussian -> gaussian.

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
            scikit-learn), ``None`` for the gaussian.
        log_norm: ``d -> log c_{k,d}``, the log of the constant that makes
            ``c_{k,d} k(|z|^2)`` integrate to 1 over ``R^d``.
        log_linear: ``log k(u) = -u / 2`` (the gaussian): the hot loop then takes a
            pair's log-weight as one matrix-product entry plus per-point and
            per-query terms, and sums in log space with a running maximum.
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

_REGISTRY = {
    "gaussian": GAUSSIAN,
    "flat": FLAT,
    "tophat": FLAT,
    "epanechnikov": EPANECHNIKOV,
    "biweight": BIWEIGHT,
    "triweight": TRIWEIGHT,
}
KERNEL_NAMES = tuple(_REGISTRY)


def get_kernel(kernel: str | Kernel) -> Kernel:
    """Resolve a kernel name (or pass a :class:`Kernel` through).

    Args:
        kernel: one of ``"gaussian"``, ``"flat"`` (alias ``"tophat"``),
            ``"epanechnikov"``, ``"biweight"``, ``"triweight"``, or a :class:`Kernel`.

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
    ``(1 - u)_+^4``, named ``"poly4"``); the gaussian is its own shadow.

    Args:
        kernel: a kernel name or :class:`Kernel`.

    Returns:
        The shadow :class:`Kernel`.

    Examples:
        >>> shadow("flat").name
        'epanechnikov'
        >>> shadow("gaussian").name
        'gaussian'
    """
    k = get_kernel(kernel)
    if k.power is None:
        return k
    return _poly_kernel(k.power + 1)
