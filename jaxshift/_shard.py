"""Many devices: the mesh plumbing shared by the core functions' ``mesh=`` and ``data_axes=``.

The sharded path is the single-device one under :func:`jax.shard_map`; this module only
moves arrays into place and combines partial results:

- *queries* (seeds) are split over the mesh axes not named in ``data_axes``: every
  device climbs or evaluates its own rows, with no communication at all;
- *data* are split over ``data_axes``: every device sums its own points, and the
  per-query partial sums are combined by one ``psum`` (the gaussian's streaming
  log-sum-exp scales first agree on their maximum, one ``pmax``, and each device
  rescales its sums to it: :func:`combine`).

Uneven sizes are padded, never dropped: queries with copies of their last row (frozen
seeds for the driver; the padded rows are cut from the result) and data with copies of
the last point at weight 0 (they add nothing to any sum).

Under ``check_vma`` (``shard_map``'s default) every loop carry must be typed as varying
over the same mesh axes as what the loop body makes of it: :func:`vary` casts the
constants that start a loop (zeros, ``-inf``) to the varying axes of the inputs.
Outside ``shard_map`` it does nothing.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
from jax import lax
from jax.sharding import Mesh, NamedSharding
from jax.sharding import PartitionSpec as P


def _varying(a) -> frozenset:
    """The mesh axes ``a`` varies over (empty outside ``shard_map``)."""
    aval = jax.typeof(a)
    vma = getattr(aval, "vma", None)
    if vma is None:
        mat = getattr(aval, "manual_axis_type", None)
        vma = getattr(mat, "varying", frozenset()) if mat is not None else frozenset()
    return frozenset(vma)


def vary(tree, *like, but: tuple[str, ...] = ()):
    """``tree`` with every leaf cast to vary over the mesh axes any leaf of ``like`` varies
    over, save ``but`` (``lax.pcast(..., to="varying")``): a loop's initial carry made
    of constants then has the type of the carry its body returns. ``but``: the axes a
    ``psum`` in the body reduces over (its results are the same on every device of
    them). The identity outside ``shard_map``."""
    axes = frozenset().union(*(_varying(a) for a in jax.tree.leaves(like))) - frozenset(but)
    if not axes:
        return tree

    def cast(a):
        missing = tuple(sorted(axes - _varying(a)))
        return lax.pcast(a, missing, to="varying") if missing else a

    return jax.tree.map(cast, tree)


def axes_arg(axes, name: str = "data_axes") -> tuple[str, ...]:
    """``data_axes`` as a tuple of axis names (``None``: no axis)."""
    if axes is None:
        return ()
    if isinstance(axes, str):
        return (axes,)
    if isinstance(axes, (tuple, list)) and all(isinstance(a, str) for a in axes):
        if len(set(axes)) != len(axes):
            raise ValueError(f"{name}={axes!r} names an axis twice")
        return tuple(axes)
    raise ValueError(f"{name} must be a mesh axis name or a tuple of them, got {axes!r}")


def check(mesh, data_axes, owner: str = "mesh") -> tuple[Mesh | None, tuple[str, ...]]:
    """Validate ``mesh=`` and ``data_axes=`` before any work: ``(mesh, data_axes)``.

    ``mesh`` must be a :class:`jax.sharding.Mesh` (or ``None``); every name in
    ``data_axes`` must be one of its axes. Without a mesh, ``data_axes`` names axes of
    the ``shard_map`` the call is inside (checked against the current mesh when there
    is one in context)."""
    axes = axes_arg(data_axes)
    if mesh is not None:
        if not isinstance(mesh, Mesh):
            raise ValueError(f"mesh must be a jax.sharding.Mesh, got {mesh!r}")
        names = tuple(mesh.axis_names)
        for a in axes:
            if a not in names:
                raise ValueError(f"data_axes={data_axes!r}: the mesh has no axis {a!r} (its axes: {names})")
        return mesh, axes
    if axes:
        context = tuple(jax.sharding.get_abstract_mesh().axis_names)
        for a in axes:
            if a not in context:
                raise ValueError(
                    f"data_axes={data_axes!r} without a mesh: call it inside jax.shard_map over a mesh with "
                    f"axis {a!r} (the mesh in context has axes {context}), or pass mesh="
                )
    return None, axes


def query_axes(mesh: Mesh, data_axes: tuple[str, ...]) -> tuple[str, ...]:
    """The mesh axes the queries are split over: every axis the data are not split over."""
    return tuple(a for a in mesh.axis_names if a not in data_axes)


def layout(mesh: Mesh, data_axes: tuple[str, ...]):
    """``(query_axes, data_axes, queries, data)``: the axes and the piece counts."""
    qa = query_axes(mesh, data_axes)
    return qa, data_axes, count(mesh, qa), count(mesh, data_axes)


def count(mesh: Mesh, axes: tuple[str, ...]) -> int:
    """How many pieces ``axes`` cut an array into."""
    return math.prod(mesh.shape[a] for a in axes)


def spec(axes: tuple[str, ...]) -> P:
    """The leading-axis partition spec for rows split over ``axes`` (none: replicated)."""
    return P(axes if len(axes) > 1 else axes[0]) if axes else P()


def pad_rows(a, multiple: int, fill=None):
    """Pad the leading axis of ``a`` to a multiple of ``multiple``: with copies of the
    last row (``fill=None``; bounding boxes stay tight) or with ``fill``."""
    n = a.shape[0]
    extra = -n % multiple if n else multiple
    if not extra:
        return a
    if fill is None and n:
        return jnp.concatenate([a, jnp.repeat(a[-1:], extra, axis=0)])
    return jnp.pad(a, [(0, extra)] + [(0, 0)] * (a.ndim - 1), constant_values=0 if fill is None else fill)


def auto(mesh: Mesh) -> Mesh:
    """``mesh`` with every axis of type ``Auto``: the core runs under ``shard_map`` over
    it whatever the caller's axis types, so that no explicit sharding type leaks into
    (or is demanded of) the caller's program."""
    if all(t == jax.sharding.AxisType.Auto for t in mesh.axis_types):
        return mesh
    return Mesh(mesh.devices, mesh.axis_names, axis_types=(jax.sharding.AxisType.Auto,) * len(mesh.axis_names))


def place(a, mesh: Mesh, spec_: P):
    """``a`` laid out as ``spec_`` over ``mesh`` (inside ``jit``; ``Auto`` axes)."""
    return lax.with_sharding_constraint(a, NamedSharding(mesh, spec_))


def cut(a, m: int, mesh: Mesh, axis: int = 0):
    """The first ``m`` rows (along ``axis``) of a padded result: as it is when nothing
    was padded (it keeps its sharding); otherwise replicated first, since an uneven
    piece cannot stay split evenly."""
    if a.shape[axis] == m:
        return a
    return lax.slice_in_dim(a, 0, m, axis=axis)


def run(fn, mesh: Mesh, in_specs, out_specs, *args):
    """``jax.shard_map(fn)`` over ``mesh``, the arguments placed as ``in_specs`` first."""
    mesh = auto(mesh)
    args = tuple(place(a, mesh, s) for a, s in zip(args, in_specs, strict=True))
    return jax.shard_map(fn, mesh=mesh, in_specs=tuple(in_specs), out_specs=out_specs)(*args)


def psum(a, axes: tuple[str, ...]):
    """``lax.psum`` over ``axes`` (the identity for none)."""
    return lax.psum(a, axes) if axes else a


def pmax(a, axes: tuple[str, ...]):
    """``lax.pmax`` over ``axes`` (the identity for none)."""
    return lax.pmax(a, axes) if axes else a


def combine(log_scale, s, total, axes: tuple[str, ...], compact: bool):
    """Per-query partial sums of every device's data, combined over ``axes``:
    ``(log_scale, s, total)`` with ``S = exp(log_scale) * s`` and ``total`` ``[m, k]``
    (``T``, scaled alike).

    Compact kernels (``log_scale == 0``): one ``psum``. Infinite support: the devices
    agree on the largest scale (one ``pmax``; a device with nothing in reach, ``s == 0``,
    has no scale), rescale their sums to it and add them (one ``psum``): the streaming
    log-sum-exp, one level up.
    """
    if not axes:
        return log_scale, s, total
    k = total.shape[1]
    if compact:
        both = psum(jnp.concatenate([s[:, None], total], axis=1), axes)
        return log_scale, both[:, 0], both[:, 1:]
    has = s > 0
    mine = jnp.where(has, lax.stop_gradient(log_scale), -jnp.inf)
    top = pmax(mine, axes)
    top = jnp.where(jnp.isfinite(top), top, 0.0)
    f = jnp.where(has, jnp.exp(jnp.where(has, mine, top) - top), 0.0)
    both = psum(jnp.concatenate([(s * f)[:, None], total * f[:, None]], axis=1), axes)
    return top, both[:, 0], both[:, 1:1 + k]


def logsumexp(a, axes: tuple[str, ...]):
    """``log(sum(exp(a)))`` over a ``[k]`` array split over ``axes``: the local one, then
    the devices' combined as in :func:`combine` (one ``pmax``, one ``psum``)."""
    local = jax.nn.logsumexp(a)
    if not axes:
        return local
    top = pmax(lax.stop_gradient(local), axes)
    top = jnp.where(jnp.isfinite(top), top, 0.0)
    return top + jnp.log(psum(jnp.exp(local - top), axes))


def row_ids(n_local: int, axes: tuple[str, ...]):
    """``[n_local]`` int32: the global index of this device's rows of an array split
    over ``axes`` (inside ``shard_map``)."""
    ids = jnp.arange(n_local, dtype=jnp.int32)
    if not axes:
        return ids
    return lax.axis_index(axes).astype(jnp.int32) * n_local + ids


def gather(a, axes: tuple[str, ...]):
    """All devices' rows of ``a`` split over ``axes``, in order, the same on each of them
    (typed invariant over ``axes``: ``lax.all_gather``'s result is typed varying, so this
    is one ``psum`` of the rows each device places in a zero array)."""
    if not axes:
        return a
    k = a.shape[0]
    total = k * math.prod(lax.axis_size(x) for x in axes)
    full = jnp.zeros((total,) + a.shape[1:], a.dtype)
    start = (lax.axis_index(axes) * k,) + (0,) * (a.ndim - 1)
    return lax.psum(lax.dynamic_update_slice(full, a, start), axes)


def devices_mesh(devices, name: str = "devices", axis: str = "devices") -> Mesh | None:
    """A one-axis :class:`Mesh` from a ``devices=`` argument: ``None`` (no mesh), an int
    (the first that many of ``jax.devices()``) or a sequence of devices."""
    if devices is None:
        return None
    if isinstance(devices, Mesh):
        return devices
    if isinstance(devices, bool):
        raise ValueError(f"{name} must be None, a positive int or a list of devices, got {devices!r}")
    available = jax.devices()
    if isinstance(devices, int):
        if not 1 <= devices <= len(available):
            raise ValueError(f"{name}={devices!r}: must be between 1 and the {len(available)} devices available")
        chosen = available[:devices]
    else:
        try:
            chosen = list(devices)
        except TypeError:
            raise ValueError(f"{name} must be None, a positive int or a list of devices, got {devices!r}") from None
        if not chosen or not all(isinstance(d, jax.Device) for d in chosen):
            raise ValueError(f"{name} must be None, a positive int or a list of devices, got {devices!r}")
        if len(set(chosen)) != len(chosen):
            raise ValueError(f"{name}={devices!r} lists a device twice")
    import numpy as np

    return Mesh(np.array(chosen), (axis,))
