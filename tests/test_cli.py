"""The ``jaxshift`` command line: outputs, labels, errors, exit codes.

The end-to-end runs start the installed script in a subprocess; the error paths and
``--help`` call :func:`jaxshift.cli.main` in this process (same argument parsing and
error handling, without a Python start and a JAX import per call).
"""

import contextlib
import io
import os
import shutil
import subprocess
import sys
import time

import numpy as np
import pytest

from jaxshift import cli
from jaxshift.image import load_image, save_image


def run(*args, cwd, cache=None):
    """Run the installed ``jaxshift`` script (or ``python -m jaxshift.cli`` without one),
    with its compilation cache inside ``cwd`` (or at ``cache``) rather than in ``~/.cache``."""
    exe = shutil.which("jaxshift")
    cmd = [exe] if exe else [sys.executable, "-m", "jaxshift.cli"]
    env = dict(os.environ, JAX_PLATFORMS=os.environ.get("JAX_PLATFORMS", "cpu"))
    env.pop("JAX_COMPILATION_CACHE_DIR", None)
    env["JAXSHIFT_CACHE_DIR"] = str(cache if cache is not None else os.path.join(cwd, "xla-cache"))
    return subprocess.run(cmd + [str(a) for a in args], cwd=cwd, capture_output=True, text=True, env=env, timeout=300)


class _Result:
    def __init__(self, returncode, stdout, stderr):
        self.returncode, self.stdout, self.stderr = returncode, stdout, stderr


def call(*args, cwd):
    """``jaxshift ARGS`` through :func:`jaxshift.cli.main` in this process, in ``cwd``,
    without the persistent compilation cache (it would stay on for this test worker)."""
    out, err = io.StringIO(), io.StringIO()
    old, env = os.getcwd(), os.environ.get("JAXSHIFT_CACHE_DIR")
    os.environ["JAXSHIFT_CACHE_DIR"] = "off"
    os.chdir(cwd)
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                code = cli.main([str(a) for a in args])
            except SystemExit as exc:  # argparse: --help (0) and usage errors (2)
                code = exc.code
    finally:
        os.chdir(old)
        if env is None:
            os.environ.pop("JAXSHIFT_CACHE_DIR")
        else:
            os.environ["JAXSHIFT_CACHE_DIR"] = env
    return _Result(code, out.getvalue(), err.getvalue())


def one_line_error(res, code, *needles):
    assert res.returncode == code, (res.returncode, res.stdout, res.stderr)
    err = res.stderr.strip()
    assert "Traceback" not in res.stderr and len(err.splitlines()) == 1, res.stderr
    for needle in needles:
        assert needle in err, err


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    d = tmp_path_factory.mktemp("cli")
    rng = np.random.default_rng(0)
    truth = np.zeros((30, 40), np.int64)
    truth[:15, 20:] = 1
    truth[15:, :25] = 2
    colors = np.array([[20, 20, 20], [230, 40, 40], [40, 60, 220]])
    img = np.clip(colors[truth] + rng.integers(-8, 9, truth.shape + (3,)), 0, 255).astype(np.uint8)
    save_image(d / "in.png", img)
    save_image(d / "grey.png", img[:, :, 0])
    save_image(d / "rgba.png", np.dstack([img, np.full(truth.shape, 200, np.uint8)]))
    (d / "junk.png").write_bytes(b"\x89PNG but not really")
    np.save(d / "truth.npy", truth)
    pts = np.concatenate([rng.normal(c, 0.4, (30, 2)) for c in [(0, 0), (6, 6)]])
    np.savetxt(d / "pts.csv", pts, delimiter=",", header="x,y", comments="")
    np.savetxt(d / "plain.csv", pts, delimiter=",")
    return d


def same_partition(a, b):
    pairs = np.unique(np.stack([np.ravel(a), np.ravel(b)], 1), axis=0)
    return len(pairs) == len(np.unique(a)) == len(np.unique(b))


def test_segment_colors_end_to_end(workdir):
    res = run("segment", "in.png", "-o", "out.png", "--bandwidth", "40", "--labels", "labels.npy", "-q", cwd=workdir)
    assert res.returncode == 0, res.stderr
    assert res.stderr == "" and "3 colours" in res.stdout and "out.png" in res.stdout
    out = load_image(workdir / "out.png")
    assert out.shape == (30, 40, 3)
    labels = np.load(workdir / "labels.npy")
    assert labels.shape == (30, 40) and labels.dtype == np.int32
    assert same_partition(labels, np.load(workdir / "truth.npy"))
    assert len(np.unique(out.reshape(-1, 3), axis=0)) == 3


def test_segment_joint_end_to_end(workdir):
    res = run(
        "segment", "in.png", "-o", "joint.png", "--method", "joint", "--spatial-radius", "4",
        "--range-radius", "25", "--min-region-size", "10", "--labels", "jl.npy", cwd=workdir,
    )
    assert res.returncode == 0, res.stderr
    # Three colours, but the two black areas do not touch: four regions.
    assert "4 regions" in res.stdout
    assert load_image(workdir / "joint.png").shape == (30, 40, 3)
    labels = np.load(workdir / "jl.npy")
    regions = np.load(workdir / "truth.npy")
    regions[15:, 25:] = 3
    assert labels.shape == (30, 40) and same_partition(labels, regions)
    # Greyscale in, greyscale out; RGBA keeps its alpha; --filtered writes the modes.
    res = run("segment", "grey.png", "-o", "g.png", "--method", "joint", "--spatial-radius", "3", cwd=workdir)
    assert res.returncode == 0, res.stderr
    assert load_image(workdir / "g.png").shape == (30, 40)
    res = run("segment", "rgba.png", "-o", "a.png", "--method", "joint", "--spatial-radius", "3", "--filtered", cwd=workdir)
    assert res.returncode == 0, res.stderr
    a = load_image(workdir / "a.png")
    assert a.shape == (30, 40, 4) and np.all(a[:, :, 3] == 200)


def test_segment_error_paths(workdir):
    one_line_error(call("segment", "missing.png", "-o", "x.png", cwd=workdir), 1, "missing.png", "no such file")
    one_line_error(call("segment", "junk.png", "-o", "x.png", cwd=workdir), 1, "cannot read image")
    one_line_error(call("segment", "in.png", "-o", "x.png", "--bandwidth", "-2", cwd=workdir), 2, "--bandwidth", "-2")
    one_line_error(call("segment", "in.png", "-o", "x.png", "--method", "kmeans", cwd=workdir), 2, "kmeans")
    one_line_error(call("segment", "in.png", "-o", "x.png", "--method", "joint", "--bandwidth", "3", cwd=workdir),
                   2, "--bandwidth does not apply to --method joint")
    one_line_error(call("segment", "in.png", "-o", "x.unknown", cwd=workdir), 2, "unknown image file extension")
    one_line_error(call("segment", "in.png", "-o", "x.png", "--labels", "l.txt", cwd=workdir), 2, ".npy")
    one_line_error(call("segment", "in.png", cwd=workdir), 2, "-o/--output")
    one_line_error(call("segment", "in.png", "-o", "x.png", "--quantile", "2", cwd=workdir), 2, "(0, 1]")
    assert not (workdir / "x.png").exists()


def test_cluster_end_to_end_and_errors(workdir):
    res = run("cluster", "pts.csv", "--bandwidth", "2", "-o", "labelled.csv", cwd=workdir)
    assert res.returncode == 0, res.stderr
    lines = res.stdout.splitlines()
    assert lines[0].startswith("60 points, 2 clusters") and lines[1] == "label,x,y,size"
    centres = np.array([[float(v) for v in ln.split(",")[1:3]] for ln in lines[2:4]])
    np.testing.assert_allclose(np.sort(centres, 0), [[0, 0], [6, 6]], atol=0.3)
    out = np.genfromtxt(workdir / "labelled.csv", delimiter=",", names=True)
    assert out.dtype.names == ("x", "y", "label") and len(out) == 60
    np.testing.assert_allclose(out["x"], np.loadtxt(workdir / "plain.csv", delimiter=",")[:, 0])
    assert len(set(out["label"][:30])) == 1 and set(out["label"][:30]).isdisjoint(out["label"][30:])
    res = run("cluster", "plain.csv", cwd=workdir)  # no header, estimated bandwidth
    assert res.returncode == 0 and "2 clusters" in res.stdout and "label,x0,x1,size" in res.stdout
    (workdir / "bad.csv").write_text("1,2\n3,oops\n")
    one_line_error(call("cluster", "bad.csv", cwd=workdir), 1, "line 2", "oops")
    (workdir / "ragged.csv").write_text("1,2\n3\n")
    one_line_error(call("cluster", "ragged.csv", cwd=workdir), 1, "line 2", "expected 2")
    one_line_error(call("cluster", "nothing.csv", cwd=workdir), 1, "nothing.csv", "no such file")
    one_line_error(call("cluster", "pts.csv", "--bandwidth", "zero", cwd=workdir), 2, "--bandwidth")


def test_help_explains_every_option(workdir):
    res = call("--help", cwd=workdir)
    assert res.returncode == 0 and "segment" in res.stdout and "cluster" in res.stdout
    res = call("segment", "--help", cwd=workdir)
    assert res.returncode == 0
    for opt in ("--output", "--method", "--bandwidth", "--quantile", "--n-samples", "--kernel", "--spatial-radius",
                "--range-radius", "--min-region-size", "--max-iter", "--labels", "--filtered", "--progress", "--quiet"):
        assert opt in res.stdout, opt
    res = call("cluster", "--help", cwd=workdir)
    for opt in ("--output", "--bandwidth", "--quantile", "--n-samples", "--bin-seeding", "--kernel", "--delimiter"):
        assert opt in res.stdout, opt
    res = call(cwd=workdir)
    assert res.returncode == 2 and "COMMAND" in res.stderr


def test_progress_bar_draws_after_the_delay_only():
    class Log(io.StringIO):
        def isatty(self):
            return False

    log = Log()
    with cli._Progress("always", log, delay=0.05) as bar:
        bar.update(1, 4, "working")
        time.sleep(1.3)
        bar.update(4, 4, "working")
    assert "working" in log.getvalue() and "100.0%" in log.getvalue()
    quick = Log()
    with cli._Progress("always", quick) as bar:  # work under the 1 s default: nothing
        bar.update(1, 1, "quick")
    assert quick.getvalue() == ""
    quiet = Log()
    with cli._Progress("auto", quiet, delay=0.0) as bar:  # auto: only on a terminal
        time.sleep(0.3)
    assert quiet.getvalue() == ""


def test_compilation_cache_is_kept_between_runs_and_can_be_turned_off(workdir, tmp_path):
    pts = tmp_path / "p.csv"
    pts.write_text("x,y\n0,0\n0.2,0.1\n5,5\n5.1,5.2\n")
    cache = tmp_path / "cache"
    res = run("cluster", pts, "--bandwidth", "1", cwd=tmp_path, cache=cache)
    assert res.returncode == 0, res.stderr
    assert any(cache.iterdir())  # compiled programs were stored for the next run
    off = run("cluster", pts, "--bandwidth", "1", cwd=tmp_path, cache="off")
    assert off.returncode == 0, off.stderr
    assert not (tmp_path / "off").exists() and off.stdout == res.stdout
