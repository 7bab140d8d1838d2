"""jaxshift.cluster vs scikit-learn's mean shift, side by side in one process.

Workloads (the issue's two, plus a larger 3-D one):

- ``blobs-120``: the seed walkthrough, 120 points in 3-D around three centres,
  ``estimate_bandwidth(quantile=0.2, n_samples=500)``, bin seeding.
- ``blobs-20k``: the same three blobs with 20,000 points.
- ``photo``: the pixels of ``china.jpg`` (ships with scikit-learn) clustered by
  colour, ``estimate_bandwidth(quantile=0.1, n_samples=100)``, bin seeding.

For each: scikit-learn's time, ours on the first call (compilation included) and
warm (best of a few), the ratios, whether the results agree (same number of
clusters, centres within 1e-3 bandwidth, identical labels), and the hot loop's
throughput in pairs/s (one flat-kernel step of every seed against every point).

Run: ``python benchmarks/bench_cluster.py`` (``--quick``: a quarter of the photo's
pixels in each direction and fewer repeats). Wall-clock times on a shared machine
are noisy; CPU seconds are printed too.
"""

from __future__ import annotations

import argparse
import time

import jax
import jax.numpy as jnp
import numpy as np

import jaxshift
from jaxshift import cluster as jc
from jaxshift._pairwise import kernel_sums


def timed(fn, repeat=1):
    """``(result, best wall seconds, CPU seconds of that run)``."""
    best = (None, np.inf, np.inf)
    for _ in range(repeat):
        w, c = time.perf_counter(), time.process_time()
        out = fn()
        wall, cpu = time.perf_counter() - w, time.process_time() - c
        if wall < best[1]:
            best = (out, wall, cpu)
    return best


def blobs(n, seed=0):
    rng = np.random.default_rng(seed)
    centres = np.array([[2.0, 2.0, 3.0], [6.0, 7.0, 8.0], [5.0, 10.0, 13.0]])
    per = -(-n // 3)
    return np.concatenate([c + 0.6 * rng.standard_normal((per, 3)) for c in centres])[:n]


def photo(quick):
    from sklearn.datasets import load_sample_image

    img = load_sample_image("china.jpg")
    if quick:
        img = img[::4, ::4]
    return img.reshape(-1, 3)  # uint8, as a user would pass it (float64 on both sides)


def agree(ours, ref, bandwidth):
    if ours.cluster_centers_.shape != ref.cluster_centers_.shape:
        return f"NO ({len(ours.cluster_centers_)} vs {len(ref.cluster_centers_)} clusters)"
    err = np.abs(ours.cluster_centers_ - ref.cluster_centers_).max() / bandwidth
    same = np.mean(ours.labels_ == ref.labels_)
    ok = err <= 1e-3 and same == 1.0 and ours.n_iter_ == ref.n_iter_
    return f"{'yes' if ok else 'NO'} (max centre diff {err:.1e} bw, labels equal {same:.4%}, n_iter {ours.n_iter_}/{ref.n_iter_})"


def pairs_per_second(X, seeds, bandwidth, repeat):
    """One flat-kernel mean-shift step of all seeds against all points."""
    dtype = X.dtype
    with jc._precision(dtype):
        x, s = jnp.asarray(X), jnp.asarray(seeds, dtype)
        step = jax.jit(lambda s, x: kernel_sums(s, x, jnp.ones(len(x), dtype), jnp.asarray(bandwidth, dtype),
                                                 jaxshift.get_kernel("flat"), with_mean=True).t)
        step(s, x).block_until_ready()
        _, wall, _ = timed(lambda: step(s, x).block_until_ready(), repeat)
    return len(seeds) * len(X) / wall


def run(name, X, quantile, n_samples, repeat, sk):
    print(f"\n== {name}: {X.shape[0]} points x {X.shape[1]} features ({X.dtype}) ==")
    bw_ref, t_bw_ref, _ = timed(lambda: sk.estimate_bandwidth(X, quantile=quantile, n_samples=n_samples), repeat)
    bw, t_bw_cold, _ = timed(lambda: jc.estimate_bandwidth(X, quantile=quantile, n_samples=n_samples))
    _, t_bw, _ = timed(lambda: jc.estimate_bandwidth(X, quantile=quantile, n_samples=n_samples), repeat)
    print(f"estimate_bandwidth: sklearn {bw_ref:.6f} in {t_bw_ref * 1e3:.1f} ms | jaxshift {bw:.6f} in "
          f"{t_bw * 1e3:.1f} ms warm ({t_bw_cold * 1e3:.0f} ms first call)")
    ref, t_ref, c_ref = timed(lambda: sk.MeanShift(bandwidth=bw_ref, bin_seeding=True).fit(X), repeat)
    ours, t_cold, _ = timed(lambda: jc.MeanShift(bandwidth=bw_ref, bin_seeding=True).fit(X))
    ours, t_warm, c_warm = timed(lambda: jc.MeanShift(bandwidth=bw_ref, bin_seeding=True).fit(X), repeat)
    seeds = jc.get_bin_seeds(np.asarray(X, np.float64), bw_ref)
    print(f"MeanShift.fit ({len(seeds)} bin seeds, {len(ref.cluster_centers_)} clusters):")
    print(f"  sklearn            {t_ref:8.3f} s  (cpu {c_ref:.3f} s)")
    print(f"  jaxshift warm      {t_warm:8.3f} s  (cpu {c_warm:.3f} s)   speed-up x{t_ref / t_warm:.1f}")
    print(f"  jaxshift 1st call  {t_cold:8.3f} s  (compilation included)      speed-up x{t_ref / t_cold:.1f}")
    print(f"  same result: {agree(ours, ref, bw_ref)}")
    pps = pairs_per_second(np.asarray(X, np.float64), seeds, bw_ref, repeat)
    print(f"  hot loop: {pps / 1e9:.2f} billion pairs/s (one float64 flat step, {len(seeds)} x {len(X)} pairs)")
    return {"name": name, "sklearn": t_ref, "warm": t_warm, "cold": t_cold}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller photo, fewer repeats")
    args = parser.parse_args(argv)
    from sklearn import cluster as sk

    repeat = 2 if args.quick else 3
    print(f"jax {jax.__version__} on {jax.devices()[0].platform}; scikit-learn mean shift vs jaxshift.cluster")
    rows = [
        run("blobs-120 (seed walkthrough)", blobs(120), 0.2, 500, repeat, sk),
        run("blobs-20k", blobs(5_000 if args.quick else 20_000), 0.2, 500, repeat, sk),
        run("photo china.jpg by colour", photo(args.quick), 0.1, 100, repeat, sk),
    ]
    print("\nsummary (fit only, wall seconds):")
    print(f"{'workload':32s} {'sklearn':>9s} {'ours warm':>10s} {'ratio':>7s} {'ours 1st':>9s} {'ratio':>7s}")
    for r in rows:
        print(f"{r['name']:32s} {r['sklearn']:9.3f} {r['warm']:10.3f} {r['sklearn'] / r['warm']:7.1f} "
              f"{r['cold']:9.3f} {r['sklearn'] / r['cold']:7.1f}")


if __name__ == "__main__":
    main()
