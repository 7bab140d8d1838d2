"""Segmentation: filtered pixels fused into regions (union-find), small regions merged.

:func:`segment` runs :func:`~jaxshift.image.filter_image`, then joins 4-neighbours
whose modes are within ``range_radius`` (a vectorised union-find, :func:`_components`)
and merges regions below ``min_region_size`` into their nearest-coloured neighbour.
Host-side NumPy: the region count is data-dependent.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from jax.typing import ArrayLike

from .._validate import positive_int
from ._filter import Progress, _filter
from ._io import _as_image, _number, _restore

__all__ = ["Segmentation", "segment"]


class Segmentation(NamedTuple):
    """Result of :func:`segment`.

    Attributes:
        labels: ``[H, W]`` int32 region labels ``0 .. n_regions - 1``.
        n_regions: the number of regions.
        colors: ``[n_regions, C]`` float64 mean colour of the input image's pixels
            in each region (``C`` = 1 or 3; alpha is not included).
        filtered: the output of :func:`filter_image`, same shape and dtype as the image.
    """

    labels: np.ndarray
    n_regions: int
    colors: np.ndarray
    filtered: np.ndarray


def _grid_edges(h: int, w: int):
    """Both ends ``(a, b)`` of every 4-neighbour pair of an ``h x w`` grid, row-major."""
    idx = np.arange(h * w, dtype=np.int64).reshape(h, w)
    a = np.concatenate([idx[:, :-1].ravel(), idx[:-1, :].ravel()])
    b = np.concatenate([idx[:, 1:].ravel(), idx[1:, :].ravel()])
    return a, b


def _components(n: int, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Connected components of the graph on ``0 .. n - 1`` with edges ``(a, b)``.

    Vectorised union-find: each round hooks every root onto the smallest root it
    shares an edge with, then compresses the paths by pointer jumping; a few
    rounds suffice on image grids. Returns each node's root (its smallest member).
    """
    parent = np.arange(n, dtype=np.int64)
    while a.size:
        ra, rb = parent[a], parent[b]
        keep = ra != rb
        a, b, ra, rb = a[keep], b[keep], ra[keep], rb[keep]
        if not a.size:
            break
        np.minimum.at(parent, np.maximum(ra, rb), np.minimum(ra, rb))
        while True:
            up = parent[parent]
            if np.array_equal(up, parent):
                break
            parent = up
    return parent


def _relabel(roots: np.ndarray):
    uniq, labels = np.unique(roots, return_inverse=True)
    return labels.astype(np.int64), uniq.size


def _region_means(labels, k, values):
    sizes = np.bincount(labels, minlength=k).astype(np.int64)
    sums = np.stack([np.bincount(labels, weights=values[:, j], minlength=k) for j in range(values.shape[1])], 1)
    return sizes, sums / np.maximum(sizes, 1)[:, None]


def _merge_small(labels, k, values, a, b, min_size):
    """Merge every region smaller than ``min_size`` pixels into the adjacent region of
    nearest mean colour, in rounds (merged regions are re-measured) until none is left
    or no small region has a neighbour."""
    while k > 1:
        sizes, means = _region_means(labels, k, values)
        small = sizes < min_size
        if not small.any():
            break
        la, lb = labels[a], labels[b]
        cut = la != lb
        u = np.concatenate([la[cut], lb[cut]])
        v = np.concatenate([lb[cut], la[cut]])
        sel = small[u]
        u, v = u[sel], v[sel]
        if not u.size:
            break
        dist = np.sum((means[u] - means[v]) ** 2, axis=1)
        order = np.lexsort((v, dist, u))  # per region u: nearest colour first, ties by label
        u, v = u[order], v[order]
        first = np.ones(u.size, bool)
        first[1:] = u[1:] != u[:-1]
        roots = _components(k, u[first], v[first])
        labels, k = _relabel(roots[labels])
    return labels, k


def segment(
    image: ArrayLike,
    *,
    spatial_radius: float,
    range_radius: float,
    min_region_size: int = 0,
    max_iter: int = 5,
    eps: float = 1.0,
    progress: Progress | None = None,
) -> Segmentation:
    """Mean-shift segmentation: joint spatial-range filtering, fusion, small-region merging.

    1. :func:`filter_image` moves every pixel to its joint spatial-range mode.
    2. Neighbouring pixels (4-connected) whose filtered colours are within
       ``range_radius`` of each other are fused into one region (transitively).
    3. While a region has fewer than ``min_region_size`` pixels, it is merged into
       the adjacent region whose mean colour is nearest.

    Steps 2 and 3 run on the host (NumPy, a vectorised union-find).

    Args:
        image: ``[H, W]``, ``[H, W, 1]``, ``[H, W, 3]`` or ``[H, W, 4]`` (alpha is
            ignored), ``uint8`` or float.
        spatial_radius: half-size of the square spatial window, in pixels (> 0).
        range_radius: radius of the colour ball, in pixel-value units (> 0).
        min_region_size: regions with fewer pixels are merged into a neighbour (>= 0).
        max_iter: the most filtering steps per pixel (>= 1).
        eps: the filtering stop threshold (>= 0), see :func:`filter_image`.
        progress: optional callback ``progress(done_pixels, total_pixels)`` for the
            filtering.

    Returns:
        :class:`Segmentation` ``(labels [H, W], n_regions, colors [n_regions, C], filtered)``.

    Raises:
        ValueError: as :func:`filter_image`, and for a bad ``min_region_size``.

    Examples:
        >>> import numpy as np
        >>> img = np.zeros((8, 8, 3), np.uint8); img[:, 4:] = (200, 40, 40); img[1, 1] = 30
        >>> seg = segment(img, spatial_radius=2, range_radius=10, min_region_size=2)
        >>> seg.n_regions, bool(seg.labels[:, :4].max() < seg.labels[:, 4:].min())
        (2, True)
        >>> seg.colors.round(1).tolist()
        [[0.9, 0.9, 0.9], [200.0, 40.0, 40.0]]
    """
    img = _as_image(image)
    sp = _number(spatial_radius, "spatial_radius")
    sr = _number(range_radius, "range_radius")
    min_region_size = positive_int(min_region_size, "min_region_size", minimum=0)
    max_iter = positive_int(max_iter, "max_iter", minimum=1)
    eps = _number(eps, "eps", strict=False)
    filtered = _filter(img, sp, sr, max_iter, eps, progress)
    h, w, c = img.color.shape
    modes = filtered.reshape(-1, c).astype(np.float64)
    a, b = _grid_edges(h, w)
    close = np.sum((modes[a] - modes[b]) ** 2, axis=1) <= sr * sr
    labels, k = _relabel(_components(h * w, a[close], b[close]))
    values = img.color.reshape(-1, c).astype(np.float64)
    if min_region_size > 1:
        labels, k = _merge_small(labels, k, values, a, b, min_region_size)
    _, colors = _region_means(labels, k, values)
    return Segmentation(labels.reshape(h, w).astype(np.int32), int(k), colors, _restore(img, filtered))

