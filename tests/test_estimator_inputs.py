"""MeanShift's input kinds (issue 10): what scikit-learn's check_array accepts gives the
same clustering as float64 NumPy input; what it refuses is refused with its phrases,
naming ``X`` and the value; NotFittedError is scikit-learn's when it is installed, and
ours alone when it is not."""

import sys

import jax.numpy as jnp
import numpy as np
import pytest

from jaxshift.cluster import MeanShift, NotFittedError, _params

X = np.array([[0.0, 0.1], [0.2, 0.0], [0.1, 0.3], [5.0, 5.1], [5.2, 4.9], [4.9, 5.0], [9.0, 0.2], [9.1, 0.0]])


def kinds():
    pd = pytest.importorskip("pandas")
    ints = np.rint(X * 10).astype(np.int64)
    return {
        "list": (X.tolist(), X, np.float64),
        "tuples": (tuple(map(tuple, X.tolist())), X, np.float64),
        "int64": (ints, ints, np.float64),
        "object of mixed numbers": (np.array([[int(a), np.float32(b)] for a, b in ints], dtype=object), ints, np.float64),
        "bool": (X > 1, X > 1, np.float64),
        "float16": (X.astype(np.float16), X.astype(np.float16), np.float32),
        "float32": (X.astype(np.float32), X.astype(np.float32), np.float32),
        "Fortran order": (np.asfortranarray(X), X, np.float64),
        "read-only": (np.lib.stride_tricks.as_strided(X, writeable=False), X, np.float64),
        "DataFrame": (pd.DataFrame(X, columns=["a", "b"]), X, np.float64),
        "jax array": (jnp.asarray(X, jnp.float32), X.astype(np.float32), np.float32),
    }


def test_accepted_input_kinds_cluster_as_their_numbers():
    for name, (given, numbers, dtype) in kinds().items():
        bandwidth = 1.0 if name not in ("int64", "object of mixed numbers") else 10.0
        ours = MeanShift(bandwidth=bandwidth).fit(given)
        sk = pytest.importorskip("sklearn.cluster")
        ref = sk.MeanShift(bandwidth=bandwidth).fit(np.asarray(numbers, np.float64))
        assert np.array_equal(ours.labels_, ref.labels_), name
        assert ours.cluster_centers_.dtype == dtype, name
        np.testing.assert_allclose(ours.cluster_centers_, ref.cluster_centers_, rtol=1e-6, atol=1e-3, err_msg=name)
        assert np.array_equal(ours.predict(given), ref.labels_), name


def test_unsigned_pixels_deduplicate_on_packed_keys_like_their_floats():
    """uint8 rows (an image's pixels) are deduplicated on their packed integer keys, float
    rows on per-channel offsets: the same distinct rows, counts and order, so the same fit;
    and scikit-learn's labels and centres on the same numbers."""
    rng = np.random.default_rng(4)
    px = np.concatenate([rng.integers(0, 6, (300, 3)), rng.integers(40, 46, (200, 3))]).astype(np.uint8)
    sk = pytest.importorskip("sklearn.cluster")
    ref = sk.MeanShift(bandwidth=4.0, bin_seeding=True).fit(px.astype(np.float64))
    for algorithm in ("auto", "grid"):
        a = MeanShift(bandwidth=4.0, bin_seeding=True, algorithm=algorithm).fit(px)
        b = MeanShift(bandwidth=4.0, bin_seeding=True, algorithm=algorithm).fit(px.astype(np.float64))
        assert np.array_equal(a.labels_, b.labels_) and np.array_equal(a.cluster_centers_, b.cluster_centers_)
        assert np.array_equal(a.labels_, ref.labels_), algorithm
        tol = 1e-12 if algorithm == "auto" else 0.2 * 4.0  # the grid path is approximate
        np.testing.assert_allclose(a.cluster_centers_, ref.cluster_centers_, atol=tol, err_msg=algorithm)


class DuckSparse:
    """A sparse matrix as far as duck typing goes (``toarray`` and ``nnz``), no SciPy."""

    shape = (8, 2)
    nnz = 16

    def toarray(self):
        return X


def refused():
    cases = [
        (DuckSparse(), TypeError, r"Sparse data was passed for X \(DuckSparse of shape \(8, 2\)\).*X.toarray\(\)"),
        (X * 1j, ValueError, r"Complex data not supported: X has dtype complex128"),
        (np.array([[1.0, {}]], dtype=object), TypeError, r"X must be an array of numbers: float\(\) argument must be a"),
        (np.array([["a", "b"]]), ValueError, r"X must be an array of numbers, got dtype <U1"),
        (np.where(X == X[1, 0], np.nan, X), ValueError, r"X must be finite, got nan at index \(1, 0\) \(input X contains NaN\)"),
        (np.where(X == X[2, 1], -np.inf, X), ValueError, r"got -inf at index \(2, 1\) \(input X contains infinity"),
        (X[:, 0], ValueError, r"X must be a 2-D array \[n, d\], got shape \(8,\).*Reshape your data"),
        (3.0, ValueError, r"got shape \(\).*expected 2D array, got scalar array"),
        (X[None], ValueError, r"got shape \(1, 8, 2\): found array with dim 3"),
        (np.zeros((0, 2)), ValueError, r"X is empty \(shape \(0, 2\)\): found array with 0 sample\(s\)"),
        (np.zeros((8, 0)), ValueError, r"X has no features .* found array with 0 feature\(s\) \(shape=\(8, 0\)\)"),
        ([[1.0, 2.0], [3.0]], ValueError, r"X must be an array of numbers, got \[\[1.0, 2.0\], \[3.0\]\]"),
        ("abc", ValueError, r"X must be an array of numbers, got 'abc'"),
    ]
    try:
        from scipy import sparse
    except ImportError:  # pragma: no cover
        return cases
    return cases + [(sparse.csr_matrix(X), TypeError, r"Sparse data was passed for X \(csr_matrix"),
                    (sparse.coo_array(X), TypeError, r"Sparse data was passed for X \(coo_array")]


@pytest.mark.parametrize("bad, error, match", refused(), ids=[str(i) for i in range(len(refused()))])
def test_refused_inputs_name_x_and_the_value_in_fit_and_predict(bad, error, match):
    with pytest.raises(error, match=match):
        MeanShift(bandwidth=1.0).fit(bad)
    fitted = MeanShift(bandwidth=1.0).fit(X)
    with pytest.raises(error, match=match):
        fitted.predict(bad)


def test_not_fitted_error_is_scikit_learns_when_installed(monkeypatch):
    _params._not_fitted_class.cache_clear()
    monkeypatch.setitem(sys.modules, "sklearn.exceptions", None)  # as if scikit-learn were absent
    with pytest.raises(NotFittedError, match="This MeanShift instance is not fitted yet") as err:
        MeanShift().predict(X)
    assert type(err.value) is NotFittedError and isinstance(err.value, ValueError | AttributeError)
    monkeypatch.undo()
    _params._not_fitted_class.cache_clear()
    exceptions = pytest.importorskip("sklearn.exceptions")
    with pytest.raises(exceptions.NotFittedError) as err:
        MeanShift().predict(X)
    assert isinstance(err.value, NotFittedError)
    import pickle

    again = pickle.loads(pickle.dumps(err.value))  # found again by name
    assert type(again) is type(err.value) and str(again) == str(err.value)


@pytest.mark.parametrize("n, d", [(1, 2), (2, 1), (37, 3), (256, 2), (257, 2), (60, 40)])
def test_estimate_bandwidth_small_data_in_numpy_equals_scikit_learn_and_the_jax_search(n, d):
    """Up to 256 points the k-th neighbours are found in NumPy (no compilation): the
    same bandwidth as scikit-learn's, and as the jitted search it stands in for."""
    import jax

    from jaxshift.cluster import _estimate, estimate_bandwidth

    sk = pytest.importorskip("sklearn.cluster")
    X = np.random.default_rng(n + d).normal(size=(n, d)) * 10 + 1e3
    # In many dimensions scikit-learn searches by brute force in the GEMM form, whose
    # rounding (a point's distance to itself is not 0) its trees and we do not have.
    tree = d <= 15
    for quantile in (0.0, 0.3, 1.0) if tree else (0.3, 1.0):
        ours = estimate_bandwidth(X, quantile=quantile)
        want = sk.estimate_bandwidth(X, quantile=quantile)
        assert ours == pytest.approx(want, rel=1e-12 if tree else 1e-9, abs=1e-12)
    if n in (37, 256):  # (each n compiles the jitted search)
        k = max(int(n * 0.3), 1)
        small = _estimate._kth_neighbour_sq_dist_small(X, k)
        with jax.enable_x64(True):
            dense = np.asarray(_estimate.kth_neighbour_sq_dist(jax.numpy.asarray(X), k=k))
        np.testing.assert_allclose(small, dense, rtol=1e-12)
