"""Core benchmark: the hot loop in pairs/s, KDE against the reference libraries, peak memory.

Everything runs side by side in one process (these machines are noisy: read the
ratios, not the seconds). Compile time is reported apart from warm time.

    python benchmarks/bench_core.py            # full run
    python benchmarks/bench_core.py --quick    # small sizes, a smoke test
    python benchmarks/bench_core.py --memory   # also 200,000 x 200,000 in 3-D, peak RSS
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time

import jax
import jax.numpy as jnp
import numpy as np

import jaxshift
from jaxshift._density import _kde
from jaxshift._meanshift import _shift
from jaxshift._pairwise import DATA_BLOCK, QUERY_BLOCK
from jaxshift.kernels import get_kernel


def best_of(fn, repeat=3):
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        jax.block_until_ready(fn())
        times.append(time.perf_counter() - t)
    return min(times)


def hot_loop(m, n, blocks, repeat):
    print(f"\n## hot loop: float32, d=3, {m:,} queries x {n:,} data")
    print(f"{'kernel':<9} {'op':<6} {'blocks':>11} {'compile s':>10} {'warm s':>8} {'Gpairs/s':>9}")
    rng = np.random.default_rng(0)
    x = jnp.asarray(rng.normal(size=(m, 3)), jnp.float32)
    y = jnp.asarray(rng.normal(size=(n, 3)), jnp.float32)
    w = jnp.ones((n,), jnp.float32)
    h = jnp.float32(0.5)
    for name in ["flat", "gaussian"]:
        k = get_kernel(name)
        for op, fn, kw in [("kde", _kde, dict(log=False)), ("shift", _shift, {})]:
            for qb, db in blocks:
                args = (x, y, h, w)
                static = dict(kernel=k, query_block=qb, data_block=db, **kw)
                t = time.perf_counter()
                compiled = fn.lower(*args, **static).compile()
                t_compile = time.perf_counter() - t
                warm = best_of(lambda compiled=compiled, args=args: compiled(*args), repeat)
                print(f"{name:<9} {op:<6} {qb:>5}x{db:<5} {t_compile:>10.2f} {warm:>8.3f} {m * n / warm / 1e9:>9.2f}")


def versus_references(m, n, d, repeat):
    from jax.scipy.stats import gaussian_kde as jax_gaussian_kde
    from scipy.stats import gaussian_kde as scipy_gaussian_kde
    from sklearn.neighbors import KernelDensity

    print(f"\n## gaussian KDE vs the references: float64, d={d}, {m:,} queries x {n:,} data")
    rng = np.random.default_rng(1)
    z = rng.normal(size=(n, d))
    data = np.linalg.solve(np.linalg.cholesky(np.atleast_2d(np.cov(z, rowvar=False))), z.T).T  # covariance exactly I
    x = rng.normal(size=(m, d))
    h = 0.3  # all four then use the bandwidth matrix h^2 I
    with jax.enable_x64(True):
        rows = [_timed("jaxshift.kde", lambda: jaxshift.kde(x, data, bandwidth=h), repeat)]
        ref = scipy_gaussian_kde(data.T, bw_method=h)
        rows.append(_timed("scipy gaussian_kde", lambda: ref.evaluate(x.T), repeat))
        jref = jax_gaussian_kde(jnp.asarray(data.T), bw_method=h)
        rows.append(_timed("jax.scipy gaussian_kde", lambda: jref.evaluate(jnp.asarray(x.T)), repeat))
        skl = KernelDensity(bandwidth=h).fit(data)
        rows.append(_timed("sklearn KernelDensity", lambda: np.exp(skl.score_samples(x)), repeat))
    ours, warm = rows[0][3], rows[0][2]
    print(f"{'implementation':<24} {'first s':>8} {'warm s':>8} {'warm ratio':>11} {'max rel diff':>13}")
    for name, t_first, t_warm, vals in rows:
        diff = np.max(np.abs(vals - ours) / np.abs(ours))
        print(f"{name:<24} {t_first:>8.3f} {t_warm:>8.4f} {t_warm / warm:>10.1f}x {diff:>13.1e}")
    print("(warm ratio = that implementation's warm time / jaxshift's; 'first' includes compilation)")


def _timed(name, fn, repeat):
    t = time.perf_counter()
    vals = np.asarray(fn())
    first = time.perf_counter() - t
    return name, first, best_of(fn, repeat), vals


def memory_child(n, kernel, op):
    """Run one big job and report time and peak RSS (called in a fresh process)."""
    rng = np.random.default_rng(2)
    data = rng.normal(size=(n, 3)).astype(np.float32)
    t = time.perf_counter()
    if op == "shift":
        out = jaxshift.shift(data, data, bandwidth=0.3, kernel=kernel)
    else:
        out = jaxshift.log_kde(data, data, bandwidth=0.3, kernel=kernel)
    jax.block_until_ready(out)
    dt = time.perf_counter() - t
    print(json.dumps(dict(seconds=dt, peak_rss=peak_rss(), finite=bool(np.isfinite(np.asarray(out)).all()))))


def peak_rss():
    """This process's peak resident memory in bytes. VmHWM belongs to the address
    space made by exec; ru_maxrss would carry over the parent's peak on Linux."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def memory(n):
    print(f"\n## memory: {n:,} queries x {n:,} data in 3-D, float32, one fresh process each")
    print(f"{'kernel':<9} {'op':<8} {'seconds':>8} {'Gpairs/s':>9} {'peak RSS':>10}")
    for kernel, op in [("flat", "shift"), ("gaussian", "log_kde")]:
        out = subprocess.run(
            [sys.executable, __file__, "--memory-child", str(n), kernel, op], capture_output=True, text=True, check=True
        )
        r = json.loads(out.stdout.strip().splitlines()[-1])
        print(
            f"{kernel:<9} {op:<8} {r['seconds']:>8.1f} {n * n / r['seconds'] / 1e9:>9.2f}"
            f" {r['peak_rss'] / 2**20:>7.0f} MiB{'' if r['finite'] else '  NON-FINITE'}"
        )


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="small sizes (a smoke test)")
    p.add_argument("--memory", action="store_true", help="also run 200,000 x 200,000 and report peak RSS")
    p.add_argument("--blocks", action="store_true", help="sweep block sizes in the hot loop")
    p.add_argument("--memory-child", nargs=3, help=argparse.SUPPRESS)
    a = p.parse_args()
    if a.memory_child:
        memory_child(int(a.memory_child[0]), a.memory_child[1], a.memory_child[2])
        return
    print(f"jax {jax.__version__} on {jax.devices()[0].platform}; default blocks {QUERY_BLOCK}x{DATA_BLOCK}")
    blocks = [(QUERY_BLOCK, DATA_BLOCK)]
    if a.blocks:
        blocks = [(64, 4096), (256, 2048), (256, 8192), (512, 4096), (1024, 1024), (128, 16384)]
    if a.quick:
        hot_loop(512, 20_000, blocks, repeat=2)
        versus_references(500, 5_000, 3, repeat=2)
        if a.memory:
            memory(20_000)
    else:
        hot_loop(4096, 200_000, blocks, repeat=3)
        versus_references(2_000, 20_000, 3, repeat=3)
        if a.memory:
            memory(200_000)


if __name__ == "__main__":
    main()
