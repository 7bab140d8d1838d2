"""One benchmark harness: jaxshift against the reference libraries, side by side in one process.

    python benchmarks/run.py                  # full run, writes docs/scaling.png (estimated 15-20 min on 2 idle
                                              # cores, most of it scikit-learn on 50k blobs; more under load)
    python benchmarks/run.py --quick          # tiny sizes, well under a minute (run by tests/test_benchmarks.py)
    python benchmarks/run.py --large          # also n = 100,000 blobs (scikit-learn alone takes many minutes)
    python benchmarks/run.py --memory         # also (or with --quick: only a small) memory run
    python benchmarks/run.py --only kde,hotloop --json out.json --plot scaling.png

Run it with ``PYTHONPATH=<repo root>`` to benchmark the working tree (the header prints which
jaxshift was imported).

Workloads (the names for ``--only``):

blobs
    ``MeanShift``, every point a seed, flat kernel, three 3-D gaussian blobs, float64 (the data's
    dtype, on both sides). n = 2k, 5k, 10k, 20k, 50k (100k with ``--large``); the rows are also the
    points of the scaling plot. ``bw = sklearn.cluster.estimate_bandwidth(X, quantile=0.2)`` is
    computed once per n outside the timers and passed to both; above 20,000 points it is estimated
    on a random 20,000 (``n_samples``): the quadratic estimate alone would take minutes, and the
    value moves by under 0.1 %. Reference: ``sklearn.cluster.MeanShift(bandwidth=bw,
    n_jobs=-1).fit(X)``; ours: ``jaxshift.cluster.MeanShift(bandwidth=bw).fit(X)``. Parity: clusters
    on each side, % of points whose labels agree once the clusters are matched one to one
    (Hungarian assignment on the contingency table), the matched centres' largest difference / bw.
photo
    ``china.jpg`` (ships with scikit-learn) clustered by colour: pixels ``[-1, 3]``, uint8 as a
    user passes them, ``bw = estimate_bandwidth(pixels, quantile=0.1, n_samples=100)``.
    Row *drop-in*: ``MeanShift(bandwidth=bw, bin_seeding=True).fit(pixels)`` on both sides.
    Row *segment_colors*: ``jaxshift.image.segment_colors(img, quantile=0.1, n_samples=100)`` (it
    estimates its bandwidth itself) against the user's alternative, scikit-learn's
    ``estimate_bandwidth`` plus the same scikit-learn fit (ref s is the sum of both).
kde
    Gaussian KDE, 20,000 queries x 100,000 points, a 3-D mixture of blobs; ours in float32 (JAX's
    default, the target row) and in float64 (scipy's precision), scipy in float64.
    The data are whitened so their sample covariance is exactly I: scipy's kernel covariance
    (data covariance x Scott's factor^2) is then diagonal, and ours gets exactly its diagonal,
    ``bandwidth = sqrt(diag(kde.covariance))`` (the largest off-diagonal left is printed). Reference
    timed call: ``kde(queries.T)``; ``scipy.stats.gaussian_kde(data.T)`` is built outside the timer
    (a 3x3 covariance: trivial). Ours: ``jaxshift.kde(queries, data, bandwidth=h)``. Parity: the
    largest relative difference of the densities.
    Row *full bandwidth matrix*: the same mixture not whitened (correlated features), scipy's
    full kernel covariance passed as ours' ``[3, 3]`` bandwidth (``bandwidth=kde.covariance``,
    whitened by its Cholesky factor inside the hot loop), float32.
bandwidth
    ``jaxshift.bandwidth.select(x, method="likelihood" | "lscv", per_feature=True)`` against
    statsmodels ``KDEMultivariate(x, "c" * d, bw="cv_ml" | "cv_ls").bw``, float64. Parity: the
    bandwidths' largest relative difference (and whether our Newton search converged). Gpairs/s:
    one warm value-and-gradient of the objective (n^2 pairs, 2 n^2 for LSCV).
filter
    ``jaxshift.image.filter_image(img, spatial_radius=sp, range_radius=sr)`` against
    ``cv2.pyrMeanShiftFiltering(img, sp, sr, maxLevel=0)`` on ``china.jpg``, uint8,
    (sp, sr) = (5, 15) and (10, 20). Parity: % identical pixels and PSNR. Pairs: window pixels
    examined (pixel-steps x window size), against every pixel taking all ``max_iter`` steps.
hotloop
    The one hot loop alone: ``jaxshift.kde`` and ``jaxshift.shift``, flat kernel, float32, d=3, with
    ``algorithm="dense"`` (every pair: the raw rate) and ``"auto"`` (pruned),
    4,096 queries x 200,000 points (standard normal data, bandwidth 0.5). The reference is this
    machine's C limit (``/work/shared/tools/c-limit``: a vectorised OpenMP C loop of the same flat
    sums on all cores, measured at 4,096 x 200,000); ref s is the time it would take for these
    pairs, so *ratio warm* is the fraction of the C limit reached (n/a without the tool).
    Parity: largest relative difference against NumPy float64 on 32 queries.
grid
    Grid mean shift (``algorithm="grid"``: MeanShift++ then the refinement on a 3x finer grid,
    approximate) against scikit-learn's exact ``MeanShift(n_jobs=-1)``, the same fits as the photo
    and blobs workloads (run once per process when both run). Rows: the photo drop-in
    (``MeanShift(bandwidth=bw, bin_seeding=True, algorithm="grid").fit(pixels)``), the photo through
    ``segment_colors(img, bandwidth=bw, algorithm="grid")`` (same bandwidth, so the same reference
    fit), and 3-D blobs with every point a seed at n = 50,000 (600 with ``--quick``; scikit-learn
    is run on all 50,000, which takes minutes). Parity: the adjusted Rand index (ARI column) of our
    labels against scikit-learn's, and the clusters' matching as for blobs. Targets: >= 300x on the
    photo, >= 1000x on the blobs, warm; ARI targets (0.9 photo, 0.95 blobs) are read off the column.
kde_grid
    ``jaxshift.kde_grid(x, bandwidth=h, size=...)`` (float32; its default grid: the data plus 4.29
    bandwidths) against KDEpy ``FFTKDE(bw=h).fit(x).evaluate(size)`` (float64, its own automatic
    grid), 1M points of a two-component gaussian mixture, 1-D on 1,024 points and 2-D on 256 x 256
    (``--quick``: 20,000 points, 64 x 64), ``h`` Silverman's. Target: at least as fast (>= 1x).
    Error column: the largest difference from the exact ``jaxshift.kde`` at the grid points (2-D:
    every 8th grid point per axis, 1,024 points), over the exact density's peak; parity also gives
    the largest difference from KDEpy on KDEpy's own grid (``bounds=`` set to it). Last row: the ISJ
    bandwidth (``jaxshift.bandwidth.isj``) against KDEpy's ``improved_sheather_jones`` on the 1-D
    data; parity: the relative difference from KDEpy's value rescaled by its grid's width over the
    data's range (KDEpy issue #199: it multiplies by the data's range), and KDEpy's raw value over ours.
memory
    200,000 x 200,000 flat ``shift`` and gaussian ``log_kde``, float32, each in a fresh process:
    peak RSS (``VmHWM``) and the time of its one call (compilation included). Only with
    ``--memory`` or in the full run, not with ``--quick`` (``--quick --memory``: 20,000 points).

Reading the table:

- *ref s*: the reference's best of up to ``--repeat`` calls, fewer when one call is long, more
  when calls are short (until they add up to a second, at most 25, as for ours; the count is in
  the JSON); references do not compile, so every call counts as warm.
- *ours first s*: our first call at this size in this process, compilation included. Compiled
  programs live in the process, so a row can reuse what an earlier row compiled (the blobs
  rows share programs across sizes): only the first row of a kind is a truly cold start. A
  persistent compilation cache, if configured, is named in the header.
- *ours warm s*: the best of our later calls. *ratio* = ref s / ours s: above 1 we are faster.
- *target*: the warm ratio to reach (and, for the photo drop-in, the first-call ratio); *met*
  says whether this run reached it. Targets: blobs >= 30x at 20k and >= 50x at 50k/100k; photo
  drop-in >= 30x warm and >= 5x first call; segment_colors >= 40x; gaussian KDE >= 40x scipy.
- *pairs evaluated / dense*: the seed-point or query-data pairs our hot loop evaluated
  (``MeanShift.n_pairs_``, ``jaxshift._pairwise.pairs_evaluated``; n/a where the library does not
  expose them), then the dense count (queries x data; seeds x points x n_iter for a fit).
- *Gpairs/s*: the dense count / our warm time (a pruned loop can beat the C limit on this
  measure), and, where known, the evaluated pairs / warm time.
- Machines are noisy and differ from day to day: compare ratios from one run, not seconds
  across runs.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import datetime
import itertools
import json
import os
import platform
import re
import resource
import subprocess
import sys
import time
import warnings
from pathlib import Path
from typing import NamedTuple

import jax
import numpy as np

import jaxshift
from jaxshift import _pairwise, image
from jaxshift import bandwidth as jbw
from jaxshift.cluster import MeanShift

ROOT = Path(__file__).resolve().parents[1]
C_LIMIT_TOOL = "/work/shared/tools/c-limit"
BLOB_CENTRES = np.array([[2.0, 2.0, 3.0], [6.0, 7.0, 8.0], [5.0, 10.0, 13.0]])
BW_SAMPLE = 20_000  # blobs: points the bandwidth estimate sees at most


# ------------------------------------------------------------------------- measuring


class Timing(NamedTuple):
    """Wall seconds: the first call, the best warm call (None: not measured), warm calls made."""

    first: float
    best: float | None
    runs: int


@dataclasses.dataclass(frozen=True)
class Config:
    quick: bool
    large: bool
    repeat: int  # calls to take the best of
    budget: float  # seconds after which no more repeats are started
    c_limit_tool: str


def _call(fn):
    t = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t


def _more(times, cfg):
    """Another call? Up to ``cfg.repeat`` while within ``cfg.budget``; and, outside
    ``--quick``, short calls go on until they add up to a second (at most 25 calls, as
    ``timeit`` repeats short statements): on this noisy machine the best of three 40 ms
    calls can be twice the best of twenty. The same rule for ours and the references."""
    if len(times) < cfg.repeat and sum(times) + min(times) <= cfg.budget:
        return True
    return not cfg.quick and len(times) < 25 and sum(times) < 1.0


def time_reference(fn, cfg):
    """Best of up to ``cfg.repeat`` calls; a long call is not repeated past ``cfg.budget``.

    A reference compiles nothing, so every call counts as a warm one."""
    out, t = _call(fn)
    times = [t]
    while _more(times, cfg):
        out, t = _call(fn)
        times.append(t)
    return out, Timing(times[0], min(times), len(times))


def time_ours(fn, cfg):
    """The first call (compilation included), then the best of at least one warm call."""
    out, first = _call(fn)
    warm = []
    while not warm or _more(warm, cfg):
        out, t = _call(fn)
        warm.append(t)
    return out, Timing(first, min(warm), len(warm))


_REFERENCE_FITS = {}


def cached_reference(key, fn, cfg):
    """:func:`time_reference`, once per process for each ``key``: workloads that share a
    reference fit (scikit-learn on the photo, on 50k blobs) run it once."""
    if key not in _REFERENCE_FITS:
        _REFERENCE_FITS[key] = time_reference(fn, cfg)
    return _REFERENCE_FITS[key]


def _ratio(ref, ours):
    return ref / ours if ref and ours else None


@dataclasses.dataclass
class Row:
    """One line of the table: a reference and ours on the same job."""

    workload: str  # the --only name
    case: str
    reference: str
    dtype: str
    ref: Timing | None
    ours: Timing
    parity: dict
    target: float | None = None  # warm ratio ref/ours to reach
    target_first: float | None = None  # first-call ratio to reach
    pairs_evaluated: float | None = None
    pairs_dense: float | None = None
    extra: dict = dataclasses.field(default_factory=dict)

    @property
    def ratio_first(self):
        return _ratio(self.ref and self.ref.best, self.ours.first)

    @property
    def ratio_warm(self):
        return _ratio(self.ref and self.ref.best, self.ours.best)

    @property
    def met(self):
        if self.target is None and self.target_first is None:
            return None
        checks = [(self.target, self.ratio_warm), (self.target_first, self.ratio_first)]
        return all(r is not None and r >= t for t, r in checks if t is not None)

    def gpairs(self, count):
        seconds = self.ours.best or self.ours.first
        return count / seconds / 1e9 if count else None

    def to_json(self):
        return {
            "workload": self.workload, "case": self.case, "reference": self.reference, "dtype": self.dtype,
            "ref_s": self.ref and self.ref.best, "ref_runs": self.ref and self.ref.runs,
            "ours_first_s": self.ours.first, "ours_warm_s": self.ours.best, "ours_warm_runs": self.ours.runs,
            "ratio_first": self.ratio_first, "ratio_warm": self.ratio_warm,
            "target_warm": self.target, "target_first": self.target_first, "met": self.met,
            "pairs_evaluated": self.pairs_evaluated, "pairs_dense": self.pairs_dense,
            "gpairs_s_dense": self.gpairs(self.pairs_dense), "gpairs_s_evaluated": self.gpairs(self.pairs_evaluated),
            "parity": self.parity, **self.extra, **self.c_limit_fractions(),
        }

    def c_limit_fractions(self):
        """Our pairs/s as fractions of the machine's C limit (hot loop rows only)."""
        limit = self.extra.get("c_limit_gpairs_s")
        if not limit:
            return {}
        evaluated = self.gpairs(self.pairs_evaluated)
        return {"c_limit_fraction_dense": self.gpairs(self.pairs_dense) / limit,
                "c_limit_fraction_evaluated": evaluated and evaluated / limit}


def pairs_evaluated(x, data, *, bandwidth, kernel, algorithm="auto"):
    """Query-data pairs ``kde`` evaluates, from the core when it says (None when it does not)."""
    fn = getattr(_pairwise, "pairs_evaluated", None)
    return None if fn is None else float(fn(x, data, bandwidth=bandwidth, kernel=kernel, algorithm=algorithm))


def peak_rss():
    """This process's peak resident memory in bytes. ``VmHWM`` belongs to the address space
    made by exec; ``ru_maxrss`` would carry over a parent's peak on Linux."""
    with contextlib.suppress(OSError), open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


# -------------------------------------------------------------------------------- data


def blobs(n, seed=0):
    """``[n, 3]`` float64: three gaussian blobs (sd 0.6) of equal size."""
    rng = np.random.default_rng(seed)
    per = -(-n // 3)
    return np.concatenate([c + 0.6 * rng.standard_normal((per, 3)) for c in BLOB_CENTRES])[:n]


# --quick: sizes for a smoke test of the harness (its figures mean little): scikit-learn's
# all-seeds fit is quadratic, and it runs on every core outside this process.
QUICK_BLOBS = 600
QUICK_PHOTO_STEP = 12


def china(step=1):
    """``china.jpg`` (427 x 640 x 3, uint8), every ``step``-th row and column."""
    from sklearn.datasets import load_sample_image

    return np.ascontiguousarray(load_sample_image("china.jpg")[::step, ::step])


def cluster_parity(labels, centres, ref_labels, ref_centres, bandwidth):
    """Clusters on each side, % of labels that agree after a one-to-one matching of the
    clusters (Hungarian on the contingency table), the matched centres' largest difference."""
    from scipy.optimize import linear_sum_assignment

    labels, ref_labels = np.asarray(labels).ravel(), np.asarray(ref_labels).ravel()
    table = np.zeros((len(centres), len(ref_centres)), np.int64)
    np.add.at(table, (labels, ref_labels), 1)
    rows, cols = linear_sum_assignment(table, maximize=True)
    diff = np.abs(np.asarray(centres)[rows] - np.asarray(ref_centres)[cols]).max() / np.max(bandwidth)
    return {
        "clusters_ours": len(centres), "clusters_ref": len(ref_centres),
        "labels_agree_pct": 100.0 * table[rows, cols].sum() / len(labels),
        "labels_identical_pct": 100.0 * np.mean(labels == ref_labels),
        "centre_max_diff_bw": float(diff),
    }


# --------------------------------------------------------------------------- workloads


def run_blobs(cfg):
    sizes = [QUICK_BLOBS] if cfg.quick else [2_000, 5_000, 10_000, 20_000, 50_000] + ([100_000] if cfg.large else [])
    return [blobs_row(n, cfg) for n in sizes]


def blobs_row(n, cfg):
    from sklearn.cluster import MeanShift as SkMeanShift
    from sklearn.cluster import estimate_bandwidth

    X = blobs(n)
    bw = float(estimate_bandwidth(X, quantile=0.2, n_samples=min(n, BW_SAMPLE), random_state=0))
    ref, t_ref = cached_reference(("blobs", n), lambda: SkMeanShift(bandwidth=bw, n_jobs=-1).fit(X), cfg)
    ours, t_ours = time_ours(lambda: MeanShift(bandwidth=bw).fit(X), cfg)
    parity = cluster_parity(ours.labels_, ours.cluster_centers_, ref.labels_, ref.cluster_centers_, bw)
    parity["n_iter_ours"], parity["n_iter_ref"] = int(ours.n_iter_), int(ref.n_iter_)
    return Row(
        "blobs", f"blobs 3-D n={n:,}, all seeds", "sklearn MeanShift", "float64", t_ref, t_ours, parity,
        target=50.0 if n >= 50_000 else 30.0 if n >= 20_000 else None,
        pairs_evaluated=getattr(ours, "n_pairs_", None), pairs_dense=float(n) * n * max(ours.n_iter_, 1),
        extra={"n": n, "bandwidth": bw},
    )


def photo_reference(cfg):
    """The photo, its pixels, the bandwidth and scikit-learn's bin-seeded fit (timed once)."""
    from sklearn.cluster import MeanShift as SkMeanShift
    from sklearn.cluster import estimate_bandwidth

    img = china(QUICK_PHOTO_STEP if cfg.quick else 1)
    pixels = img.reshape(-1, 3)
    bw = float(estimate_bandwidth(pixels, quantile=0.1, n_samples=100))
    ref, t_ref = cached_reference(
        ("photo", cfg.quick), lambda: SkMeanShift(bandwidth=bw, bin_seeding=True, n_jobs=-1).fit(pixels), cfg
    )
    return img, pixels, bw, ref, t_ref


def run_photo(cfg):
    from sklearn.cluster import estimate_bandwidth, get_bin_seeds

    img, pixels, bw, ref, t_ref = photo_reference(cfg)
    ours, t_ours = time_ours(lambda: MeanShift(bandwidth=bw, bin_seeding=True).fit(pixels), cfg)
    n_seeds = len(get_bin_seeds(pixels, bw))
    dense = float(n_seeds) * len(pixels) * max(ref.n_iter_, 1)
    size = f"{img.shape[1]}x{img.shape[0]}"
    extra = {"pixels": len(pixels), "bin_seeds": n_seeds, "bandwidth": bw}
    drop_in = Row(
        "photo", f"photo {size} colours, drop-in", "sklearn MeanShift", "uint8 -> float64", t_ref, t_ours,
        cluster_parity(ours.labels_, ours.cluster_centers_, ref.labels_, ref.cluster_centers_, bw),
        target=30.0, target_first=5.0, pairs_evaluated=getattr(ours, "n_pairs_", None), pairs_dense=dense,
        extra=extra,
    )
    _, t_bw = time_reference(lambda: estimate_bandwidth(pixels, quantile=0.1, n_samples=100), cfg)
    seg, t_seg = time_ours(lambda: image.segment_colors(img, quantile=0.1, n_samples=100), cfg)
    parity = cluster_parity(seg.labels, seg.palette, ref.labels_, ref.cluster_centers_, bw)
    parity["bandwidth_rel_diff"] = abs(seg.bandwidth / bw - 1.0)
    segment = Row(
        "photo", f"photo {size} segment_colors", "sklearn estimate_bandwidth + MeanShift", "uint8 -> float32",
        Timing(t_ref.first + t_bw.first, t_ref.best + t_bw.best, t_ref.runs), t_seg, parity,
        target=40.0, pairs_evaluated=getattr(seg, "n_pairs", None), pairs_dense=dense, extra=extra,
    )
    return [drop_in, segment]


def ari(labels, ref_labels):
    from sklearn.metrics import adjusted_rand_score

    return float(adjusted_rand_score(np.asarray(ref_labels).ravel(), np.asarray(labels).ravel()))


def run_grid(cfg):
    from sklearn.cluster import MeanShift as SkMeanShift
    from sklearn.cluster import estimate_bandwidth

    img, pixels, bw, ref, t_ref = photo_reference(cfg)
    size = f"{img.shape[1]}x{img.shape[0]}"
    ours, t_ours = time_ours(lambda: MeanShift(bandwidth=bw, bin_seeding=True, algorithm="grid").fit(pixels), cfg)
    parity = cluster_parity(ours.labels_, ours.cluster_centers_, ref.labels_, ref.cluster_centers_, bw)
    parity["ari"] = ari(ours.labels_, ref.labels_)
    rows = [Row("grid", f"grid photo {size} colours, drop-in", "sklearn MeanShift (exact)", "uint8 -> float64",
                t_ref, t_ours, parity, target=300.0, extra={"pixels": len(pixels), "bandwidth": bw})]
    seg, t_seg = time_ours(lambda: image.segment_colors(img, bandwidth=bw, algorithm="grid"), cfg)
    parity = cluster_parity(seg.labels, seg.palette, ref.labels_, ref.cluster_centers_, bw)
    parity["ari"] = ari(seg.labels, ref.labels_)
    rows.append(Row("grid", f"grid photo {size} segment_colors", "sklearn MeanShift (exact)", "uint8 -> float32",
                    t_ref, t_seg, parity, target=300.0, extra={"pixels": len(pixels), "bandwidth": bw}))
    n = QUICK_BLOBS if cfg.quick else 50_000
    X = blobs(n)
    bw = float(estimate_bandwidth(X, quantile=0.2, n_samples=min(n, BW_SAMPLE), random_state=0))
    ref, t_ref = cached_reference(("blobs", n), lambda: SkMeanShift(bandwidth=bw, n_jobs=-1).fit(X), cfg)
    ours, t_ours = time_ours(lambda: MeanShift(bandwidth=bw, algorithm="grid").fit(X), cfg)
    parity = cluster_parity(ours.labels_, ours.cluster_centers_, ref.labels_, ref.cluster_centers_, bw)
    parity["ari"] = ari(ours.labels_, ref.labels_)
    rows.append(Row("grid", f"grid blobs 3-D n={n:,}, all seeds", "sklearn MeanShift (exact)", "float64", t_ref,
                    t_ours, parity, target=1000.0, extra={"n": n, "bandwidth": bw}))
    return rows


def mixture(n, d, seed=0):
    """``[n, d]`` float64: a two-component gaussian mixture (70 / 30), modes 3 apart."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, d))
    x[: 3 * n // 10] = 3.0 + 0.5 * x[: 3 * n // 10]
    return x


def exact_error(res, data, h, every):
    """The largest error of ``res`` (a GridDensity) against the exact KDE at every ``every``-th
    grid point per axis, over the exact KDE's largest value there (jaxshift.kde, float32)."""
    sub = [np.asarray(a)[::every] for a in res.axes]
    pts = np.stack(np.meshgrid(*sub, indexing="ij"), -1).reshape(-1, len(sub)).astype(np.float32)
    exact = np.asarray(jaxshift.kde(pts, data.astype(np.float32), bandwidth=h), np.float64)
    dens = np.asarray(res.density, np.float64)[(slice(None, None, every),) * len(sub)].ravel()
    return float(np.max(np.abs(dens - exact)) / exact.max()), len(pts)


def run_kde_grid(cfg):
    import KDEpy

    n = 20_000 if cfg.quick else 1_000_000
    rows = []
    for d, size, every in [(1, 1024, 1), (2, 64 if cfg.quick else 256, 1 if cfg.quick else 8)]:
        x = mixture(n, d, seed=d)
        h = float(np.exp(np.mean(np.log(np.asarray(jbw.silverman(x[:100_000]))))))
        fft = KDEpy.FFTKDE(bw=h)
        (grid, ref), t_ref = time_reference(lambda x=x, fft=fft, size=size: fft.fit(x).evaluate(size), cfg)
        res, t_ours = time_ours(
            lambda x=x, size=size, h=h: jax.block_until_ready(jaxshift.kde_grid(x, bandwidth=h, size=size)), cfg)
        err, checked = exact_error(res, x, h, every)
        pts = grid.reshape(-1, d)
        same = jaxshift.kde_grid(x, bandwidth=h, size=size, bounds=np.stack([pts.min(0), pts.max(0)], 1))
        diff = float(np.max(np.abs(np.asarray(same.density, np.float64).ravel() - ref)) / ref.max())
        grid_text = " x ".join([f"{size:,}"] * d)
        rows.append(Row(
            "kde_grid", f"kde_grid gaussian {n:,} points, d={d}, {grid_text} grid", "KDEpy FFTKDE",
            "float32 (KDEpy float64)", t_ref, t_ours, {"max_err_peak": err, "max_diff_kdepy_peak": diff},
            target=1.0, extra={"bandwidth": h, "exact_points_checked": checked,
                               "exact_check": f"jaxshift.kde at every {every}-th grid point per axis"},
        ))
    x = mixture(n, 1, seed=1)
    ref, t_ref = time_reference(lambda: KDEpy.bw_selection.improved_sheather_jones(x), cfg)
    ours, t_ours = time_ours(lambda: jax.block_until_ready(jbw.isj(x)), cfg)
    kgrid = KDEpy.utils.autogrid(x, boundary_abs=6, num_points=2**10, boundary_rel=0.5)
    corrected = ref * float(np.ptp(kgrid)) / float(np.ptp(x))  # KDEpy #199: sqrt(t) times the grid's width
    rows.append(Row(
        "kde_grid", f"ISJ bandwidth {n:,} points, d=1", "KDEpy improved_sheather_jones", "float32 (KDEpy float64)",
        t_ref, t_ours, {"isj_rel_diff": abs(float(ours[0]) / corrected - 1.0),
                        "kdepy_raw_over_ours": float(ref) / float(ours[0])},
        extra={"ours": float(ours[0]), "kdepy_raw": float(ref), "kdepy_rescaled": corrected},
    ))
    return rows


def whitened(z, like):
    """``z`` mapped by the affine map that gives ``like`` zero mean and covariance exactly I."""
    chol = np.linalg.cholesky(np.cov(like, rowvar=False))
    return np.linalg.solve(chol, (z - like.mean(0)).T).T


def run_kde(cfg):
    from scipy.stats import gaussian_kde

    m, n = (500, 5_000) if cfg.quick else (20_000, 100_000)
    raw = blobs(n, seed=1)
    data, queries = whitened(raw, raw), whitened(blobs(m, seed=2), raw)
    ref_kde = gaussian_kde(data.T)  # Scott's factor; outside the timer
    h = np.sqrt(np.diag(ref_kde.covariance))
    off_diagonal = np.abs(ref_kde.covariance - np.diag(h**2)).max() / h.min() ** 2
    ref, t_ref = time_reference(lambda: ref_kde(queries.T), cfg)
    rows = []
    # float32 is what a user gets by default (JAX's default dtype, x64 off); float64 is
    # scipy's own precision. The target applies to the default.
    for dtype, target in (("float32", 40.0), ("float64", None)):
        with jax.enable_x64(dtype == "float64"):
            q, d = np.asarray(queries, dtype), np.asarray(data, dtype)
            ours, t_ours = time_ours(lambda q=q, d=d: jax.block_until_ready(jaxshift.kde(q, d, bandwidth=h)), cfg)
            evaluated = pairs_evaluated(q, d, bandwidth=h, kernel="gaussian")
        ours = np.asarray(ours, np.float64)
        parity = {"max_rel_diff": float(np.max(np.abs(ours - ref) / np.abs(ref))),
                  "kernel_off_diagonal": float(off_diagonal)}
        rows.append(Row(
            "kde", f"gaussian KDE {m:,} x {n:,}, d=3", "scipy gaussian_kde", f"{dtype} (scipy float64)", t_ref,
            t_ours, parity, target=target, pairs_evaluated=evaluated, pairs_dense=float(m) * n,
            extra={"bandwidth": h.tolist(), "ref_timed_call": "kde(queries.T), constructed outside"},
        ))
    # The full bandwidth matrix on correlated (not whitened) data: scipy's covariance as is.
    raw_q = blobs(m, seed=2)
    full_kde = gaussian_kde(raw.T)
    ref, t_ref = time_reference(lambda: full_kde(raw_q.T), cfg)
    q, d, cov = (np.asarray(a, np.float32) for a in (raw_q, raw, full_kde.covariance))
    ours, t_ours = time_ours(lambda: jax.block_until_ready(jaxshift.kde(q, d, bandwidth=cov)), cfg)
    ours = np.asarray(ours, np.float64)
    rows.append(Row(
        "kde", f"gaussian KDE {m:,} x {n:,}, d=3, full bandwidth matrix", "scipy gaussian_kde", "float32 (scipy float64)",
        t_ref, t_ours, {"max_rel_diff": float(np.max(np.abs(ours - ref) / np.abs(ref)))},
        pairs_evaluated=pairs_evaluated(q, d, bandwidth=cov, kernel="gaussian"), pairs_dense=float(m) * n,
        extra={"bandwidth": full_kde.covariance.tolist(), "ref_timed_call": "kde(queries.T), constructed outside"},
    ))
    return rows


def bandwidth_sample(kind, n, d, seed):
    rng = np.random.default_rng(seed)
    if kind == "normal":
        return rng.normal(size=(n, d))
    if kind == "bimodal":
        return np.where(rng.random((n, 1)) < 0.4, -1.5, 1.5) + 0.6 * rng.normal(size=(n, d))
    return rng.gamma(2.0, 0.8, size=(n, d))  # skewed


def run_bandwidth(cfg):
    cases = [("bimodal", 300, 2)] if cfg.quick else [
        ("normal", 1_000, 1), ("skewed", 4_000, 1), ("bimodal", 1_000, 2), ("skewed", 2_000, 2),
    ]
    return [bandwidth_row(kind, n, d, method, cfg) for kind, n, d in cases for method in ("likelihood", "lscv")]


def bandwidth_row(kind, n, d, method, cfg):
    from statsmodels.nonparametric.kernel_density import KDEMultivariate

    x = bandwidth_sample(kind, n, d, seed=n + d)
    sm_bw = {"likelihood": "cv_ml", "lscv": "cv_ls"}[method]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref, t_ref = time_reference(lambda: KDEMultivariate(x, "c" * d, bw=sm_bw).bw, cfg)
    with jax.enable_x64(True):
        (h, info), t_ours = time_ours(
            lambda: jax.block_until_ready(jbw.select(x, method=method, per_feature=True)), cfg
        )
        t_objective = None if cfg.quick else objective_seconds(x, method, cfg)  # --quick: spare a compilation
    h = np.atleast_1d(np.asarray(h))
    pairs = float(n) * n * (2 if method == "lscv" else 1)
    parity = {
        "max_rel_diff": float(np.max(np.abs(h / ref - 1.0))), "converged": bool(info.converged),
        "newton_steps": int(info.n_iter), "ours": h.tolist(), "ref": np.asarray(ref).tolist(),
    }
    return Row(
        "bandwidth", f"bandwidth {method} {kind} {n:,}x{d}", f"statsmodels {sm_bw}", "float64", t_ref, t_ours,
        parity, extra={"objective_value_grad_s": t_objective,
                       "objective_gpairs_s": t_objective and pairs / t_objective / 1e9},
    )


def objective_seconds(x, method, cfg):
    """One warm value-and-gradient of the selection objective at Silverman's bandwidth."""
    objective = {"likelihood": jbw.loo_log_likelihood, "lscv": jbw.lscv}[method]
    value_grad = jax.jit(jax.value_and_grad(lambda h, x: objective(x, bandwidth=h)))
    h0 = jbw.silverman(x)
    return time_ours(lambda: jax.block_until_ready(value_grad(h0, x)), cfg)[1].best


def psnr(a, b):
    """Peak signal-to-noise ratio in dB; None for identical images (infinite)."""
    mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return None if mse == 0 else float(10 * np.log10(255.0**2 / mse))


def run_filter(cfg):
    img = china(6 if cfg.quick else 1)
    radii = [(5, 15)] if cfg.quick else [(5, 15), (10, 20)]
    return [filter_row(img, sp, sr, cfg) for sp, sr in radii]


def filter_row(img, sp, sr, cfg):
    import cv2

    ref, t_ref = time_reference(lambda: cv2.pyrMeanShiftFiltering(img, sp, sr, maxLevel=0), cfg)
    ours, t_ours = time_ours(lambda: image.filter_image(img, spatial_radius=sp, range_radius=sr), cfg)
    moving = []  # pixels still moving after each step, from the progress callback (an untimed call)
    image.filter_image(img, spatial_radius=sp, range_radius=sr, progress=lambda done, total: moving.append(total - done))
    n, window, max_iter = img.shape[0] * img.shape[1], (2 * sp + 1) ** 2, 5
    pixel_steps = n + sum(moving[:-1])
    parity = {"identical_pixels_pct": 100.0 * float(np.mean(np.all(ours == ref, axis=-1))), "psnr_db": psnr(ours, ref)}
    return Row(
        "filter", f"filter {img.shape[1]}x{img.shape[0]} sp={sp} sr={sr}", "cv2 pyrMeanShiftFiltering L0",
        "uint8", t_ref, t_ours, parity, pairs_evaluated=float(pixel_steps) * window,
        pairs_dense=float(n) * window * max_iter, extra={"opencv_threads": cv2.getNumThreads()},
    )


def c_limit(tool):
    """This machine's C limit in Gpairs/s, from the tool's output line; None without it."""
    try:
        out = subprocess.run([tool], capture_output=True, text=True, timeout=300, check=True).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    found = re.search(r"([0-9.]+)\s*Gpairs/s", out)
    return float(found.group(1)) if found else None


def numpy_flat(op, x, data, h):
    """Float64 NumPy flat kde (density) or shift (the neighbours' mean) of a few queries."""
    x, data = x.astype(np.float64), data.astype(np.float64)
    inside = ((x[:, None] - data[None]) ** 2).sum(-1) <= h * h
    if op == "kde":
        return inside.sum(1) / (len(data) * 4.0 / 3.0 * np.pi * h**3)
    return (inside @ data) / inside.sum(1, keepdims=True)


def run_hotloop(cfg):
    m, n, h = (512, 20_000, 0.5) if cfg.quick else (4_096, 200_000, 0.5)
    rng = np.random.default_rng(0)
    x, data = rng.normal(size=(m, 3)).astype(np.float32), rng.normal(size=(n, 3)).astype(np.float32)
    limit = c_limit(cfg.c_limit_tool)
    ref = Timing(m * n / (limit * 1e9), m * n / (limit * 1e9), 0) if limit else None
    rows = []
    for (op, fn), algo in itertools.product([("kde", jaxshift.kde), ("shift", jaxshift.shift)], ("dense", "auto")):
        ours, t_ours = time_ours(
            lambda fn=fn, algo=algo: jax.block_until_ready(fn(x, data, bandwidth=h, kernel="flat", algorithm=algo)),
            cfg,
        )
        expect = numpy_flat(op, x[:32], data, h)
        diff = np.abs(np.asarray(ours)[:32] - expect)
        if op == "kde":
            parity = {"max_rel_diff_vs_numpy": float(np.max(diff / expect))}
        else:  # points: relative to the bandwidth (a relative difference near 0 means nothing)
            parity = {"max_diff_bw_vs_numpy": float(np.max(diff) / h)}
        rows.append(Row(
            "hotloop", f"hot loop flat {op} {m:,} x {n:,}, d=3, {algo}", "C limit (c-limit tool)", "float32", ref,
            t_ours, parity, pairs_evaluated=pairs_evaluated(x, data, bandwidth=h, kernel="flat", algorithm=algo),
            pairs_dense=float(m) * n, extra={"c_limit_gpairs_s": limit},
        ))
    return rows


def run_memory(cfg):
    n = 20_000 if cfg.quick else 200_000
    return [memory_row(n, kernel, op) for kernel, op in [("flat", "shift"), ("gaussian", "log_kde")]]


def memory_row(n, kernel, op):
    cmd = [sys.executable, str(Path(__file__).resolve()), "--memory-child", str(n), kernel, op]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    r = json.loads(out.strip().splitlines()[-1])
    parity = {"finite": r["finite"], "peak_rss_mib": r["peak_rss"] / 2**20, "rss_before_call_mib": r["rss_before"] / 2**20}
    return Row(
        "memory", f"memory {kernel} {op} {n:,} x {n:,}, fresh process", "-", "float32", None,
        Timing(r["seconds"], None, 0), parity, pairs_evaluated=r["pairs_evaluated"], pairs_dense=float(n) * n,
    )


def memory_child(n, kernel, op):
    """One big job in this fresh process: print its time, peak RSS and pairs as JSON."""
    data = np.random.default_rng(2).normal(size=(n, 3)).astype(np.float32)
    fn = {"shift": jaxshift.shift, "log_kde": jaxshift.log_kde}[op]
    jax.block_until_ready(jax.numpy.zeros(1))  # the runtime's own memory counts before the call
    rss_before = _status_kib("VmRSS") * 1024
    out, seconds = _call(lambda: jax.block_until_ready(fn(data, data, bandwidth=0.3, kernel=kernel)))
    print(json.dumps({
        "seconds": seconds, "peak_rss": peak_rss(), "rss_before": rss_before,
        "finite": bool(np.isfinite(np.asarray(out)).all()),
        "pairs_evaluated": pairs_evaluated(data, data, bandwidth=0.3, kernel=kernel),
    }))


def _status_kib(field):
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith(field + ":"))


WORKLOADS = {
    "blobs": run_blobs, "photo": run_photo, "kde": run_kde, "bandwidth": run_bandwidth,
    "filter": run_filter, "hotloop": run_hotloop, "memory": run_memory, "grid": run_grid, "kde_grid": run_kde_grid,
}


# ---------------------------------------------------------------------------- output


def machine_info():
    cpu = platform.processor() or platform.machine()
    with contextlib.suppress(OSError), open("/proc/cpuinfo") as f:
        cpu = next((line.split(":", 1)[1].strip() for line in f if line.startswith("model name")), cpu)
    versions = {}
    for name in ("numpy", "scipy", "sklearn", "statsmodels", "cv2"):
        with contextlib.suppress(ImportError):
            versions[name] = __import__(name).__version__
    device = jax.devices()[0]
    return {
        "cpu": cpu, "cores": os.cpu_count(), "load_average": os.getloadavg(), "python": platform.python_version(),
        "jax": jax.__version__, "device": f"{device.platform} ({device.device_kind}), {jax.device_count()} device(s)",
        "jaxshift": str(Path(jaxshift.__file__).parent), "compilation_cache": jax.config.jax_compilation_cache_dir,
        "versions": versions, "date": datetime.datetime.now().isoformat(timespec="seconds"),
    }


def _num(v, fmt="{:.3g}"):
    return "n/a" if v is None else fmt.format(v)


def _seconds(v):
    return "-" if v is None else f"{v:.3g}"


def _ratio_text(v):
    return "-" if v is None else f"{v:.2g}x" if v < 10 else f"{v:.0f}x"


def _target_text(row):
    parts = []
    if row.target is not None:
        parts.append(f">={row.target:g}x")
    if row.target_first is not None:
        parts.append(f">={row.target_first:g}x first")
    return ", ".join(parts) or "-"


def _met_text(row):
    return "-" if row.met is None else "yes" if row.met else "NO"


def _pairs_text(row):
    if row.pairs_dense is None:  # no fixed pair count (a search of unknown length)
        return "-"
    return f"{_num(row.pairs_evaluated, '{:.2e}')} / {_num(row.pairs_dense, '{:.2e}')}"


def _gpairs_text(row):
    text = _num(row.gpairs(row.pairs_dense), "{:.2f}")
    if row.pairs_evaluated is not None:
        text += f" ({row.gpairs(row.pairs_evaluated):.2f} eval)"
    if row.workload == "hotloop":
        frac = row.c_limit_fractions()
        text += f", {frac['c_limit_fraction_dense']:.0%} of C" if frac else ", C limit n/a"
        if frac.get("c_limit_fraction_evaluated") is not None:
            text += f" ({frac['c_limit_fraction_evaluated']:.0%} eval)"
    if row.workload == "bandwidth":
        text = f"{_num(row.extra['objective_gpairs_s'], '{:.2f}')} (objective)"
    return text


def _error_text(row):
    """The largest error against an exact reference, as a fraction of its peak (kde_grid rows)."""
    err = row.parity.get("max_err_peak")
    return "-" if err is None else f"{err:.1e} of peak"


def _parity_text(row):
    p = row.parity
    if "clusters_ours" in p:
        text = (f"{p['clusters_ours']}/{p['clusters_ref']} clusters, labels {p['labels_agree_pct']:.2f}% agree,"
                f" centres {p['centre_max_diff_bw']:.1e} bw")
        return text + (f", bw rel diff {p['bandwidth_rel_diff']:.1e}" if "bandwidth_rel_diff" in p else "")
    if "newton_steps" in p:
        return f"max rel diff {p['max_rel_diff']:.1e}, {p['newton_steps']} steps{'' if p['converged'] else ' NOT CONVERGED'}"
    if "identical_pixels_pct" in p:
        return f"{p['identical_pixels_pct']:.3f}% identical, PSNR {_num(p['psnr_db'], '{:.1f}').replace('n/a', 'inf')} dB"
    if "peak_rss_mib" in p:
        return f"peak RSS {p['peak_rss_mib']:.0f} MiB (before call {p['rss_before_call_mib']:.0f}){'' if p['finite'] else ' NON-FINITE'}"
    return ", ".join(f"{k} {v:.1e}" for k, v in p.items())


COLUMNS = [
    ("workload", lambda r: r.case), ("reference", lambda r: r.reference), ("dtype", lambda r: r.dtype),
    ("ref s", lambda r: _seconds(r.ref and r.ref.best)), ("ours first s", lambda r: _seconds(r.ours.first)),
    ("ours warm s", lambda r: _seconds(r.ours.best)), ("ratio first", lambda r: _ratio_text(r.ratio_first)),
    ("ratio warm", lambda r: _ratio_text(r.ratio_warm)), ("target", _target_text), ("met", _met_text),
    ("ARI", lambda r: _num(r.parity.get("ari"), "{:.3f}").replace("n/a", "-")),
    ("max error", _error_text),
    ("pairs evaluated / dense", _pairs_text), ("Gpairs/s", _gpairs_text), ("parity", _parity_text),
]


def table(rows):
    lines = ["| " + " | ".join(name for name, _ in COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    lines += ["| " + " | ".join(cell(r) for _, cell in COLUMNS) + " |" for r in rows]
    return "\n".join(lines)


def plot_scaling(rows, path):
    """Log-log fit time against n for the blobs rows (scikit-learn, ours warm and first call)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import matplotlib.ticker

    pts = sorted((r.extra["n"], r.ref.best, r.ours.best, r.ours.first) for r in rows if r.workload == "blobs")
    n, ref, warm, first = (np.array(c) for c in zip(*pts, strict=True))
    fig, ax = plt.subplots(figsize=(6.4, 4.4))
    ax.loglog(n, ref, "o-", label="scikit-learn MeanShift (n_jobs=-1)")
    ax.loglog(n, warm, "s-", label="jaxshift MeanShift, warm")
    ax.loglog(n, first, "s:", color="C1", alpha=0.6, label="jaxshift MeanShift, first call")
    ax.set(xlabel="n points (3-D blobs, every point a seed, flat kernel)", ylabel="fit time (s)",
           title="Mean shift fit time", xticks=n)
    ax.set_xticklabels([f"{v // 1000}k" for v in n])
    ax.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())  # no 3x10^3 labels over the ticks
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    fig.tight_layout()
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)


def report(rows, info, cfg):
    print()
    print(table(rows))
    print()
    if any(r.workload == "hotloop" for r in rows):
        limit = next(r.extra["c_limit_gpairs_s"] for r in rows if r.workload == "hotloop")
        print(f"C limit (flat kernel sums, d=3, float32, all cores): {_num(limit)} Gpairs/s")
    print(f"{info['cpu']}, {info['cores']} cores, load average at start {info['load_average'][0]:.1f};"
          f" jax {info['jax']} on {info['device']}; jaxshift from {info['jaxshift']}")
    if info["compilation_cache"]:
        print(f"persistent compilation cache ON ({info['compilation_cache']}): first calls may skip compiling")
    print(f"process peak RSS (ru_maxrss, whole harness process, all workloads): "
          f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")
    short = "" if cfg.quick else " (short ones: until 1 s, at most 25)"
    print(f"ref s: best of up to {cfg.repeat} calls{short}; ours warm: the same, after the first;"
          " ratio = ref / ours (> 1: jaxshift faster)")


# ------------------------------------------------------------------------------ main


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="tiny sizes, well under a minute (a smoke test)")
    p.add_argument("--large", action="store_true", help="also n=100,000 blobs")
    p.add_argument("--memory", action="store_true", help="run the memory workload (on by default in the full run)")
    p.add_argument("--only", help="comma-separated workloads: " + ",".join(WORKLOADS))
    p.add_argument("--json", metavar="PATH", help="write every figure as JSON")
    p.add_argument("--plot", metavar="PATH", help="scaling plot of the blobs rows (full run default: docs/scaling.png)")
    p.add_argument("--repeat", type=int, help="calls to take the best of (default 3, --quick 2)")
    p.add_argument("--c-limit", default=C_LIMIT_TOOL, metavar="TOOL", help="the C-limit tool (default %(default)s)")
    p.add_argument("--memory-child", nargs=3, help=argparse.SUPPRESS)
    p.add_argument("--devices", type=int, metavar="N",
                   help="only the speed-up from 1 to N devices (benchmarks/devices.py; on CPU, N virtual devices)")
    args = p.parse_args(argv)
    names = [s.strip() for s in args.only.split(",") if s.strip()] if args.only else None
    unknown = sorted(set(names or ()) - set(WORKLOADS))
    if unknown:
        p.error(f"unknown workload(s) {', '.join(unknown)}; valid: {', '.join(WORKLOADS)}")
    if names is None:
        names = [w for w in WORKLOADS if w != "memory" or args.memory or not args.quick]
    args.only = names
    if args.plot is None and not args.quick and "blobs" in names:
        args.plot = str(ROOT / "docs" / "scaling.png")
    return args


def run_devices(n, quick, json_path):
    """``benchmarks/devices.py`` in a child process: the device count is fixed when JAX
    starts, so on CPU the child gets ``--xla_force_host_platform_device_count=N``."""
    env = dict(os.environ)
    flags = env.get("XLA_FLAGS", "")
    if "xla_force_host_platform_device_count" not in flags:
        env["XLA_FLAGS"] = f"{flags} --xla_force_host_platform_device_count={n}".strip()
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH")) if p)
    cmd = [sys.executable, str(ROOT / "benchmarks" / "devices.py"), "--devices", str(n)]
    cmd += ["--quick"] if quick else []
    cmd += ["--json", json_path] if json_path else []
    info = machine_info()
    print(f"{info['cpu']}, {info['cores']} cores; jax {info['jax']}")
    raise SystemExit(subprocess.run(cmd, env=env).returncode)


def main(argv=None):
    args = parse_args(argv)
    if args.devices:
        run_devices(args.devices, args.quick, args.json)
    if args.memory_child:
        n, kernel, op = args.memory_child
        memory_child(int(n), kernel, op)
        return
    cfg = Config(args.quick, args.large, args.repeat or (2 if args.quick else 3), 5.0 if args.quick else 30.0,
                 args.c_limit)
    info = machine_info()
    print(f"jaxshift benchmarks ({'quick' if cfg.quick else 'full'}): {', '.join(args.only)}")
    print(f"{info['cpu']}, {info['cores']} cores; jax {info['jax']} on {info['device']}; jaxshift from {info['jaxshift']}")
    rows, start = [], time.perf_counter()
    for name in args.only:
        t = time.perf_counter()
        new = WORKLOADS[name](cfg)
        rows += new
        print(f"  {name}: {len(new)} row(s) in {time.perf_counter() - t:.1f} s", flush=True)
    report(rows, info, cfg)
    if args.plot and any(r.workload == "blobs" for r in rows):
        plot_scaling(rows, args.plot)
        print(f"scaling plot: {args.plot}")
    if args.json:
        result = {"machine": info, "quick": cfg.quick, "large": cfg.large, "workloads": args.only,
                  "seconds": time.perf_counter() - start, "rows": [r.to_json() for r in rows]}
        Path(args.json).write_text(json.dumps(result, indent=2, default=float) + "\n")
        print(f"json: {args.json}")


if __name__ == "__main__":
    main()
