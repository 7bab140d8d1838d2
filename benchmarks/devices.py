"""Speed-up from 1 to N devices, and the collectives of one driver iteration.

Run by ``benchmarks/run.py --devices N`` in a child process, since the device count is
fixed when JAX starts: on CPU the child gets ``XLA_FLAGS=--xla_force_host_platform_device_count=N``.
Also importable (``collectives``) by the multi-device test.

What virtual CPU devices measure: they are N XLA devices on one process that share the
machine's cores. On a 2-core machine 4 devices cannot run 4 times faster than one; the
figure says how well the work splits (how much is duplicated, how much the
collectives and the padding cost), not what N GPUs would give.
"""

from __future__ import annotations

import re
import time

_COLLECTIVE = re.compile(r"=\s*\S+\s+(all-reduce|all-gather|reduce-scatter|collective-permute|all-to-all)(-start)?\(")
_COMPUTATION = re.compile(r"^(?:ENTRY\s+)?%?([\w.\-]+)\s*\(.*\)\s*->.*\{\s*$")
_CALLS = re.compile(r"(?:body|condition|to_apply|calls|branch_computations|true_computation|false_computation)="
                    r"(\{[^}]*\}|%?[\w.\-]+)")


def collectives(hlo_text: str) -> dict:
    """Collective ops in compiled HLO text: ``{"total": all of them, "per_iteration": the
    most reachable from the body of one ``while`` loop (nested calls included)}``.

    The driver's ``while`` loop is the one with collectives in its body (the hot loop's
    inner loops have none), so ``per_iteration`` is what one mean-shift step costs in
    communication.
    """
    own, calls, bodies = {}, {}, []
    name = None
    for line in hlo_text.splitlines():
        m = _COMPUTATION.match(line.strip()) if not line.startswith(" ") else None
        if m:
            name = m.group(1)
            own[name], calls[name] = 0, []
            continue
        if name is None:
            continue
        if _COLLECTIVE.search(line):
            own[name] += 1
        for target in _CALLS.findall(line):
            names = [t.strip().lstrip("%") for t in target.strip("{}").split(",") if t.strip()]
            calls[name].extend(names)
        if " while(" in line:
            body = re.search(r"body=%?([\w.\-]+)", line)
            if body:
                bodies.append(body.group(1))

    def reach(c, seen):
        if c in seen or c not in own:
            return 0
        seen.add(c)
        return own[c] + sum(reach(k, seen) for k in calls[c])

    return {"total": sum(own.values()), "per_iteration": max((reach(b, set()) for b in bodies), default=0)}


def _timed(fn, repeat=3):
    fn()  # compile
    best = float("inf")
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return best


def measure(n_devices: int, n: int = 20_000, seeds: int = 4_000, d: int = 3, repeat: int = 3) -> list[dict]:
    """Rows ``{workload, layout, devices, seconds, speedup, collectives}`` for find_modes
    (flat and gaussian) and log_kde, one device against ``n_devices``: seeds split,
    data split."""
    import jax
    import jax.numpy as jnp
    import numpy as np
    from jax.sharding import Mesh

    import jaxshift

    devices = jax.devices()[:n_devices]
    if len(devices) < n_devices:
        raise SystemExit(f"--devices {n_devices}: only {len(devices)} devices (XLA_FLAGS not set before JAX started?)")
    rng = np.random.default_rng(0)
    centres = rng.uniform(-10, 10, size=(8, d))
    data = (centres[rng.integers(0, 8, n)] + rng.normal(size=(n, d))).astype(np.float32)
    x = data[rng.choice(n, seeds, replace=False)]
    data, x = jnp.asarray(data), jnp.asarray(x)
    mesh = Mesh(np.array(devices), ("x",))
    work = {
        "find_modes flat": lambda **kw: jaxshift.find_modes(x, data, bandwidth=1.5, kernel="flat", **kw).modes,
        "find_modes gaussian": lambda **kw: jaxshift.find_modes(x, data, bandwidth=0.8, **kw).modes,
        "log_kde gaussian": lambda **kw: jaxshift.log_kde(x, data, bandwidth=0.8, **kw),
    }
    rows = []
    for name, fn in work.items():
        one = _timed(lambda fn=fn: fn().block_until_ready(), repeat)
        rows.append(dict(workload=name, layout="1 device", devices=1, seconds=one, speedup=1.0, collectives=None))
        for layout, axes in (("seeds split", None), ("data split", "x")):
            secs = _timed(lambda fn=fn, axes=axes: fn(mesh=mesh, data_axes=axes).block_until_ready(), repeat)
            count = None
            if name.startswith("find_modes"):
                count = collectives(_compiled_find_modes(x, data, name, mesh, axes))
            rows.append(dict(workload=name, layout=layout, devices=n_devices, seconds=secs, speedup=one / secs,
                             collectives=count))
        if name.startswith("find_modes"):
            # What a user got before mesh=: jit with the seeds' NamedSharding, the loop
            # partitioned by XLA (it re-sorts all seeds every step).
            from jax.sharding import NamedSharding, PartitionSpec

            xs = jax.device_put(x, NamedSharding(mesh, PartitionSpec("x")))
            ys = jax.device_put(data, NamedSharding(mesh, PartitionSpec()))
            kernel, h = ("flat", 1.5) if "flat" in name else ("gaussian", 0.8)
            jitted = jax.jit(lambda s, y, kernel=kernel, h=h: jaxshift.find_modes(s, y, bandwidth=h, kernel=kernel).modes)
            secs = _timed(lambda jitted=jitted, xs=xs, ys=ys: jitted(xs, ys).block_until_ready(), repeat)
            rows.append(dict(workload=name, layout="jit, seeds' NamedSharding (no mesh=)", devices=n_devices,
                             seconds=secs, speedup=one / secs,
                             collectives=collectives(jitted.lower(xs, ys).compile().as_text())))
    return rows


def _compiled_find_modes(x, data, name, mesh, axes) -> str:
    import jax

    import jaxshift

    kernel, h = ("flat", 1.5) if "flat" in name else ("gaussian", 0.8)
    fn = jax.jit(lambda s, y: jaxshift.find_modes(s, y, bandwidth=h, kernel=kernel, mesh=mesh, data_axes=axes).modes)
    return fn.lower(x, data).compile().as_text()


def memory_per_device(n: int, m: int, d: int, devices: int, *, data_split: bool, itemsize: int = 4,
                      query_block: int = 256, data_block: int = 2048) -> int:
    """Bytes each device holds for the driver, from the layout (``docs/scaling.md``): its
    data (points, their blocked copies, weights: about ``3 n_dev d + 2 n_dev``), its seeds'
    state (about ``4 m_dev d + 8 m_dev``) and one block pair (``query_block * data_block``)."""
    n_dev = -(-n // devices) if data_split else n
    m_dev = m if data_split else -(-m // devices)
    return itemsize * (3 * n_dev * d + 2 * n_dev + 4 * m_dev * d + 8 * m_dev + 2 * query_block * data_block)


def main(n_devices: int, quick: bool = False) -> list[dict]:
    """Print the table and return its rows."""
    import jax

    n, seeds = (3_000, 600) if quick else (20_000, 4_000)
    rows = measure(n_devices, n=n, seeds=seeds, repeat=1 if quick else 3)
    print(f"\n## Devices: 1 -> {n_devices} ({jax.devices()[0].platform}; n={n:,}, seeds={seeds:,}, d=3, float32)\n")
    print("| workload | layout | devices | seconds | speed-up | collectives per driver iteration |")
    print("|---|---|---|---|---|---|")
    for r in rows:
        c = r["collectives"]
        ctext = "" if c is None else f"{c['per_iteration']} (whole program: {c['total']})"
        print(f"| {r['workload']} | {r['layout']} | {r['devices']} | {r['seconds']:.3f} | {r['speedup']:.2f}x | {ctext} |")
    if jax.devices()[0].platform == "cpu":
        print(f"\nVirtual CPU devices share this machine's cores: the speed-up is bounded by the core count, "
              f"not by {n_devices}; it shows how well the work splits, not what {n_devices} accelerators give.")
    return rows


if __name__ == "__main__":
    import argparse
    import json

    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--devices", type=int, required=True)
    p.add_argument("--quick", action="store_true")
    p.add_argument("--json")
    a = p.parse_args()
    out = main(a.devices, a.quick)
    if a.json:
        with open(a.json, "w") as f:
            json.dump(out, f, indent=1)
