"""scikit-learn's parameter checks for the estimator shim: its error types, its
messages, and its input conversion (``check_array``, ``check_random_state``)."""

from __future__ import annotations

import numbers

import jax
import numpy as np

from .. import _validate


class InvalidParameterError(ValueError, TypeError):
    """A parameter has a bad type or value (as scikit-learn's, a ``ValueError``)."""


class NotFittedError(ValueError, AttributeError):
    """The estimator is used before ``fit`` (as scikit-learn's)."""


def _param_error(name, owner, expected, value):
    return InvalidParameterError(
        f"The {name!r} parameter of {owner} must be {expected}. Got {value!r} instead."
    )


def _check_int(value, name, minimum, owner, allow_none=False):
    if value is None and allow_none:
        return
    if not _validate.is_int(value, minimum):
        expected = "an int" if minimum is None else f"an int in the range [{minimum}, inf)"
        raise _param_error(name, owner, expected + (" or None" if allow_none else ""), value)


def _check_bool(value, name, owner):
    if not isinstance(value, (bool, np.bool_)):
        raise _param_error(name, owner, "an instance of 'bool' or an instance of 'numpy.bool'", value)


def _check_X(X, name="X"):
    """scikit-learn's ``check_array``: 2-D, finite, non-empty; float32/float64 kept,
    anything else becomes float64 (float16 becomes float32)."""
    if hasattr(X, "__array__") and not isinstance(X, np.ndarray | jax.Array):
        X = np.asarray(X)
    arr = np.asarray(_validate.data(X, name))
    if arr.dtype == np.float16:
        return arr.astype(np.float32)
    if arr.dtype not in (np.float32, np.float64):
        return arr.astype(np.float64)
    return arr


def _fmt(h):
    h = np.asarray(h)
    if h.ndim == 0:
        return f"{float(h):f}"  # scikit-learn's "%f"
    return "[" + ", ".join(f"{float(v):f}" for v in h) + "]"


def _as_bandwidth(h, d, owner, dtype):
    """A positive bandwidth: a number, or one per feature (a jaxshift extension)."""
    if isinstance(h, bool) or isinstance(h, str):
        raise _param_error("bandwidth", owner, "a float in the range (0, inf), a str or None", h)
    try:
        arr = np.asarray(h, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise _param_error("bandwidth", owner, "a float in the range (0, inf), a str or None", h) from exc
    if arr.ndim > 1 or (arr.ndim == 1 and arr.shape[0] not in (1, d)):
        raise _param_error("bandwidth", owner, f"a float in the range (0, inf) or [{d}] per feature", h)
    if not np.all(np.isfinite(arr)) or not np.all(arr > 0):
        raise _param_error("bandwidth", owner, "a float in the range (0, inf), a str or None", h)
    if arr.ndim == 1 and arr.shape[0] == 1:
        arr = arr[0]
    return arr if arr.ndim else h


def _check_random_state(seed):
    """scikit-learn's ``check_random_state``."""
    if seed is None or seed is np.random:
        return np.random.mtrand._rand
    if isinstance(seed, numbers.Integral) and not isinstance(seed, bool):
        return np.random.RandomState(seed)
    if isinstance(seed, np.random.RandomState):
        return seed
    raise _param_error(
        "random_state", "estimate_bandwidth",
        "in the range [0, 4294967295], an instance of 'numpy.random.mtrand.RandomState' or None", seed,
    )
