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


def measure(n_devices: int, n: int = 10_000, seeds: int = 2_000, d: int = 3, repeat: int = 2) -> list[dict]:
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
        mem = _compiled_find_modes(x, data, name, None, None)[1] if name.startswith("find_modes") else None
        rows.append(dict(workload=name, layout="1 device", devices=1, seconds=one, speedup=1.0, collectives=None,
                         memory=mem))
        for layout, axes in (("seeds split", None), ("data split", "x")):
            secs = _timed(lambda fn=fn, axes=axes: fn(mesh=mesh, data_axes=axes).block_until_ready(), repeat)
            count = mem = None
            if name.startswith("find_modes"):
                text, mem = _compiled_find_modes(x, data, name, mesh, axes)
                count = collectives(text)
            rows.append(dict(workload=name, layout=layout, devices=n_devices, seconds=secs, speedup=one / secs,
                             collectives=count, memory=mem))
        if name.startswith("find_modes"):
            # What a user got before mesh=: jit with the seeds' NamedSharding, the loop
            # partitioned by XLA (it re-sorts all seeds every step).
            from jax.sharding import NamedSharding, PartitionSpec

            xs = jax.device_put(x, NamedSharding(mesh, PartitionSpec("x")))
            ys = jax.device_put(data, NamedSharding(mesh, PartitionSpec()))
            kernel, h = ("flat", 1.5) if "flat" in name else ("gaussian", 0.8)
            jitted = jax.jit(lambda s, y, kernel=kernel, h=h: jaxshift.find_modes(s, y, bandwidth=h, kernel=kernel).modes)
            secs = _timed(lambda jitted=jitted, xs=xs, ys=ys: jitted(xs, ys).block_until_ready(), repeat)
            compiled = jitted.lower(xs, ys).compile()
            rows.append(dict(workload=name, layout="jit, seeds' NamedSharding (no mesh=)", devices=n_devices,
                             seconds=secs, speedup=one / secs, collectives=collectives(compiled.as_text()),
                             memory=_memory(compiled)))
    return rows


def _memory(compiled) -> int | None:
    """Bytes one device holds for a compiled program: arguments, outputs and temporaries
    (XLA's memory analysis of the per-device program)."""
    try:
        m = compiled.memory_analysis()
        return int(m.argument_size_in_bytes + m.output_size_in_bytes + m.temp_size_in_bytes)
    except Exception:  # not every backend reports it
        return None


def _compiled_find_modes(x, data, name, mesh, axes):
    """``(HLO text, bytes per device)`` of find_modes compiled for a layout."""
    import jax

    import jaxshift

    kernel, h = ("flat", 1.5) if "flat" in name else ("gaussian", 0.8)
    fn = jax.jit(lambda s, y: jaxshift.find_modes(s, y, bandwidth=h, kernel=kernel, mesh=mesh, data_axes=axes).modes)
    compiled = fn.lower(x, data).compile()
    return compiled.as_text(), _memory(compiled)


def memory_per_device(n: int, m: int, d: int, devices: int, *, data_split: bool, itemsize: int = 4,
                      query_block: int = 256, data_block: int = 2048) -> int:
    """Bytes one device holds for the driver, the model of ``docs/scaling.md``: its data
    (the points, their blocked, centred and scaled copies, weights, ids: ``4 n_dev d +
    4 n_dev``), its seeds' state and step (``6 m_dev d + 8 m_dev``) and a few block-pair
    arrays (``3 query_block * data_block``), ``n_dev = ceil(n / D)`` when the data are
    split, ``m_dev = ceil(m / D)`` when the seeds are."""
    n_dev = -(-n // devices) if data_split else n
    m_dev = m if data_split else -(-m // devices)
    return itemsize * (4 * n_dev * d + 4 * n_dev + 6 * m_dev * d + 8 * m_dev + 3 * query_block * data_block)


def main(n_devices: int, quick: bool = False) -> list[dict]:
    """Print the table and return its rows."""
    import jax

    n, seeds = (3_000, 600) if quick else (10_000, 2_000)
    rows = measure(n_devices, n=n, seeds=seeds, repeat=1 if quick else 2)
    print(f"\n## Devices: 1 -> {n_devices} ({jax.devices()[0].platform}; n={n:,}, seeds={seeds:,}, d=3, float32)\n")
    print("| workload | layout | devices | seconds | speed-up | collectives per driver iteration "
          "| MiB per device (XLA; model) |")
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        c = r["collectives"]
        ctext = "" if c is None else f"{c['per_iteration']} (whole program: {c['total']})"
        mtext = ""
        if r.get("memory") is not None:
            split = r["layout"] == "data split"
            model = memory_per_device(n, seeds, 3, r["devices"], data_split=split)
            mtext = f"{r['memory'] / 2**20:.2f}; {model / 2**20:.2f}" if "jit" not in r["layout"] else \
                f"{r['memory'] / 2**20:.2f}"
        print(f"| {r['workload']} | {r['layout']} | {r['devices']} | {r['seconds']:.3f} | {r['speedup']:.2f}x "
              f"| {ctext} | {mtext} |")
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
