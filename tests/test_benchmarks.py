"""The benchmark harness runs end to end at --quick sizes and writes every figure as JSON."""

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
QUICK_WORKLOADS = {"blobs", "photo", "kde", "bandwidth", "filter", "hotloop", "grid", "kde_grid"}


def _positive(v):
    return isinstance(v, (int, float)) and math.isfinite(v) and v > 0


@pytest.mark.slow
def test_quick_run_reports_every_workload(tmp_path):
    out = tmp_path / "bench.json"
    # This tree's jaxshift, whatever is installed.
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p))
    proc = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "run.py"), "--quick", "--repeat", "1", "--json", str(out)],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600,
    )
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
    assert "| workload | reference |" in proc.stdout

    result = json.loads(out.read_text())
    assert set(result["workloads"]) == QUICK_WORKLOADS
    assert {row["workload"] for row in result["rows"]} == QUICK_WORKLOADS
    assert result["machine"]["cpu"] and result["machine"]["jax"]
    for row in result["rows"]:
        assert _positive(row["ours_first_s"]) and _positive(row["ours_warm_s"]), row
        # The hot loop's reference is the machine's C limit, absent where the tool or a C compiler is.
        if row["workload"] != "hotloop" or row["ref_s"] is not None:
            assert _positive(row["ref_s"]) and _positive(row["ratio_warm"]) and _positive(row["ratio_first"]), row
        assert row["parity"], row
        assert all(v is None or isinstance(v, (bool, str, list)) or math.isfinite(v) for v in row["parity"].values()), row
