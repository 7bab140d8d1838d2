"""Every example runs and writes its PNGs; every notebook executes and is committed without outputs.

Examples run in a subprocess, in a fresh temporary directory, with the non-interactive
matplotlib backend; notebooks run with nbclient in a temporary directory too.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = sorted((ROOT / "examples").glob("*.py"))
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))


def _env():
    env = dict(os.environ, MPLBACKEND="Agg", PYTHONPATH=str(ROOT))
    env.setdefault("JAX_PLATFORMS", "cpu")
    return env


def test_there_are_examples_and_notebooks():
    assert any(p.name == "segment_image.py" for p in EXAMPLES)
    assert any(p.name == "segment_image.ipynb" for p in NOTEBOOKS)


@pytest.mark.parametrize("script", EXAMPLES, ids=[p.name for p in EXAMPLES])
def test_example_runs_and_writes_png(script, tmp_path):
    res = subprocess.run(
        [sys.executable, str(script)], cwd=tmp_path, env=_env(), capture_output=True, text=True, timeout=600,
    )
    assert res.returncode == 0, f"{script.name} failed:\n{res.stdout}\n{res.stderr}"
    pngs = list(tmp_path.glob("**/*.png"))
    assert pngs, f"{script.name} wrote no PNG into its working directory"
    for png in pngs:
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 1000, png


def test_segment_image_example_takes_any_path(tmp_path):
    """The example accepts an image path (here a generated one) and an output name."""
    import numpy as np

    from jaxshift.image import save_image

    yy, xx = np.mgrid[:48, :64]
    img = np.zeros((48, 64, 3), np.uint8)
    img[..., 0] = np.where(xx < 32, 200, 30)
    img[..., 2] = np.where(yy < 24, 40, 220)
    save_image(tmp_path / "mine.png", img)
    res = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "segment_image.py"), "mine.png", "-o", "side.png", "--size", "64"],
        cwd=tmp_path, env=_env(), capture_output=True, text=True, timeout=600,
    )
    assert res.returncode == 0, res.stderr
    assert "4 regions" in res.stdout and (tmp_path / "side.png").exists()


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_notebook_is_committed_without_outputs(path):
    nb = json.loads(path.read_text())
    for cell in nb["cells"]:
        if cell["cell_type"] == "code":
            assert not cell.get("outputs") and cell.get("execution_count") is None, (
                f"{path.name}: clear the outputs before committing (jupyter nbconvert --clear-output --inplace)"
            )


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_notebook_executes(path, tmp_path, monkeypatch):
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    for key, value in _env().items():
        monkeypatch.setenv(key, value)  # the kernel inherits the environment
    nb = nbformat.read(path, as_version=4)
    client = nbclient.NotebookClient(
        nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}},
    )
    client.execute()
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "error"]
    assert not errors
