"""Kernel density estimation: ``kde`` and the numerically stable ``log_kde``."""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
from jax.sharding import PartitionSpec as P
from jax.typing import ArrayLike

from . import _shard, _validate
from ._logdensity import log_density, log_normaliser
from ._pairwise import kernel_sums
from .bandwidth import _resolve_for
from .kernels import Kernel, get_kernel

__all__ = ["kde", "log_kde"]


_STATIC = ("kernel", "log", "algorithm", "query_block", "data_block", "mesh", "data_axes")


@functools.partial(jax.jit, static_argnames=_STATIC)
def _kde(x, data, bandwidth, weights, *, kernel, log, algorithm="auto", query_block=None, data_block=None,
         mesh=None, data_axes=()):
    if mesh is not None:
        # The same function under shard_map: queries split over the other axes, data
        # over data_axes (both padded: copies of the last query, zero-weight points).
        qa, da, nq, nd = _shard.layout(mesh, data_axes)
        qs, ds = _shard.spec(qa), _shard.spec(da)

        def local(x, y, w, h):
            return _kde(x, y, h, w, kernel=kernel, log=log, algorithm=algorithm, query_block=query_block,
                        data_block=data_block, data_axes=da)

        out = _shard.run(local, mesh, (qs, ds, ds, P()), qs, _shard.pad_rows(x, nq), _shard.pad_rows(data, nd),
                         _shard.pad_rows(weights, nd, fill=0), bandwidth)
        return _shard.cut(out, x.shape[0], mesh)
    sums = kernel_sums(
        x, data, weights, bandwidth, kernel,
        with_mean=False, algorithm=algorithm, query_block=query_block, data_block=data_block, data_axes=data_axes,
    )
    total = _shard.psum(jnp.sum(weights), data_axes)
    log_c = log_normaliser(x.shape[1], bandwidth, jnp.log(total), kernel) + sums.log_scale
    # Bad traced values (what a concrete call rejects) give NaN, never a plausible number.
    good = _validate.values_ok(data, bandwidth, weights, axes=data_axes) & _validate.finite_rows(x)
    if log:
        return jnp.where(good, log_density(log_c, sums.s), jnp.nan)
    # exp(log_c) * s rather than exp(log f): no NaN gradient where a compact kernel is 0;
    # and there the constant is left out (it can overflow: d = 64, tiny h), so 0, not inf * 0.
    c = jnp.exp(jnp.where(sums.s > 0, log_c, 0.0))
    return jnp.where(good, c * sums.s, jnp.nan)


def _public(x, data, bandwidth, kernel, weights, log, algorithm, query_block, data_block, mesh, data_axes):
    k = get_kernel(kernel)
    query_block, data_block = _validate.block_sizes(query_block, data_block)
    _validate.algorithm(algorithm)
    mesh, data_axes = _shard.check(mesh, data_axes)
    bandwidth = _resolve_for(bandwidth, x, "x", data, weights, kernel=k)
    x, data, bandwidth, weights, single = _validate.inputs(x, "x", data, bandwidth, weights)
    out = _kde(
        x, data, bandwidth, weights,
        kernel=k, log=log, algorithm=algorithm, query_block=query_block, data_block=data_block, mesh=mesh,
        data_axes=data_axes,
    )
    return out[0] if single else out


def kde(
    x: ArrayLike,
    data: ArrayLike,
    *,
    bandwidth: ArrayLike,
    kernel: str | Kernel = "gaussian",
    weights: ArrayLike | None = None,
    algorithm: str = "auto",
    query_block: int | None = None,
    data_block: int | None = None,
    mesh=None,
    data_axes: str | tuple[str, ...] | None = None,
) -> jax.Array:
    r"""Kernel density estimate of ``data`` evaluated at ``x``.

    .. math::
        f(x) = \frac{c_{k,d}}{\sum_j w_j \sqrt{\det H}} \sum_j w_j\,
        k\big((x - y_j)^T H^{-1} (x - y_j)\big)

    with ``H`` the bandwidth matrix, the kernel's covariance for the gaussian (scipy
    ``gaussian_kde``'s ``covariance``, R ``ks``'s ``H``); a scalar or per-feature
    ``h`` means ``H = diag(h^2)``, i.e. ``k(|(x - y_j) / h|^2) / prod_l h_l``. A
    matrix whitens the points by its Cholesky factor inside the one blocked loop.
    The result integrates to 1 over ``R^d``. Memory is
    ``O(query_block * data_block)``, whatever ``m`` and ``n``.

    Args:
        x: ``[d]`` one query point, or ``[m, d]`` a batch.
        data: ``[n, d]`` sample points.
        bandwidth: positive scalar, ``[d]`` one value per feature (``H =
            diag(h^2)``), or a ``[d, d]`` symmetric positive definite matrix ``H``
            (a ``[d]`` vector and a ``[d, d]`` matrix differ by ``ndim``: for
            ``d = 1``, ``[h]`` is ``h`` and ``[[v]]`` is ``H = v = h^2``); or a rule
            name (``"scott"``, ...) resolved by :func:`jaxshift.bandwidth.resolve`.
        kernel: kernel name or :class:`~jaxshift.kernels.Kernel`; see
            :func:`~jaxshift.kernels.get_kernel` (all of scikit-learn's
            ``KernelDensity`` kernels: gaussian, tophat, epanechnikov, exponential,
            linear, cosine; and biweight, triweight).
        weights: ``[n]`` non-negative sample weights (default all 1).
        algorithm: how the hot loop visits the pairs (static): ``"dense"`` visits
            every block pair; ``"pruned"`` sorts data and queries along a Morton curve
            and skips block pairs out of the kernel's reach (for the gaussian: whose
            total contribution is below the dtype's rounding of the sum, so results
            stay exact to rounding); ``"auto"`` prunes compact kernels for ``d <= 6``
            and more than 1,024 data points, and keeps the gaussian dense (see
            :func:`jaxshift._pairwise.choose_algorithm`).
        query_block: queries per block (static; default 256 dense, 64 pruned).
        data_block: data points per block (static; default 2048 dense, 256 pruned).
        mesh: a :class:`jax.sharding.Mesh` to spread the work over (static; see
            ``docs/scaling.md``). The queries are split over the mesh axes not named
            in ``data_axes``, the data over ``data_axes``; uneven sizes are padded
            (copies of the last query, zero-weight copies of the last point), never
            dropped. The same function runs on every device under
            :func:`jax.shard_map`; the result equals the single-device one to
            rounding and is sharded as the queries. ``None``: one device (or
            whatever the caller's ``jit`` does with sharded inputs).
        data_axes: mesh axis name or names the data are split over (default none:
            every device holds all the data). Per-query partial sums are combined
            by one ``psum`` (for a kernel of infinite support, one ``pmax`` of the
            streaming log-sum-exp scales first, then a rescale). Without ``mesh``
            the call must be inside the caller's ``jax.shard_map``: ``data`` and
            ``weights`` are then this device's slice of data split over these
            axes, and every device of the group must hold the same queries.

    Returns:
        ``[]`` for one query, ``[m]`` for a batch: the density, in the float dtype
        of ``x`` and ``data`` (at least float32; integers are promoted). A density
        beyond the dtype's range (high ``d`` with a bandwidth far below 1: the
        constant is ``h^-d``) is ``inf``, one below it 0; :func:`log_kde` stays finite.
        ``[0, d]`` queries give ``[0]``.

    Raises:
        ValueError: for bad shapes, empty data, non-finite values, a non-positive
            bandwidth, a bandwidth matrix that is not symmetric positive definite,
            a ``mesh`` that is not a mesh or lacks an axis of ``data_axes``,
            or bad weights (value checks only on concrete inputs; under
            ``jit`` traced bad values give NaN).

    Examples:
        >>> import jax.numpy as jnp
        >>> float(kde(jnp.zeros(1), jnp.zeros((1, 1)), bandwidth=1.0))  # 1/sqrt(2 pi)
        0.398942...

    References:
        Silverman (1986), *Density Estimation for Statistics and Data Analysis*.
        scikit-learn ``KernelDensity``; ``jax.scipy.stats.gaussian_kde``.
    """
    return _public(x, data, bandwidth, kernel, weights, False, algorithm, query_block, data_block, mesh, data_axes)


def log_kde(
    x: ArrayLike,
    data: ArrayLike,
    *,
    bandwidth: ArrayLike,
    kernel: str | Kernel = "gaussian",
    weights: ArrayLike | None = None,
    algorithm: str = "auto",
    query_block: int | None = None,
    data_block: int | None = None,
    mesh=None,
    data_axes: str | tuple[str, ...] | None = None,
) -> jax.Array:
    """Log of :func:`kde`, computed stably (a streaming log-sum-exp).

    A gaussian query far from all data gets a finite log-density (where
    ``log(kde(...))`` would be ``-inf``); a compact kernel gives ``-inf`` exactly
    where the density is zero. Arguments, shapes and errors are those of :func:`kde`.

    Gradients where a compact kernel's density is zero (no data within reach of the
    query): the value is ``-inf`` and its gradient is 0 with respect to ``x``,
    ``data``, ``bandwidth`` and ``weights``, never NaN. The density is 0 on a whole
    neighbourhood there, so ``-inf`` is a constant and no small change improves it.
    A likelihood ``sum(log_kde(...))`` with such a term is ``-inf``, and its gradient
    is that of the other terms only: it carries no signal towards bringing the lost
    point in reach. To optimise a likelihood, use the gaussian (finite everywhere),
    or start a compact kernel from a bandwidth that reaches every point (e.g.
    :func:`jaxshift.bandwidth.select` from Silverman's rule) and check the value is
    finite.

    Returns:
        ``[]`` or ``[m]``: the log-density.

    Examples:
        >>> import jax.numpy as jnp
        >>> float(log_kde(jnp.array([100.0]), jnp.zeros((1, 1)), bandwidth=1.0))
        -5000.918...
    """
    return _public(x, data, bandwidth, kernel, weights, True, algorithm, query_block, data_block, mesh, data_axes)
