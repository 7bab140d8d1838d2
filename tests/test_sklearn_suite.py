"""scikit-learn's own mean-shift tests, run against jaxshift.cluster.

The installed ``sklearn/cluster/tests/test_mean_shift.py`` is read, its one import
line ``from sklearn.cluster import MeanShift, estimate_bandwidth, get_bin_seeds,
mean_shift`` is pointed at ``jaxshift.cluster``, and its test functions are
collected here unchanged. scikit-learn's ``global_dtype`` fixture is provided for
float32 and float64 (scikit-learn itself runs float32 only on request), and
``global_random_seed`` for a few seeds. Skipped when scikit-learn is absent.
"""

import importlib.util
import pathlib
import warnings

import numpy as np
import pytest

pytest.importorskip("sklearn")

_IMPORT = "from sklearn.cluster import MeanShift, estimate_bandwidth, get_bin_seeds, mean_shift"
_spec = importlib.util.find_spec("sklearn.cluster.tests.test_mean_shift")
if _spec is None or _spec.origin is None:  # pragma: no cover - a scikit-learn without its tests
    pytest.skip("scikit-learn's test_mean_shift.py is not installed", allow_module_level=True)
_SOURCE = pathlib.Path(_spec.origin).read_text()
assert _IMPORT in _SOURCE, "scikit-learn's test file changed its import line"
_SOURCE = _SOURCE.replace(_IMPORT, _IMPORT.replace("sklearn.cluster", "jaxshift.cluster"), 1)

_namespace = {"__name__": __name__, "__file__": _spec.origin}
with warnings.catch_warnings():  # its @pytest.mark.thread_unsafe is registered by a plugin we do not need
    warnings.simplefilter("ignore", pytest.PytestUnknownMarkWarning)
    exec(compile(_SOURCE, _spec.origin, "exec"), _namespace)  # a known, installed file
_TESTS = {name: obj for name, obj in _namespace.items() if name.startswith("test_") and callable(obj)}
assert _namespace["MeanShift"].__module__ == "jaxshift.cluster"
globals().update(_TESTS)


def test_suite_was_collected():
    """The upstream file still has the tests this module is meant to run."""
    assert {"test_mean_shift", "test_bin_seeds", "test_cluster_intensity_tie",
            "test_mean_shift_zero_bandwidth", "test_max_iter"} <= set(_TESTS)


@pytest.fixture(params=[np.float32, np.float64], ids=["float32", "float64"])
def global_dtype(request):
    return request.param


@pytest.fixture(params=[0, 42])
def global_random_seed(request):
    return request.param
