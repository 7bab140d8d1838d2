"""Many devices: seeds (and queries) sharded over a device mesh give the single-device answer.

Runs in a subprocess with 4 virtual CPU devices
(``XLA_FLAGS=--xla_force_host_platform_device_count=4``), since the device count is
fixed when JAX starts.
"""

import os
import subprocess
import sys
import textwrap

SCRIPT = textwrap.dedent(
    """
    import jax, jax.numpy as jnp, numpy as np
    from jax.sharding import Mesh, NamedSharding, PartitionSpec as P
    import jaxshift

    assert len(jax.devices()) == 4, jax.devices()
    rng = np.random.default_rng(0)
    data = np.concatenate([rng.normal(size=(300, 2)) + c for c in ([0, 0], [6, 6])]).astype(np.float32)
    seeds = data[::5]  # 120 seeds, 30 per device
    mesh = Mesh(np.array(jax.devices()), ("seeds",))
    sharded = jax.device_put(seeds, NamedSharding(mesh, P("seeds", None)))
    replicated = jax.device_put(data, NamedSharding(mesh, P()))

    run = jax.jit(lambda s, y, h: jaxshift.find_modes(s, y, bandwidth=h, kernel="flat"))
    many = run(sharded, replicated, 1.5)
    one = jaxshift.find_modes(seeds, data, bandwidth=1.5, kernel="flat")
    assert len(many.modes.sharding.device_set) == 4, many.modes.sharding
    np.testing.assert_allclose(np.asarray(many.modes), np.asarray(one.modes), atol=1e-5)
    np.testing.assert_array_equal(np.asarray(many.n_iter), np.asarray(one.n_iter))

    dens = jax.jit(lambda x, y: jaxshift.log_kde(x, y, bandwidth=0.7))(sharded, replicated)
    np.testing.assert_allclose(np.asarray(dens), np.asarray(jaxshift.log_kde(seeds, data, bandwidth=0.7)), rtol=1e-5)
    print("OK", sorted(d.id for d in many.modes.sharding.device_set))
    """
)


def test_sharded_seeds_match_single_device():
    env = dict(os.environ, XLA_FLAGS="--xla_force_host_platform_device_count=4", JAX_PLATFORMS="cpu")
    out = subprocess.run([sys.executable, "-c", SCRIPT], env=env, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    assert out.stdout.startswith("OK [0, 1, 2, 3]")
