"""Many devices: the sharded core gives the single-device answer.

All multi-device checks run in ONE subprocess with 4 virtual CPU devices
(``XLA_FLAGS=--xla_force_host_platform_device_count=4``, fixed when JAX starts): one
Python start, one set of compilations, few shapes (n = 150 points, m = 45 queries:
neither divisible by 4, so the padding is exercised everywhere). The argument checks
need no second device and run here.
"""

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import jax
import numpy as np
import pytest
from jax.sharding import Mesh

import jaxshift
from jaxshift import bandwidth as bw
from jaxshift.cluster import MeanShift

ROOT = Path(__file__).resolve().parents[1]

SCRIPT = textwrap.dedent(
    """
    import sys
    import jax, jax.numpy as jnp, numpy as np
    from jax.sharding import Mesh, NamedSharding, PartitionSpec as P
    import jaxshift
    from jaxshift import bandwidth as bw
    from jaxshift.cluster import MeanShift
    sys.path.insert(0, sys.argv[1])
    from devices import collectives

    assert len(jax.devices()) == 4, jax.devices()
    rng = np.random.default_rng(0)
    data = np.concatenate([rng.normal(size=(75, 2)), rng.normal(size=(75, 2)) + 5]).astype(np.float32)  # n = 150
    w = rng.uniform(0.5, 1.5, size=150).astype(np.float32)
    x = data[::10][:45].copy()  # m = 15
    x = np.concatenate([x, x + 0.3, x - 0.3])  # m = 45
    line = Mesh(np.array(jax.devices()), ("x",))            # one axis: seeds split, or data split
    grid = jax.make_mesh((2, 2), ("q", "d"))                # explicit axes: queries over q, data over d
    LAYOUTS = [("seeds", line, None), ("data", line, "x"), ("both", grid, "d")]

    def close(a, b, **kw):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), **kw)

    # kde / log_kde: against NumPy (gaussian, weighted), and the single-device path.
    diff = (x[:, None, :].astype(np.float64) - data[None].astype(np.float64)) / 0.7
    ref = (w * np.exp(-0.5 * (diff ** 2).sum(-1))).sum(1) / (w.sum() * 2 * np.pi * 0.7 ** 2)
    one = jaxshift.log_kde(x, data, bandwidth=0.7, weights=w)
    close(one, np.log(ref), rtol=2e-5)
    flat_one = jaxshift.kde(x, data, bandwidth=0.7, kernel="epanechnikov")
    for name, mesh, axes in LAYOUTS[::2]:
        close(jaxshift.log_kde(x, data, bandwidth=0.7, weights=w, mesh=mesh, data_axes=axes), one, rtol=2e-5, atol=1e-5)
    close(jaxshift.kde(x, data, bandwidth=0.7, kernel="epanechnikov", mesh=line, data_axes="x"), flat_one,
          rtol=1e-5, atol=1e-7)

    # find_modes: seeds split (flat), data split (flat), both (gaussian). One compilation
    # each, for the modes and for the collectives of one driver iteration (compiled HLO):
    # none with the seeds split, one psum with the data split (a pmax too for the gaussian).
    counts = []
    for (name, mesh, axes), (kernel, h) in zip(LAYOUTS, (("flat", 1.5), ("flat", 1.5), ("gaussian", 0.8))):
        one = jaxshift.find_modes(x, data, bandwidth=h, kernel=kernel)
        assert bool(one.converged.all())
        f = jax.jit(lambda s, y: jaxshift.find_modes(s, y, bandwidth=h, kernel=kernel, mesh=mesh, data_axes=axes))
        compiled = f.lower(x, data).compile()
        counts.append(collectives(compiled.as_text())["per_iteration"])
        many = compiled(x, data)
        close(many.modes, one.modes, atol=1e-4)
        assert np.array_equal(np.asarray(many.converged), np.asarray(one.converged)), name
        assert np.array_equal(np.asarray(many.n_iter), np.asarray(one.n_iter)), name
    assert counts == [0, 1, 2], counts

    # Sharded seeds keep their sharding (a count the devices divide).
    xs = jax.device_put(x[:44], NamedSharding(line, P("x")))
    out = jaxshift.find_modes(xs, data, bandwidth=1.5, kernel="flat", mesh=line)
    assert len(out.modes.sharding.device_set) == 4 and out.modes.sharding.spec[0] == "x", out.modes.sharding
    # jit with the seeds' NamedSharding and no mesh= (XLA partitions the loop) still agrees.
    run = jax.jit(lambda s, y: jaxshift.find_modes(s, y, bandwidth=1.5, kernel="flat"))
    close(run(xs, jax.device_put(data, NamedSharding(line, P()))).modes, out.modes, atol=1e-5)

    # shift (data split over a grid) and trajectory (seeds split): one step is one shift.
    step = jaxshift.shift(x, data, bandwidth=0.8)
    close(jaxshift.shift(x, data, bandwidth=0.8, mesh=grid, data_axes="d"), step, atol=1e-5)
    path = jaxshift.trajectory(x, data, bandwidth=0.8, steps=1, mesh=line)
    close(path[0], x, atol=0)
    close(path[1], step, atol=1e-5)

    # MeanShift: identical labels, centres within tolerance, seeds over 4 and over 3 devices.
    X = data.astype(np.float64)
    a = MeanShift(bandwidth=1.5).fit(X)
    b = MeanShift(bandwidth=1.5, devices=jax.devices()[:3]).fit(X)  # 3 devices: the 150 seeds padded
    assert np.array_equal(a.labels_, b.labels_)
    close(a.cluster_centers_, b.cluster_centers_, atol=1e-9)

    # The core inside a user's shard_map with default checks, queries over q and data over d.
    shard_q = NamedSharding(grid, P("q"))
    x44, d148 = x[:44], data[:148]
    user = jax.jit(jax.shard_map(
        lambda q, y: (jaxshift.log_kde(q, y, bandwidth=0.7, data_axes="d"),
                      jaxshift.find_modes(q, y, bandwidth=0.8, data_axes="d").modes),
        mesh=grid, in_specs=(P("q"), P("d")), out_specs=(P("q"), P("q"))))
    dens, modes = user(jax.device_put(x44, shard_q), jax.device_put(d148, NamedSharding(grid, P("d"))))
    close(dens, jaxshift.log_kde(x44, d148, bandwidth=0.7), rtol=2e-5, atol=1e-5)
    close(modes, jaxshift.find_modes(x44, d148, bandwidth=0.8).modes, atol=1e-4)
    # Bandwidth objectives and select inside a user's shard_map: the points split over d.
    loo_user = jax.shard_map(lambda y: bw.loo_log_likelihood(y, bandwidth=0.5, data_axes="d"), mesh=grid,
                             in_specs=P("d"), out_specs=P())(jax.device_put(d148, NamedSharding(grid, P("d"))))
    close(loo_user, bw.loo_log_likelihood(d148, bandwidth=0.5), rtol=1e-5)

    # Bandwidth objectives and select with mesh=: the points as queries over q, as data over d.
    close(bw.loo_log_likelihood(data, bandwidth=0.5, weights=w, mesh=grid, data_axes="d"),
          bw.loo_log_likelihood(data, bandwidth=0.5, weights=w), rtol=1e-5)
    close(bw.lscv(data, bandwidth=0.5, weights=w, mesh=line, data_axes="x"), bw.lscv(data, bandwidth=0.5, weights=w),
          rtol=1e-4)
    # select over the mesh lands where the single-device objective is stationary, at the
    # single-device objective's value.
    h1, info1 = bw.select(data, mesh=line, data_axes="x")
    assert bool(info1.converged)
    value, slope = jax.value_and_grad(lambda lh: bw.loo_log_likelihood(data, bandwidth=jnp.exp(lh)))(jnp.log(h1))
    assert abs(float(slope)) < 1e-3, float(slope)
    close(info1.objective, value, rtol=1e-5)

    # jit and grad compose: d/dh of the sharded mean log-KDE (and of the modes) is the single-device one.
    g1 = jax.jit(jax.grad(lambda h: jnp.mean(jaxshift.log_kde(x, data, bandwidth=h, mesh=grid, data_axes="d"))))(0.7)
    g0 = jax.grad(lambda h: jnp.mean(jaxshift.log_kde(x, data, bandwidth=h)))(0.7)
    close(g1, g0, rtol=1e-4)
    print("OK", tuple(counts))
    """
)


def test_sharded_core_matches_single_device():
    # Backend optimisation off: a third less compile time, for arrays this small.
    env = dict(os.environ, JAX_PLATFORMS="cpu",
               XLA_FLAGS="--xla_force_host_platform_device_count=4 --xla_backend_optimization_level=0",
               PYTHONPATH=os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p))
    out = subprocess.run([sys.executable, "-c", SCRIPT, str(ROOT / "benchmarks")], env=env, capture_output=True,
                         text=True, timeout=600, cwd=ROOT)
    assert out.returncode == 0, out.stderr[-4000:]
    assert out.stdout.startswith("OK (0, 1, 2)"), out.stdout


def _mesh(names=("x",)):
    return Mesh(np.array(jax.devices()[:1]).reshape((1,) * len(names)), names)


@pytest.mark.parametrize("call", [
    lambda **kw: jaxshift.kde(np.zeros((2, 1)), np.zeros((3, 1)), bandwidth=1.0, **kw),
    lambda **kw: jaxshift.log_kde(np.zeros((2, 1)), np.zeros((3, 1)), bandwidth=1.0, **kw),
    lambda **kw: jaxshift.shift(np.zeros((2, 1)), np.zeros((3, 1)), bandwidth=1.0, **kw),
    lambda **kw: jaxshift.find_modes(np.zeros((2, 1)), np.zeros((3, 1)), bandwidth=1.0, **kw),
    lambda **kw: jaxshift.trajectory(np.zeros((2, 1)), np.zeros((3, 1)), bandwidth=1.0, steps=1, **kw),
    lambda **kw: bw.loo_log_likelihood(np.arange(3.0)[:, None], bandwidth=1.0, **kw),
    lambda **kw: bw.lscv(np.arange(3.0)[:, None], bandwidth=1.0, **kw),
    lambda **kw: bw.select(np.arange(3.0)[:, None], **kw),
])
def test_bad_mesh_arguments_are_refused_before_any_work(call):
    with pytest.raises(ValueError, match=r"data_axes='y': the mesh has no axis 'y'"):
        call(mesh=_mesh(), data_axes="y")
    with pytest.raises(ValueError, match=r"mesh must be a jax.sharding.Mesh, got 'x'"):
        call(mesh="x")
    with pytest.raises(ValueError, match=r"data_axes=.*without a mesh"):
        call(data_axes="x")
    with pytest.raises(ValueError, match=r"data_axes must be a mesh axis name"):
        call(mesh=_mesh(), data_axes=3)


def test_one_device_mesh_is_the_plain_path():
    data = np.random.default_rng(1).normal(size=(30, 2)).astype(np.float32)
    np.testing.assert_allclose(jaxshift.log_kde(data[:7], data, bandwidth=0.5, mesh=_mesh(), data_axes="x"),
                               jaxshift.log_kde(data[:7], data, bandwidth=0.5), rtol=1e-6)


def test_devices_argument_is_checked():
    X = np.zeros((4, 1))
    with pytest.raises(ValueError, match=r"'devices' parameter of MeanShift: devices=0"):
        MeanShift(bandwidth=1.0, devices=0).fit(X)
    with pytest.raises(ValueError, match=r"devices must be None, a positive int or a list of devices, got 'gpu'"):
        jaxshift.image.filter_image(np.zeros((4, 4), np.uint8), spatial_radius=1, range_radius=1, devices="gpu")
    with pytest.raises(ValueError, match=r"devices=.*between 1 and"):
        jaxshift.image.segment_colors(np.zeros((4, 4), np.uint8), bandwidth=1, devices=10**6)
