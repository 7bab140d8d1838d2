"""Shared test set-up: hypothesis profiles (jax's `setup_hypothesis` habit).

`JAXSHIFT_HYPOTHESIS_PROFILE=ci` (the default) is derandomized, has no deadline
(compilation breaks deadlines) and no example database, with few examples so the
suite stays fast on 2 cores; `=thorough` runs many more, randomized.
"""

import os
import shutil
import tempfile

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

import jax  # noqa: E402
import pytest  # noqa: E402


@pytest.fixture
def x64():
    """Run one test with float64 enabled (the rest of the suite keeps the default)."""
    with jax.enable_x64(True):
        yield


# Every XLA:CPU executable maps ~3 memory regions per kernel (a find_modes program:
# ~240 maps), and jax keeps every executable alive in its caches. One test worker
# compiles thousands of programs, and past the kernel's vm.max_map_count (65,530 by
# default) the next compile segfaults inside XLA (seen in CI as "worker crashed").
# So the caches are dropped when a worker's map count nears the limit: between two
# files (whose tests share few programs) past a third of it, and within a file (whose
# tests share many) only past 70% of it, leaving room for the largest test's programs.
_MAPS = "/proc/self/maps"


def _map_limit():
    try:
        with open("/proc/sys/vm/max_map_count") as f:
            return int(f.read())
    except (OSError, ValueError):
        return 65_530


_MAP_LIMIT = _map_limit()


def _map_count():
    try:
        with open(_MAPS, "rb") as f:
            return f.read().count(b"\n")
    except OSError:  # not Linux: no such limit to guard
        return 0


@pytest.hookimpl(trylast=True)
def pytest_runtest_teardown(item, nextitem):
    same_file = nextitem is not None and nextitem.path == item.path
    if _map_count() > (0.7 if same_file else 1 / 3) * _MAP_LIMIT:
        jax.clear_caches()


# One persistent compilation cache per run of the suite (a fresh temporary folder,
# removed at the end), shared by the test workers and the processes they start
# (examples, notebooks, the benchmark's quick run): a program one of them compiled,
# another loads instead of compiling it again. Nothing is kept between runs.
_CACHE_ENV = "JAXSHIFT_TEST_XLA_CACHE"
_CACHE_MIN_COMPILE_SECS = 0.2  # programs compiled faster are not worth a write


def pytest_configure(config):
    if _CACHE_ENV not in os.environ:  # the first process of this run: the controller
        os.environ[_CACHE_ENV] = tempfile.mkdtemp(prefix="jaxshift-xla-cache-")
        config._jaxshift_own_cache = os.environ[_CACHE_ENV]
    folder = os.environ[_CACHE_ENV]
    os.environ["JAX_COMPILATION_CACHE_DIR"] = folder  # for the processes the tests start
    os.environ["JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS"] = str(_CACHE_MIN_COMPILE_SECS)
    jax.config.update("jax_compilation_cache_dir", folder)
    jax.config.update("jax_persistent_cache_min_compile_time_secs", _CACHE_MIN_COMPILE_SECS)


def pytest_unconfigure(config):
    own = getattr(config, "_jaxshift_own_cache", None)
    if own:
        shutil.rmtree(own, ignore_errors=True)


# The files slowest to run first (each runs on one worker, --dist loadfile), so that
# no long file starts last while the other worker has nothing left (seen: a minute of
# one idle worker at the end). Measured on 2 cores, 2026-11-29; the rest follow in
# their usual order.
_SLOW_FILES = [
    "test_properties.py", "test_cluster.py", "test_geometry.py", "test_matrix_bandwidth.py",
    "test_bandwidth.py", "test_kde.py", "test_examples.py", "test_implicit.py", "test_fuzz_core.py",
    "test_benchmarks.py", "test_sample.py", "test_meanshift.py", "test_new_kernels.py", "test_readme.py",
    "test_image.py",
]


def pytest_collection_modifyitems(session, config, items):
    rank = {name: i for i, name in enumerate(_SLOW_FILES)}
    items.sort(key=lambda item: rank.get(item.path.name, len(rank)))
