"""Fuzzing the public functions tests/test_fuzz_core.py leaves out (issue 10): ``kde_grid``,
``sample``, ``marginal``, ``integrate_box`` and ``grid_modes``.

The same contract as there: for every input a user can hand over, a correct, finite result
as documented, or a ``ValueError``/``TypeError`` that names the argument and the value,
raised before anything is traced or compiled.

1. Bad input (NaN and inf in data, bounds, ``lo``/``hi`` and seeds, empty data, wrong ranks,
   mismatched dimensions, bad bandwidths, weights and options): a table of calls, each
   refused before compilation (every jitted entry is replaced by a function that fails the
   test if reached). The rows of ``FIXED`` gave a jax error from inside the compiled
   program when this file was written, and were fixed.
2. Odd but valid input, drawn by hypothesis over values on a few fixed shapes (``n = 24``
   points; ``d`` in 1, 2 for ``kde_grid`` and ``integrate_box``, 3 for ``marginal``, 2 for
   ``sample`` and ``grid_modes``), so that the compiled programs are reused: coordinates
   around 1e-6, 1 and 1e6 (and offset by 1e6), bandwidths 1e-3 to 1e3 times the data's
   scale, constant data and duplicates, zero weights and a single non-zero weight, integer,
   bool and list input. The numbers are checked in float64 against NumPy/SciPy
   transcriptions (float32 cannot resolve 1e-3 bandwidths at 1e6 offsets); one more test
   runs the default float32 on the same draws and asks for finite, in-range results.

Wrong results found on valid input (all fixed since) are the tests at the end.
"""

import math
from typing import NamedTuple

import jax
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from references import as_input, draw_data, draw_weights, numpy_grid_climb, numpy_refinement
from scipy.special import erf, logsumexp, ndtr

import jaxshift
from jaxshift import bandwidth as bw
from jaxshift.kernels import get_kernel, shadow

# --------------------------------------------------------------------------- 1. bad input

X = np.arange(14.0).reshape(7, 2) / 7.0  # [7, 2]
X1 = X[:, :1]
W = np.ones(7)
NAN = np.where(X == X[2, 1], np.nan, X)  # nan at (2, 1)
INF = np.where(X == X[4, 0], -np.inf, X)  # -inf at (4, 0)
KEY = jax.random.key(0)
LO, HI = np.zeros(2), np.ones(2)
BOUNDS = [(-5.0, 5.0), (-5.0, 5.0)]


def kg(data=X, **k):
    return jaxshift.kde_grid(data, **{"bandwidth": 1.0, "size": 8, **k})


def smp(data=X, n=3, key=KEY, **k):
    return jaxshift.sample(key, data, n, **{"bandwidth": 1.0, **k})


def mrg(data=X, features=0, bandwidth=1.0, **k):
    return jaxshift.marginal(data, features, bandwidth, **k)


def box(lo=LO, hi=HI, data=X, **k):
    return jaxshift.integrate_box(lo, hi, data, **{"bandwidth": 1.0, **k})


def gm(seeds=X, data=X, **k):
    return jaxshift.grid_modes(seeds, data, **{"bandwidth": 1.0, **k})


BAD = [  # (entry point, call, message)
    # kde_grid
    ("kde_grid", lambda: kg(NAN), r"data must be finite, got nan at index \(2, 1\)"),
    ("kde_grid", lambda: kg(INF), r"data must be finite, got -inf at index \(4, 0\)"),
    ("kde_grid", lambda: kg(bounds=[(-5.0, np.nan), (-5.0, 5.0)]), r"bounds must be finite, got nan at index \(0, 1\)"),
    ("kde_grid", lambda: kg(bounds=[(-5.0, 5.0), (-np.inf, 5.0)]), r"bounds must be finite, got -inf at index \(1, 0\)"),
    ("kde_grid", lambda: kg(bounds=[(-5.0, 5.0)] * 3), r"bounds must be \[\(lo, hi\)\] \* d, shape \(2, 2\), got shape \(3, 2\)"),
    ("kde_grid", lambda: kg(X1, bounds=BOUNDS), r"bounds must be \[\(lo, hi\)\] \* d, shape \(1, 2\), got shape \(2, 2\)"),
    ("kde_grid", lambda: kg(bounds=[(5.0, -5.0), (-5.0, 5.0)]), r"bounds must have lo < hi in every feature, got .*5\.0.*-5\.0.* for feature 0"),
    ("kde_grid", lambda: kg(bounds=[(-5.0, 5.0), (0.5, 5.0)]), r"data point 0 \(\[0.0, 0.14\d*\]\) lies outside bounds"),
    ("kde_grid", lambda: kg(bounds="wide"), r"bounds must be an array of numbers, got 'wide'"),
    ("kde_grid", lambda: kg(np.zeros((0, 2))), r"data is empty \(shape \(0, 2\)\)"),
    ("kde_grid", lambda: kg(np.zeros((3, 0))), r"data has no features \(shape \(3, 0\)\)"),
    ("kde_grid", lambda: kg(X[:, 0]), r"data must be a 2-D array \[n, d\], got shape \(7,\)"),
    ("kde_grid", lambda: kg(X[None]), r"data must be a 2-D array \[n, d\], got shape \(1, 7, 2\)"),
    ("kde_grid", lambda: kg(np.zeros((5, 4))), r"kde_grid works in d = 1, 2 or 3 features; data has d=4"),
    ("kde_grid", lambda: kg(None), r"data must be an array of numbers, got None"),
    ("kde_grid", lambda: kg(bandwidth=0.0), r"bandwidth must be positive and finite, got 0.0"),
    ("kde_grid", lambda: kg(bandwidth=-1.0), r"bandwidth must be positive and finite, got -1.0"),
    ("kde_grid", lambda: kg(bandwidth=np.nan), r"bandwidth must be positive and finite, got nan"),
    ("kde_grid", lambda: kg(bandwidth=np.inf), r"bandwidth must be positive and finite, got inf"),
    ("kde_grid", lambda: kg(bandwidth=[1.0, np.nan]), r"bandwidth must be positive and finite, got \[1.0, nan\]"),
    ("kde_grid", lambda: kg(bandwidth=[1.0, 2.0, 3.0]), r"bandwidth must be a scalar or one value per feature \[2\], got shape \(3,\)"),
    ("kde_grid", lambda: kg(bandwidth=True), r"bandwidth must be a positive number, got True"),
    ("kde_grid", lambda: kg(bandwidth=None), r"bandwidth must be an array of numbers, got None"),
    ("kde_grid", lambda: kg(np.ones((7, 2)), bandwidth="scott"), r"data feature 0 has zero spread"),
    ("kde_grid", lambda: kg(weights=-W), r"weights must be non-negative, got -1.0 at index 0"),
    ("kde_grid", lambda: kg(weights=0 * W), r"weights are all zero"),
    ("kde_grid", lambda: kg(weights=np.r_[np.nan, W[1:]]), r"weights must be finite, got nan at index 0"),
    ("kde_grid", lambda: kg(weights=W[:5]), r"weights must have shape \[7\].*got shape \(5,\)"),
    ("kde_grid", lambda: kg(size=1), r"size must be an integer >= 2, got 1"),
    ("kde_grid", lambda: kg(size=2.5), r"size must be an integer >= 2, got 2.5"),
    ("kde_grid", lambda: kg(size=True), r"size must be an integer >= 2, got True"),
    ("kde_grid", lambda: kg(size=5000), r"size=5000 with oversample=1 in d=2 needs an FFT"),
    ("kde_grid", lambda: kg(oversample=0), r"oversample must be an integer >= 1, got 0"),
    ("kde_grid", lambda: kg(oversample=1.5), r"oversample must be an integer >= 1, got 1.5"),
    ("kde_grid", lambda: kg(oversample=True), r"oversample must be an integer >= 1, got True"),
    ("kde_grid", lambda: kg(kernel="parzen"), r"kernel='parzen' is not a known kernel"),
    # sample
    ("sample", lambda: smp(NAN), r"data must be finite, got nan at index \(2, 1\)"),
    ("sample", lambda: smp(INF), r"data must be finite, got -inf at index \(4, 0\)"),
    ("sample", lambda: smp(np.zeros((0, 2))), r"data is empty \(shape \(0, 2\)\)"),
    ("sample", lambda: smp(X[:, 0]), r"data must be a 2-D array \[n, d\], got shape \(7,\)"),
    ("sample", lambda: smp(n=-1), r"n must be an integer >= 0, got -1"),
    ("sample", lambda: smp(n=1.5), r"n must be an integer >= 0, got 1.5"),
    ("sample", lambda: smp(n=True), r"n must be an integer >= 0, got True"),
    ("sample", lambda: smp(n=None), r"n must be an integer >= 0, got None"),
    ("sample", lambda: smp(bandwidth=0.0), r"bandwidth must be positive and finite, got 0.0"),
    ("sample", lambda: smp(bandwidth=-2.0), r"bandwidth must be positive and finite, got -2.0"),
    ("sample", lambda: smp(bandwidth=np.nan), r"bandwidth must be positive and finite, got nan"),
    ("sample", lambda: smp(bandwidth=[1.0, 2.0, 3.0]), r"bandwidth must be a scalar or one value per feature \[2\]"),
    ("sample", lambda: smp(bandwidth=np.eye(3)), r"bandwidth as a matrix .* must be \[2, 2\], got shape \(3, 3\)"),
    ("sample", lambda: smp(bandwidth=[[1.0, 2.0], [2.0, 1.0]]), r"bandwidth must be positive definite .* least eigenvalue is -1.0"),
    ("sample", lambda: smp(bandwidth=[[1.0, np.nan], [np.nan, 1.0]]), r"bandwidth must be finite, got \[1.0, nan"),
    ("sample", lambda: smp(weights=-W), r"weights must be non-negative, got -1.0 at index 0"),
    ("sample", lambda: smp(weights=0 * W), r"weights are all zero"),
    ("sample", lambda: smp(weights=np.r_[W[:6], np.inf]), r"weights must be finite, got inf at index 6"),
    ("sample", lambda: smp(weights=W[:, None]), r"weights must have shape \[7\].*got shape \(7, 1\)"),
    ("sample", lambda: smp(kernel=shadow("exponential")), r"kernel 'exponential_shadow' has no sampler"),
    ("sample", lambda: smp(kernel="parzen"), r"kernel='parzen' is not a known kernel"),
    # marginal
    ("marginal", lambda: mrg(NAN), r"data must be finite, got nan at index \(2, 1\)"),
    ("marginal", lambda: mrg(INF), r"data must be finite, got -inf at index \(4, 0\)"),
    ("marginal", lambda: mrg(np.zeros((0, 2))), r"data is empty \(shape \(0, 2\)\)"),
    ("marginal", lambda: mrg(X[:, 0]), r"data must be a 2-D array \[n, d\], got shape \(7,\)"),
    ("marginal", lambda: mrg(features=2), r"features must be in \[-2, 2\) \(data has 2 features\), got 2"),
    ("marginal", lambda: mrg(features=[0, -3]), r"features must be in \[-2, 2\) \(data has 2 features\), got -3"),
    ("marginal", lambda: mrg(features=[0, -2]), r"features must be distinct, got \[0, -2\]"),
    ("marginal", lambda: mrg(features=[]), r"features must be an int or a non-empty sequence of ints, got \[\]"),
    ("marginal", lambda: mrg(features=[0, 1.0]), r"features must be an int or a non-empty sequence of ints, got \[0, 1.0\]"),
    ("marginal", lambda: mrg(features=True), r"features must be an int or a sequence of ints, got True"),
    ("marginal", lambda: mrg(features=None), r"features must be an int or a sequence of ints, got None"),
    ("marginal", lambda: mrg(features=1.5), r"features must be an int or a sequence of ints, got 1.5"),
    ("marginal", lambda: mrg(bandwidth=0.0), r"bandwidth must be positive and finite, got 0.0"),
    ("marginal", lambda: mrg(bandwidth=np.nan), r"bandwidth must be positive and finite, got nan"),
    ("marginal", lambda: mrg(bandwidth=[-1.0, 1.0]), r"bandwidth must be positive and finite, got \[-1.0, 1.0\]"),
    ("marginal", lambda: mrg(bandwidth=[1.0, 2.0, 3.0]), r"bandwidth must be a scalar or one value per feature \[2\]"),
    ("marginal", lambda: mrg(bandwidth=np.eye(3)), r"bandwidth as a matrix .* must be \[2, 2\], got shape \(3, 3\)"),
    ("marginal", lambda: mrg(bandwidth=True), r"bandwidth must be a positive number, got True"),
    ("marginal", lambda: mrg(weights=-W), r"weights must be non-negative, got -1.0 at index 0"),
    ("marginal", lambda: mrg(weights=0 * W), r"weights are all zero"),
    ("marginal", lambda: mrg(weights=W[:3]), r"weights must have shape \[7\].*got shape \(3,\)"),
    ("marginal", lambda: mrg(np.ones((7, 2)), bandwidth="scott"), r"data feature 0 has zero spread"),
    # integrate_box
    ("integrate_box", lambda: box(lo=[np.nan, 0.0]), r"lo must not be NaN, got \[nan, 0.0\]"),
    ("integrate_box", lambda: box(hi=[1.0, np.nan]), r"hi must not be NaN, got \[1.0, nan\]"),
    ("integrate_box", lambda: box(data=NAN), r"data must be finite, got nan at index \(2, 1\)"),
    ("integrate_box", lambda: box(data=INF), r"data must be finite, got -inf at index \(4, 0\)"),
    ("integrate_box", lambda: box(data=np.zeros((0, 2))), r"data is empty \(shape \(0, 2\)\)"),
    ("integrate_box", lambda: box(data=X[:, 0]), r"data must be a 2-D array \[n, d\], got shape \(7,\)"),
    ("integrate_box", lambda: box(lo=np.zeros(3)), r"lo must be \[2\] \(one box\) or \[m, 2\] \(a batch\), got shape \(3,\)"),
    ("integrate_box", lambda: box(hi=np.ones((4, 1))), r"hi must be \[2\] \(one box\) or \[m, 2\] \(a batch\), got shape \(4, 1\)"),
    ("integrate_box", lambda: box(lo=np.zeros((1, 1, 2))), r"lo must be \[2\] \(one box\) or \[m, 2\] \(a batch\), got shape \(1, 1, 2\)"),
    ("integrate_box", lambda: box(lo=np.zeros((2, 2)), hi=np.ones((3, 2))), r"lo and hi must have the same shape, got \(2, 2\) and \(3, 2\)"),
    ("integrate_box", lambda: box(lo="a"), r"lo must be an array of numbers, got 'a'"),
    ("integrate_box", lambda: box(hi=None), r"hi must be an array of numbers, got None"),
    ("integrate_box", lambda: box(lo=[0j, 0.0]), r"lo must be real, got dtype complex128"),
    ("integrate_box", lambda: box(bandwidth=0.0), r"bandwidth must be positive and finite, got 0.0"),
    ("integrate_box", lambda: box(bandwidth=-1.0), r"bandwidth must be positive and finite, got -1.0"),
    ("integrate_box", lambda: box(bandwidth=[1.0, np.nan]), r"bandwidth must be positive and finite, got \[1.0, nan\]"),
    ("integrate_box", lambda: box(bandwidth=True), r"bandwidth must be a positive number, got True"),
    ("integrate_box", lambda: box(weights=-W), r"weights must be non-negative, got -1.0 at index 0"),
    ("integrate_box", lambda: box(weights=0 * W), r"weights are all zero"),
    ("integrate_box", lambda: box(weights=np.r_[np.nan, W[1:]]), r"weights must be finite, got nan at index 0"),
    ("integrate_box", lambda: box(kernel=shadow("cosine")), r"kernel 'cosine_shadow' has no CDF"),
    ("integrate_box", lambda: box(kernel="flat"), r"no closed form for the flat kernel in 2 dimensions; pass key="),
    ("integrate_box", lambda: box(bandwidth=np.eye(2)), r"no closed form for a bandwidth matrix; pass key="),
    ("integrate_box", lambda: box(kernel="flat", key=KEY, n_samples=0), r"n_samples must be an integer >= 1, got 0"),
    # grid_modes
    ("grid_modes", lambda: gm(NAN), r"seeds must be finite, got nan at index \(2, 1\)"),
    ("grid_modes", lambda: gm(INF[4]), r"seeds must be finite, got -inf at index 0"),
    ("grid_modes", lambda: gm(data=NAN), r"data must be finite, got nan at index \(2, 1\)"),
    ("grid_modes", lambda: gm(data=INF), r"data must be finite, got -inf at index \(4, 0\)"),
    ("grid_modes", lambda: gm(data=np.zeros((0, 2))), r"data is empty \(shape \(0, 2\)\)"),
    ("grid_modes", lambda: gm(data=X[:, 0]), r"data must be a 2-D array \[n, d\], got shape \(7,\)"),
    ("grid_modes", lambda: gm(X[None]), r"seeds must be one point \[d\] or a batch \[m, d\], got shape \(1, 7, 2\)"),
    ("grid_modes", lambda: gm(np.zeros((2, 3))), r"seeds has 3 features \(shape \(2, 3\)\) but data has 2"),
    ("grid_modes", lambda: gm(np.zeros((2, 7)), np.zeros((5, 7))), r"d=7 features gives 2,187; it is limited to d <= 6"),
    ("grid_modes", lambda: gm(bandwidth=0.0), r"bandwidth must be positive and finite, got 0.0"),
    ("grid_modes", lambda: gm(bandwidth=-1.0), r"bandwidth must be positive and finite, got -1.0"),
    ("grid_modes", lambda: gm(bandwidth=np.nan), r"bandwidth must be positive and finite, got nan"),
    ("grid_modes", lambda: gm(bandwidth=[1.0, 2.0, 3.0]), r"bandwidth must be a scalar or one value per feature \[2\]"),
    ("grid_modes", lambda: gm(bandwidth=True), r"bandwidth must be a positive number, got True"),
    ("grid_modes", lambda: gm(np.float32([[0, 0], [1e6, 1e6]]), np.float32([[0, 0], [1e6, 1e6]]), bandwidth=0.01),
     r"bandwidth=0.01 is too small for grid mean shift"),
    ("grid_modes", lambda: gm(weights=-W), r"weights must be non-negative, got -1.0 at index 0"),
    ("grid_modes", lambda: gm(weights=0 * W), r"weights are all zero"),
    ("grid_modes", lambda: gm(weights=np.r_[W[:6], np.nan]), r"weights must be finite, got nan at index 6"),
    ("grid_modes", lambda: gm(refine=-1), r"refine must be an integer >= 0, got -1"),
    ("grid_modes", lambda: gm(refine=1.5), r"refine must be an integer >= 0, got 1.5"),
    ("grid_modes", lambda: gm(refine=True), r"refine must be an integer >= 0, got True"),
    ("grid_modes", lambda: gm(kernel="gaussian"), r"needs a compact kernel .*got kernel='gaussian'"),
    ("grid_modes", lambda: gm(kernel="parzen"), r"kernel='parzen' is not a known kernel"),
    ("grid_modes", lambda: gm(max_iter=-1), r"max_iter must be a non-negative integer, got -1"),
    ("grid_modes", lambda: gm(max_iter=1.5), r"max_iter must be a non-negative integer, got 1.5"),
    ("grid_modes", lambda: gm(max_iter=True), r"max_iter must be a non-negative integer, got True"),
    ("grid_modes", lambda: gm(tol=np.nan), r"tol must be non-negative and finite, got nan"),
    ("grid_modes", lambda: gm(tol=-1.0), r"tol must be non-negative and finite, got -1.0"),
]

FIXED = [  # found by this file, fixed: each was a jax error from inside the compiled program
    ("kde_grid", lambda: kg(bandwidth=np.eye(2)),
     r"kde_grid takes a scalar or \[d\] per-feature bandwidth, not a \[d, d\] matrix \(got shape \(2, 2\)\)"),
    ("grid_modes", lambda: gm(bandwidth=np.eye(2)),
     r"grid mean shift takes a scalar or \[d\] per-feature bandwidth, not a \[d, d\] matrix"),
    ("grid_modes", lambda: gm(max_iter=None), r"max_iter must be a non-negative integer, got None"),
    ("grid_modes", lambda: gm(max_iter=10**10), r"max_iter must be a non-negative integer, got 10000000000 \(at most 2\^31 - 1\)"),
    ("sample", lambda: smp(key=None), r"key must be a jax.random key .*, got None"),
    ("sample", lambda: smp(key=0), r"key must be a jax.random key .*, got 0"),
    ("integrate_box", lambda: box(kernel="flat", key=0), r"key must be a jax.random key .*, got 0"),
]
BAD = BAD + FIXED


class _NoJax:
    """Stands for ``jax.numpy`` in ``jaxshift._marginal``: ``marginal`` has no jitted
    entry, so reaching any array operation counts as compiling."""

    def __getattr__(self, name):
        raise AssertionError(f"jax.numpy.{name} reached before validating")


@pytest.fixture
def no_compilation(monkeypatch, request):
    """Every bad call must fail before anything is traced or compiled."""

    def boom(*a, **k):
        raise AssertionError("compiled before validating")

    import jaxshift._binned as binned
    import jaxshift._grid as grid
    import jaxshift._marginal as marg
    import jaxshift._sample as samp

    for mod, names in [(binned, ["_kde_grid"]), (samp, ["_sample"]), (grid, ["_grid_modes"]),
                       (marg, ["_sample", "_exact", "_monte_carlo"])]:
        for n in names:
            monkeypatch.setattr(mod, n, boom)
    if request.node.callspec.params.get("entry") == "marginal":
        monkeypatch.setattr(marg, "jnp", _NoJax())


def _ids(rows):
    return [f"{e}-{i}" for i, (e, _, _) in enumerate(rows)]


@pytest.mark.parametrize("entry,call,msg", BAD, ids=_ids(BAD))
def test_bad_input_is_refused_before_compiling(no_compilation, entry, call, msg):
    with pytest.raises((ValueError, TypeError), match=msg):
        call()


def test_int_bool_list_input_is_accepted():
    """Integer, bool and list input: the float32 results of the same float values."""
    ints = np.array([[0, 1], [2, 0], [3, 3], [1, 2]])
    lst, flt = ints.tolist(), ints.astype(np.float32)
    flags = ints > 1
    for data, ref in [(ints, flt), (lst, flt), (flags, flags.astype(np.float32))]:
        a = jaxshift.kde_grid(data, bandwidth=1, size=8, bounds=[(-4, 8), [-4, 8]])
        b = jaxshift.kde_grid(ref, bandwidth=1.0, size=8, bounds=np.float32([(-4, 8), (-4, 8)]))
        assert a.density.dtype == np.float32
        np.testing.assert_array_equal(a.density, b.density)
        np.testing.assert_array_equal(jaxshift.sample(KEY, data, 5, bandwidth=[1, 2]),
                                      jaxshift.sample(KEY, ref, 5, bandwidth=np.float32([1, 2])))
        m = jaxshift.marginal(data, [1], 2)
        assert m.data.dtype == np.float32 and m.bandwidth.dtype == np.float32
        np.testing.assert_array_equal(m.data, ref[:, 1:])
        p = jaxshift.integrate_box([[0, False], [0, 0]], [[2, 3], [True, 5]], data, bandwidth=1)
        q = jaxshift.integrate_box(np.float32([[0, 0], [0, 0]]), np.float32([[2, 3], [1, 5]]), ref, bandwidth=1.0)
        np.testing.assert_array_equal(p, q)
        single = jaxshift.integrate_box([0, 0], [2, 3], data, bandwidth=1)
        assert single.shape == () and float(single) == pytest.approx(float(q[0]), rel=1e-6)
        r = jaxshift.grid_modes(data, data, bandwidth=2)
        s = jaxshift.grid_modes(ref, ref, bandwidth=np.float32(2))
        np.testing.assert_array_equal(r.modes, s.modes)
        np.testing.assert_array_equal(r.converged, s.converged)
    assert float(jaxshift.integrate_box(0, 1, [[0], [1]], bandwidth=1)) == pytest.approx(
        0.5 * (ndtr(1) - ndtr(0)) + 0.5 * (ndtr(0) - ndtr(-1)), rel=1e-6)


# --------------------------------------------------------------------------- 2. odd, valid input

N = 24  # data points in every draw


class Case(NamedTuple):
    data: np.ndarray  # [N, d] float64, as drawn (before the user's int/bool/list form)
    h: object  # scalar or [d], relative to the data's scale
    weights: object  # None or [N]
    kind: str  # the user's form: numpy, list, int, bool
    seed: int  # for further draws
    scale: float


@st.composite
def cases(draw, d, per_feature=False, kinds=("numpy", "numpy", "list", "int", "bool")):
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    data, scale = draw_data(draw, st, rng, N, d, groups=N // 3)
    h_rel = draw(st.sampled_from([1e-3, 1.0, 1e3]))
    h = h_rel * scale * (rng.uniform(0.5, 2.0, size=d) if per_feature else rng.uniform(0.5, 2.0))
    w = draw_weights(draw, st, rng, N)
    return Case(data, h, w, draw(st.sampled_from(kinds)), seed, scale)


def ones_if_none(w, n=N):
    return np.ones(n) if w is None else w


def coord_tol(*arrays, rel):
    """An absolute tolerance on coordinates: ``rel`` of the largest magnitude around."""
    return rel * max(float(np.max(np.abs(a))) for a in arrays) + 1e-300


def gemm_slack(span, h):
    """The rounding of ``kde``'s squared distances ``u = |(x - y) / h|^2``, as a fraction
    of a kernel's peak: the GEMM form around a block's centre cancels terms as large as
    ``E^2`` for points ``E`` bandwidths apart (documented in jaxshift._pairwise: bounded by
    a block's extent; with 24 points one block holds them all). Measured: 3e-8 relative
    for points 2.3e4 bandwidths apart in float64."""
    return 8 * np.finfo(float).eps * float(np.sum((np.asarray(span) / h) ** 2))


# ---- kde_grid

REACH = math.sqrt(2.0 * math.log(1e4))  # the gaussian's reach in bandwidths (documented: 4.29)
GRID = {1: 256, 2: 64}  # size per feature; FFTs of 1,022 and 254^2 points with oversample=2


@given(st.one_of(cases(d=1), cases(d=2, per_feature=True)))
def test_kde_grid_against_the_exact_kde(case):
    """bounds=None: the grid spans the data plus the gaussian's reach; the density is
    finite, >= 0, within the linear-binning error of the exact ``kde`` at the grid points,
    and integrates to 1 less the tails beyond the grid where the grid resolves the kernel.

    float64: at a 1e6 offset float32 places the points to 0.06, more than a 1e-3
    bandwidth (the float32 run is :func:`test_float32_results_are_finite`)."""
    with jax.enable_x64(True):
        _kde_grid_against_kde(case)


def _kde_grid_against_kde(case):
    d_in, dv = as_input(case.data, case.kind)
    n, d = dv.shape
    h = np.broadcast_to(case.h, (d,))
    size = GRID[d]
    res = jaxshift.kde_grid(d_in, bandwidth=case.h, weights=case.weights, size=size, oversample=2)
    dens = np.asarray(res.density)
    assert dens.dtype == np.float64 and dens.shape == (size,) * d
    assert np.all(np.isfinite(dens)) and np.all(dens >= 0)
    axes = [np.asarray(a) for a in res.axes]
    for j in range(d):  # the documented default bounds: the data's range plus the reach
        ends = [dv[:, j].min() - REACH * h[j], dv[:, j].max() + REACH * h[j]]
        ctol = coord_tol(dv, np.asarray(ends), rel=1e-14)
        np.testing.assert_allclose(axes[j][[0, -1]], ends, rtol=0, atol=ctol)
        np.testing.assert_allclose(np.diff(axes[j]), (ends[1] - ends[0]) / (size - 1), rtol=1e-6, atol=ctol)
    step = np.array([(a[-1] - a[0]) / (size - 1) for a in axes])  # output grid; binned on step / 2
    peak = (2 * np.pi) ** (-d / 2) / np.prod(h)  # one kernel's peak: no KDE exceeds it
    # Linear binning interpolates y -> K_h(g - y) multilinearly between the fine nodes
    # (spacing step / 2), which errs by at most sum_l (step_l / 2)^2 / 8 max|d^2K/dy_l^2|,
    # and max|d^2K/dy_l^2| = peak / h_l^2 for the gaussian: a bound for every h (loose
    # when the kernel is narrower than a grid step). FFT round-off: 1e-10 of the peak;
    # kde's own rounding: gemm_slack.
    bound = peak * (np.sum((step / 2 / h) ** 2) / 8 + 1e-10 + gemm_slack(step * (size - 1), h))
    grid_pts = np.stack(np.meshgrid(*axes, indexing="ij"), axis=-1).reshape(-1, d)
    exact = np.asarray(jaxshift.kde(grid_pts, dv, bandwidth=h, weights=ones_if_none(case.weights)))
    err = np.max(np.abs(dens.reshape(-1) - exact))
    assert err <= bound, (err, bound, peak)
    if np.all(step <= h):
        # A Riemann sum of a gaussian at a spacing <= h aliases by < 2 exp(-2 pi^2) = 5e-9
        # per feature (Poisson summation); what is missing is the tails beyond the grid's
        # ends, REACH bandwidths past the data (the binning moves a point by at most half
        # an output step, h / 2, towards them): < Phi(-(REACH - 1/2)) per side and
        # feature, 7.5e-5 (measured: 1.6e-5 in 1-D, 2.6e-5 in 2-D).
        total = dens.sum() * np.prod(step)
        assert 1 - 2 * d * ndtr(-(REACH - 0.5)) - 1e-7 <= total <= 1 + 1e-7, total


@given(st.one_of(cases(d=1), cases(d=2, per_feature=True)), st.sampled_from(["gaussian", "epanechnikov"]))
def test_kde_grid_is_exact_on_grid_nodes(case, kernel):
    """Data on the grid's nodes (explicit bounds): the result is the exact ``kde`` at the
    nodes (documented: the binning moves no point), whatever the bandwidth, 1e-3 of a grid
    step included."""
    with jax.enable_x64(True):
        _kde_grid_on_nodes(case, "gaussian" if case.data.shape[1] == 2 else kernel)


def _kde_grid_on_nodes(case, kernel):
    rng = np.random.default_rng(case.seed)
    n, d = case.data.shape
    size = GRID[d]
    fine = 2 * (size - 1) + 1
    lo = case.data.min(axis=0) - 0.1 * case.scale
    fstep = case.scale * rng.uniform(0.01, 0.1, d)  # the fine grid's spacing
    hi = lo + (fine - 1) * fstep
    nodes = rng.integers(0, fine, (n, d))
    nodes[1::2] -= nodes[1::2] % 2  # half the points (the last, the single weighted one, too) on output nodes
    nodes[:2] = [[0] * d, [fine - 1] * d]  # both ends of the grid
    data = lo + nodes * fstep
    h = np.broadcast_to(case.h, (d,))
    res = jaxshift.kde_grid(data, bandwidth=case.h, weights=case.weights, kernel=kernel, size=size,
                            bounds=np.stack([lo, hi], axis=1), oversample=2)
    dens = np.asarray(res.density)
    assert np.all(np.isfinite(dens)) and np.all(dens >= 0)
    axes = [np.asarray(a) for a in res.axes]
    grid_pts = np.stack(np.meshgrid(*axes, indexing="ij"), axis=-1).reshape(-1, d)
    exact = np.asarray(jaxshift.kde(grid_pts, data, bandwidth=h, kernel=kernel, weights=ones_if_none(case.weights)))
    peak = math.exp(get_kernel(kernel).log_norm(d)) / np.prod(h)  # one kernel's peak
    # The points sit on the nodes up to the rounding of lo + i step (relative 1e-16 of the
    # coordinates, eps_g of a fine step); the binning then moves them by eps_g steps, and
    # the kernel (slope at most 2 peak / h) changes by at most that.
    eps_g = 8 * np.finfo(float).eps * float(np.max(np.abs(data))) / np.min(fstep)
    bound = peak * (2 * eps_g * np.sum(fstep / h) * (1 + np.sum(fstep / h)) + 1e-10 + gemm_slack(hi - lo, h))
    assert np.max(np.abs(dens.reshape(-1) - exact)) <= bound


# ---- sample

DRAWS = 64


@pytest.mark.parametrize("kernel", ["gaussian", "flat"])
@given(case=cases(d=2))
def test_sample_draws_come_from_positive_weight_points(kernel, case):
    """``[n, d]`` finite float64 draws, the same for the same key; each within the kernel's
    reach of a point of positive weight (the flat kernel's support; 9 bandwidths for the
    gaussian, exceeded with probability e^-40.5 per draw in 2-D), and spread as the
    kernel's noise around a single weighted point."""
    with jax.enable_x64(True):
        _sample(case, kernel)


def _sample(case, kernel):
    d_in, dv = as_input(case.data, case.kind)
    key = jax.random.key(case.seed % 1000)
    draws = np.asarray(jaxshift.sample(key, d_in, DRAWS, bandwidth=case.h, kernel=kernel, weights=case.weights))
    assert draws.shape == (DRAWS, 2) and draws.dtype == np.float64 and np.all(np.isfinite(draws))
    again = jaxshift.sample(key, d_in, DRAWS, bandwidth=case.h, kernel=kernel, weights=case.weights)
    np.testing.assert_array_equal(again, draws)
    w = ones_if_none(case.weights)
    src = dv[w > 0]
    dist = np.linalg.norm((draws[:, None] - src[None]) / case.h, axis=-1)  # [draws, sources] in bandwidths
    reach = 1.0 if kernel == "flat" else 9.0
    slack = 1e-9 + 8 * np.finfo(float).eps * float(np.max(np.abs(dv))) / case.h
    assert np.all(dist.min(axis=1) <= reach + slack)
    if len(src) == 1:  # one source: the noise alone, at least half the reach once in 64 draws
        # (flat in 2-D: P(|z| < 1/2) = 1/4 per draw; gaussian: P(|z| < 1) = 0.39)
        assert np.max(dist[:, 0]) >= (0.5 if kernel == "flat" else 1.0) - slack


# ---- marginal

FEATURES = [2, [-1], [2, 0], [1, -3]]  # kept features of d = 3: one or two, in any order


def np_log_gaussian_mixture(x, centres, cov, w):
    """log sum_j p_j N(x; centres_j, cov) in float64 NumPy (solve and slogdet)."""
    k = centres.shape[1]
    diff = x[:, None, :] - centres[None]
    quad = np.einsum("mni,mni->mn", diff, np.linalg.solve(cov, diff[..., None])[..., 0])
    _, logdet = np.linalg.slogdet(cov)
    with np.errstate(divide="ignore"):
        logp = np.log(w / w.sum())
    return logsumexp(-0.5 * quad + logp, axis=1) - 0.5 * (k * np.log(2 * np.pi) + logdet)


@pytest.mark.parametrize("form", ["scalar", "vector", "matrix", "scott"])
@given(case=cases(d=3), features=st.sampled_from(FEATURES))
def test_marginal_is_the_gaussian_marginal(form, case, features):
    """The kept columns, and the bandwidth restricted to them (a rule resolved on the full
    data); the KDE of the result is the full gaussian estimate's marginal density over the
    kept features, N(x_K; y_K, H_KK) per point, against NumPy."""
    with jax.enable_x64(True):
        _marginal(case, features, form)


def _marginal(case, features, form):
    d_in, dv = as_input(case.data, case.kind)
    d = dv.shape[1]
    keep = [f % d for f in np.atleast_1d(features)]
    rng = np.random.default_rng(case.seed)
    s = float(np.max(case.h))
    w = ones_if_none(case.weights)
    if form == "scalar":
        h, cov = s, s**2 * np.eye(d)
    elif form == "vector":
        h = s * rng.uniform(0.5, 2.0, d)
        cov = np.diag(h**2)
    elif form == "matrix":
        a = rng.normal(size=(d, d))
        h = cov = s**2 * (a @ a.T / d + 0.5 * np.eye(d))
    else:
        h = "scott"
        pos = dv[w > 0]
        if len(pos) < 2 or np.any(pos.max(0) == pos.min(0)):
            with pytest.raises(ValueError, match=r"weights have 1 positive value|data feature \d has zero spread"):
                jaxshift.marginal(d_in, features, h, weights=case.weights)
            return
        full = np.asarray(bw.scott(dv, case.weights))
        cov = np.diag(full**2)
    m = jaxshift.marginal(d_in, features, h, weights=case.weights)
    np.testing.assert_array_equal(m.data, dv[:, keep])
    assert m.data.dtype == m.bandwidth.dtype == np.float64
    if form == "scalar":
        assert m.bandwidth.shape == () and float(m.bandwidth) == s
    elif form == "matrix":
        np.testing.assert_array_equal(m.bandwidth, cov[np.ix_(keep, keep)])
    else:
        np.testing.assert_allclose(m.bandwidth, np.sqrt(np.diag(cov))[keep], rtol=1e-15)
        if form == "scott":  # the full estimate's, not the rule on the kept columns
            sub = np.asarray(bw.scott(dv[:, keep], case.weights))
            assert not np.allclose(m.bandwidth, sub, rtol=1e-6)
    x = np.stack([dv[0, keep], dv[-1, keep] + 0.3 * s, dv[5, keep] - 2 * s, dv[7, keep] + 0.1 * s])
    got = np.asarray(jaxshift.log_kde(x, m.data, bandwidth=m.bandwidth, weights=w))
    ref = np_log_gaussian_mixture(x, dv[:, keep], cov[np.ix_(keep, keep)], w)
    # kde's own rounding (gemm_slack; E ~ 1e6 bandwidths for bool data, 0 and 1, with a
    # 1e-6 bandwidth), in the whitened units of the kept bandwidth, half of it in the log
    pts = np.concatenate([x, dv[:, keep]])
    diff = (pts[:, None] - pts[None]).reshape(-1, len(keep))
    span2 = np.max(np.einsum("pi,pi->p", diff, np.linalg.solve(cov[np.ix_(keep, keep)], diff.T).T))
    np.testing.assert_allclose(got, ref, rtol=1e-9, atol=1e-9 + gemm_slack(np.sqrt(span2), 1.0))


# ---- integrate_box


def np_interval(a, b, kernel):
    """F(b) - F(a), the kernel's 1-D CDF at unit bandwidth, for a <= b: tails as differences
    of small values, the middle from erf (the gaussian) or the polynomial (epanechnikov)."""
    if kernel == "gaussian":
        upper, lower = a > 0, b < 0
        with np.errstate(invalid="ignore"):
            mid = 0.5 * (erf(b / np.sqrt(2)) - erf(a / np.sqrt(2)))
        return np.where(upper, ndtr(-a) - ndtr(-b), np.where(lower, ndtr(b) - ndtr(a), mid))

    def cdf(t):
        t = np.clip(t, -1.0, 1.0)
        return 0.75 * (t - t**3 / 3)

    return cdf(b) - cdf(a)


def np_box(lo, hi, data, h, w, kernel):
    """sum_j p_j prod_l (F((hi_l - y_jl) / h_l) - F((lo_l - y_jl) / h_l)), oriented."""
    sign = np.prod(np.sign(hi - lo), axis=-1)
    a, b = np.minimum(lo, hi), np.maximum(lo, hi)
    with np.errstate(invalid="ignore"):  # inf - inf does not occur: the data are finite
        p = np_interval((a[:, None] - data) / h, (b[:, None] - data) / h, kernel)  # [boxes, n, d]
    return sign * (np.prod(p, axis=-1) @ (w / w.sum()))


@given(st.one_of(cases(d=1), cases(d=2, per_feature=True)), st.sampled_from(["gaussian", "epanechnikov"]))
def test_integrate_box_against_numpy(case, kernel):
    """Per-point CDF products against NumPy/SciPy (``ndtr`` and ``erf`` for the gaussian,
    the epanechnikov's polynomial in 1-D); 1 for the whole space, in [0, 1] for any box,
    additive when a box is split in two along the first feature, negative reversed."""
    with jax.enable_x64(True):
        _integrate_box(case, "gaussian" if case.data.shape[1] == 2 else kernel)


def _integrate_box(case, kernel):
    d_in, dv = as_input(case.data, case.kind)
    n, d = dv.shape
    h = np.broadcast_to(case.h, (d,))
    rng = np.random.default_rng(case.seed)
    span_lo, span_hi = dv.min(0) - 3 * h, dv.max(0) + 3 * h
    a, b, c = np.sort(rng.uniform(span_lo[0], span_hi[0], 3))
    other = np.sort(rng.uniform(span_lo[1:], span_hi[1:], (2, d - 1)), axis=0)  # the other features' range
    if rng.random() < 0.3:
        other = np.array([[-np.inf] * (d - 1), [np.inf] * (d - 1)])
    lo = np.array([[-np.inf] * d, [a, *other[0]], [b, *other[0]], [a, *other[0]],
                   dv.max(0) + 5 * h, [c, *other[0]]])
    hi = np.array([[np.inf] * d, [b, *other[1]], [c, *other[1]], [c, *other[1]],
                   dv.max(0) + 8 * h, [a, *other[1]]])
    lo_in = lo.tolist() if case.kind == "list" else lo
    p = np.asarray(jaxshift.integrate_box(lo_in, hi, d_in, bandwidth=case.h, kernel=kernel, weights=case.weights))
    w = ones_if_none(case.weights)
    assert p.shape == (6,) and p.dtype == np.float64 and np.all(np.isfinite(p))
    assert abs(p[0] - 1) <= 1e-13
    assert np.all((p[1:5] >= 0) & (p[1:5] <= 1 + 1e-13))
    assert abs(p[1] + p[2] - p[3]) <= 1e-13 + 1e-12 * p[3]
    assert abs(p[5] + p[3]) <= 1e-13 + 1e-12 * p[3]  # reversed: the oriented integral
    np.testing.assert_allclose(p, np_box(lo, hi, dv, h, w, kernel), rtol=1e-9, atol=1e-15)
    if kernel == "epanechnikov":  # compact: nothing beyond 5 bandwidths
        assert p[4] == 0


# ---- grid_modes


@given(cases(d=2), st.sampled_from([0, None]))
def test_grid_modes_against_numpy(case, refine):
    """refine=0: MeanShift++ against a NumPy transcription, step for step (modes, n_iter,
    converged); the default refinement: converged modes are fixed points of its step (the
    last update was at most tol, and the step is continuous: within 2 tol). Finite modes;
    a seed beyond the data's reach stays, not converged; a bandwidth far wider than the
    data takes every seed to the weighted mean."""
    with jax.enable_x64(True):
        _grid_modes(case, refine)


def _grid_modes(case, refine):
    d_in, dv = as_input(case.data, case.kind)
    # A power of two: round(y / h) is then the same whether y / h is divided or multiplied
    # by 1 / h (XLA may do either), so the NumPy cells are the library's.
    h = 2.0 ** np.round(np.log2(case.h))
    w = ones_if_none(case.weights)
    rng = np.random.default_rng(case.seed)
    far = dv.max(0) + 5 * h + 2 * np.abs(dv.max(0)) * 1e-12
    seeds = np.stack([dv[0], dv[-1], dv[3] + 0.1 * h * rng.uniform(-1, 1, 2), far])  # near data
    cell = h / (3 if refine is None else 1)  # the finest grid's cells
    cells = np.prod(np.round(dv.max(0) / cell) - np.round(dv.min(0) / cell) + 1)
    if not cells < np.iinfo(np.int64).max:  # documented: refused on concrete input
        with pytest.raises(ValueError, match=r"bandwidth=.* is too small for grid mean shift .* int64 key"):
            jaxshift.grid_modes(seeds, d_in, bandwidth=h, weights=case.weights, refine=refine)
        return
    res = jaxshift.grid_modes(seeds, d_in, bandwidth=h, weights=case.weights, refine=refine)
    modes, n_iter, conv = (np.asarray(a) for a in res)
    assert modes.shape == seeds.shape and modes.dtype == np.float64 and np.all(np.isfinite(modes))
    np.testing.assert_array_equal(modes[3], far)
    assert not conv[3] and n_iter[3] == 1
    if refine == 0:
        ref_modes, ref_iter, ref_conv = numpy_grid_climb(seeds, dv, w, h)
        np.testing.assert_allclose(modes, ref_modes, rtol=0, atol=coord_tol(dv, seeds, rel=1e-13))
        np.testing.assert_array_equal(n_iter, ref_iter)
        np.testing.assert_array_equal(conv, ref_conv)
    else:
        again, count = numpy_refinement(modes, dv, w, h, 3, "flat")
        # each seed near the data converged, ran out of steps, or climbed to where the
        # refinement finds no data (documented: it stops there, not converged)
        assert np.all(conv[:3] | (n_iter[:3] == 300) | (count[:3] == 0))
        assert np.all(count[conv] > 0)
        again = again[conv]
        moved = np.linalg.norm(again - modes[conv], axis=1)
        assert np.all(moved <= 2e-3 * h + coord_tol(dv, rel=1e-12)), moved / h
    span = np.max(dv.max(0) - dv.min(0))
    if span * np.sqrt(2) < h / 4:  # every seed near the data: one cell, one ball
        mean = (w @ dv) / w.sum()
        np.testing.assert_allclose(modes[:3], np.broadcast_to(mean, (3, 2)), rtol=0,
                                   atol=1e-3 * h + coord_tol(dv, rel=1e-12))


# ---- float32, the default dtype


@given(cases(d=2, kinds=("numpy",)))
def test_float32_results_are_finite(case):
    """The same draws in float32: finite results in range from all five functions (no
    comparison: float32 cannot resolve a 1e-3 bandwidth at a 1e6 offset)."""
    data = case.data.astype(np.float32)
    h = np.float32(np.max(case.h))
    try:
        dens = np.asarray(jaxshift.kde_grid(data, bandwidth=h, weights=case.weights, size=64).density)
        assert dens.dtype == np.float32 and np.all(np.isfinite(dens)) and np.all(dens >= 0) and dens.max() > 0
    except ValueError as err:  # refused only where the grid's step is below float32's spacing
        assert "too small for a grid at this data's magnitude in float32" in str(err)
        span = np.ptp(data.astype(float), axis=0) + 2 * REACH * h
        top = np.max(np.abs(data.astype(float)), axis=0) + REACH * h
        assert np.any(span / (2 * 63) <= 2 * np.spacing(top.astype(np.float32))), (span, top)
    draws = np.asarray(jaxshift.sample(KEY, data, DRAWS, bandwidth=h, kernel="flat", weights=case.weights))
    assert draws.dtype == np.float32 and np.all(np.isfinite(draws))
    m = jaxshift.marginal(data, [1], h)
    np.testing.assert_array_equal(m.data, data[:, 1:])
    lo = np.stack([np.full(2, -np.inf), data[0] - h, data.min(0), data.max(0) + 5 * h]).astype(np.float32)
    hi = np.stack([np.full(2, np.inf), data[0] + h, data.max(0), np.full(2, np.inf)]).astype(np.float32)
    p = np.asarray(jaxshift.integrate_box(lo, hi, data, bandwidth=h, weights=case.weights))
    assert p.dtype == np.float32 and np.all((p >= 0) & (p <= 1 + 1e-6)) and abs(p[0] - 1) <= 1e-6
    far = data.max(0) + 5 * h + 1e-6 * np.abs(data.max(0))
    res = jaxshift.grid_modes(np.r_[data[:3], far[None]], data, bandwidth=h, weights=case.weights)
    assert np.all(np.isfinite(res.modes))
    np.testing.assert_array_equal(res.modes[3], far)
    assert not bool(res.converged[3])


def test_kde_grid_refuses_a_grid_finer_than_the_float_spacing():
    """24 equal float32 points at 1e6 with bandwidth 1e-3: the reach (4.3e-3) is below the
    float32 spacing there (0.0625), so the default grid's step would be 0 and the density
    NaN (it was, silently): refused, naming the bandwidth; a coarser grid is fine."""
    data = np.full((24, 1), 1e6 + 0.3, np.float32)
    with pytest.raises(ValueError, match=r"bandwidth=0.001 is too small for a grid at this data's magnitude in float32"):
        jaxshift.kde_grid(data, bandwidth=1e-3, size=256)
    dens = np.asarray(jaxshift.kde_grid(data, bandwidth=10.0, size=256).density)
    assert np.all(np.isfinite(dens)) and dens.max() > 0


def test_grid_modes_float32_meanshiftpp_of_constant_data():
    """24 equal float32 points at [1e6 + 0.3, 1e6 - 0.7]: MeanShift++'s mode is the point
    itself (as its eager step and find_modes say). The grid's means re-added the cells'
    centres to the sums, 24 x 1e6 in float32 (spacing 2), and came out as [1e6, 999999];
    beyond 2^24 the mean is now taken relative to the point's own cell."""
    data = np.full((24, 2), [1e6 + 0.3, 1e6 - 0.7], np.float32)
    res = jaxshift.grid_modes(data[:1], data, bandwidth=1.0, refine=0)
    np.testing.assert_array_equal(res.modes, data[:1])


def test_kde_grid_point_on_the_grid_centre():
    """Constant data (bounds=None): the point lies on the grid's centre node, where the
    binning is exact (documented). The compiled program put its weight one fine node off
    (4% of the peak here; exact eagerly): XLA computed the point's grid coordinate twice,
    rounded to either side of the node. Points within rounding of a node are now put on it."""
    with jax.enable_x64(True):
        data = np.full((24, 1), 2.04)
        res = jaxshift.kde_grid(data, bandwidth=1.09, size=64, oversample=2)
        exact = np.asarray(jaxshift.kde(np.asarray(res.axes[0])[:, None], data, bandwidth=1.09))
        np.testing.assert_allclose(res.density, exact, rtol=0, atol=1e-10 * exact.max())


def test_grid_modes_refuses_cells_just_past_the_key():
    """The data's box of fine cells fits an int32 key (46,330^2 < 2^31 - 1), but the grid
    widened by 2 refine cells per side does not (46,342^2): it was not refused, and every
    seed ended unconverged, silently. The check now counts the widened box."""
    data = np.float32([[0, 0], [46329, 46329], [1, 1], [2, 2]])
    with pytest.raises(ValueError, match=r"bandwidth=3 is too small for grid mean shift on this data"):
        jaxshift.grid_modes(data, data, bandwidth=3.0)
