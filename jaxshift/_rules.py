"""The pieces of :mod:`jaxshift.bandwidth` below its public functions: the checks of the
objectives' arguments, and the rules of thumb (Scott, Silverman) as traceable functions."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from . import _validate


def _data_weights(data, weights, *, min_points=2):
    """Validated ``[n, d]`` data and ``[n]`` weights as JAX arrays of one float dtype."""
    data = _validate.data(data)
    n = data.shape[0]
    weights = _validate.weights(weights, n)
    dtype = _validate.float_dtype(data)
    if weights is None:
        if n < min_points:
            raise ValueError(f"data has {n} point(s) (shape {tuple(data.shape)}); need at least {min_points}")
    elif _validate.is_concrete(weights):
        k = int(np.sum(np.asarray(weights) > 0))
        if k < min_points:
            raise ValueError(f"weights have {k} positive value(s); need at least {min_points}")
    data = jnp.asarray(data, dtype)
    weights = jnp.ones((n,), dtype) if weights is None else jnp.asarray(weights, dtype)
    return data, weights


def _check_spread(data, weights):
    """A feature that is constant over the points of positive weight has no bandwidth."""
    if _validate.is_concrete(data) and _validate.is_concrete(weights):
        v = np.asarray(data)[np.asarray(weights) > 0]
        flat = np.max(v, axis=0) == np.min(v, axis=0)
        if np.any(flat):
            k = int(np.argmax(flat))
            raise ValueError(
                f"data feature {k} has zero spread (every point has value {v[0, k].item()!r}); no bandwidth fits it"
            )


def _bandwidth_arg(bandwidth, d, dtype):
    if isinstance(bandwidth, str):
        raise ValueError(
            f"bandwidth={bandwidth!r}: give numbers here (the objective is a function of the bandwidth); "
            "use jaxshift.bandwidth.select to choose one"
        )
    return _validate.bandwidth(bandwidth, d, dtype)


def _std_neff(data, weights):
    """Per-feature weighted standard deviation (``np.cov(aweights=w)``, unbiased) and
    the effective sample size ``1 / sum(p^2)``, ``p = w / sum(w)``."""
    p = weights / jnp.sum(weights)
    mean = p @ data
    dev = data - mean
    sum_p2 = jnp.sum(p * p)
    var = (p @ (dev * dev)) / (1.0 - sum_p2)
    return jnp.sqrt(var), 1.0 / sum_p2


def _scott_factor(neff, d):
    return neff ** (-1.0 / (d + 4))


def _silverman_factor(neff, d):
    return (neff * (d + 2) / 4.0) ** (-1.0 / (d + 4))


def _scott(data, weights):
    std, neff = _std_neff(data, weights)
    return _scott_factor(neff, data.shape[1]) * std


def _silverman(data, weights):
    std, neff = _std_neff(data, weights)
    return _silverman_factor(neff, data.shape[1]) * std


def _covariance_neff(data, weights):
    """The weighted data covariance (``np.cov(aweights=w)``, unbiased) ``[d, d]`` and the
    effective sample size, as scipy ``gaussian_kde`` computes them."""
    p = weights / jnp.sum(weights)
    dev = data - p @ data
    sum_p2 = jnp.sum(p * p)
    cov = jnp.matmul((dev * p[:, None]).T, dev, precision=jax.lax.Precision.HIGHEST) / (1.0 - sum_p2)
    return 0.5 * (cov + cov.T), 1.0 / sum_p2


def _full(factor, data, weights):
    cov, neff = _covariance_neff(data, weights)
    return factor(neff, data.shape[1]) ** 2 * cov
