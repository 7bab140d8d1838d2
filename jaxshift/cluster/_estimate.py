"""scikit-learn's helpers to choose what mean shift starts from: a bandwidth
(:func:`estimate_bandwidth`) and seeds on a grid (:func:`get_bin_seeds`)."""

from __future__ import annotations

import numbers
import warnings

import jax.numpy as jnp
import numpy as np

from .._neighbours import kth_neighbour_sq_dist
from .._rows import first_in_bins
from ._host import _precision
from ._params import _check_int, _check_random_state, _check_X, _fmt, _param_error


def estimate_bandwidth(X, *, quantile=0.3, n_samples=None, random_state=0, n_jobs=None):
    """Estimate a bandwidth for mean shift, as scikit-learn does.

    The mean, over the (optionally subsampled) points, of the distance to each
    point's ``int(n * quantile)``-th nearest point, the point itself counted
    (at least 1 neighbour). The subsample is
    ``check_random_state(random_state).permutation(n)[:n_samples]``, so it picks
    the same points as scikit-learn. The neighbour search runs in JAX (float64),
    by blocks of queries with no ``[n, n]`` array
    (:func:`jaxshift._neighbours.kth_neighbour_sq_dist`); up to 256 points, in
    NumPy, which needs no compilation. The distances are scikit-learn's to rounding. It takes time quadratic in the number of points
    used: subsample large data with ``n_samples``.

    Args:
        X: ``[n, d]`` points.
        quantile: in ``[0, 1]``; 0.5 is about the median pairwise distance.
        n_samples: how many points to use (default all).
        random_state: int, ``numpy.random.RandomState`` or ``None``.
        n_jobs: accepted for compatibility; it has no effect.

    Returns:
        The bandwidth, a ``numpy.float64``.

    Raises:
        ValueError: for bad ``X`` or parameters, naming the argument and value.

    Examples:
        >>> X = [[1, 1], [2, 1], [1, 0], [4, 7], [3, 5], [3, 6]]
        >>> float(estimate_bandwidth(X, quantile=0.5))
        1.61...

    References:
        scikit-learn ``sklearn.cluster.estimate_bandwidth``.
    """
    owner = "estimate_bandwidth"
    X = _check_X(X)
    if isinstance(quantile, bool) or not isinstance(quantile, numbers.Real) or not 0 <= quantile <= 1:
        raise _param_error("quantile", owner, "a float in the range [0, 1]", quantile)
    _check_int(n_samples, "n_samples", 1, owner, allow_none=True)
    if n_jobs is not None:
        _check_int(n_jobs, "n_jobs", None, owner)
    rng = _check_random_state(random_state)
    if n_samples is not None:
        X = X[rng.permutation(X.shape[0])[:n_samples]]
    k = max(int(X.shape[0] * quantile), 1)
    if X.shape[0] ** 2 <= _SMALL_PAIRS:
        dist = np.sqrt(_kth_neighbour_sq_dist_small(np.asarray(X, np.float64), k))
    else:
        with _precision(np.float64):
            d2 = kth_neighbour_sq_dist(jnp.asarray(X, np.float64), k=k)
            dist = np.sqrt(np.asarray(d2, np.float64))
    total = 0.0
    for start in range(0, len(dist), 500):  # scikit-learn's batches, for the same sum
        total += dist[start:start + 500].sum()
    return np.float64(total / X.shape[0])


# Up to this many pairs (256 points), NumPy finds the k-th neighbours in well under a
# millisecond, where the jitted search would first compile for seconds (for each new n and k).
_SMALL_PAIRS = 1 << 16


def _kth_neighbour_sq_dist_small(X, k):
    """``[n]`` squared distance from each point to its ``k``-th nearest (itself
    included), in the difference form, as :func:`kth_neighbour_sq_dist`; rows in
    blocks of about a million differences."""
    n, d = X.shape
    rows = max(1, (1 << 20) // max(n * d, 1))
    out = np.empty(n)
    for start in range(0, n, rows):
        diff = X[start:start + rows, None, :] - X[None, :, :]
        out[start:start + rows] = np.partition(np.sum(diff * diff, axis=-1), k - 1, axis=1)[:, k - 1]
    return out


def get_bin_seeds(X, bin_size, min_bin_freq=1):
    """Seeds for mean shift: the occupied cells of a grid of spacing ``bin_size``.

    Each point is binned to ``round(x / bin_size)``; bins with at least
    ``min_bin_freq`` points become seeds ``bin * bin_size`` (float32 bins, in order
    of first occurrence, as scikit-learn). ``bin_size == 0`` returns ``X`` itself,
    and so does a grid that keeps every point as its own bin (with a warning).

    Args:
        X: ``[n, d]`` the points that will be clustered.
        bin_size: grid spacing, usually the bandwidth (scalar, or ``[d]``).
        min_bin_freq: the fewest points a bin needs to become a seed.

    Returns:
        ``[k, d]`` seeds (``[0, d]`` for ``[0, d]`` points).

    Raises:
        ValueError: for ``X`` not 2-D, not numbers or not finite, and for a negative or
            non-finite ``bin_size``.

    Examples:
        >>> import numpy as np
        >>> X = np.array([[1.0, 1.0], [1.4, 1.4], [1.8, 1.2], [2.0, 1.0], [2.1, 1.1], [0.0, 0.0]])
        >>> get_bin_seeds(X, 1, 2).tolist()
        [[1.0, 1.0], [2.0, 1.0]]

    References:
        scikit-learn ``sklearn.cluster.get_bin_seeds``.
    """
    pts = np.asarray(X)
    if pts.ndim != 2:
        raise ValueError(f"X must be a 2-D array [n, d], got shape {pts.shape}")
    if pts.shape[0]:
        _check_X(pts)  # numbers, finite
    try:
        size = np.asarray(bin_size, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"bin_size must be a non-negative number or one per feature, got {bin_size!r}") from exc
    per_feature_ok = size.ndim == 0 or (size.ndim == 1 and size.shape[0] in (1, pts.shape[1]))
    if isinstance(bin_size, (bool, np.bool_)) or not per_feature_ok:
        raise ValueError(f"bin_size must be a non-negative number or one per feature, got {bin_size!r}")
    if not np.all(np.isfinite(size)) or np.any(size < 0):
        raise ValueError(f"bin_size must be non-negative and finite, got {bin_size!r}")
    if np.all(size == 0):
        return X
    binned = np.round(pts / bin_size) + 0.0  # + 0.0: -0.0 and 0.0 are one bin, as dict keys
    if binned.shape[0] == 0:
        return np.zeros((0, pts.shape[1]), np.float32) * bin_size
    chosen = binned[first_in_bins(binned, min_bin_freq)]
    bin_seeds = np.asarray(chosen, dtype=np.float32).reshape(-1, pts.shape[1])
    if len(bin_seeds) == len(pts):
        warnings.warn(
            f"Binning data failed with provided bin_size={_fmt(bin_size)}, using data points as seeds.",
            stacklevel=2,
        )
        return X
    return bin_seeds * bin_size
