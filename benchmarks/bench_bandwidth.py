"""Bandwidth selection: jaxshift.bandwidth.select vs statsmodels' cross-validation, side by side.

For each data set, in one process and on the same data:

- statsmodels ``KDEMultivariate(var_type="c" * d, bw="cv_ml")`` and ``bw="cv_ls"`` (Nelder-Mead
  on Python loops, from the normal-reference rule, xtol=1e-3 on the bandwidth);
- ``select(method="likelihood" | "lscv", per_feature=True)`` in float64: the first call
  (including tracing and XLA compilation) and the warm time (median of repeats), with the
  bandwidths, their largest relative difference, and the time ratios;
- the hot loop of the objective: one warm value-and-gradient of the leave-one-out
  log-likelihood, in pairs/s.

Run:
    python benchmarks/bench_bandwidth.py            # n up to 4,000 (statsmodels takes minutes)
    python benchmarks/bench_bandwidth.py --quick    # small sizes, well under a minute
"""

from __future__ import annotations

import argparse
import statistics
import time
import warnings

import jax
import numpy as np

jax.config.update("jax_enable_x64", True)  # noqa: E402  (float64, as statsmodels)

from jaxshift import bandwidth as bw  # noqa: E402


def sample(kind: str, n: int, d: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    if kind == "normal":
        return rng.normal(size=(n, d))
    if kind == "bimodal":
        centres = np.where(rng.random((n, 1)) < 0.4, -1.5, 1.5)
        return centres + 0.6 * rng.normal(size=(n, d))
    if kind == "skewed":
        return rng.gamma(2.0, 0.8, size=(n, d))
    raise ValueError(kind)


def timed(fn, *args, repeats=1, **kwargs):
    out, times = None, []
    for _ in range(repeats):
        t = time.perf_counter()
        out = fn(*args, **kwargs)
        jax.block_until_ready(out)
        times.append(time.perf_counter() - t)
    return out, times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="small sizes only")
    args = parser.parse_args()
    from statsmodels.nonparametric.kernel_density import KDEMultivariate

    if args.quick:
        cases = [("normal", 500, 1), ("bimodal", 500, 2)]
        repeats = 3
    else:
        cases = [("normal", 1000, 1), ("skewed", 4000, 1), ("bimodal", 1000, 2), ("skewed", 2000, 2)]
        repeats = 5
    print(f"jax {jax.__version__} on {jax.devices()[0].platform}, float64; times in seconds")
    head = (
        f"{'data':<16}{'method':<12}{'statsmodels':>12}{'select cold':>12}{'select warm':>12}"
        f"{'sm/cold':>9}{'sm/warm':>9}{'max rel diff':>13}  bandwidths (jaxshift | statsmodels)"
    )
    print(head)
    print("-" * len(head))
    for kind, n, d in cases:
        x = sample(kind, n, d, seed=n + d)
        for method, sm_bw in (("likelihood", "cv_ml"), ("lscv", "cv_ls")):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                t = time.perf_counter()
                ref = KDEMultivariate(x, "c" * d, bw=sm_bw).bw
                t_sm = time.perf_counter() - t
            (h, info), cold = timed(bw.select, x, method=method, per_feature=True)
            _, warm = timed(bw.select, x, method=method, per_feature=True, repeats=repeats)
            warm_t = statistics.median(warm)
            diff = float(np.max(np.abs(np.asarray(h) / ref - 1.0)))
            flag = "" if bool(info.converged) else " (not converged)"
            print(
                f"{f'{kind} {n}x{d}':<16}{method:<12}{t_sm:>12.3f}{cold[0]:>12.3f}{warm_t:>12.4f}"
                f"{t_sm / cold[0]:>9.1f}{t_sm / warm_t:>9.0f}{diff:>12.2%}  "
                f"{np.round(np.atleast_1d(np.asarray(h)), 4).tolist()} | {np.round(ref, 4).tolist()}"
                f" [{int(info.n_iter)} Newton steps{flag}]"
            )
        vg = jax.jit(jax.value_and_grad(lambda hh, x: bw.loo_log_likelihood(x, bandwidth=hh)))
        _, t_vg = timed(vg, bw.silverman(x), jax.numpy.asarray(x), repeats=repeats + 1)
        t_vg = statistics.median(t_vg[1:])
        print(f"{'':<16}LOO value+grad warm {t_vg * 1e3:.2f} ms = {n * n / t_vg / 1e6:.0f} M pairs/s")


if __name__ == "__main__":
    main()
