"""Shared test set-up: hypothesis profiles (jax's `setup_hypothesis` habit).

`JAXSHIFT_HYPOTHESIS_PROFILE=ci` (the default) is derandomized, has no deadline
(compilation breaks deadlines) and no example database, with few examples so the
suite stays fast on 2 cores; `=thorough` runs many more, randomized.
"""

import os

from hypothesis import HealthCheck, settings

settings.register_profile(
    "ci",
    derandomize=True,
    deadline=None,
    database=None,
    max_examples=12,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    print_blob=True,
)
settings.register_profile(
    "thorough",
    deadline=None,
    max_examples=200,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile(os.environ.get("JAXSHIFT_HYPOTHESIS_PROFILE", "ci"))

import shutil  # noqa: E402
import tempfile  # noqa: E402

import jax  # noqa: E402
import pytest  # noqa: E402


def pytest_configure(config):
    """One persistent compilation cache for the whole run, shared by the xdist workers and
    the subprocesses (examples, notebooks, the command line, the benchmark): compile time
    is most of the suite's time, and tests on both workers (or a subprocess and a test)
    often compile the same computation. The controller makes the folder before the workers
    start, so they inherit it; ``JAX_COMPILATION_CACHE_DIR`` set by the user wins. Entries
    are cached whatever their compile time or size (the defaults skip quick compiles)."""
    if "JAX_COMPILATION_CACHE_DIR" not in os.environ:
        os.environ["JAX_COMPILATION_CACHE_DIR"] = tempfile.mkdtemp(prefix="jaxshift-test-cache-")
    os.environ.setdefault("JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS", "0")
    os.environ.setdefault("JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES", "0")
    if not hasattr(config, "workerinput"):  # the controller (or a run without xdist) cleans up
        config._jaxshift_cache = os.environ["JAX_COMPILATION_CACHE_DIR"]
    jax.config.update("jax_compilation_cache_dir", os.environ["JAX_COMPILATION_CACHE_DIR"])
    jax.config.update("jax_persistent_cache_min_compile_time_secs",
                      float(os.environ["JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS"]))
    jax.config.update("jax_persistent_cache_min_entry_size_bytes",
                      int(os.environ["JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES"]))


def pytest_unconfigure(config):
    folder = getattr(config, "_jaxshift_cache", None)
    if folder and folder.startswith(tempfile.gettempdir()) and "jaxshift-test-cache-" in folder:
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def x64():
    """Run one test with float64 enabled (the rest of the suite keeps the default)."""
    with jax.enable_x64(True):
        yield
