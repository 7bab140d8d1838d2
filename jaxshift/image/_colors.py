"""Colour segmentation: mean shift on an image's distinct colours, weighted by their counts.

Pixels are deduplicated on one integer key per colour (:func:`jaxshift._rows.unique_rows`), the
distinct colours clustered with :class:`~jaxshift.cluster.MeanShift`, and every pixel
labelled through its key's index.
"""

from __future__ import annotations

import warnings
from typing import NamedTuple

import numpy as np
from jax.typing import ArrayLike

from .. import _grid, _shard, cluster
from .._rows import unique_rows as _unique_colors
from .._validate import positive_int
from ..kernels import get_kernel
from ._io import _as_image, _number, _restore, _to_dtype

__all__ = ["ColorSegmentation", "segment_colors"]


class ColorSegmentation(NamedTuple):
    """Result of :func:`segment_colors`.

    Attributes:
        labels: ``[H, W]`` int32 index into ``palette`` for every pixel.
        palette: ``[k, C]`` the mode colours (float, in pixel-value units; ``C`` = 1 or
            3), the densest mode first (scikit-learn's order).
        quantized: the image with every pixel replaced by its mode colour, same
            shape and dtype as the input (alpha copied through).
        bandwidth: the colour bandwidth used (given or estimated).
    """

    labels: np.ndarray
    palette: np.ndarray
    quantized: np.ndarray
    bandwidth: float



def segment_colors(
    image: ArrayLike,
    *,
    bandwidth: float | None = None,
    quantile: float = 0.1,
    n_samples: int | None = 100,
    bin_seeding: bool = True,
    kernel: str = "flat",
    random_state: int | None = 0,
    algorithm: str = "auto",
    devices=None,
) -> ColorSegmentation:
    """Mean-shift clustering of an image's colours (colour quantisation).

    Every pixel's colour climbs to a mode of the colour density, and pixels are
    labelled by their mode (scikit-learn's :class:`~jaxshift.cluster.MeanShift`
    semantics: modes within one bandwidth of a stronger one are merged, every pixel
    takes its nearest mode). Identical colours are clustered once, weighted by how
    many pixels have them, so the cost is that of the *distinct* colours: the
    result is that of clustering every pixel.

    Args:
        image: ``[H, W]``, ``[H, W, 1]``, ``[H, W, 3]`` or ``[H, W, 4]`` (alpha is
            ignored and copied to ``quantized``), ``uint8`` or float.
        bandwidth: colour radius in pixel-value units (> 0); ``None`` estimates it
            with :func:`~jaxshift.cluster.estimate_bandwidth` on ``n_samples``
            random pixels at ``quantile``.
        quantile: for the estimate, in ``(0, 1]``.
        n_samples: pixels for the estimate (``None``: all of them; slow for photos).
        bin_seeding: seed from a grid of the bandwidth's spacing instead of every
            distinct colour (much faster); when every colour falls in a bin of its
            own, the colours are the seeds (silently: the result is the same).
        kernel: the mean-shift kernel (``"flat"`` is scikit-learn's).
        random_state: seed for the pixel sample of the estimate.
        algorithm: ``"auto"`` (exact mean shift, scikit-learn's result), ``"dense"``,
            ``"pruned"``, or ``"grid"``: grid mean shift (MeanShift++, approximate and
            linear in the colours; see :class:`~jaxshift.cluster.MeanShift` and
            :func:`jaxshift.grid_modes` for what is approximated and the measured
            agreement).
        devices: spread the climb over devices (the distinct colours' seeds split
            over them): ``None``, an int or a list of devices, as
            :class:`~jaxshift.cluster.MeanShift`'s ``devices``; the same result.

    Returns:
        :class:`ColorSegmentation` ``(labels [H, W], palette [k, C], quantized, bandwidth)``.

    Raises:
        ValueError: for a bad image or parameter, before any work.

    Examples:
        >>> import numpy as np
        >>> img = np.zeros((4, 6, 3), np.uint8); img[:, 4:] = (250, 0, 0); img[0, 0] = (8, 4, 0)
        >>> res = segment_colors(img, bandwidth=20)
        >>> res.labels.tolist()
        [[0, 0, 0, 0, 1, 1], [0, 0, 0, 0, 1, 1], [0, 0, 0, 0, 1, 1], [0, 0, 0, 0, 1, 1]]
        >>> res.palette.round(1).tolist()
        [[0.5, 0.2, 0.0], [250.0, 0.0, 0.0]]
    """
    img = _as_image(image)
    if bandwidth is not None:
        bandwidth = _number(bandwidth, "bandwidth")
    quantile = _number(quantile, "quantile")
    if quantile > 1:
        raise ValueError(f"quantile must be in (0, 1], got {quantile!r}")
    if n_samples is not None:
        n_samples = positive_int(n_samples, "n_samples", minimum=1)
    if not isinstance(bin_seeding, (bool, np.bool_)):
        raise ValueError(f"bin_seeding must be True or False, got {bin_seeding!r}")
    _grid.algorithm(algorithm, get_kernel(kernel))
    if random_state is not None:
        random_state = positive_int(random_state, "random_state", minimum=0)
    mesh = _shard.devices_mesh(devices)

    h, w, c = img.color.shape
    pixels = img.color.reshape(-1, c)
    dtype = np.float64 if img.dtype == np.float64 else np.float32
    colors, inverse, counts = _unique_colors(pixels)
    if bandwidth is None:
        bandwidth = float(cluster.estimate_bandwidth(
            pixels.astype(dtype), quantile=quantile, n_samples=n_samples, random_state=random_state,
        ))
        if bandwidth <= 0:  # every sampled pixel has the same colour
            bandwidth = 1.0 if img.dtype == np.uint8 else float(np.finfo(np.float32).eps)
    model = cluster.MeanShift(bandwidth=bandwidth, bin_seeding=bool(bin_seeding), kernel=kernel,
                              algorithm=algorithm, devices=mesh)
    with warnings.catch_warnings():
        # A grid that keeps every colour in its own bin (one colour, a few far apart)
        # seeds from the colours themselves: the same result, nothing to warn about.
        warnings.filterwarnings("ignore", "Binning data failed", UserWarning)
        model._fit(colors.astype(dtype), counts.astype(dtype), distinct=True)
    palette = np.asarray(model.cluster_centers_, np.float64) + 0.0  # no -0.0
    labels = np.asarray(model.labels_)[inverse].reshape(h, w).astype(np.int32)
    quantized = _restore(img, _to_dtype(palette, img.dtype)[labels])
    return ColorSegmentation(labels, palette, quantized, float(bandwidth))

