"""scikit-learn's parameter checks for the estimator shim: its error types, its
messages, and its input conversion (``check_array``, ``check_random_state``)."""

from __future__ import annotations

import functools
import numbers

import jax
import numpy as np

from .. import _validate


class InvalidParameterError(ValueError, TypeError):
    """A parameter has a bad type or value (as scikit-learn's, a ``ValueError``)."""


class NotFittedError(ValueError, AttributeError):
    """The estimator is used before ``fit`` (as scikit-learn's).

    The instance raised is also an instance of ``sklearn.exceptions.NotFittedError``
    when scikit-learn is installed (see :func:`_not_fitted`), so code written for
    scikit-learn catches it; scikit-learn is imported only then, on that error path.
    """


@functools.cache
def _not_fitted_class():
    try:
        from sklearn.exceptions import NotFittedError as sklearn_error
    except ImportError:  # scikit-learn is optional
        return NotFittedError
    return type("_SklearnNotFittedError", (NotFittedError, sklearn_error), {"__module__": __name__})


def __getattr__(name):  # the class above, found by name when an error is unpickled
    if name == "_SklearnNotFittedError":
        return _not_fitted_class()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _not_fitted(owner):
    """The error for a method called before ``fit`` (scikit-learn's message)."""
    return _not_fitted_class()(
        f"This {owner} instance is not fitted yet. Call 'fit' with "
        "appropriate arguments before using this estimator."
    )


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


def _is_sparse(X):
    """A SciPy (or other) sparse matrix or array, told without importing SciPy."""
    module = type(X).__module__ or ""
    return module.startswith(("scipy.sparse", "sparse", "jax.experimental.sparse")) or (
        hasattr(X, "toarray") and hasattr(X, "nnz")
    )


def _check_X(X, name="X", owner=None):
    """scikit-learn's ``check_array``: 2-D, finite, non-empty; float32/float64 kept,
    anything else becomes float64 (float16 becomes float32), an object array of
    numbers too. The errors carry scikit-learn's phrases (tools match on them) and
    name the argument and the value. Sparse input is refused, as scikit-learn's
    ``MeanShift`` does (mean shift needs the dense points): densify it first."""
    by = f" by {owner}" if owner else ""
    if _is_sparse(X):
        raise TypeError(
            f"Sparse data was passed for {name} ({type(X).__name__} of shape {getattr(X, 'shape', '?')}), "
            f"but dense data is required. Use '{name}.toarray()' to convert to a dense numpy array."
        )
    if hasattr(X, "__array__") and not isinstance(X, np.ndarray | jax.Array):
        X = np.asarray(X)
    if isinstance(X, list | tuple | numbers.Number):
        try:
            X = np.asarray(X)
        except (TypeError, ValueError):  # ragged: _validate.data below says so
            pass
    if isinstance(X, np.ndarray) and X.dtype == object:
        try:
            X = X.astype(np.float64)
        except (TypeError, ValueError) as exc:  # "float() argument must be a string or a real number, ..."
            raise type(exc)(f"{name} must be an array of numbers: {exc}") from None
    if isinstance(X, np.ndarray | jax.Array):
        if np.iscomplexobj(X):
            raise ValueError(f"Complex data not supported: {name} has dtype {X.dtype}; {name} must be real")
        if X.ndim < 2:
            what = "scalar" if X.ndim == 0 else "1D"
            raise ValueError(
                f"{name} must be a 2-D array [n, d], got shape {tuple(X.shape)} (expected 2D array, got {what} "
                f"array instead). Reshape your data either using {name}.reshape(-1, 1) if your data has a "
                f"single feature or {name}.reshape(1, -1) if it contains a single sample."
            )
        if X.ndim > 2:
            raise ValueError(
                f"{name} must be a 2-D array [n, d], got shape {tuple(X.shape)}: found array with dim {X.ndim}, "
                "expected <= 2."
            )
        if X.shape[0] == 0:
            raise ValueError(
                f"{name} is empty (shape {tuple(X.shape)}): found array with 0 sample(s) (shape={tuple(X.shape)}) "
                f"while a minimum of 1 is required{by}."
            )
        if X.shape[1] == 0:
            raise ValueError(
                f"{name} has no features (shape {tuple(X.shape)}): found array with 0 feature(s) "
                f"(shape={tuple(X.shape)}) while a minimum of 1 is required{by}."
            )
        if np.issubdtype(X.dtype, np.inexact):
            v = np.asarray(X)
            finite = np.isfinite(v)
            if not finite.all():
                where = tuple(int(i) for i in np.argwhere(~finite)[0])
                bad = v[where].item()
                phrase = "NaN" if np.isnan(bad) else f"infinity or a value too large for dtype({str(v.dtype)!r})"
                raise ValueError(f"{name} must be finite, got {bad!r} at index {where} (input {name} contains {phrase})")
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
