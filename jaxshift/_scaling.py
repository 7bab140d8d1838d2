"""Points in bandwidth units: per-feature scales ``1 / h``, or the whitening of a
bandwidth matrix.

A ``[d, d]`` bandwidth ``H`` (the kernel's covariance) is factored ``H = L L^T``
(Cholesky); with ``W = L^{-T}``, ``|v W|^2 = v^T H^{-1} v``, the squared Mahalanobis
length, so a KDE or a mean-shift step with ``H`` is the scalar-bandwidth one on whitened
points. The hot loop (:mod:`jaxshift._pairwise`) maps points by :func:`apply` wherever
it would multiply them by ``1 / h``, and bounds box distances by :func:`box_sq`.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from jax import lax


def whitening(bandwidth):
    """``(L, W)`` of a ``[d, d]`` bandwidth matrix ``H`` (symmetrised): its Cholesky
    factor ``H = L L^T`` and ``W = L^{-T}``, so that ``|v W|^2 = v^T H^{-1} v``."""
    h = 0.5 * (bandwidth + bandwidth.T)
    chol = jnp.linalg.cholesky(h)
    eye = jnp.eye(h.shape[0], dtype=h.dtype)
    return chol, jax.scipy.linalg.solve_triangular(chol, eye, lower=True).T


def apply(v, sc):
    """Points ``v`` ``[..., d]`` in bandwidth units: ``v * sc`` (``sc`` ``[d]``), or
    whitened, ``v W`` (``sc`` the ``[d, d]`` ``W`` of a bandwidth matrix)."""
    if sc.ndim == 2:
        return jnp.matmul(v, sc, precision=lax.Precision.HIGHEST)
    return v * sc


def eig_bounds(sc):
    """``None`` for ``[d]`` scales; for a whitening ``W``, a lower bound on the least
    and an upper bound on the greatest eigenvalue of ``W W^T = H^{-1}`` (constants: no
    gradient), for :func:`box_sq`. Each is widened by its rounding (``eigvalsh`` is
    accurate to about ``d eps`` times the greatest), in the direction that keeps the
    reach tests of the hot loop conservative: a box pair is never judged farther
    apart, nor nearer, than it can be."""
    if sc.ndim != 2:
        return None
    d = sc.shape[0]
    w = lax.stop_gradient(sc)
    ev = jnp.linalg.eigvalsh(jnp.matmul(w, w.T, precision=lax.Precision.HIGHEST))
    slack = 8 * d * jnp.finfo(sc.dtype).eps * jnp.abs(ev[-1])
    return jnp.maximum(ev[0] * (1 - 1e-3) - slack, 0.0), ev[-1] * (1 + 1e-3) + slack


def box_sq(v, sc, bounds, upper: bool):
    """A bound on ``|apply(z, sc)|^2`` over the vectors ``z`` with ``|z_f| = v_f``
    (``v`` ``[..., d]``, non-negative): exact for ``[d]`` scales; for a whitening,
    ``|v|^2`` times the greatest (``upper``) or least eigenvalue of ``H^{-1}``
    (``bounds``, from :func:`eig_bounds`)."""
    if bounds is None:
        z = v * sc
        return jnp.sum(z * z, axis=-1)
    return jnp.sum(v * v, axis=-1) * (bounds[1] if upper else bounds[0])
