"""scikit-learn's own mean-shift tests and its estimator conformance battery, run
against jaxshift.cluster.

The installed ``sklearn/cluster/tests/test_mean_shift.py`` is read, its one import
line ``from sklearn.cluster import MeanShift, estimate_bandwidth, get_bin_seeds,
mean_shift`` is pointed at ``jaxshift.cluster``, and its test functions are
collected here unchanged. scikit-learn's ``global_dtype`` fixture is provided for
float32 and float64 (scikit-learn itself runs float32 only on request), and
``global_random_seed`` for a few seeds. Skipped when scikit-learn is absent.

The battery (``sklearn.utils.estimator_checks``, what ``check_estimator`` runs) is
run check by check on scikit-learn's ``MeanShift`` and on ours: every check theirs
passes, ours must pass. The checks that apply to ours only (the sample-weight ones:
our ``fit`` takes ``sample_weight``) must pass too.
"""

import functools
import importlib.util
import pathlib
import unittest
import warnings

import jax
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


# ----------------------------------------------------------- the conformance battery


def _battery(estimator):
    """``{check id: (estimator, check)}`` as ``check_estimator`` would run them."""
    try:
        from sklearn.utils.estimator_checks import estimator_checks_generator
    except ImportError:  # pragma: no cover - scikit-learn < 1.6
        return {}
    out = {}
    with warnings.catch_warnings():  # "does not inherit from BaseEstimator": duck-typed on purpose
        warnings.simplefilter("ignore", UserWarning)
        for est, check in estimator_checks_generator(estimator, legacy=True, mark=None):
            fn = check.func if isinstance(check, functools.partial) else check
            kw = check.keywords if isinstance(check, functools.partial) else {}
            key = fn.__name__ + "".join(f"[{k}={v}]" for k, v in sorted(kw.items()))
            assert key not in out, key
            out[key] = (est, check)
    return out


def _sklearn_mean_shift():
    from sklearn.cluster import MeanShift as SklearnMeanShift

    return SklearnMeanShift()


_THEIRS = _battery(_sklearn_mean_shift())
_OURS = _battery(_namespace["MeanShift"]())


def test_battery_was_collected():
    """The battery has its checks; those it leaves out for ours are the clustering ones
    (chosen by ``isinstance(est, ClusterMixin)``, and ours is duck-typed): they are
    run on ours from theirs (the check takes the class name, the same)."""
    if not _THEIRS:  # pragma: no cover
        pytest.skip("scikit-learn < 1.6 has no estimator_checks_generator")
    from sklearn.utils import estimator_checks

    assert len(_THEIRS) >= 40 and "check_estimators_unfitted" in _OURS and "check_dtype_object" in _OURS
    clustering = {getattr(c, "func", c).__name__ for c in estimator_checks._yield_clustering_checks(_sklearn_mean_shift())}
    missing = {key.split("[")[0] for key in set(_THEIRS) - set(_OURS)}
    assert "check_clustering" in missing and missing <= clustering, missing


@pytest.fixture
def quick_compiles():
    """The battery fits ~50 small problems of distinct shapes: compile time is all its
    cost, and XLA's optimisations (which tiny data does not need) most of that."""
    before = jax.config.read("jax_disable_most_optimizations")
    jax.config.update("jax_disable_most_optimizations", True)
    try:
        yield
    finally:
        jax.config.update("jax_disable_most_optimizations", before)


@pytest.mark.parametrize("check_id", sorted(set(_OURS) | set(_THEIRS)))
def test_estimator_check(check_id, quick_compiles):
    if check_id in _THEIRS:
        est, check = _THEIRS[check_id]
        try:
            check(est)
        except unittest.SkipTest as exc:
            pytest.skip(f"skipped for scikit-learn's MeanShift too: {exc}")
        except Exception as exc:  # pragma: no cover - not the case with scikit-learn 1.9
            pytest.skip(f"scikit-learn's own MeanShift fails it: {type(exc).__name__}: {exc}")
    if check_id in _OURS:
        est, check = _OURS[check_id]
    else:  # a clustering check, left out for a duck-typed estimator
        est, check = _namespace["MeanShift"](), _THEIRS[check_id][1]
    check(est)
