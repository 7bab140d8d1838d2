"""Mean-shift clustering: a drop-in for scikit-learn's, and a ``jit``-able pipeline.

Change ``from sklearn.cluster import MeanShift, estimate_bandwidth, get_bin_seeds,
mean_shift`` to ``from jaxshift.cluster import ...`` and get the same results: the
flat kernel with scikit-learn's ``<=`` radius test, its ``1e-3 * bandwidth`` stop,
up to ``max_iter + 1`` mean updates per seed, the merge of near-duplicate centres
by intensity (ties broken by the centre's coordinates, as scikit-learn does), 1-NN
labels with ``-1`` orphans when ``cluster_all=False``, and its zero-bandwidth
behaviour. The mode seeking runs on the jaxshift hot loop
(:func:`jaxshift._pairwise.kernel_sums`) for all seeds at once, instead of one
Python loop per seed; float64 input is computed in float64 (x64 is switched on
for the call), float32 input in float32.

Beyond scikit-learn (defaults keep its behaviour): ``kernel=`` (any jaxshift
kernel), ``algorithm="grid"`` (grid mean shift: MeanShift++ and a refinement on per-cell
sums, linear in the data and approximate), ``sample_weight=`` in ``fit``, ``predict(X, shift=True)`` (run mean shift
from the new points, scikit-learn issue #16171), ``bandwidth="scott"`` and other
rules of :mod:`jaxshift.bandwidth`, and
:func:`find_clusters`, the whole pipeline as a pure function for ``jax.jit``/``jax.vmap``
with a static ``capacity``.

References:
    Comaniciu & Meer (2002), "Mean shift: a robust approach toward feature space
    analysis", IEEE TPAMI 24(5). scikit-learn ``sklearn/cluster/_mean_shift.py``
    (the parity target, version 1.9).

Modules: ``_pipeline`` (:func:`find_clusters`: the climb, the one merge of near modes,
labels), ``_estimator`` (:class:`MeanShift`, :func:`mean_shift`), ``_estimate``
(:func:`estimate_bandwidth`, :func:`get_bin_seeds`), ``_host`` (NumPy arrays onto
the jitted pieces), ``_params`` (scikit-learn's parameter checks and errors).
"""

from .. import _neighbours
from ._estimate import estimate_bandwidth, get_bin_seeds
from ._estimator import MeanShift, mean_shift
from ._host import _precision as _precision
from ._params import InvalidParameterError, NotFittedError
from ._pipeline import Clusters, find_clusters
from ._pipeline import _climb as _climb

_kth_neighbour_sq_dist = _neighbours.kth_neighbour_sq_dist  # the search under estimate_bandwidth

# The public names live here, as before the split into modules: pickled estimators
# (``jaxshift.cluster.MeanShift``), reprs and the docs name this module.
for _obj in (Clusters, InvalidParameterError, MeanShift, NotFittedError, estimate_bandwidth, find_clusters,
             get_bin_seeds, mean_shift):
    _obj.__module__ = __name__
del _obj

cluster = find_clusters  # the earlier name, same as this module's: kept so existing code runs

__all__ = [
    "Clusters",
    "InvalidParameterError",
    "MeanShift",
    "NotFittedError",
    "estimate_bandwidth",
    "find_clusters",
    "get_bin_seeds",
    "mean_shift",
]
