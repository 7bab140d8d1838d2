"""Mean shift on images: colour segmentation, joint spatial-range filtering and segmentation.

Two forms of image mean shift:

- :func:`segment_colors` clusters the image's *colours* (each pixel becomes the mode
  of its colour: colour quantisation). Identical colours are clustered once, weighted
  by their count, so a photo costs what its distinct colours cost.
- :func:`filter_image` and :func:`segment` are the joint spatial-range method of
  Comaniciu & Meer: every pixel climbs in ``(row, col, colour)`` space with a square
  spatial window of half-size ``spatial_radius`` and a colour ball of radius
  ``range_radius`` (flat kernel), with the semantics of OpenCV's
  ``pyrMeanShiftFiltering(src, sp, sr, maxLevel=0)``.

Images are ``[H, W]`` (greyscale), ``[H, W, 1]``, ``[H, W, 3]`` (RGB) or
``[H, W, 4]`` (RGBA: the alpha channel is ignored by the clustering and copied to
the outputs unchanged), of dtype ``uint8`` or floating point. Colour distances and
radii are in the units of the pixel values: 0-255 for ``uint8``, the image's own
scale (often 0-1) for floats. :func:`load_image` and :func:`save_image` read and
write image files with Pillow.

References:
    Comaniciu & Meer (2002), "Mean shift: a robust approach toward feature space
    analysis", IEEE TPAMI 24(5). OpenCV, ``cv::pyrMeanShiftFiltering``.

Modules: ``_io`` (image arrays checked and restored, files), ``_filter`` (the
OpenCV-exact filter), ``_regions`` (fusion into regions, small-region merging),
``_colors`` (colour segmentation on integer colour keys).
"""

# The private names that tests and benchmarks reach for as ``jaxshift.image._name``
# (from before the split into modules) are re-exported as ``name as name``.
from .._rows import unique_rows as _unique_colors  # noqa: F401  (tests use it)
from ._colors import ColorSegmentation, segment_colors
from ._filter import Progress as Progress
from ._filter import _round_div as _round_div
from ._filter import _tie_table as _tie_table
from ._filter import _window_radius as _window_radius
from ._filter import filter_image
from ._io import load_image, save_image
from ._regions import Segmentation, segment
from ._regions import _components as _components
from ._regions import _grid_edges as _grid_edges

__all__ = [
    "ColorSegmentation",
    "Segmentation",
    "filter_image",
    "load_image",
    "save_image",
    "segment",
    "segment_colors",
]
