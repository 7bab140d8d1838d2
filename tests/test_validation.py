"""Bad input: a ValueError naming the argument and the value, before any compilation."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxshift
from jaxshift.cluster import find_clusters

DATA = np.arange(20.0).reshape(10, 2)
FUNCS = {
    "kde": lambda x, data, **kw: jaxshift.kde(x, data, **kw),
    "log_kde": lambda x, data, **kw: jaxshift.log_kde(x, data, **kw),
    "shift": lambda x, data, **kw: jaxshift.shift(x, data, **kw),
    "find_modes": lambda x, data, **kw: jaxshift.find_modes(x, data, **kw),
    "trajectory": lambda x, data, **kw: jaxshift.trajectory(x, data, steps=2, **kw),
}
XNAME = {"kde": "x", "log_kde": "x", "shift": "x", "find_modes": "seeds", "trajectory": "seeds"}


@pytest.fixture(autouse=True)
def no_compilation(monkeypatch):
    """Every case below must fail before anything is traced or compiled."""

    def boom(*a, **k):
        raise AssertionError("compiled before validating")

    import jaxshift._density as dens
    import jaxshift._meanshift as ms

    for mod, names in [(dens, ["_kde"]), (ms, ["_shift", "_find_modes", "_trajectory"])]:
        for n in names:
            monkeypatch.setattr(mod, n, boom)


CASES = [
    # (x, data, kwargs, message regex); {x} is replaced by the query argument's name
    (np.zeros(2), np.zeros((0, 2)), {}, r"data is empty"),
    (np.zeros(2), np.zeros(4), {}, r"data must be a 2-D array \[n, d\], got shape \(4,\)"),
    (np.zeros(2), np.zeros((3, 0)), {}, r"data has no features"),
    (np.zeros(3), DATA, {}, r"{x} has 3 features \(shape \(3,\)\) but data has 2"),
    (np.zeros((1, 1, 2)), DATA, {}, r"{x} must be one point \[d\] or a batch \[m, d\], got shape \(1, 1, 2\)"),
    (np.array([0.0, np.nan]), DATA, {}, r"{x} must be finite, got nan at index 1"),
    (np.zeros(2), np.where(DATA == 7, np.inf, DATA), {}, r"data must be finite, got inf at index \(3, 1\)"),
    (np.zeros(2), DATA, dict(bandwidth=0.0), r"bandwidth must be positive and finite, got 0.0"),
    (np.zeros(2), DATA, dict(bandwidth=-2), r"bandwidth must be positive and finite, got -2"),
    (np.zeros(2), DATA, dict(bandwidth=np.nan), r"bandwidth must be positive and finite, got nan"),
    (np.zeros(2), DATA, dict(bandwidth=[1.0, 0.0]), r"bandwidth must be positive and finite, got \[1.0, 0.0\]"),
    (np.zeros(2), DATA, dict(bandwidth=[1.0, 2.0, 3.0]), r"bandwidth must be a scalar or one value per feature \[2\], got shape \(3,\)"),
    (np.zeros(2), DATA, dict(weights=np.ones(9)), r"weights must have shape \[10\].*got shape \(9,\)"),
    (np.zeros(2), DATA, dict(weights=-np.arange(10.0)), r"weights must be non-negative, got -1.0 at index 1"),
    (np.zeros(2), DATA, dict(weights=np.zeros(10)), r"weights are all zero"),
    (np.zeros(2), DATA, dict(weights=np.r_[np.ones(9), np.inf]), r"weights must be finite, got inf at index 9"),
    (np.zeros(2), DATA, dict(query_block=0), r"query_block must be an integer >= 1, got 0"),
    (np.zeros(2), DATA, dict(data_block=2.5), r"data_block must be an integer >= 1, got 2.5"),
    ("abc", DATA, {}, r"{x} must be an array of numbers, got 'abc'"),
    (np.zeros(2), [[1, 2], [3]], {}, r"data must be an array of numbers"),
]


@pytest.mark.parametrize("fname", list(FUNCS))
@pytest.mark.parametrize("x,data,kw,msg", CASES)
def test_bad_input_names_argument_and_value(fname, x, data, kw, msg):
    kw = {"bandwidth": 1.0, **kw}
    with pytest.raises(ValueError, match=msg.format(x=XNAME[fname])):
        FUNCS[fname](x, data, **kw)


@pytest.mark.parametrize(
    "kw,msg",
    [
        (dict(max_iter=-1), r"max_iter must be a non-negative integer, got -1"),
        (dict(max_iter=2.5), r"max_iter must be a non-negative integer, got 2.5"),
        (dict(tol=-1.0), r"tol must be non-negative and finite, got -1.0"),
        (dict(tol=[1.0, 2.0, 3.0]), r"tol must be a scalar or one value per feature \[2\]"),
    ],
)
def test_find_modes_bad_options(kw, msg):
    with pytest.raises(ValueError, match=msg):
        jaxshift.find_modes(np.zeros(2), DATA, bandwidth=1.0, **kw)


def test_trajectory_bad_steps():
    with pytest.raises(ValueError, match=r"steps must be an integer >= 0, got -1"):
        jaxshift.trajectory(np.zeros(2), DATA, bandwidth=1.0, steps=-1)


def test_traced_values_are_not_checked_but_shapes_are(monkeypatch):
    monkeypatch.undo()  # compilation allowed here
    # under jit a bad traced bandwidth is not an error (documented): it gives NaN
    out = jax.jit(lambda h: jaxshift.kde(jnp.zeros(2), DATA, bandwidth=h))(-1.0)
    assert np.isnan(out)
    with pytest.raises(ValueError, match="x has 3 features"):
        jax.jit(lambda x: jaxshift.kde(x, DATA, bandwidth=1.0))(jnp.zeros(3))


_W = np.ones(10)
_Q = np.array([[0.2, 0.9], [3.3, 4.6]])  # near data points (0, 1) and (4, 5)
BAD_TRACED = {  # (queries, data, bandwidth, weights): what a concrete call rejects
    "nan data": (_Q, np.where(DATA == 7, np.nan, DATA), 1.5, _W),
    "inf data": (_Q, np.where(DATA == 7, -np.inf, DATA), 1.5, _W),
    "zero bandwidth": (_Q, DATA, 0.0, _W),
    "negative bandwidth": (_Q, DATA, -1.5, _W),
    "inf bandwidth": (_Q, DATA, np.inf, _W),
    "nan bandwidth": (_Q, DATA, np.nan, _W),
    "negative weight": (_Q, DATA, 1.5, np.r_[-1.0, np.ones(9)]),
    "zero weights": (_Q, DATA, 1.5, np.zeros(10)),
    "nan weight": (_Q, DATA, 1.5, np.r_[np.nan, np.ones(9)]),
}


def _traced_all(kernel):
    """Every core function (and find_clusters) on traced arguments, one compilation."""

    @jax.jit
    def run(x, data, h, w):
        kw = dict(bandwidth=h, weights=w, kernel=kernel)
        return dict(
            kde=jaxshift.kde(x, data, **kw), log_kde=jaxshift.log_kde(x, data, **kw),
            shift=jaxshift.shift(x, data, **kw), trajectory=jaxshift.trajectory(x, data, steps=2, **kw)[1:],
            find_modes=jaxshift.find_modes(x, data, **kw),
            clusters=find_clusters(data, seeds=x, capacity=4, **kw),
        )

    return run


@pytest.mark.parametrize("kernel", ["gaussian", "flat"])
def test_bad_traced_values_give_nan_never_converged(monkeypatch, kernel):
    """Issue 10: under ``jit`` a bad value is not checked, but it never yields a number
    that looks right: every output is NaN, no seed converged, no cluster (before, a
    negative bandwidth gave plausible modes reported as converged, and NaN data left the
    seeds where they were). A NaN or inf query spoils only its own row."""
    monkeypatch.undo()
    run = _traced_all(kernel)
    ok = run(*(jnp.asarray(a, jnp.float32) for a in (_Q, DATA, 1.5, _W)))
    assert all(np.all(np.isfinite(ok[k])) for k in ("kde", "log_kde", "shift", "trajectory"))
    assert bool(ok["find_modes"].converged.all()) and int(ok["clusters"].n_clusters) >= 1
    for name, args in BAD_TRACED.items():
        out = run(*(jnp.asarray(a, jnp.float32) for a in args))
        for k in ("kde", "log_kde", "shift", "trajectory"):
            assert np.all(np.isnan(out[k])), (name, k, out[k])
        res = out["find_modes"]
        assert np.all(np.isnan(res.modes)) and not np.any(res.converged), (name, res)
        cl = out["clusters"]
        assert int(cl.n_clusters) == 0 and not np.any(cl.valid) and np.all(cl.labels == -1), (name, cl)
    for bad in (np.nan, np.inf):
        x = _Q.copy()
        x[0, 1] = bad
        out = run(*(jnp.asarray(a, jnp.float32) for a in (x, DATA, 1.5, _W)))
        for k in ("kde", "log_kde", "shift", "trajectory"):
            row = (lambda a, i: a[:, i]) if k == "trajectory" else (lambda a, i: a[i])  # noqa: E731
            assert np.all(np.isnan(row(out[k], 0))), (bad, k)
            np.testing.assert_allclose(row(out[k], 1), row(ok[k], 1), rtol=1e-6)
        res = out["find_modes"]
        assert np.all(np.isnan(res.modes[0])) and not bool(res.converged[0]) and bool(res.converged[1])
        np.testing.assert_array_equal(res.modes[1], ok["find_modes"].modes[1])
        assert int(out["clusters"].n_clusters) >= 1  # the bad seed is dropped, the other one kept
