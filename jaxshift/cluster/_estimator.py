"""The scikit-learn estimator shim: :class:`MeanShift` and :func:`mean_shift`, with
scikit-learn's parameters, attributes, errors and dtypes, on the jitted pipeline
(:mod:`jaxshift.cluster._pipeline`) through the host bridge
(:mod:`jaxshift.cluster._host`)."""

from __future__ import annotations

import inspect

import jax
import jax.numpy as jnp
import numpy as np

from .. import _grid, _shard, _validate
from .. import bandwidth as _bandwidth_rules
from .._rows import unique_rows
from ..kernels import get_kernel, shadow
from ._estimate import estimate_bandwidth, get_bin_seeds
from ._host import _climb_host, _grid_climb_host, _merge_host, _nearest_host, _precision
from ._params import (
    InvalidParameterError,
    _as_bandwidth,
    _check_bool,
    _check_int,
    _check_X,
    _fmt,
    _not_fitted,
)


def _deduplicate(X, weights, raw=None):
    """``(rows, weights, inverse)``: repeated rows (an image's pixel colours) merged
    into one, weighted by their multiplicity (times their sample weights). The
    kernel sums are the same (exactly, for integer-valued data) over fewer pairs.
    ``inverse`` is ``None`` when there is too little to gain. ``raw``: the input before
    its conversion to ``X``'s float dtype when it was an unsigned-integer array (pixels):
    its rows pack into one integer each, which is faster to deduplicate on."""
    if X.shape[0] < 2:
        return X, weights, None
    packed = isinstance(raw, np.ndarray) and raw.shape == X.shape and raw.dtype.kind == "u"
    rows, inverse, counts = unique_rows(raw if packed else X)
    if len(rows) > 0.8 * X.shape[0]:
        return X, weights, None
    inverse = inverse.reshape(-1)
    if weights is None:
        w = counts.astype(X.dtype)
    else:
        w = np.bincount(inverse, weights=weights, minlength=len(rows)).astype(X.dtype)
    return rows.astype(X.dtype, copy=False), w, inverse


def _zero_bandwidth_modes(X, seeds, weights, max_iter):
    """Bandwidth 0 (an estimate on data with many duplicates), as scikit-learn: a
    seed's neighbourhood is the points equal to it, and its mean is their mean."""
    groups = {}
    for i, row in enumerate(map(tuple, X)):
        groups.setdefault(row, []).append(i)
    cache, modes, inten, iters = {}, [], [], []
    for seed in np.asarray(seeds):
        key = tuple(seed)
        if key not in cache:
            mean, count, done = np.asarray(seed), 0, 0
            while True:
                idx = groups.get(tuple(mean))
                if not idx:
                    count = 0
                    break
                old = mean
                if weights is None:
                    mean, count = np.mean(X[idx], axis=0), len(idx)
                else:
                    count = float(np.sum(weights[idx]))
                    if count == 0:
                        count = 0
                        break
                    mean = np.average(X[idx], axis=0, weights=weights[idx])
                if np.linalg.norm(mean - old) <= 0 or done == max_iter:
                    break
                done += 1
            cache[key] = (np.asarray(mean, X.dtype), count, done)
        mode, count, done = cache[key]
        modes.append(mode)
        inten.append(count)
        iters.append(done)
    return np.asarray(modes, X.dtype).reshape(-1, X.shape[1]), np.asarray(inten, float), max(iters)


def _resolve_string_bandwidth(rule, X, weights, kernel, owner):
    with _precision(X.dtype):
        # A step with ``kernel`` climbs the density of its shadow: select for that one.
        h = _bandwidth_rules.resolve(
            rule, jnp.asarray(X), weights=None if weights is None else jnp.asarray(weights, X.dtype),
            kernel=shadow(kernel),
        )
        return np.asarray(h, np.float64)


class MeanShift:
    """Mean-shift clustering, a drop-in for ``sklearn.cluster.MeanShift``.

    Each seed climbs to a mode of the density (with the flat kernel, the mean of
    the points within one bandwidth, until a step is at most ``1e-3 * bandwidth``
    or after ``max_iter + 1`` updates); all seeds move at once on the jaxshift hot
    loop. Modes within one bandwidth of a more intense one (more points within one
    bandwidth; ties by coordinates) are merged, and every point takes the label of
    its nearest centre.

    Parameters, defaults, fitted attributes, errors and dtypes (float32 in ->
    float32 centres, float64 in -> float64 centres, computed in float64) are
    scikit-learn 1.9's. The estimator interface is duck-typed, so
    ``sklearn.base.clone``, pipelines and grid searches work when scikit-learn is
    installed, without depending on it.

    Args:
        bandwidth: the kernel's radius; ``None`` estimates it with
            :func:`estimate_bandwidth`. Also (jaxshift): one value per feature
            ``[d]``, or a rule name such as ``"scott"`` resolved by
            ``jaxshift.bandwidth.resolve`` when that module is present.
        seeds: ``[m, d]`` starting points; default the points themselves, or
            :func:`get_bin_seeds` with ``bin_seeding=True``.
        bin_seeding: seed from a grid of spacing ``bandwidth`` (fewer seeds).
        min_bin_freq: the fewest points a grid cell needs to seed.
        cluster_all: label orphans (farther than one bandwidth from every centre)
            with their nearest centre; if ``False`` label them ``-1``.
        n_jobs: accepted for compatibility; it has no effect (the work is already
            vectorised over all seeds).
        max_iter: the most iterations per seed (scikit-learn's count: up to
            ``max_iter + 1`` mean updates).
        kernel: (jaxshift) the kernel whose weights the mean uses; default
            ``"flat"``, scikit-learn's.
        algorithm: (jaxshift) how the modes are found. ``"auto"``, ``"dense"``,
            ``"pruned"``: exact mean shift, the hot loop visiting the point pairs as
            :func:`jaxshift.kde` (same results). ``"grid"``: grid mean shift
            (:func:`jaxshift.grid_modes`), approximate and linear in the data: the
            steps average per-cell sums instead of points, first MeanShift++'s ``3^d``
            cells one bandwidth wide, then cells a third of a bandwidth wide that
            approximate the ball; a mode's intensity is the ball's weight estimated
            from those cells. The seeds (thinned where their paths join), the merge
            and the labels are the exact estimator's. A compact kernel only. The
            agreement with scikit-learn's exact labels (adjusted Rand index) is in
            :func:`jaxshift.grid_modes`.
        devices: (jaxshift) spread the climb over devices: ``None`` (one device),
            an int (the first that many of ``jax.devices()``), a list of devices or
            a one-axis :class:`jax.sharding.Mesh`. The seeds are split over them
            (padded with frozen seeds, so any count works), each device holding all
            the data; the result is the one-device one (see ``docs/scaling.md``).
            ``algorithm="grid"`` climbs on one device whatever this is.

    Attributes:
        cluster_centers_: ``[k, d]`` centres, most intense first.
        labels_: ``[n]`` int labels.
        n_iter_: the most iterations any seed ran.
        n_features_in_: ``d``.
        bandwidth_: (jaxshift) the bandwidth used.

    Examples:
        >>> import numpy as np
        >>> X = np.array([[1, 1], [2, 1], [1, 0], [4, 7], [3, 5], [3, 6]])
        >>> clustering = MeanShift(bandwidth=2).fit(X)
        >>> clustering.labels_
        array([1, 1, 1, 0, 0, 0])
        >>> clustering.predict([[0, 0], [5, 5]])
        array([1, 0])
        >>> clustering
        MeanShift(bandwidth=2)

    References:
        Comaniciu & Meer (2002); scikit-learn ``sklearn.cluster.MeanShift``.
    """

    _estimator_type = "clusterer"

    def __init__(
        self,
        *,
        bandwidth=None,
        seeds=None,
        bin_seeding=False,
        min_bin_freq=1,
        cluster_all=True,
        n_jobs=None,
        max_iter=300,
        kernel="flat",
        algorithm="auto",
        devices=None,
    ):
        self.bandwidth = bandwidth
        self.seeds = seeds
        self.bin_seeding = bin_seeding
        self.cluster_all = cluster_all
        self.min_bin_freq = min_bin_freq
        self.n_jobs = n_jobs
        self.max_iter = max_iter
        self.kernel = kernel
        self.algorithm = algorithm
        self.devices = devices

    # -- the estimator interface, duck-typed -------------------------------------------

    @classmethod
    def _get_param_names(cls):
        sig = inspect.signature(cls.__init__)
        return sorted(p.name for p in sig.parameters.values() if p.name != "self")

    def get_params(self, deep=True):
        """The constructor's parameters, as a dict (scikit-learn's interface)."""
        return {name: getattr(self, name) for name in self._get_param_names()}

    def set_params(self, **params):
        """Set constructor parameters; returns ``self`` (scikit-learn's interface)."""
        valid = self._get_param_names()
        for key, value in params.items():
            if key not in valid:
                raise ValueError(
                    f"Invalid parameter {key!r} for estimator {self}. Valid parameters are: {valid!r}."
                )
            setattr(self, key, value)
        return self

    def __repr__(self):
        defaults = {
            p.name: p.default for p in inspect.signature(type(self).__init__).parameters.values()
            if p.name != "self"
        }
        shown = []
        for name in defaults:
            value = getattr(self, name, None)
            default = defaults[name]
            same = value is default or (
                not isinstance(value, np.ndarray | jax.Array) and type(value) is type(default) and value == default
            )
            if not same:
                shown.append(f"{name}={value!r}")
        return f"{type(self).__name__}({', '.join(shown)})"

    def __sklearn_tags__(self):
        from sklearn.utils import Tags, TargetTags

        return Tags(estimator_type="clusterer", target_tags=TargetTags(required=False))

    def __sklearn_is_fitted__(self):
        return hasattr(self, "cluster_centers_")

    def _check_params(self):
        owner = type(self).__name__
        _check_bool(self.bin_seeding, "bin_seeding", owner)
        _check_bool(self.cluster_all, "cluster_all", owner)
        _check_int(self.min_bin_freq, "min_bin_freq", 1, owner)
        _check_int(self.max_iter, "max_iter", 0, owner)
        if self.n_jobs is not None:
            _check_int(self.n_jobs, "n_jobs", None, owner)
        try:
            kernel = get_kernel(self.kernel)
        except ValueError as exc:
            raise InvalidParameterError(f"The 'kernel' parameter of {owner}: {exc}") from exc
        try:
            _grid.algorithm(self.algorithm, kernel)
        except ValueError as exc:
            raise InvalidParameterError(f"The 'algorithm' parameter of {owner}: {exc}") from exc
        self._mesh = self._devices_mesh()
        return kernel

    def _devices_mesh(self):
        try:
            mesh = _shard.devices_mesh(self.devices)
        except ValueError as exc:
            raise InvalidParameterError(f"The 'devices' parameter of {type(self).__name__}: {exc}") from exc
        if mesh is not None and len(mesh.axis_names) != 1:
            raise InvalidParameterError(
                f"The 'devices' parameter of {type(self).__name__}: a mesh must have one axis, got {mesh.axis_names}")
        return mesh

    # -- fitting -------------------------------------------------------------------------

    def fit(self, X, y=None, sample_weight=None):
        """Cluster ``X``.

        Args:
            X: ``[n, d]`` samples.
            y: ignored.
            sample_weight: (jaxshift) ``[n]`` non-negative weights: a point of
                weight ``w`` counts as ``w`` points in the means and intensities.

        Returns:
            ``self``, fitted.
        """
        return self._fit(X, sample_weight)

    def _fit(self, X, sample_weight=None, distinct=False):
        """:meth:`fit`; ``distinct``: the caller knows the rows of ``X`` are distinct (an
        image's colours), so they are not deduplicated again."""
        owner = type(self).__name__
        kernel = self._check_params()
        columns = getattr(X, "columns", None)
        raw = X
        X = _check_X(X, owner=owner)
        n, d = X.shape
        weights = None
        if sample_weight is not None:
            weights = np.asarray(_validate.weights(sample_weight, n, "sample_weight"), X.dtype)
        seeds = self.seeds
        if seeds is not None:  # checked before any work (a bandwidth estimate is quadratic)
            seeds = np.asarray(_validate.points(seeds, d, "seeds")[0])
            if seeds.shape[0] == 0:
                raise ValueError(f"seeds is empty (shape {seeds.shape}); need at least one seed")
        bandwidth = self.bandwidth
        if bandwidth is None:
            bandwidth = estimate_bandwidth(X, n_jobs=self.n_jobs)
        elif isinstance(bandwidth, str):
            bandwidth = _resolve_string_bandwidth(bandwidth, X, weights, kernel, owner)
            bandwidth = _as_bandwidth(bandwidth, d, owner, X.dtype)
        else:
            bandwidth = _as_bandwidth(bandwidth, d, owner, X.dtype)

        if seeds is None:
            seeds = get_bin_seeds(X, bandwidth, self.min_bin_freq) if self.bin_seeding else X

        grid = self.algorithm == "grid"
        data, data_w, inverse = (X, weights, None) if distinct else _deduplicate(X, weights, raw)
        if np.ndim(bandwidth) == 0 and bandwidth == 0:
            modes, intensity, n_iter = _zero_bandwidth_modes(X, seeds, weights, self.max_iter)
            self.n_pairs_ = 0.0
        else:
            if grid:
                modes, updates, intensity, pairs = _grid_climb_host(seeds, data, data_w, bandwidth, self.max_iter,
                                                                    kernel)
            else:
                modes, updates, intensity, pairs = _climb_host(
                    seeds, data, data_w, bandwidth, self.max_iter, kernel, self.algorithm, mesh=self._mesh
                )
            n_iter = int(max(updates.max() - 1, 0))  # scikit-learn's n_iter_: one less than the updates
            self.n_pairs_ = pairs
        self.n_iter_ = n_iter
        found = intensity > 0
        if not np.any(found):
            raise ValueError(
                f"No point was within bandwidth={_fmt(bandwidth)} of any seed. Try a different seeding"
                " strategy                              or increase the bandwidth."
            )
        centres, _ = _merge_host(modes[found], intensity[found], bandwidth)
        labels = self._labels(data, centres, bandwidth)
        if inverse is not None:
            labels = labels[inverse]
        self.cluster_centers_ = centres.astype(X.dtype, copy=False)
        self.labels_ = labels
        self.n_features_in_ = d
        self.bandwidth_ = bandwidth
        if columns is not None and all(isinstance(c, str) for c in columns):
            self.feature_names_in_ = np.asarray(list(columns), dtype=object)
        self._fit_X, self._fit_weights, self._fit_kernel = data, data_w, self.kernel
        self._fit_algorithm = self.algorithm
        return self

    def _labels(self, X, centres, bandwidth):
        arg, d2, scaled = _nearest_host(X, centres, bandwidth)
        if self.cluster_all:
            return arg
        inside = d2 <= 1.0 if scaled else np.sqrt(d2) <= np.asarray(bandwidth)
        return np.where(inside, arg, -1).astype(np.intp)

    def fit_predict(self, X, y=None, **kwargs):
        """``fit(X, **kwargs)`` and return ``labels_``."""
        return self.fit(X, **kwargs).labels_

    def predict(self, X, shift=False):
        """Label new points with the index of a cluster.

        Args:
            X: ``[m, d]`` new points.
            shift: ``False`` (scikit-learn's): the nearest centre. ``True``
                (jaxshift): run mean shift from each point on the training data
                (same bandwidth, kernel, weights and ``max_iter``) and take the
                centre nearest to where it ends, so a point is labelled by the
                mode it climbs to rather than by distance (scikit-learn #16171).

        Returns:
            ``[m]`` int labels.
        """
        if not hasattr(self, "cluster_centers_"):
            raise _not_fitted(type(self).__name__)
        X = _check_X(X, owner=type(self).__name__)
        if X.shape[1] != self.n_features_in_:
            raise ValueError(
                f"X has {X.shape[1]} features, but {type(self).__name__} is expecting "
                f"{self.n_features_in_} features as input."
            )
        if not isinstance(shift, (bool, np.bool_)):
            raise ValueError(f"shift must be True or False, got {shift!r}")
        if shift and not (np.ndim(self.bandwidth_) == 0 and self.bandwidth_ == 0):
            data = self._fit_X
            w = self._fit_weights
            X, _, _, _ = _climb_host(
                X.astype(data.dtype), data, w, self.bandwidth_, self.max_iter, get_kernel(self._fit_kernel),
                getattr(self, "_fit_algorithm", "auto"), mesh=self._devices_mesh(),
            )
        arg, _, _ = _nearest_host(X, self.cluster_centers_, self.bandwidth_)
        return arg


def mean_shift(
    X,
    *,
    bandwidth=None,
    seeds=None,
    bin_seeding=False,
    min_bin_freq=1,
    cluster_all=True,
    max_iter=300,
    n_jobs=None,
    kernel="flat",
    sample_weight=None,
    algorithm="auto",
    devices=None,
):
    """Mean-shift clustering in one call: ``MeanShift(...).fit(X)``'s centres and labels.

    Arguments as :class:`MeanShift` (``sample_weight`` as its ``fit``; ``devices``
    spreads the seeds over devices).

    Returns:
        ``(cluster_centers [k, d], labels [n])``.

    Examples:
        >>> import numpy as np
        >>> X = np.array([[1, 1], [2, 1], [1, 0], [4, 7], [3, 5], [3, 6]])
        >>> centres, labels = mean_shift(X, bandwidth=2)
        >>> centres.round(2).tolist(), labels.tolist()
        ([[3.33, 6.0], [1.33, 0.67]], [1, 1, 1, 0, 0, 0])
    """
    model = MeanShift(
        bandwidth=bandwidth, seeds=seeds, min_bin_freq=min_bin_freq, bin_seeding=bin_seeding,
        cluster_all=cluster_all, n_jobs=n_jobs, max_iter=max_iter, kernel=kernel, algorithm=algorithm,
        devices=devices,
    ).fit(X, sample_weight=sample_weight)
    return model.cluster_centers_, model.labels_
