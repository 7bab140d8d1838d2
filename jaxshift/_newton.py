"""A compiled minimiser: modified Newton steps with a backtracking line search, one ``lax.while_loop``.

Used by :func:`jaxshift.bandwidth.select` over the log-bandwidth, where the number
of unknowns is 1 or ``d`` and every objective evaluation is a blocked ``O(n^2)``
sum: exact second derivatives in forward mode cost a few tangents riding along
one pass, and Newton converges in a handful of such passes.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import jax
import jax.numpy as jnp
from jax import lax


def newton(fun, z0, tol, max_iter):
    """Minimise ``fun`` from ``z0`` ``[p]`` with modified Newton steps.

    Every evaluation at a candidate ``z`` gives the value, gradient and Hessian
    together in forward mode (``jacfwd`` of ``jacfwd``: ``p`` is the number of
    bandwidths, 1 or ``d``, so a few tangents ride along one pass over the blocked
    sums, without the residuals reverse mode keeps per block). The objective is
    traced once, inside one ``lax.while_loop``, which keeps compilation short.

    The Hessian's eigenvalues are replaced by their absolute values (bounded away
    from 0), so every step is a descent direction; steps are capped at 2 in
    log-bandwidth (a factor e^2) and halved until the Armijo condition holds (with
    a few ulps of slack, so rounding at the optimum does not stall it); an
    accepted candidate brings its gradient and Hessian with it. A start where the
    objective is not finite (a compact kernel with an isolated point) is moved up
    by factors of 2 first. Converged: the full Newton step is below ``tol``
    (max-norm) at positive definite curvature.

    Returns:
        ``(z, f, n_iter, converged)``.
    """
    p = z0.shape[0]
    dtype = z0.dtype
    eps = jnp.finfo(dtype).eps
    tiny = jnp.finfo(dtype).tiny

    def value_grad(z):
        g, f = jax.jacfwd(lambda y: (fun(y), fun(y)), has_aux=True)(z)
        return g, (g, f)

    def evaluate(z):
        H, (g, f) = jax.jacfwd(value_grad, has_aux=True)(z)
        return f, g, 0.5 * (H + H.T)

    def direction(g, H):
        lam, V = jnp.linalg.eigh(H)
        floor = jnp.maximum(1e-6 * jnp.max(jnp.abs(lam)), tiny)
        d = -V @ ((V.T @ g) / jnp.maximum(jnp.abs(lam), floor))
        d = jnp.where(jnp.all(jnp.isfinite(d)), d, -g)
        size = jnp.max(jnp.abs(d))
        done = (size <= tol) & jnp.all(lam > 0) & jnp.all(jnp.isfinite(lam))
        return d * jnp.minimum(1.0, 2.0 / jnp.maximum(size, tiny)), done

    class State(NamedTuple):
        z: jax.Array  # current point, its value, gradient, the direction from it
        f: jax.Array
        g: jax.Array
        d: jax.Array
        a: jax.Array  # step length of the candidate z + a d
        cand: jax.Array
        started: jax.Array  # has a finite current point
        tries: jax.Array  # growth steps (not started) or halvings (started)
        it: jax.Array
        done: jax.Array
        stop: jax.Array

    def cond(s):
        return ~s.stop

    def body(s):
        fc, gc, Hc = evaluate(s.cand)
        finite = jnp.isfinite(fc) & jnp.all(jnp.isfinite(gc))
        armijo = fc <= s.f + 1e-4 * s.a * (s.g @ s.d) + 8.0 * eps * jnp.abs(s.f)
        accept = finite & (~s.started | armijo)
        d_new, done = direction(gc, Hc)
        one = jnp.asarray(1.0, dtype)
        it = s.it + (accept & s.started).astype(jnp.int32)
        # accepted: move there, plan the next full step
        acc = State(
            s.cand, fc, gc, d_new, one, s.cand + d_new, jnp.asarray(True), jnp.asarray(0), it, done,
            done | (it >= max_iter),
        )
        # rejected before the start: grow the bandwidth; after: halve the step
        grow = s.cand + jnp.asarray(math.log(2.0), dtype)
        half = 0.5 * s.a
        tries = s.tries + 1
        rej = State(
            s.z, s.f, s.g, s.d, jnp.where(s.started, half, s.a),
            jnp.where(s.started, s.z + half * s.d, grow), s.started, tries, it, s.done,
            tries >= jnp.where(s.started, 40, 60),
        )
        return jax.tree.map(lambda x, y: jnp.where(accept, x, y), acc, rej)

    inf = jnp.asarray(jnp.inf, dtype)
    zero = jnp.zeros((p,), dtype)
    init = State(
        z0, inf, zero, zero, jnp.asarray(1.0, dtype), z0, jnp.asarray(False), jnp.asarray(0),
        jnp.asarray(0, jnp.int32), jnp.asarray(False), max_iter < 0,
    )
    s = lax.while_loop(cond, body, init)
    return s.z, s.f, s.it, s.done & s.started
