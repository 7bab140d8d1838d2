"""jaxshift.cluster: parity with scikit-learn's mean shift, the extensions, the jit pipeline."""

import functools
import pickle
import warnings

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import jaxshift
from jaxshift import cluster as jc
from jaxshift.cluster import MeanShift, estimate_bandwidth, find_clusters, get_bin_seeds, mean_shift

sk = pytest.importorskip("sklearn.cluster")


def blobs(n, d, centres=5, std=1.0, seed=0, noise=0.0):
    """Gaussian blobs plus an optional uniform background (for orphans)."""
    rng = np.random.default_rng(seed)
    mu = rng.uniform(-10, 10, (centres, d))
    X = mu[rng.integers(0, centres, n)] + std * rng.standard_normal((n, d))
    if noise:
        k = int(noise * n)
        X[:k] = rng.uniform(-14, 14, (k, d))
    return X


def assert_same_clustering(ours, ref, bandwidth):
    """Same number of clusters, centres within 1e-3 bandwidth, identical labels."""
    assert ours.cluster_centers_.shape == ref.cluster_centers_.shape
    assert ours.cluster_centers_.dtype == ref.cluster_centers_.dtype
    np.testing.assert_allclose(ours.cluster_centers_, ref.cluster_centers_, rtol=0, atol=1e-3 * bandwidth)
    np.testing.assert_array_equal(ours.labels_, ref.labels_)
    assert ours.n_iter_ == ref.n_iter_


# --------------------------------------------------------------------------- parity


@pytest.mark.parametrize(
    "d, n, quantile, bin_seeding, cluster_all, dtype",
    [
        (2, 100, 0.1, False, True, np.float64),
        (2, 1000, 0.2, False, False, np.float32),
        (3, 500, 0.3, True, False, np.float64),
        (4, 1000, 0.1, True, True, np.float32),
        (5, 5000, 0.2, True, False, np.float64),
        (3, 2000, 0.05, True, True, np.float32),
    ],
)
def test_parity_random_blobs(d, n, quantile, bin_seeding, cluster_all, dtype):
    X = blobs(n, d, seed=n + d, noise=0.05).astype(dtype)
    bw = sk.estimate_bandwidth(X, quantile=quantile, n_samples=500, random_state=1)
    assert estimate_bandwidth(X, quantile=quantile, n_samples=500, random_state=1) == pytest.approx(bw, rel=1e-12)
    ours = MeanShift(bandwidth=bw, bin_seeding=bin_seeding, cluster_all=cluster_all).fit(X)
    ref = sk.MeanShift(bandwidth=bw, bin_seeding=bin_seeding, cluster_all=cluster_all).fit(X)
    assert_same_clustering(ours, ref, bw)
    if not cluster_all:
        assert np.any(ref.labels_ == -1)  # the case exercises orphans


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_parity_many_seeds_and_small_bandwidth(dtype):
    """Every point a seed, many small modes: many boundary decisions and merges."""
    rng = np.random.default_rng(0)
    X = np.concatenate([rng.uniform(0, 10, (600, 2)), rng.normal(5, 0.5, (200, 2))]).astype(dtype)
    ours = MeanShift(bandwidth=0.7, cluster_all=False).fit(X)
    ref = sk.MeanShift(bandwidth=0.7, cluster_all=False).fit(X)
    assert len(ref.cluster_centers_) > 20
    assert_same_clustering(ours, ref, 0.7)


@pytest.mark.parametrize("max_iter", [0, 1, 2, 5])
def test_max_iter_counts_like_sklearn(max_iter):
    """scikit-learn allows max_iter + 1 mean updates; n_iter_ is the most completed."""
    X = blobs(300, 2, centres=2, std=3.0, seed=3)
    ours = MeanShift(bandwidth=2.0, max_iter=max_iter).fit(X)
    ref = sk.MeanShift(bandwidth=2.0, max_iter=max_iter).fit(X)
    assert ours.n_iter_ == ref.n_iter_ == max_iter
    assert_same_clustering(ours, ref, 2.0)


def test_intensity_ties_broken_as_sklearn():
    """Symmetric clusters of equal size: the order of centres comes from the coordinates."""
    base = np.array([[0.0, 0.0], [0.5, 0.0], [0.0, 0.5]])
    for shifts in ([[0, 0], [5, 5], [5, -5], [-5, 5]], [[-5, 5], [5, -5], [0, 0], [5, 5]]):
        X = np.concatenate([base + s for s in shifts])
        ours = MeanShift(bandwidth=1.0).fit(X)
        ref = sk.MeanShift(bandwidth=1.0).fit(X)
        assert_same_clustering(ours, ref, 1.0)


def test_zero_bandwidth_drift_like_sklearn():
    """With bandwidth 0 the mean of three copies of 0.1 is 0.1 + 1 ulp, which then
    has no point within 0: scikit-learn drops that seed. So do we."""
    X = np.array([0.1, 0.1, 0.1, 2.0, 2.0, 7.0, 7.0, 7.0]).reshape(-1, 1)
    assert estimate_bandwidth(X) == 0
    ours = MeanShift().fit(X)
    ref = sk.MeanShift().fit(X)
    assert_same_clustering(ours, ref, 1.0)


@pytest.mark.parametrize("dtype,n", [(np.float64, 40), (np.float32, 40), (np.float64, 1100)])
def test_tiny_bandwidth_keeps_every_point_like_sklearn(dtype, n):
    """Issue 10: ``MeanShift(bandwidth=1e-9)`` on distinct points, one cluster per point
    as scikit-learn. Three causes, all fixed: the merge's radius test (now scikit-learn's
    ``sum(diff^2) <= h^2`` in float64, exact here: h^2 = 1e-18 is a normal float); a
    seed's mean of its one point coming back 1 ulp away in float32 (``(y - anchor) +
    anchor``; the wide-pair path now anchors each row at its nearest point); and, on the
    pruned path (``n > 1024``), a query block whose only data block in reach was block 0
    taking the GEMM form (its "wide" flag lost), which counted points thousands of
    bandwidths away (float32 at small shapes: tests/test_geometry.py). 1100 points:
    scikit-learn is not run (it finds ``n``, no point within 1e-9 of another, as the
    40-point case checks)."""
    X = np.random.RandomState(0).rand(n, 2).astype(dtype)
    assert len(np.unique(X, axis=0)) == n
    ours = MeanShift(bandwidth=1e-9).fit(X)
    if n > 40:
        assert len(ours.cluster_centers_) == n
        np.testing.assert_array_equal(np.sort(ours.cluster_centers_, axis=0), np.sort(X, axis=0))
        np.testing.assert_array_equal(ours.cluster_centers_[ours.labels_], X)  # each point its own centre
        return
    ref = sk.MeanShift(bandwidth=1e-9).fit(X)
    assert len(ref.cluster_centers_) == 40
    assert_same_clustering(ours, ref, 1e-9)


def test_merge_radius_test_where_h_squared_under_or_overflows():
    """The merge (both pipelines' one implementation) where ``h * h`` is not a normal
    float32: the scaled form decides. Before, ``h * h`` and every ``diff^2`` flushed
    to 0 at h = 1e-30 and 40 distinct modes merged into one."""
    from jaxshift.cluster._host import _merge_jit as _merge  # jax.jit(_pipeline._merge): one program

    base = np.random.RandomState(1).rand(40, 2)
    for scale, h, kept in [(1e-20, 1e-30, "all"), (1e20, 1e30, "one"), (1e20, 3e19, "some")]:
        modes = (base * scale).astype(np.float32)
        order, keep = _merge(jnp.asarray(modes), jnp.ones(40, jnp.float32), jnp.ones(40, bool), jnp.float32(h))
        # float64 reference in bandwidth units, scikit-learn's greedy walk
        c = modes[np.asarray(order)].astype(np.float64) / h
        ref = np.ones(40, bool)
        for i in range(40):
            if ref[i]:
                ref[i + 1:] &= ((c[i + 1:] - c[i]) ** 2).sum(1) > 1.0
        np.testing.assert_array_equal(keep, ref)
        assert {"all": 40, "one": 1}.get(kept, ref.sum()) == ref.sum() and 0 < ref.sum()


@given(
    seed=st.integers(0, 2**16),
    n=st.sampled_from([30, 60]),
    d=st.sampled_from([1, 3]),
    bandwidth=st.sampled_from([0.8, 2.0]),
    bin_seeding=st.booleans(),
)
def test_parity_property(seed, n, d, bandwidth, bin_seeding):
    X = np.random.default_rng(seed).normal(0, 2, (n, d))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # "Binning data failed" on both sides
        ours = MeanShift(bandwidth=bandwidth, bin_seeding=bin_seeding, cluster_all=False).fit(X)
        ref = sk.MeanShift(bandwidth=bandwidth, bin_seeding=bin_seeding, cluster_all=False).fit(X)
    assert_same_clustering(ours, ref, bandwidth)


def test_parity_on_integer_grids():
    """Integer data, integer bandwidth: many points exactly one bandwidth away.

    The first step is exact (see the lattice test below) and means are NumPy's bit for
    bit, but a later mean such as (-2/3, 2/3, 2/3) can sit at an exactly rational
    distance of one bandwidth from a grid point, where the rounding of two different
    distance formulas (scikit-learn's k-d tree, our GEMM form) decides: about 1 in
    80 of these adversarial cases differ. (Before the core fix it was 1 in 5.)
    """
    same = total = 0
    for seed in range(12):
        for d, bandwidth in [(1, 2.0), (3, 2.0)]:
            for bin_seeding in (False, True):
                X = np.random.default_rng(seed).integers(-3, 4, (30, d)).astype(float)
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", UserWarning)
                    ours = MeanShift(bandwidth=bandwidth, bin_seeding=bin_seeding, cluster_all=False).fit(X)
                    ref = sk.MeanShift(bandwidth=bandwidth, bin_seeding=bin_seeding, cluster_all=False).fit(X)
                total += 1
                try:
                    assert_same_clustering(ours, ref, bandwidth)
                    same += 1
                except AssertionError:
                    pass
    assert same >= total - 2, f"{total - same} of {total} integer-grid cases differ"


def test_mean_shift_function_matches_estimator():
    X = blobs(200, 2, seed=1)
    centres, labels = mean_shift(X, bandwidth=2.0, bin_seeding=True)
    est = MeanShift(bandwidth=2.0, bin_seeding=True).fit(X)
    np.testing.assert_array_equal(centres, est.cluster_centers_)
    np.testing.assert_array_equal(labels, est.labels_)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_flat_radius_test_is_exact_on_a_lattice(dtype):
    """Core fix (jaxshift/_pairwise.py): on integer data with an integer bandwidth (pixel
    colours, bandwidth 20) points exactly one bandwidth away count as inside, as in
    scikit-learn's ``<=`` radius test. Before, scaling by 1 / h and centring at the
    mean rounded about 7% of such counts the wrong way."""
    from jaxshift._pairwise import kernel_sums

    rng = np.random.default_rng(0)
    X = rng.integers(0, 40, (400, 3)).astype(dtype) * 6  # a coarse colour lattice
    exact_d2 = ((X[:, None].astype(np.int64) - X[None].astype(np.int64)) ** 2).sum(-1)
    sums = jax.jit(lambda x, w, h: kernel_sums(x, x, w, h, jaxshift.get_kernel("flat"), with_mean=False).s)
    with jc._precision(dtype):
        for h in (6.0, 18.0, 30.0):  # one program: the bandwidth is traced
            s = sums(jnp.asarray(X), jnp.ones(len(X), dtype), jnp.asarray(h, dtype))
            assert np.any(exact_d2 == int(h) ** 2)  # the lattice has points exactly on the edge
            np.testing.assert_array_equal(np.asarray(s), (exact_d2 <= int(h) ** 2).sum(1))


# ------------------------------------------------------------- estimate_bandwidth, bins


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize(
    "quantile, n_samples, random_state",
    [(0.3, None, 0), (0.1, 100, 7), (0.0, 50, None), (1.0, 80, "instance")],
)
def test_estimate_bandwidth_parity(dtype, quantile, n_samples, random_state):
    X = blobs(700, 3, seed=2).astype(dtype)
    if random_state == "instance":
        ours = estimate_bandwidth(X, quantile=quantile, n_samples=n_samples, random_state=np.random.RandomState(3))
        ref = sk.estimate_bandwidth(X, quantile=quantile, n_samples=n_samples, random_state=np.random.RandomState(3))
    elif random_state is None:  # NumPy's global RandomState: the same state on both sides
        saved = np.random.get_state()  # noqa: NPY002 - scikit-learn's random_state=None uses it
        try:
            np.random.seed(5)  # noqa: NPY002
            ours = estimate_bandwidth(X, quantile=quantile, n_samples=n_samples, random_state=None)
            np.random.seed(5)  # noqa: NPY002
            ref = sk.estimate_bandwidth(X, quantile=quantile, n_samples=n_samples, random_state=None)
        finally:
            np.random.set_state(saved)  # noqa: NPY002
    else:
        ours = estimate_bandwidth(X, quantile=quantile, n_samples=n_samples, random_state=random_state)
        ref = sk.estimate_bandwidth(X, quantile=quantile, n_samples=n_samples, random_state=random_state)
    assert isinstance(ours, np.float64)
    # We search in float64; scikit-learn too (k-d tree), except its brute-force search
    # (k = all points) of float32 data, which is float32.
    assert ours == pytest.approx(ref, rel=1e-12 if dtype == np.float64 else 1e-6)


def test_kth_neighbour_blocked_equals_dense():
    """The k-th neighbour search against a dense sort: several query blocks, rows long
    enough for the sampled first bracket, runs of ties (a small lattice with repeated
    points) and, with k = 2 on those repeats, blocks redone in the difference form."""
    rng = np.random.default_rng(4)
    X = np.concatenate([blobs(1100, 2, seed=4), rng.integers(0, 4, (100, 2)), [[1e4, -1e4]]])
    dense = np.sort(((X[:, None] - X[None]) ** 2).sum(-1), axis=1)
    with jc._precision(np.float64):
        for k in (2, 400, len(X)):
            got = jc._kth_neighbour_sq_dist(jnp.asarray(X), k=k, query_block=64)
            np.testing.assert_allclose(got, dense[:, k - 1], rtol=1e-12)
    X = blobs(300, 2, seed=4).astype(np.float32)
    dense = np.sort(np.sum((X[:, None] - X[None]) ** 2, -1), axis=1)  # in float32, as the search
    X = jnp.asarray(X)
    for k in (1, 7, 150):
        got = jc._kth_neighbour_sq_dist(X, k=k, query_block=64)
        np.testing.assert_allclose(got, dense[:, k - 1], rtol=1e-6)


@pytest.mark.parametrize("few_terms", [0, 128], ids=["blocked", "few"])
def test_nearest_ties_and_distances(few_terms):
    """Labels' nearest centre, blocked (the GEMM form chooses) and for few centres (the
    difference form throughout): exact ties (queries halfway between lattice centres,
    far from the origin) go to the lowest index as a brute-force argmin, invalid
    centres are never chosen, and the distances returned are the difference form's,
    also in bandwidth units (``scaled``)."""
    from jaxshift._neighbours import nearest

    rng = np.random.default_rng(5)
    centres = rng.permutation(np.stack(np.meshgrid(np.arange(4.0), np.arange(4.0)), -1).reshape(-1, 2))
    x = np.concatenate([rng.integers(0, 7, (300, 2)) / 2.0, rng.uniform(-1, 4, (200, 2))]) + 1e3
    centres = centres + 1e3  # far from the origin: the GEMM form is taken around a block's centre
    d2 = ((x[:, None] - centres[None]) ** 2).sum(-1)
    with jc._precision(np.float64):
        arg, best = nearest(jnp.asarray(x), jnp.asarray(centres), jnp.ones(16, bool), jnp.ones(2), scaled=False,
                            query_block=128, centre_block=8, few_terms=few_terms)
    np.testing.assert_array_equal(arg, np.argmin(d2, axis=1))
    ref = d2[np.arange(len(x)), np.argmin(d2, axis=1)]
    np.testing.assert_array_equal(best[:300], ref[:300])  # on the lattice: exact
    np.testing.assert_allclose(best, ref, rtol=4e-16)  # elsewhere NumPy's rounding, or a fused multiply-add's
    # Half the centres invalid, distances in units of a per-feature bandwidth.
    valid = np.arange(16) % 2 == 1
    scale = np.array([0.5, 2.0])
    d2s = (((x[:, None] - centres[None]) / scale) ** 2).sum(-1)
    d2s[:, ~valid] = np.inf
    with jc._precision(np.float64):
        arg, best = nearest(jnp.asarray(x), jnp.asarray(centres), jnp.asarray(valid), jnp.asarray(scale), scaled=True,
                            query_block=128, centre_block=8, few_terms=few_terms)
    np.testing.assert_array_equal(arg, np.argmin(d2s, axis=1))
    np.testing.assert_allclose(best, d2s.min(axis=1), rtol=4e-16)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_get_bin_seeds_parity(dtype):
    X = blobs(500, 3, seed=5).astype(dtype)
    X[:5] = [[-0.2, 0.1, 0.3]] * 5  # bins at -0.0 and 0.0 are one bin
    for bin_size, freq in [(1.0, 1), (2.5, 3), (np.float64(0.7), 2)]:
        ours = get_bin_seeds(X, bin_size, freq)
        ref = sk.get_bin_seeds(X, bin_size, freq)
        assert ours.dtype == ref.dtype
        np.testing.assert_array_equal(ours, ref)  # same seeds, same order
    assert get_bin_seeds(X, 0) is X
    distinct = X[5:]
    with pytest.warns(UserWarning, match="Binning data failed with provided bin_size=0.000100"):
        assert get_bin_seeds(distinct, 1e-4) is distinct


# --------------------------------------------------------------------------- walkthrough


def test_seed_walkthrough_3d_blobs():
    rng = np.random.default_rng(0)
    true = np.array([[2.0, 2.0, 3.0], [6.0, 7.0, 8.0], [5.0, 10.0, 13.0]])
    X = np.concatenate([c + 0.6 * rng.standard_normal((40, 3)) for c in true])
    bw = estimate_bandwidth(X, quantile=0.2, n_samples=500)
    ms = MeanShift(bandwidth=bw, bin_seeding=True).fit(X)
    assert len(ms.cluster_centers_) == 3
    dist = np.linalg.norm(ms.cluster_centers_[:, None] - true[None], axis=-1)
    assert np.all(dist.min(axis=1) < 0.5)
    assert sorted(np.argmin(dist, axis=1).tolist()) == [0, 1, 2]
    np.testing.assert_array_equal(np.bincount(ms.labels_), [40, 40, 40])
    ref = sk.MeanShift(bandwidth=bw, bin_seeding=True).fit(X)
    assert_same_clustering(ms, ref, bw)


# ----------------------------------------------------------------------------- dtypes


def test_dtypes_and_float64_precision():
    X = blobs(300, 2, seed=6)
    ref = sk.MeanShift(bandwidth=2.0).fit(X)
    for dtype in (np.float32, np.float64):
        ms = MeanShift(bandwidth=2.0).fit(X.astype(dtype))
        assert ms.cluster_centers_.dtype == dtype
        assert ms.labels_.dtype == np.intp
        assert isinstance(ms.n_iter_, int)
    # float64 is computed in float64 even with x64 off: agreement far below float32's eps.
    ms = MeanShift(bandwidth=2.0).fit(X)
    np.testing.assert_allclose(ms.cluster_centers_, ref.cluster_centers_, rtol=0, atol=1e-12)
    ms = MeanShift(bandwidth=2.0).fit(np.round(X).astype(np.int64))
    assert ms.cluster_centers_.dtype == np.float64  # integers become float64, as in scikit-learn
    assert ms.predict(X[:3].astype(np.float32)).dtype == np.intp


# ------------------------------------------------------------------------- extensions


def test_sample_weight_equals_repeated_points():
    X = blobs(120, 2, seed=7)
    reps = np.random.default_rng(0).integers(1, 4, len(X))
    ms_w = MeanShift(bandwidth=2.0).fit(X, sample_weight=reps)
    ms_r = MeanShift(bandwidth=2.0, seeds=X).fit(np.repeat(X, reps, axis=0))
    np.testing.assert_allclose(ms_w.cluster_centers_, ms_r.cluster_centers_, rtol=0, atol=1e-10)
    np.testing.assert_array_equal(ms_w.labels_, ms_r.labels_[np.cumsum(reps) - reps])
    # Zero weights remove points: the same as fitting without them.
    w = (np.arange(len(X)) % 3 != 0).astype(float)
    a = MeanShift(bandwidth=2.0, seeds=X[w > 0]).fit(X, sample_weight=w)
    b = MeanShift(bandwidth=2.0).fit(X[w > 0])
    np.testing.assert_allclose(a.cluster_centers_, b.cluster_centers_, rtol=0, atol=1e-10)


def test_repeated_rows_are_clustered_once_with_the_same_result():
    """Pixel-like data (few distinct integer colours, many repeats) is deduplicated
    internally; the result is scikit-learn's on every row."""
    rng = np.random.default_rng(17)
    palette = rng.integers(0, 256, (60, 3))
    X = palette[rng.integers(0, 60, 3000)].astype(np.uint8)
    ours = MeanShift(bandwidth=40, bin_seeding=True, cluster_all=False).fit(X)
    ref = sk.MeanShift(bandwidth=40, bin_seeding=True, cluster_all=False).fit(X)
    assert len(ours._fit_X) == len(np.unique(X, axis=0))  # it did deduplicate
    assert_same_clustering(ours, ref, 40)
    np.testing.assert_array_equal(ours.cluster_centers_, ref.cluster_centers_)  # integer data: exact


def np_mean_shift(X, seeds, h, kernel, max_iter=300):
    """scikit-learn's ``mean_shift`` transcribed to plain NumPy, one seed at a time, with
    a kernel's weights for the mean: ``(centres, labels, n_iter)``.

    Per seed (``_mean_shift_single_seed``): up to ``max_iter + 1`` updates to the
    ``g(u)``-weighted mean (``g``: the kernel's profile; the flat kernel's is
    scikit-learn's plain mean within one bandwidth); stop when no point has weight
    (a compact kernel with nothing in reach: the seed is dropped), when the update
    moved by ``<= 1e-3 h``, or after ``max_iter`` completed iterations. Its intensity
    is the number of points within one bandwidth of where it stood before its last
    update. Then scikit-learn's post-processing: a dict of centre -> intensity, sorted
    by ``(intensity, centre)`` descending, a greedy walk that drops every later
    centre within one bandwidth of a kept one, and 1-NN labels.
    """
    g = {
        "flat": lambda u: (u <= 1.0).astype(float),
        "epanechnikov": lambda u: np.clip(1.0 - u, 0.0, None),
        "gaussian": lambda u: np.exp(-0.5 * u),
    }[kernel]
    found, n_iters = {}, []
    for seed in np.asarray(seeds, float):
        mean, completed, count, live = seed, 0, 0, False
        while True:
            d2 = np.sum((X - mean) ** 2, axis=1)
            wts = g(d2 / h**2)
            if wts.sum() == 0:
                break
            old, mean = mean, wts @ X / wts.sum()
            count, live = int(np.sum(d2 <= h * h)), True
            if np.linalg.norm(mean - old) <= 1e-3 * h or completed == max_iter:
                break
            completed += 1
        if live and count > 0:
            found[tuple(mean)] = count
        n_iters.append(completed)
    ranked = sorted(found.items(), key=lambda kv: (kv[1], kv[0]), reverse=True)
    centres = np.array([c for c, _ in ranked])
    unique = np.ones(len(centres), bool)
    for i in range(len(centres)):
        if unique[i]:
            unique[np.sum((centres - centres[i]) ** 2, axis=1) <= h * h] = False
            unique[i] = True
    centres = centres[unique]
    labels = np.argmin(np.sum((X[:, None] - centres[None]) ** 2, axis=-1), axis=1)
    return centres, labels, max(n_iters)


@pytest.mark.parametrize("kernel,bin_seeding", [("gaussian", True), ("epanechnikov", False)])
def test_kernel_mean_shift_matches_numpy_reference(kernel, bin_seeding):
    """Issue 10: ``MeanShift(kernel=...)`` against an independent per-seed NumPy loop
    (:func:`np_mean_shift`), not against the core it runs on. Overlapping blobs and a
    background, so that seeds meet, merge and some climb from nowhere."""
    rng = np.random.default_rng(8)
    X = np.concatenate([c + 0.9 * rng.standard_normal((60, 2)) for c in ([0, 0], [3.5, 0], [0, 8])]
                       + [rng.uniform(-6, 12, (30, 2))])
    h = 1.6
    ms = MeanShift(bandwidth=h, kernel=kernel, bin_seeding=bin_seeding).fit(X)
    seeds = sk.get_bin_seeds(X, h) if bin_seeding else X
    centres, labels, n_iter = np_mean_shift(X, seeds, h, kernel)
    assert len(centres) >= 4  # blobs and background modes: a real merge
    assert ms.cluster_centers_.shape == centres.shape
    np.testing.assert_allclose(ms.cluster_centers_, centres, rtol=0, atol=1e-9)
    np.testing.assert_array_equal(ms.labels_, labels)
    assert ms.n_iter_ == n_iter


def test_np_mean_shift_reference_is_sklearn_for_the_flat_kernel():
    """The reference's own check: with the flat kernel it is scikit-learn."""
    X = blobs(200, 2, centres=4, seed=5, noise=0.1)
    ref = sk.MeanShift(bandwidth=2.0).fit(X)
    centres, labels, n_iter = np_mean_shift(X, X, 2.0, "flat")
    np.testing.assert_allclose(centres, ref.cluster_centers_, rtol=0, atol=1e-12)
    np.testing.assert_array_equal(labels, ref.labels_)
    assert n_iter == ref.n_iter_


@pytest.mark.parametrize("kernel", ["gaussian", "epanechnikov"])
def test_kernel_modes_come_from_the_core(kernel):
    rng = np.random.default_rng(8)
    X = np.concatenate([c + 0.7 * rng.standard_normal((70, 2)) for c in ([0, 0], [8, 0], [0, 8])])
    ms = MeanShift(bandwidth=2.0, kernel=kernel, bin_seeding=True).fit(X)
    res = jaxshift.find_modes(ms.cluster_centers_, X, bandwidth=2.0, kernel=kernel)
    # The centres are fixed points of the core's step, and there is one per blob.
    np.testing.assert_allclose(res.modes, ms.cluster_centers_, atol=2e-3)
    assert len(ms.cluster_centers_) == 3
    assert repr(ms) == f"MeanShift(bandwidth=2.0, bin_seeding=True, kernel={kernel!r})"


def test_predict_shift_follows_the_mode():
    """A point nearer a small cluster's centre but on the slope of a big one's mode."""
    rng = np.random.default_rng(9)
    big = rng.normal(0.0, 1.0, (400, 1))
    small = rng.normal(6.0, 0.1, (30, 1))
    X = np.concatenate([big, small])
    ms = MeanShift(bandwidth=2.5).fit(X)
    assert len(ms.cluster_centers_) == 2
    q = np.array([[3.2]])
    i_big = int(np.argmin(np.abs(ms.cluster_centers_[:, 0])))
    assert ms.predict(q)[0] != i_big  # nearest centre: the small cluster's
    assert ms.predict(q, shift=True)[0] == i_big  # the mode it climbs to: the big one
    # Two code paths: climbing with the core's find_modes then taking the nearest centre.
    modes = jaxshift.find_modes(q, X, bandwidth=2.5, kernel="flat", max_iter=301).modes
    assert ms.predict(q, shift=True)[0] == int(np.argmin(np.abs(ms.cluster_centers_ - np.asarray(modes)[0])))
    np.testing.assert_array_equal(ms.predict(X, shift=True), ms.labels_)


def test_string_bandwidth_goes_through_jaxshift_bandwidth():
    X = blobs(300, 2, centres=3, seed=10)
    ms = MeanShift(bandwidth="scott", bin_seeding=True).fit(X)
    with jax.enable_x64(True):  # float64 data: the rule is computed in float64
        h = np.asarray(jaxshift.bandwidth.scott(X))
    np.testing.assert_allclose(ms.bandwidth_, h, rtol=1e-12)
    ref = MeanShift(bandwidth=h, bin_seeding=True).fit(X)
    np.testing.assert_array_equal(ms.cluster_centers_, ref.cluster_centers_)
    with pytest.raises(ValueError, match="'nope'"):
        MeanShift(bandwidth="nope").fit(X)


def test_per_feature_bandwidth_is_scaling():
    """A [d] bandwidth equals a unit bandwidth on data divided by it."""
    X = blobs(200, 2, seed=11)
    h = np.array([2.0, 0.5])
    a = MeanShift(bandwidth=h, bin_seeding=True, cluster_all=False).fit(X)
    b = MeanShift(bandwidth=1.0, seeds=get_bin_seeds(X, h) / h, cluster_all=False).fit(X / h)
    np.testing.assert_allclose(a.cluster_centers_, b.cluster_centers_ * h, rtol=1e-10)
    np.testing.assert_array_equal(a.labels_, b.labels_)


# ------------------------------------------------------------------- jit-able find_clusters()


def test_cluster_under_jit_equals_host_path():
    X = jnp.asarray(blobs(400, 3, seed=12, noise=0.05), jnp.float32)
    seeds = jnp.asarray(get_bin_seeds(np.asarray(X), 2.0), jnp.float32)
    run = jax.jit(functools.partial(find_clusters, capacity=64, cluster_all=False))
    res = run(X, bandwidth=2.0, seeds=seeds)
    host = MeanShift(bandwidth=2.0, seeds=np.asarray(seeds), cluster_all=False).fit(np.asarray(X))
    k = int(res.n_clusters)
    assert k == len(host.cluster_centers_) and not bool(res.overflow)
    assert res.valid.tolist() == [True] * k + [False] * (64 - k)
    np.testing.assert_allclose(res.centres[:k], host.cluster_centers_, rtol=0, atol=1e-6)
    np.testing.assert_array_equal(res.labels, host.labels_)
    assert int(res.n_iter) == host.n_iter_
    np.testing.assert_array_equal(res.centres[k:], 0.0)


def test_cluster_vmap_and_overflow():
    X = jnp.asarray(blobs(200, 2, centres=4, std=0.5, seed=13), jnp.float32)
    hs = jnp.array([0.5, 1.5, 30.0], jnp.float32)
    # Both under jit (one program each; eager, every primitive compiled on its own).
    run = jax.jit(lambda h: find_clusters(X, bandwidth=h, seeds=X, capacity=3))
    batched = jax.jit(jax.vmap(run))(hs)
    for i, h in enumerate(np.asarray(hs)):
        one = run(h)
        for a, b in zip(batched, one, strict=True):
            np.testing.assert_allclose(a[i], b, atol=1e-5)
    host = MeanShift(bandwidth=0.5).fit(np.asarray(X))
    assert int(batched.n_clusters[0]) == len(host.cluster_centers_) > 3
    assert bool(batched.overflow[0])  # more clusters than capacity: said, not silent
    np.testing.assert_allclose(batched.centres[0], host.cluster_centers_[:3], atol=1e-6)
    assert int(batched.n_clusters[2]) == 1 and not bool(batched.overflow[2])


# ----------------------------------------------------------------- estimator interface


def test_clone_pipeline_gridsearch_pickle():
    from sklearn.base import clone
    from sklearn.model_selection import GridSearchCV
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    X = blobs(150, 2, seed=14)
    ms = MeanShift(bandwidth=0.5, bin_seeding=True, kernel="flat")
    c = clone(ms)
    assert c is not ms and c.get_params() == ms.get_params()
    pipe = make_pipeline(StandardScaler(), MeanShift(bandwidth=0.5))
    labels = pipe.fit_predict(X)
    ref = sk.MeanShift(bandwidth=0.5).fit(StandardScaler().fit_transform(X))
    np.testing.assert_array_equal(labels, ref.labels_)
    np.testing.assert_array_equal(pipe.predict(X), ref.predict(StandardScaler().fit_transform(X)))

    def score(est, X, y=None):
        return -len(est.cluster_centers_)

    gs = GridSearchCV(MeanShift(), {"bandwidth": [1.0, 3.0]}, scoring=score, cv=2).fit(X)
    assert gs.best_params_ == {"bandwidth": 3.0}
    fitted = MeanShift(bandwidth=2.0).fit(X)
    again = pickle.loads(pickle.dumps(fitted))
    np.testing.assert_array_equal(again.predict(X), fitted.labels_)
    assert ms.set_params(max_iter=5) is ms and ms.max_iter == 5
    with pytest.raises(ValueError, match="Invalid parameter 'nope'"):
        ms.set_params(nope=1)


# ------------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    "params, match",
    [
        ({"bandwidth": -1.0}, r"'bandwidth' parameter of MeanShift .* Got -1.0"),
        ({"bandwidth": 0}, r"'bandwidth' parameter of MeanShift .* Got 0"),
        ({"max_iter": -1}, r"'max_iter' parameter of MeanShift .* Got -1"),
        ({"max_iter": 2.5}, r"'max_iter' parameter of MeanShift .* Got 2.5"),
        ({"min_bin_freq": 0}, r"'min_bin_freq' parameter of MeanShift .* Got 0"),
        ({"bin_seeding": "yes"}, r"'bin_seeding' parameter of MeanShift .* Got 'yes'"),
        ({"cluster_all": None}, r"'cluster_all' parameter of MeanShift .* Got None"),
        ({"n_jobs": 1.5}, r"'n_jobs' parameter of MeanShift .* Got 1.5"),
        ({"kernel": "square"}, r"kernel='square'"),
        ({"seeds": [[0.0, 0.0, 0.0]]}, r"seeds has 3 features"),
        ({"seeds": [[np.nan, 0.0]]}, r"seeds must be finite, got nan"),
    ],
)
def test_bad_parameters(params, match):
    X = blobs(20, 2, seed=15)
    with pytest.raises(ValueError, match=match):
        MeanShift(**params).fit(X)


def test_bad_data_and_usage():
    X = blobs(20, 2, seed=16)
    with pytest.raises(ValueError, match="X must be finite, got nan"):
        MeanShift(bandwidth=1.0).fit(np.where(np.arange(40).reshape(20, 2) == 3, np.nan, X))
    with pytest.raises(ValueError, match=r"X must be a 2-D array \[n, d\], got shape \(20,\)"):
        MeanShift(bandwidth=1.0).fit(X[:, 0])
    with pytest.raises(ValueError, match="X is empty"):
        MeanShift(bandwidth=1.0).fit(np.zeros((0, 2)))
    with pytest.raises(ValueError, match=r"sample_weight must be non-negative, got -1.0 at index 0"):
        MeanShift(bandwidth=1.0).fit(X, sample_weight=-np.ones(20))
    with pytest.raises(ValueError, match=r"sample_weight must have shape \[20\]"):
        MeanShift(bandwidth=1.0).fit(X, sample_weight=np.ones(3))
    with pytest.raises(jc.NotFittedError, match="not fitted yet"):
        MeanShift().predict(X)
    ms = MeanShift(bandwidth=1.0).fit(X)
    with pytest.raises(ValueError, match="X has 3 features, but MeanShift is expecting 2 features"):
        ms.predict(np.zeros((2, 3)))
    with pytest.raises(ValueError, match=r"No point was within bandwidth=0.100000 of any seed"):
        MeanShift(bandwidth=0.1, seeds=[[-90.0, -90.0]]).fit(X)
    with pytest.raises(ValueError, match=r"'quantile' parameter of estimate_bandwidth .* Got 1.5"):
        estimate_bandwidth(X, quantile=1.5)
    with pytest.raises(ValueError, match=r"'n_samples' parameter of estimate_bandwidth .* Got 0"):
        estimate_bandwidth(X, n_samples=0)
    with pytest.raises(ValueError, match=r"capacity must be an integer >= 1, got 0"):
        find_clusters(X, bandwidth=1.0, seeds=X, capacity=0)


def test_earlier_name_of_find_clusters_still_runs():
    """``jaxshift.cluster.cluster`` (the name before ``find_clusters``) is the same function."""
    assert jc.cluster is find_clusters
    assert "cluster" not in jc.__all__ and "find_clusters" in jc.__all__
