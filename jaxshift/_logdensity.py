"""From kernel sums to a normalised log-density: the KDE's constant and a NaN-free log.

A KDE is ``f(x) = c_{k,d} / (W prod_l h_l) * S(x)`` (``c_{k,d} / (W det L) * S(x)`` for a
bandwidth matrix ``H = L L^T``) with ``S`` the kernel sum of the
hot loop (:func:`jaxshift._pairwise.kernel_sums`, returned as ``exp(log_scale) * s``)
and ``W`` the total weight. ``kde``/``log_kde`` (``W = sum w``), the leave-one-out
likelihood (``W = sum w - w_i`` per point) and LSCV (``W`` applied later) all
assemble ``log f`` from these two pieces.
"""

from __future__ import annotations

import jax.numpy as jnp

from ._scaling import whitening
from .kernels import Kernel


def log_normaliser(d: int, bandwidth, log_total, kernel: Kernel):
    """``log(c_{k,d} / (W prod_l h_l))`` for ``log_total = log W`` (scalar or per query).

    ``bandwidth`` is a scalar (isotropic, counted ``d`` times) or ``[d]``; for a
    ``[d, d]`` matrix ``H = L L^T``, ``log det L = log det H / 2`` takes the place of
    ``sum_l log h_l``.
    """
    if jnp.ndim(bandwidth) == 2:
        chol, _ = whitening(bandwidth)
        return kernel.log_norm(d) - log_total - jnp.sum(jnp.log(jnp.diagonal(chol)))
    log_h = jnp.broadcast_to(jnp.log(bandwidth), (d,))
    return kernel.log_norm(d) - log_total - jnp.sum(log_h)


def safe_log(s):
    """``log(s)``, ``-inf`` where ``s == 0``, without a NaN gradient there."""
    pos = s > 0
    return jnp.where(pos, jnp.log(jnp.where(pos, s, 1.0)), -jnp.inf)


def log_density(log_c, s):
    """``log_c + log(s)``: a log-density from its constant and its kernel sum.

    Where ``s == 0`` (no data within a compact kernel's reach) the value is ``-inf``
    and its gradient is 0 with respect to everything (query, data, bandwidth,
    weights): the density is 0 on a whole neighbourhood there, so the log-density is
    a constant ``-inf`` and no infinitesimal change improves it. (The constant alone
    would leak a gradient, ``-d/h`` for the bandwidth, that points the wrong way.)
    """
    pos = s > 0
    return jnp.where(pos, log_c + safe_log(s), -jnp.inf)
