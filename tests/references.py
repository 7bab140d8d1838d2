"""NumPy references and hypothesis draws shared by several test files (not a test file)."""

import numpy as np

from jaxshift.kernels import get_kernel


def numpy_meanshiftpp(x, data, w, h):
    """The MeanShift++ step: the weighted mean of the data in the 3^d cells (round(y / h))
    around each point's cell; a point with none stays. Returns (new, count)."""
    cx, cd = np.round(x / h), np.round(data / h)
    new, count = x.copy(), np.zeros(len(x))
    for i in range(len(x)):
        near = np.all(np.abs(cd - cx[i]) <= 1, axis=1)
        if w[near].sum() > 0:
            new[i] = (w[near, None] * data[near]).sum(0) / w[near].sum()
            count[i] = w[near].sum()
    return new, count


def numpy_refinement(x, data, w, h, s, kernel):
    """The refinement step on cells h / s wide: each cell that can reach the ball of radius h
    (within s + 1/2 cells of the point's cell) enters with the fraction
    clip(s (1 - |centre - x| / h) + 1/2, 0, 1) (flat), or as its centroid with weight
    N_c g(|(x - centroid) / h|^2) (other kernels)."""
    g = h / s
    cells, inverse = np.unique(np.round(data / g), axis=0, return_inverse=True)
    inverse = inverse.ravel()
    n_c = np.bincount(inverse, weights=w, minlength=len(cells))
    s_c = np.stack([np.bincount(inverse, weights=w * data[:, j], minlength=len(cells)) for j in range(data.shape[1])], 1)
    prof = get_kernel(kernel).power
    new, count = x.copy(), np.zeros(len(x))
    for i in range(len(x)):
        gap = np.linalg.norm(np.maximum(np.abs(cells - np.round(x[i] / g)) - 0.5, 0.0), axis=1)
        cand = (gap < s + 0.5) & (n_c > 0)
        frac = np.clip(s * (1 - np.linalg.norm((cells * g - x[i]) / h, axis=1)) + 0.5, 0.0, 1.0) * cand
        if prof == 0:
            a, total = frac * n_c, (frac[:, None] * s_c).sum(0)
        else:
            mu = s_c / np.where(n_c > 0, n_c, 1.0)[:, None]
            u = (((x[i] - mu) / h) ** 2).sum(1)
            a = np.where(cand & (u <= 1), n_c * np.clip(1 - u, 0, None) ** prof, 0.0)
            total = (a[:, None] * mu).sum(0)
        if a.sum() > 0:
            new[i], count[i] = total / a.sum(), (frac * n_c).sum()
    return new, count


def draw_weights(draw, st, rng, n):
    """Sample weights of one of four kinds, drawn by hypothesis: none, all positive, some
    zero (the first kept positive), or a single non-zero weight (the last point's)."""
    wkind = draw(st.sampled_from(["none", "positive", "zeros", "single"]))
    w = {"none": None, "positive": rng.uniform(0.1, 3.0, n),
         "zeros": np.where(rng.random(n) < 0.5, 0.0, rng.uniform(0.1, 3.0, n)),
         "single": np.eye(n)[n - 1] * 2.5}[wkind]
    if wkind == "zeros":
        w[0] = 1.0
    return w


def numpy_grid_climb(seeds, data, w, h, max_iter=300):
    """MeanShift++ alone (refine=0) with grid_modes' stopping rule: a seed stops after an
    update of at most tol = 1e-3 h (or of at most the float spacing at its position), or
    with no data around (then it stays, not converged), or at max_iter updates."""
    tol = 1e-3 * h
    x = seeds.copy()
    n_iter = np.zeros(len(x), int)
    converged = np.zeros(len(x), bool)
    for i in range(len(x)):
        while n_iter[i] < max_iter:
            new, count = numpy_meanshiftpp(x[i:i + 1], data, w, h)
            delta = new[0] - x[i]
            spacing = np.finfo(float).eps * np.max(np.abs(x[i]))
            done = np.linalg.norm(delta) <= tol or np.all(np.abs(delta) <= spacing)
            x[i], n_iter[i] = new[0], n_iter[i] + 1
            if count[0] == 0:
                break
            if done:
                converged[i] = True
                break
    return x, n_iter, converged


def draw_data(draw, st, rng, n, d, groups):
    """``(data [n, d], scale)`` drawn by hypothesis: coordinates of scale 1e-6, 1 or 1e6
    (at scale 1, offset by 0 or 1e6), rows random, all equal, or repeated (``groups``
    distinct rows)."""
    scale = draw(st.sampled_from([1e-6, 1.0, 1e6]))
    offset = draw(st.sampled_from([0.0, 1e6])) if scale == 1.0 else 0.0
    structure = draw(st.sampled_from(["random", "constant", "duplicates"]))
    base = rng.normal(size=(n, d))
    if structure == "constant":
        base = np.repeat(base[:1], n, axis=0)
    elif structure == "duplicates":
        base = base[rng.integers(0, groups, n)]
    return base * scale + offset, scale


def as_input(a, kind):
    """The user's array in the drawn form (numpy, list, int or bool), and the float64
    values the library must see."""
    if kind == "int":
        a = np.round(a).astype(np.int64)
    elif kind == "bool":
        a = a > np.median(a)
    return (a.tolist() if kind == "list" else a), np.asarray(a, np.float64)
