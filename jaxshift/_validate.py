"""Input checks for the public functions: once, on concrete values, before any compilation.

Shapes are always checked (they are static, even under ``jit``). Value checks
(finite, positive, non-negative) need concrete values: they run on NumPy/JAX
arrays passed in eagerly and are skipped for traced values inside ``jit``/``vmap``/
``grad``, where bad values propagate as NaN like any other JAX code: the core's jitted
functions test :func:`values_ok` and :func:`finite_rows` and return NaN for them.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np


def is_concrete(a) -> bool:
    """True when ``a`` holds values (not a tracer inside ``jit``/``vmap``/``grad``)."""
    return not isinstance(a, jax.core.Tracer)


def _show(a, limit: int = 6) -> str:
    a = np.asarray(a)
    if a.ndim == 0:
        return repr(a.item())
    flat = a.ravel()
    body = ", ".join(repr(v.item()) for v in flat[:limit])
    return f"[{body}{', ...' if flat.size > limit else ''}] (shape {a.shape})"


def float_dtype(*arrays):
    """The floating dtype of a computation on ``arrays``: their common float dtype, at
    least float32; integer or boolean input is promoted to the default float."""
    dt = jnp.result_type(*arrays)
    if not jnp.issubdtype(dt, jnp.floating):
        return jnp.result_type(float)
    return jnp.promote_types(dt, jnp.float32)


def _asarray(a, name):
    if isinstance(a, (str, bytes)) or a is None:
        raise ValueError(f"{name} must be an array of numbers, got {a!r}")
    if isinstance(a, jax.Array):
        return a
    try:
        arr = np.asarray(a)
    except Exception as exc:  # ragged lists and the like
        raise ValueError(f"{name} must be an array of numbers, got {a!r}") from exc
    if arr.dtype == object or not (
        np.issubdtype(arr.dtype, np.number) or np.issubdtype(arr.dtype, np.bool_)
    ):
        raise ValueError(f"{name} must be an array of numbers, got dtype {arr.dtype}")
    if np.iscomplexobj(arr):
        raise ValueError(f"{name} must be real, got dtype {arr.dtype}")
    return arr


def _check_finite(a, name):
    if is_concrete(a):
        v = np.asarray(a)
        if np.issubdtype(v.dtype, np.inexact) and not np.all(np.isfinite(v)):
            bad = np.argwhere(~np.isfinite(v))[0]
            where = tuple(int(i) for i in bad)
            raise ValueError(
                f"{name} must be finite, got {v[where].item()!r} at index {where if len(where) > 1 else where[0]}"
            )


def column_range(a, name: str = "data", original=None):
    """``(min [d], max [d])`` of concrete ``[n, d]`` data, column by column (NumPy reduces
    along axis 0 ~10x slower), and the finiteness check on the way: the extremes are
    finite exactly when every value is (a NaN or an inf shows in one of them).
    ``original``: the data before their cast to ``a``'s dtype; a value finite there
    but not in ``a`` overflowed the cast, and the error says so."""
    v = np.asarray(a)
    lo = np.asarray([v[:, j].min() for j in range(v.shape[1])])
    hi = np.asarray([v[:, j].max() for j in range(v.shape[1])])
    if not (np.all(np.isfinite(lo)) and np.all(np.isfinite(hi))):
        if original is not None:
            _check_finite(original, name)  # raises for NaN or inf in the input itself
            where = tuple(int(i) for i in np.argwhere(~np.isfinite(v))[0])
            raise ValueError(
                f"{name} value {np.asarray(original)[where].item()!r} at index {where} overflows {v.dtype.name}; "
                "use float64 (jax.config.update('jax_enable_x64', True)) or rescale the data"
            )
        _check_finite(v, name)  # raises, naming the first bad value
    return lo, hi


def data(a, name: str = "data", *, finite: bool = True):
    """``[n, d]`` data with ``n >= 1``, ``d >= 1``, all finite (``finite=False``: the
    caller checks, with :func:`column_range`)."""
    a = _asarray(a, name)
    if a.ndim != 2:
        raise ValueError(f"{name} must be a 2-D array [n, d], got shape {tuple(a.shape)}")
    if a.shape[0] == 0:
        raise ValueError(f"{name} is empty (shape {tuple(a.shape)}); need at least one point")
    if a.shape[1] == 0:
        raise ValueError(f"{name} has no features (shape {tuple(a.shape)}); need d >= 1")
    if finite:
        _check_finite(a, name)
    return a


def points(a, d: int, name: str):
    """One point ``[d]`` or a batch ``[m, d]``; returns ``([m, d] array, was_single)``."""
    a = _asarray(a, name)
    if a.ndim not in (1, 2):
        raise ValueError(f"{name} must be one point [d] or a batch [m, d], got shape {tuple(a.shape)}")
    if a.shape[-1] != d:
        raise ValueError(
            f"{name} has {a.shape[-1]} features (shape {tuple(a.shape)}) but data has {d}"
        )
    _check_finite(a, name)
    single = a.ndim == 1
    return (a[None, :] if single else a), single


def bandwidth(h, d: int, dtype, name: str = "bandwidth"):
    """A positive finite scalar or ``[d]`` vector, or a ``[d, d]`` symmetric positive
    definite matrix (the kernel's covariance ``H``; ``h`` means ``H = diag(h^2)``),
    as an array of ``dtype`` (NumPy for NumPy or Python input, else JAX). A vector and a matrix differ by ``ndim`` (for
    ``d = 1``, ``[h]`` is ``h`` and ``[[v]]`` is ``H = v``).

    A one-element vector is the scalar it holds (when ``d != 1``), so an isotropic
    bandwidth always reaches the core as ``[]``.
    """
    h = _asarray(h, name)
    if h.dtype == bool:
        raise ValueError(f"{name} must be a positive number, got {_show(h)} (bool)")
    if h.ndim == 2:
        return bandwidth_matrix(h, d, dtype, name)
    if h.ndim > 1 or (h.ndim == 1 and h.shape[0] not in (1, d)):
        raise ValueError(
            f"{name} must be a scalar or one value per feature [{d}], got shape {tuple(h.shape)} "
            f"(or a [{d}, {d}] matrix, the kernel's covariance)"
        )
    if is_concrete(h):
        v = np.asarray(h, dtype=float)
        if not np.all(np.isfinite(v)) or not np.all(v > 0):
            raise ValueError(f"{name} must be positive and finite, got {_show(v)}")
    # NumPy input stays NumPy (a jitted call takes it as any array): a JAX conversion
    # here is a dispatch, ~0.3 ms of a 3 ms kde_grid call.
    h = np.asarray(h, np.dtype(dtype)) if isinstance(h, np.ndarray) else jnp.asarray(h, dtype)
    if h.ndim == 1 and h.shape[0] == 1 and d != 1:
        h = h.reshape(())
    return h


def bandwidth_matrix(h, d: int, dtype, name: str = "bandwidth"):
    """A ``[d, d]`` bandwidth matrix: finite, symmetric (to a relative ``100 eps`` of
    its dtype) and positive definite (Cholesky in float64 succeeds and every
    eigenvalue is positive), as a JAX array of ``dtype``."""
    if h.shape != (d, d):
        raise ValueError(
            f"{name} as a matrix (the kernel's covariance) must be [{d}, {d}], got shape {tuple(h.shape)}"
        )
    if is_concrete(h):
        v = np.asarray(h, dtype=float)
        if not np.all(np.isfinite(v)):
            raise ValueError(f"{name} must be finite, got {_show(v)}")
        eps = float(jnp.finfo(dtype).eps)
        scale = np.max(np.abs(v))
        if np.any(np.abs(v - v.T) > 100 * eps * scale):
            i, j = np.unravel_index(np.argmax(np.abs(v - v.T)), v.shape)
            raise ValueError(
                f"{name} must be a symmetric matrix (the kernel's covariance), got {name}[{i}, {j}] = "
                f"{v[i, j].item()!r} but {name}[{j}, {i}] = {v[j, i].item()!r}"
            )
        sym = 0.5 * (v + v.T)
        try:
            np.linalg.cholesky(sym)
            factored = True
        except np.linalg.LinAlgError:
            factored = False
        least = float(np.linalg.eigvalsh(sym)[0])
        if not (factored and least > 0):
            raise ValueError(
                f"{name} must be positive definite (the kernel's covariance), got a matrix whose least "
                f"eigenvalue is {least!r}: {_show(v, limit=9)}"
            )
    return jnp.asarray(h, dtype)


def bounds(a, d: int, name: str):
    """Box bounds: one ``[d]`` or a batch ``[m, d]`` (a scalar when ``d = 1``); ``+-inf``
    allowed, NaN refused. Returns ``([m, d] array, was_single)``."""
    a = _asarray(a, name)
    if a.ndim == 0 and d == 1:
        a = a.reshape(1)
    if a.ndim not in (1, 2) or a.shape[-1] != d:
        raise ValueError(f"{name} must be [{d}] (one box) or [m, {d}] (a batch), got shape {tuple(a.shape)}")
    if is_concrete(a):
        v = np.asarray(a)
        if np.issubdtype(v.dtype, np.inexact) and np.any(np.isnan(v)):
            raise ValueError(f"{name} must not be NaN, got {_show(v)}")
    return (a[None, :] if a.ndim == 1 else a), a.ndim == 1


def features(f, d: int, name: str = "features"):
    """Feature indices: an int or a non-empty sequence of distinct ints in ``[-d, d)``,
    as a tuple of non-negative Python ints (static)."""
    items = [f] if is_int(f) else f
    try:
        items = list(items)
    except TypeError:
        raise ValueError(f"{name} must be an int or a sequence of ints, got {f!r}") from None
    if not items or not all(is_int(i) for i in items):
        raise ValueError(f"{name} must be an int or a non-empty sequence of ints, got {f!r}")
    bad = [int(i) for i in items if not -d <= i < d]
    if bad:
        raise ValueError(f"{name} must be in [-{d}, {d}) (data has {d} features), got {bad[0]}")
    out = tuple(int(i) % d for i in items)
    if len(set(out)) != len(out):
        raise ValueError(f"{name} must be distinct, got {f!r}")
    return out


def weights(w, n: int, name: str = "weights"):
    """``None`` or ``[n]`` non-negative finite weights, not all zero."""
    if w is None:
        return None
    w = _asarray(w, name)
    if w.shape != (n,):
        raise ValueError(f"{name} must have shape [{n}] (one per data point), got shape {tuple(w.shape)}")
    _check_finite(w, name)
    if is_concrete(w):
        v = np.asarray(w, dtype=float)
        if np.any(v < 0):
            i = int(np.argmax(v < 0))
            raise ValueError(f"{name} must be non-negative, got {v[i].item()!r} at index {i}")
        if not np.any(v > 0):
            raise ValueError(f"{name} are all zero; at least one weight must be positive")
    return w


def is_int(v, minimum: int | None = None) -> bool:
    """Whether ``v`` is an integer (Python or NumPy, not ``bool``) ``>= minimum``: the one
    integer test, under :func:`positive_int`, scikit-learn's parameter checks
    (:mod:`jaxshift.cluster._params`) and the command line's integer options."""
    ok = isinstance(v, (int, np.integer)) and not isinstance(v, (bool, np.bool_))
    return ok and (minimum is None or v >= minimum)


def positive_int(v, name: str, *, minimum: int = 1):
    """A Python int ``>= minimum`` (a static size, a count, a seed); ``bool`` is refused."""
    if not is_int(v, minimum):
        raise ValueError(f"{name} must be an integer >= {minimum}, got {v!r}")
    return int(v)


def max_iter(v):
    """A step budget: on concrete input an integer (``bool`` and ``None`` refused) from 0
    to ``2^31 - 1`` (the driver counts in int32), else a ``ValueError``; traced, as is."""
    if is_concrete(v):
        ok = not isinstance(v, (bool, np.bool_)) and v is not None
        try:
            ok = ok and np.ndim(v) == 0 and float(v).is_integer() and 0 <= float(v) <= 2**31 - 1
        except (TypeError, ValueError):
            ok = False
        if not ok:
            raise ValueError(f"max_iter must be a non-negative integer, got {v!r} (at most 2^31 - 1)")
    return v


def key(k, name: str = "key"):
    """A ``jax.random`` key: a typed key array (``jax.random.key``) or a raw ``uint32``
    key (``jax.random.PRNGKey``, shape ``[2]``), checked before any tracing; else a
    ``ValueError`` naming the argument and the value."""
    if isinstance(k, jax.Array):  # tracers too
        dt = k.dtype
        if jnp.issubdtype(dt, jax.dtypes.prng_key):
            return k
        if dt == jnp.uint32 and k.ndim >= 1 and k.shape[-1] == 2:
            return k
    raise ValueError(
        f"{name} must be a jax.random key (jax.random.key(0) or jax.random.PRNGKey(0)), got {k!r}"
    )


ALGORITHMS = ("auto", "dense", "pruned")


def algorithm(name, arg: str = "algorithm"):
    """One of :data:`ALGORITHMS` (how the hot loop visits the data), else a ``ValueError``."""
    if not isinstance(name, str) or name not in ALGORITHMS:
        raise ValueError(f"{arg} must be one of {', '.join(map(repr, ALGORITHMS))}, got {name!r}")
    return name


def block_sizes(query_block, data_block):
    """The static block sizes of the pairwise reduction: Python ints ``>= 1``, or
    ``None`` for the algorithm's default."""
    return tuple(
        None if v is None else positive_int(v, name)
        for v, name in ((query_block, "query_block"), (data_block, "data_block"))
    )


def tolerance(tol, d: int, name: str = "tol"):
    """A non-negative finite scalar or ``[d]`` vector."""
    tol = _asarray(tol, name)
    if tol.dtype == bool:
        raise ValueError(f"{name} must be a non-negative number, got {_show(tol)} (bool)")
    if tol.ndim > 1 or (tol.ndim == 1 and tol.shape[0] not in (1, d)):
        raise ValueError(f"{name} must be a scalar or one value per feature [{d}], got shape {tuple(tol.shape)}")
    if is_concrete(tol):
        v = np.asarray(tol, dtype=float)
        if not np.all(np.isfinite(v)) or np.any(v < 0):
            raise ValueError(f"{name} must be non-negative and finite, got {_show(v)}")
    return tol


def values_ok(data_, bandwidth_, weights_, tol=None, axes=()):
    """The value checks of :func:`inputs` as one traced ``[]`` bool, for inside ``jit``.

    ``False`` where a concrete call would have raised: non-finite data, a bandwidth not
    positive and finite (a ``[d, d]`` matrix: not finite or not positive definite, its
    symmetric part's Cholesky factor failing), weights negative, non-finite or all
    zero, a ``tol`` negative or non-finite. The core functions turn their whole result
    to NaN then (and :func:`~jaxshift.find_modes` reports nothing converged), so that a
    bad traced value never yields a number that looks right. On concrete, checked
    inputs it is ``True``. ``axes``: the mesh axes ``data_`` and ``weights_`` are split
    over (inside ``shard_map``): the result is that of the whole data set.
    """
    if jnp.ndim(bandwidth_) == 2:
        h = jax.lax.stop_gradient(bandwidth_)
        chol = jnp.linalg.cholesky(0.5 * (h + h.T))
        ok_h = jnp.all(jnp.isfinite(h)) & jnp.all(jnp.isfinite(chol)) & jnp.all(jnp.diagonal(chol) > 0)
    else:
        ok_h = jnp.all((bandwidth_ > 0) & (bandwidth_ < jnp.inf))
    ok = jnp.all(jnp.isfinite(data_)) & ok_h
    ok = ok & jnp.all((weights_ >= 0) & (weights_ < jnp.inf))
    total = jax.lax.stop_gradient(jnp.sum(weights_))
    if tol is not None:
        ok = ok & jnp.all((tol >= 0) & (tol < jnp.inf))
    if axes:
        # A device's slice of data split over ``axes`` (inside shard_map): the checks
        # of the whole data set, one psum (a slice may be all zero-weight padding).
        both = jax.lax.psum(jnp.stack([(~ok).astype(total.dtype), total]), axes)
        ok, total = both[0] == 0, both[1]
    return ok & (total > 0)


def finite_rows(x):
    """``[m]`` bool: the rows of ``x`` ``[m, d]`` with every entry finite (a traced NaN or
    inf query gets NaN out, whatever its kernel sums would say)."""
    return jnp.all(jnp.isfinite(x), axis=-1)


def inputs(x, x_name: str, data_, bandwidth_, weights_):
    """Check and convert the common arguments of the core functions.

    ``bandwidth_`` must be numbers: the callers turn a rule name (``"scott"``, ...)
    into numbers first (:func:`jaxshift.bandwidth._resolve_for`), so this module
    stays a leaf that only checks.

    Returns ``(x [m, d], data [n, d], bandwidth [] or [d] or [d, d], weights [n], single)``,
    all JAX arrays of one floating dtype (the float dtype of ``x`` and ``data``).
    """
    data_ = data(data_)
    n, d = data_.shape
    x, single = points(x, d, x_name)
    weights_ = weights(weights_, n)
    dtype = float_dtype(x, data_)
    bandwidth_ = bandwidth(bandwidth_, d, dtype)
    x = jnp.asarray(x, dtype)
    data_ = jnp.asarray(data_, dtype)
    weights_ = jnp.ones((n,), dtype) if weights_ is None else jnp.asarray(weights_, dtype)
    return x, data_, bandwidth_, weights_, single
