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
# So the caches are dropped when a worker's map count nears the limit.
_MAPS = "/proc/self/maps"
_MAP_BUDGET = 30_000


def _map_count():
    try:
        with open(_MAPS, "rb") as f:
            return f.read().count(b"\n")
    except OSError:  # not Linux: no such limit to guard
        return 0


@pytest.hookimpl(trylast=True)
def pytest_runtest_teardown(item, nextitem):
    if _map_count() > _MAP_BUDGET:
        jax.clear_caches()
