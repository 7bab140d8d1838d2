"""The documentation site builds with warnings as errors (the README's docs command)."""

import pathlib
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]


def test_docs_build_with_warnings_as_errors(tmp_path):
    try:
        import sphinx  # noqa: F401
    except ImportError:
        pytest.skip("sphinx is not installed: pip install -e '.[docs]' to build the docs")
    out = tmp_path / "html"
    res = subprocess.run(
        [sys.executable, "-m", "sphinx", "-W", "--keep-going", "-q", "-b", "html",
         "-d", str(tmp_path / "doctrees"), str(ROOT / "docs"), str(out)],
        capture_output=True, text=True, timeout=300, cwd=ROOT,
    )
    assert res.returncode == 0, res.stderr[-4000:] or res.stdout[-4000:]
    # The API reference comes from the docstrings, the notebooks and the CLI help are pages.
    core = (out / "api" / "core.html").read_text()
    for page in ["index", "math", "benchmarks", "api/kernels", "api/bandwidth", "api/cluster", "api/image",
                 "notebooks/blobs_3d", "notebooks/segment_image", "notebooks/bandwidth"]:
        assert (out / f"{page}.html").is_file(), page
    assert "jaxshift.find_modes" in core
    assert "usage: jaxshift segment" in (out / "api" / "cli.html").read_text()
