"""Bandwidth selection: rules of thumb, differentiable cross-validation, gradient-based search.

- :func:`scott`, :func:`silverman`: scipy's ``gaussian_kde`` factors times each
  feature's standard deviation (weighted: with the effective sample size); with
  ``full=True`` scipy's whole bandwidth matrix, the factor squared times the
  weighted data covariance (``gaussian_kde(...).covariance``).
- :func:`loo_log_likelihood`: the mean leave-one-out log-density (blocked, no
  ``[n, n]`` array, stable for every bandwidth, differentiable in it).
- :func:`lscv`: the least-squares cross-validation score (gaussian kernel, closed
  form of the squared-density integral).
- :func:`select`: minimises the chosen objective over the log-bandwidth with
  Newton steps (exact gradient and Hessian in forward mode, modified for
  indefinite curvature, backtracking line search), starting from
  Silverman's rule, all in one compiled ``lax.while_loop``.
- :func:`isj`: the improved Sheather-Jones plug-in (Botev et al. 2010), 1-D, on the
  binned FFT machinery (:mod:`jaxshift._isj`).
- :func:`resolve`: a string bandwidth (``"scott"``, ``"silverman"``,
  ``"likelihood"``, ``"lscv"``, ``"isj"``) to numbers; the core functions accept these
  strings through it.

statsmodels' ``KDEMultivariate(bw="cv_ml")`` and ``bw="cv_ls"`` optimise the same
objectives (gaussian product kernel = our per-feature bandwidth) with derivative-free
Nelder-Mead on Python loops; here the objectives are differentiated and the search
is compiled.

References:
    Silverman (1986), *Density Estimation for Statistics and Data Analysis*.
    Scott (1992), *Multivariate Density Estimation*.
    Li & Racine (2007), *Nonparametric Econometrics*, sections 1.3 and 1.5
    (likelihood and least-squares cross-validation).
    scipy ``gaussian_kde``; statsmodels ``KDEMultivariate``.
"""

from __future__ import annotations

import functools
import math
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax
from jax.typing import ArrayLike

from . import _crossval, _shard, _validate
from ._isj import isj
from ._newton import newton
from ._rules import (
    _bandwidth_arg,
    _check_spread,
    _data_weights,
    _full,
    _scott,
    _scott_factor,
    _silverman,
    _silverman_factor,
)
from .kernels import Kernel, get_kernel

__all__ = [
    "METHODS",
    "SelectInfo",
    "isj",
    "loo_log_likelihood",
    "lscv",
    "resolve",
    "scott",
    "select",
    "silverman",
]

METHODS = ("likelihood", "lscv", "scott", "silverman", "isj")
RULES = ("scott", "silverman")


class SelectInfo(NamedTuple):
    """Diagnostics of :func:`select`.

    Attributes:
        objective: ``[]`` the objective at the selected bandwidth: the mean
            leave-one-out log-likelihood (maximised) for ``"likelihood"``, the
            LSCV score (minimised) for ``"lscv"``, NaN for the rules of thumb.
        n_iter: ``[]`` int32, Newton steps taken (0 for the rules of thumb).
        converged: ``[]`` bool, whether the last Newton step (in log-bandwidth)
            was below ``tol`` at positive curvature (True for the rules of thumb).
    """

    objective: jax.Array
    n_iter: jax.Array
    converged: jax.Array


# --------------------------------------------------------------------------- rules of thumb


def _rule(fn, factor, data, weights, full):
    if not isinstance(full, (bool, np.bool_)):
        raise ValueError(f"full must be True or False, got {full!r}")
    data, weights = _data_weights(data, weights)
    _check_spread(data, weights)
    if not full:
        return fn(data, weights)
    out = _full(factor, data, weights)
    if _validate.is_concrete(out):
        ev = np.linalg.eigvalsh(np.asarray(out, np.float64))
        least = float(ev[0])
        if not least > data.shape[1] * float(jnp.finfo(out.dtype).eps) * float(ev[-1]):
            raise ValueError(
                "data covariance is singular (the features are linearly dependent over the points of "
                f"positive weight; least eigenvalue {least!r}): no full bandwidth matrix fits it"
            )
    return out


def scott(data: ArrayLike, weights: ArrayLike | None = None, *, full: bool = False) -> jax.Array:
    r"""Scott's rule: ``h_l = n_eff^{-1/(d+4)} sigma_l`` for each feature ``l``.

    ``n_eff = (sum w)^2 / sum w^2`` is the effective sample size (``n`` unweighted)
    and ``sigma_l`` the weighted standard deviation with the unbiased
    (``np.cov(aweights=w)``) normalisation: scipy ``gaussian_kde``'s
    ``scotts_factor()`` times the square root of the diagonal of its data
    covariance. With ``full=True``, scipy's whole bandwidth matrix
    ``H = n_eff^{-2/(d+4)} Sigma`` (``gaussian_kde(data.T, weights=w).covariance``,
    ``Sigma`` the weighted data covariance), the kernel's covariance that the core
    functions accept as a ``[d, d]`` bandwidth.

    Args:
        data: ``[n, d]`` sample points (at least two).
        weights: ``[n]`` non-negative sample weights (default all 1).
        full: return the ``[d, d]`` matrix instead of ``[d]`` per-feature bandwidths.

    Returns:
        ``[d]`` per-feature bandwidths (``[d, d]`` with ``full=True``), in the float
        dtype of ``data``.

    Raises:
        ValueError: for bad data or weights, fewer than two points of positive
            weight, or a feature with zero spread (with ``full=True``, also a
            singular data covariance).

    Examples:
        >>> import numpy as np
        >>> x = np.array([[0.0], [1.0], [2.0], [3.0]])
        >>> round(float(scott(x)[0]), 4)  # 4 ** (-1 / 5) * std(x, ddof=1)
        0.9784
        >>> round(float(scott(x, full=True)[0, 0]), 4)  # its square
        0.9573
    """
    return _rule(_scott, _scott_factor, data, weights, full)


def silverman(data: ArrayLike, weights: ArrayLike | None = None, *, full: bool = False) -> jax.Array:
    r"""Silverman's rule: ``h_l = (n_eff (d + 2) / 4)^{-1/(d+4)} sigma_l``.

    scipy ``gaussian_kde``'s ``silverman_factor()`` times each feature's standard
    deviation; see :func:`scott` for ``n_eff``, ``sigma_l`` and ``full=True`` (the
    factor squared times the weighted data covariance, scipy's ``covariance``).

    Args:
        data: ``[n, d]`` sample points (at least two).
        weights: ``[n]`` non-negative sample weights (default all 1).
        full: return the ``[d, d]`` matrix instead of ``[d]`` per-feature bandwidths.

    Returns:
        ``[d]`` per-feature bandwidths (``[d, d]`` with ``full=True``), in the float
        dtype of ``data``.

    Raises:
        ValueError: as :func:`scott`.

    Examples:
        >>> import numpy as np
        >>> x = np.array([[0.0], [1.0], [2.0], [3.0]])
        >>> round(float(silverman(x)[0]), 4)  # (4 * 3 / 4) ** (-1 / 5) * std(x, ddof=1)
        1.0363
    """
    return _rule(_silverman, _silverman_factor, data, weights, full)


# --------------------------------------------------------------------------- objectives


_STATIC = ("kernel", "query_block", "data_block", "mesh", "data_axes")


@functools.partial(jax.jit, static_argnames=_STATIC)
def _loo_jit(data, h, w, *, kernel, query_block, data_block, mesh=None, data_axes=()):
    return _crossval.spread(lambda s, h: _crossval.loo(s, h, kernel, query_block, data_block),
                            data, w, mesh, data_axes, h)


@functools.partial(jax.jit, static_argnames=("query_block", "data_block", "mesh", "data_axes"))
def _lscv_jit(data, h, w, *, query_block, data_block, mesh=None, data_axes=()):
    return _crossval.spread(lambda s, h: _crossval.lscv(s, h, query_block, data_block), data, w, mesh, data_axes, h)


def loo_log_likelihood(
    data: ArrayLike,
    *,
    bandwidth: ArrayLike,
    kernel: str | Kernel = "gaussian",
    weights: ArrayLike | None = None,
    query_block: int | None = None,
    data_block: int | None = None,
    mesh=None,
    data_axes: str | tuple[str, ...] | None = None,
) -> jax.Array:
    r"""Mean leave-one-out log-density: the likelihood cross-validation objective.

    .. math::
        \ell(h) = \frac{1}{W} \sum_i w_i \log f_{-i}(x_i), \qquad
        f_{-i}(x_i) = \frac{\sum_{j \ne i} w_j K_h(x_i - x_j)}{W - w_i}

    with ``W = sum w`` and ``K_h`` the normalised kernel (for a per-feature
    gaussian bandwidth, the product kernel of statsmodels' ``cv_ml``, whose
    objective is ``n l(h)`` up to a constant). The self pair is masked inside
    the blocked sum (no ``[n, n]`` array), before the running maximum of the
    stable log-sum-exp, so ``l`` is finite and its gradient is not NaN for
    any bandwidth whose log-densities are representable (gaussian kernel), also
    when isolated points' densities underflow. A compact kernel gives ``-inf``
    when some point has no other point within one bandwidth; that point's term
    then has gradient 0 (see :func:`jaxshift.log_kde`).

    Differentiable with respect to ``bandwidth`` (scalar or ``[d]``), ``data``
    and ``weights``; ``jit`` and ``vmap`` over bandwidths compose with it.

    Args:
        data: ``[n, d]`` sample points (at least two of positive weight).
        bandwidth: positive scalar or ``[d]``, or a ``[d, d]`` bandwidth matrix ``H``
            (the kernel's covariance; ``h`` means ``H = diag(h^2)``).
        kernel: kernel name or :class:`~jaxshift.kernels.Kernel`.
        weights: ``[n]`` non-negative sample weights (default all 1).
        query_block, data_block: block sizes (static).
        mesh, data_axes: spread the ``O(n^2)`` sums over a device mesh (static; see
            :func:`jaxshift.kde` and ``docs/scaling.md``): the points as queries are
            split over the mesh axes not in ``data_axes``, as data over ``data_axes``
            (padded with zero-weight points). ``data_axes`` without ``mesh``: inside
            the caller's ``jax.shard_map``, ``data`` and ``weights`` are this device's
            slice of the points split over these axes; the result is that of all of
            them (every device takes all points as queries against its own).

    Returns:
        ``[]`` the mean leave-one-out log-density.

    Raises:
        ValueError: for bad data, bandwidth, weights or kernel.

    Examples:
        >>> import jax, jax.numpy as jnp
        >>> x = jnp.array([[0.0], [1.0]])
        >>> float(loo_log_likelihood(x, bandwidth=1.0))  # log N(1; 0, 1)
        -1.418938...
        >>> float(jax.grad(lambda h: loo_log_likelihood(x, bandwidth=h))(1.0))  # (1 - h^2) / h^3
        0.0
    """
    k = get_kernel(kernel)
    qb, db = _validate.block_sizes(query_block, data_block)
    mesh, data_axes = _shard.check(mesh, data_axes)
    data, w = _data_weights(data, weights)
    h = _bandwidth_arg(bandwidth, data.shape[1], data.dtype)
    return _loo_jit(data, h, w, kernel=k, query_block=qb, data_block=db, mesh=mesh, data_axes=data_axes)


def lscv(
    data: ArrayLike,
    *,
    bandwidth: ArrayLike,
    kernel: str | Kernel = "gaussian",
    weights: ArrayLike | None = None,
    query_block: int | None = None,
    data_block: int | None = None,
    mesh=None,
    data_axes: str | tuple[str, ...] | None = None,
) -> jax.Array:
    r"""Least-squares cross-validation score (to minimise), gaussian kernel.

    .. math::
        \mathrm{LSCV}(h) = \int \hat f_h^2 - \frac{2}{W} \sum_i w_i f_{-i}(x_i),
        \qquad \int \hat f_h^2 = \frac{1}{W^2} \sum_{i, j} w_i w_j K_{\sqrt 2 h}(x_i - x_j)

    (the convolution of two gaussians is a gaussian), an unbiased estimate of the
    integrated squared error up to a constant; unweighted it is exactly
    statsmodels' ``KDEMultivariate.imse`` (``cv_ls``). Blocked, stable, and
    differentiable in ``bandwidth``, ``data`` and ``weights``. Both terms scale as
    ``h^-d``: in high dimension with a small bandwidth the score can exceed the
    float range, and is then ``inf`` or ``-inf`` (never NaN); :func:`select` works
    in units of its value at the start, so its search is not affected.

    Args:
        data: ``[n, d]`` sample points (at least two of positive weight).
        bandwidth: positive scalar or ``[d]``, or a ``[d, d]`` bandwidth matrix ``H``
            (the kernel's covariance; ``h`` means ``H = diag(h^2)``).
        kernel: ``"gaussian"`` (the only kernel whose squared-density integral is
            implemented in closed form).
        weights: ``[n]`` non-negative sample weights (default all 1).
        query_block, data_block: block sizes (static).
        mesh, data_axes: spread the ``O(n^2)`` sums over a device mesh (static; see
            :func:`jaxshift.kde` and ``docs/scaling.md``): the points as queries are
            split over the mesh axes not in ``data_axes``, as data over ``data_axes``
            (padded with zero-weight points). ``data_axes`` without ``mesh``: inside
            the caller's ``jax.shard_map``, ``data`` and ``weights`` are this device's
            slice of the points split over these axes; the result is that of all of
            them (every device takes all points as queries against its own).

    Returns:
        ``[]`` the LSCV score.

    Raises:
        ValueError: for bad data, bandwidth or weights, or a kernel other than the
            gaussian.

    Examples:
        >>> import jax.numpy as jnp
        >>> x = jnp.array([[0.0], [1.0]])
        >>> round(float(lscv(x, bandwidth=1.0)), 4)  # (1 + e^-1/4) / (4 sqrt(pi)) - 2 N(1; 0, 1)
        -0.233
    """
    k = get_kernel(kernel)
    if k.name != "gaussian":
        raise ValueError(f"kernel={kernel!r}: lscv has a closed form only for the gaussian kernel")
    qb, db = _validate.block_sizes(query_block, data_block)
    mesh, data_axes = _shard.check(mesh, data_axes)
    data, w = _data_weights(data, weights)
    h = _bandwidth_arg(bandwidth, data.shape[1], data.dtype)
    return _lscv_jit(data, h, w, query_block=qb, data_block=db, mesh=mesh, data_axes=data_axes)


# --------------------------------------------------------------------------- selection


@functools.partial(jax.jit, static_argnames=("method", "per_feature") + _STATIC)
def _select(data, w, tol, max_iter, *, method, kernel, per_feature, query_block, data_block, mesh=None,
            data_axes=()):
    def spread(fn, h):
        return _crossval.spread(fn, data, w, mesh, data_axes, h)

    # Inside the caller's shard_map (data_axes, no mesh), the start is the whole data's.
    gathered = () if mesh is not None else data_axes
    h0 = _silverman(_shard.gather(data, gathered), _shard.gather(w, gathered))
    if not per_feature:
        h0 = jnp.exp(jnp.mean(jnp.log(h0)))
    p = data.shape[1] if per_feature else 1

    def bandwidth_of(z):
        return h0 * jnp.exp(z if per_feature else z[0])

    z0 = _shard.vary(jnp.zeros((p,), data.dtype), h0)  # inside shard_map: as the start varies
    if method == "likelihood":
        def fun(z):
            return -spread(lambda s, h: _crossval.loo(s, h, kernel, query_block, data_block), bandwidth_of(z))
    else:
        unit = lax.stop_gradient(
            spread(lambda s, h: _crossval.lscv_parts(s, h, query_block, data_block)[0], bandwidth_of(z0)))

        def fun(z):
            return spread(lambda s, h: _crossval.lscv(s, h, query_block, data_block, unit), bandwidth_of(z))

    z, f, it, done = newton(fun, z0, tol, max_iter)
    objective = -f if method == "likelihood" else spread(
        lambda s, h: _crossval.lscv(s, h, query_block, data_block), bandwidth_of(z))
    return bandwidth_of(z), SelectInfo(objective, it, done)


def select(
    data: ArrayLike,
    *,
    method: str = "likelihood",
    kernel: str | Kernel = "gaussian",
    per_feature: bool = False,
    weights: ArrayLike | None = None,
    max_iter: int = 50,
    tol: float | None = None,
    query_block: int | None = None,
    data_block: int | None = None,
    mesh=None,
    data_axes: str | tuple[str, ...] | None = None,
) -> tuple[jax.Array, SelectInfo]:
    """Choose a bandwidth: cross-validation by gradient-based search, or a rule of thumb.

    ``"likelihood"`` maximises :func:`loo_log_likelihood`, ``"lscv"`` minimises
    :func:`lscv`; both over the log-bandwidth, starting from :func:`silverman`,
    with Newton steps (exact gradient and Hessian in forward mode; compiled: one
    ``lax.while_loop``), each objective
    evaluation a blocked ``O(n^2)`` sum with no ``[n, n]`` array. It typically
    converges in 3 to 6 steps; it is fully traceable, so it also runs under
    ``jit`` (where the input checks on values are skipped).
    ``"scott"`` and ``"silverman"`` return the rules of thumb, ``"isj"`` the improved
    Sheather-Jones plug-in (:func:`isj`, 1-D data only).

    With ``per_feature=False`` the bandwidth is one scalar for all features (the
    isotropic kernel of the core functions; the rules of thumb give the geometric
    mean of their per-feature values, which keeps the kernel's volume); with
    ``per_feature=True`` one value per feature (the product gaussian kernel of
    statsmodels' ``KDEMultivariate``). The search is a local one: on
    multimodal objectives (LSCV often is) it finds the optimum nearest to
    Silverman's bandwidth in the descent sense.

    Args:
        data: ``[n, d]`` sample points (at least two of positive weight).
        method: ``"likelihood"``, ``"lscv"``, ``"scott"``, ``"silverman"`` or ``"isj"``.
        kernel: kernel name or :class:`~jaxshift.kernels.Kernel` for
            ``"likelihood"`` (the flat kernel's likelihood is piecewise constant
            in the bandwidth and is refused); ``"lscv"`` needs the gaussian.
        per_feature: one bandwidth per feature instead of one scalar.
        weights: ``[n]`` non-negative sample weights (default all 1).
        max_iter: the most Newton steps.
        tol: convergence threshold on the Newton step in log-bandwidth
            (relative bandwidth change); default ``1e-7`` in float64, ``1e-4``
            in float32.
        query_block, data_block: block sizes (static).
        mesh, data_axes: spread the ``O(n^2)`` sums over a device mesh (static; see
            :func:`jaxshift.kde` and ``docs/scaling.md``): the points as queries are
            split over the mesh axes not in ``data_axes``, as data over ``data_axes``
            (padded with zero-weight points). ``data_axes`` without ``mesh``: inside
            the caller's ``jax.shard_map``, ``data`` and ``weights`` are this device's
            slice of the points split over these axes; the result is that of all of
            them (every device takes all points as queries against its own). The rules of thumb and ``"isj"`` ignore them.

    Returns:
        ``(bandwidth, info)``: ``bandwidth`` ``[]`` (or ``[d]`` with
        ``per_feature=True``) in the float dtype of ``data``, and
        :class:`SelectInfo` ``(objective, n_iter, converged)``.

    Raises:
        ValueError: for an unknown method, a kernel the method cannot use, bad
            data or weights, a feature with zero spread, or bad ``max_iter``/``tol``.

    Examples:
        >>> import numpy as np
        >>> x = np.random.default_rng(0).normal(size=(200, 1))
        >>> h, info = select(x, method="likelihood")
        >>> bool(info.converged), round(float(h), 3)  # statsmodels cv_ml: 0.0883
        (True, 0.088)
    """
    if not isinstance(method, str) or method.lower() not in METHODS:
        raise ValueError(f"method={method!r} is not a known method; valid names are {', '.join(map(repr, METHODS))}")
    method = method.lower()
    k = get_kernel(kernel)
    if method == "lscv" and k.name != "gaussian":
        raise ValueError(f"kernel={kernel!r}: method='lscv' has a closed form only for the gaussian kernel")
    if method == "likelihood" and k.power == 0:
        raise ValueError(
            f"kernel={kernel!r}: the flat kernel's likelihood is piecewise constant in the bandwidth, "
            "so it cannot be optimised with gradients; use the gaussian or a smooth compact kernel"
        )
    if not isinstance(per_feature, (bool, np.bool_)):
        raise ValueError(f"per_feature must be True or False, got {per_feature!r}")
    max_iter = _validate.positive_int(max_iter, "max_iter", minimum=0)
    qb, db = _validate.block_sizes(query_block, data_block)
    mesh, data_axes = _shard.check(mesh, data_axes)
    data, w = _data_weights(data, weights)
    dtype = data.dtype
    if tol is None:
        tol = 1e-7 if dtype == jnp.float64 else 1e-4
    elif isinstance(tol, bool) or not isinstance(tol, (int, float, np.floating, np.integer)) or not (
        math.isfinite(tol) and tol > 0
    ):
        raise ValueError(f"tol must be a positive finite number, got {tol!r}")
    _check_spread(data, w)
    if method == "isj":
        h = isj(data, w)
        info = SelectInfo(jnp.asarray(jnp.nan, dtype), jnp.asarray(0, jnp.int32), jnp.all(jnp.isfinite(h)))
        return (h if per_feature else h[0]), info
    if method in RULES:
        h = _silverman(data, w) if method == "silverman" else _scott(data, w)
        if not per_feature:
            h = jnp.exp(jnp.mean(jnp.log(h)))
        info = SelectInfo(jnp.asarray(jnp.nan, dtype), jnp.asarray(0, jnp.int32), jnp.asarray(True))
        return h, info
    return _select(
        data, w, jnp.asarray(tol, dtype), jnp.asarray(max_iter, jnp.int32),
        method=method, kernel=k, per_feature=bool(per_feature), query_block=qb, data_block=db, mesh=mesh,
        data_axes=data_axes,
    )


def resolve(
    bandwidth,
    data: ArrayLike,
    *,
    weights: ArrayLike | None = None,
    kernel: str | Kernel = "gaussian",
):
    """A bandwidth argument as numbers: strings are selected from ``data``, numbers pass.

    ``"scott"`` and ``"silverman"`` give the per-feature rules of thumb, ``"isj"`` the
    improved Sheather-Jones bandwidth (1-D data);
    ``"likelihood"`` (with ``kernel``) and ``"lscv"`` (gaussian) give the
    per-feature :func:`select` result. The core functions (``kde``, ``log_kde``,
    ``shift``, ``find_modes``, ``trajectory``) call this on their ``bandwidth``;
    mean shift passes the shadow of its kernel, the kernel whose density it climbs.
    Strings need concrete data: under ``jit`` choose the bandwidth outside (or
    call :func:`scott`, :func:`silverman`, :func:`select` on concrete data) and
    pass the numbers.

    Args:
        bandwidth: a positive scalar, ``[d]`` or ``[d, d]`` (returned unchanged,
            unchecked), or
            one of ``"scott"``, ``"silverman"``, ``"likelihood"``, ``"lscv"``, ``"isj"``.
        data: ``[n, d]`` sample points.
        weights: ``[n]`` non-negative sample weights (default all 1).
        kernel: the kernel for ``"likelihood"``.

    Returns:
        The bandwidth: ``[d]`` for a string, otherwise ``bandwidth`` itself.

    Raises:
        ValueError: for an unknown string, or a string with traced data or weights.

    Examples:
        >>> import numpy as np
        >>> x = np.array([[0.0], [1.0], [2.0], [3.0]])
        >>> resolve("scott", x).round(4).tolist(), resolve(0.5, x)
        ([0.9784], 0.5)
    """
    if not isinstance(bandwidth, str):
        return bandwidth
    name = bandwidth.lower()
    if name not in METHODS:
        raise ValueError(
            f"bandwidth={bandwidth!r} is not a number nor a known rule; valid names are "
            f"{', '.join(map(repr, METHODS))}"
        )
    if not _validate.is_concrete(data) or (weights is not None and not _validate.is_concrete(weights)):
        raise ValueError(
            f"bandwidth={bandwidth!r} needs concrete data, but data or weights are traced (inside jit, vmap "
            "or grad); select the bandwidth outside with jaxshift.bandwidth.select (or scott/silverman) "
            "and pass the numbers"
        )
    if name == "scott":
        return scott(data, weights)
    if name == "silverman":
        return silverman(data, weights)
    if name == "isj":
        return isj(data, weights)
    h, _ = select(data, method=name, kernel=kernel, per_feature=True, weights=weights)
    return h


def _resolve_for(bandwidth, x, x_name, data, weights, *, kernel):
    """:func:`resolve` for the core functions' ``bandwidth`` argument.

    With a rule name, ``data``, the query points ``x`` and ``weights`` are checked
    first, in the order the core checks them, so that a bad argument is reported
    with its own message before a (quadratic) selection runs; numbers pass through
    unchecked (the core checks them).
    """
    if not isinstance(bandwidth, str):
        return bandwidth
    data = _validate.data(data)
    _validate.points(x, data.shape[1], x_name)
    weights = _validate.weights(weights, data.shape[0])
    return resolve(bandwidth, data, weights=weights, kernel=kernel)
