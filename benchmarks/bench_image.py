"""Images: jaxshift vs OpenCV (joint filtering) and vs scikit-learn (colour clustering), one process.

- ``filter_image`` against ``cv2.pyrMeanShiftFiltering`` on the same photo, both at
  ``maxLevel=0`` (the same algorithm: the outputs are compared, PSNR and identical
  pixels) and at OpenCV's default ``maxLevel=1`` (a pyramid shortcut, a different
  result). Also the work rate: window pixels examined per second
  (pixel-steps x window size / time).
- ``segment_colors`` against ``sklearn.cluster.MeanShift(bin_seeding=True)`` fitted on
  every pixel, same bandwidth; agreement of the labels is printed too.

Compile time (first call minus warm call) is reported apart from the warm time (the
best of ``--repeat`` calls). Ratios are ours / theirs (> 1: we are slower).

Run:
    python benchmarks/bench_image.py            # three photos, full size
    python benchmarks/bench_image.py --quick    # one photo, half size, one repeat
"""

from __future__ import annotations

import argparse
import os
import platform
import time

import cv2
import jax
import numpy as np
from matplotlib import cbook
from PIL import Image
from sklearn.cluster import MeanShift as SkMeanShift
from sklearn.datasets import load_sample_image

from jaxshift import image
from jaxshift.cluster import estimate_bandwidth


def photo(name: str, scale: float) -> np.ndarray:
    if name == "grace_hopper":
        with cbook.get_sample_data("grace_hopper.jpg") as f:
            img = np.asarray(Image.open(f).convert("RGB"))
    else:
        img = load_sample_image(f"{name}.jpg")
    if scale != 1:
        img = cv2.resize(img, (round(img.shape[1] * scale), round(img.shape[0] * scale)), interpolation=cv2.INTER_AREA)
    return np.ascontiguousarray(img)


def timed(fn, repeat, compiled=True):
    """``(result, first call, best warm call)``. Without compilation (the references) the
    first call counts as a warm one, and a call over 5 s is not repeated."""
    t = time.perf_counter()
    out = fn()
    first = time.perf_counter() - t
    best = float("inf") if compiled else first
    for _ in range(repeat if compiled or first < 5 else 0):
        t = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t)
    return out, first, best


def psnr(a, b):
    mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return float("inf") if mse == 0 else 10 * np.log10(255.0**2 / mse)


def bench_filter(img, sp, sr, repeat):
    steps = []

    def count(done, total):
        steps.append(total - done)

    ours, first, warm = timed(lambda: image.filter_image(img, spatial_radius=sp, range_radius=sr), repeat)
    image.filter_image(img, spatial_radius=sp, range_radius=sr, progress=count)
    n = img.shape[0] * img.shape[1]
    # Pixels taking each step: all of them in the first, then those still moving.
    pixel_steps = n + sum(steps[:-1]) if steps else n
    window = (2 * image._window_radius(sp) + 1) ** 2
    term = (cv2.TERM_CRITERIA_MAX_ITER | cv2.TERM_CRITERIA_EPS, 5, 1)
    cv0, _, t_cv0 = timed(lambda: cv2.pyrMeanShiftFiltering(img, sp, sr, maxLevel=0, termcrit=term), repeat, False)
    cv1, _, t_cv1 = timed(lambda: cv2.pyrMeanShiftFiltering(img, sp, sr), repeat, False)
    same = np.mean(np.all(ours == cv0, axis=-1))
    print(
        f"  filter sp={sp:<4g} sr={sr:<4g} ours {warm:7.3f}s (+{max(first - warm, 0):5.2f}s compile)"
        f" | cv2 maxLevel=0 {t_cv0:7.3f}s  x{warm / t_cv0:5.2f} | cv2 default(maxLevel=1) {t_cv1:7.3f}s"
        f"  x{warm / t_cv1:5.2f} | vs level 0: PSNR {psnr(ours, cv0):6.1f} dB, {100 * same:.3f}% identical"
        f" | vs level 1: PSNR {psnr(ours, cv1):5.1f} dB"
        f" | {pixel_steps * window / warm / 1e6:6.0f} M window px/s ({pixel_steps / n:.2f} steps/pixel)"
    )


def bench_colors(img, quantile, n_samples, repeat):
    pixels = img.reshape(-1, 3)
    bw = float(estimate_bandwidth(pixels.astype(np.float32), quantile=quantile, n_samples=n_samples, random_state=0))
    ours, first, warm = timed(lambda: image.segment_colors(img, bandwidth=bw), repeat)
    sk, _, t_sk = timed(
        lambda: SkMeanShift(bandwidth=bw, bin_seeding=True).fit(pixels.astype(np.float64)), repeat, False
    )
    k_ours, k_sk = len(ours.palette), len(sk.cluster_centers_)
    # Agreement: same number of modes, same centres (matched greedily), same labels.
    agree = float("nan")
    if k_ours == k_sk:
        d = np.linalg.norm(ours.palette[:, None] - sk.cluster_centers_[None], axis=-1)
        match = d.argmin(1)
        agree = np.mean(match[ours.labels.ravel()] == sk.labels_) if len(set(match)) == k_ours else float("nan")
    n_unique = len(np.unique(pixels, axis=0))
    print(
        f"  colors bandwidth {bw:5.1f}: {pixels.shape[0]} pixels, {n_unique} distinct | ours {warm:7.3f}s"
        f" (+{max(first - warm, 0):5.2f}s compile), {k_ours} modes | sklearn MeanShift(bin_seeding) on all"
        f" pixels {t_sk:7.3f}s, {k_sk} modes  x{warm / t_sk:5.2f} | labels agree {100 * agree:.2f}%"
    )


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="one photo at half size, one repeat")
    p.add_argument("--repeat", type=int, default=None, help="warm repetitions (best is kept)")
    args = p.parse_args()
    names = ["china"] if args.quick else ["china", "flower", "grace_hopper"]
    scale = 0.5 if args.quick else 1.0
    repeat = args.repeat or (1 if args.quick else 3)
    print(
        f"jax {jax.__version__} on {jax.devices()[0].platform} | OpenCV {cv2.__version__}"
        f" ({cv2.getNumThreads()} threads) | {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs"
    )
    for name in names:
        img = photo(name, scale)
        print(f"{name}.jpg {img.shape[1]}x{img.shape[0]}")
        for sp, sr in [(5, 15), (10, 20)]:
            bench_filter(img, sp, sr, repeat)
        bench_colors(img, 0.1, 500, repeat)


if __name__ == "__main__":
    main()
