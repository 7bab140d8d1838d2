"""Segment a photo two ways with mean shift, and save the results side by side.

1. By colour (``jaxshift.image.segment_colors``): the pixel colours are clustered,
   each distinct colour once with its count as weight; every pixel takes its mode
   colour (colour quantisation).
2. By joint spatial-range mean shift (``jaxshift.image.segment``): each pixel climbs
   in (row, col, colour) space (OpenCV's ``pyrMeanShiftFiltering`` semantics), then
   neighbouring pixels with close modes are fused into regions and small regions are
   merged away.

The default photo is ``grace_hopper.jpg``, which ships with matplotlib (the
``examples`` extra), so this runs offline. Any image path works.

Run:
    python examples/segment_image.py                      # writes segment_image.png
    python examples/segment_image.py photo.jpg -o out.png --size 320
"""

import argparse
import time

import matplotlib.pyplot as plt
import numpy as np
from matplotlib import cbook
from PIL import Image

from jaxshift import image


def load(path, size):
    """The photo as uint8 RGB, its longer side scaled to ``size`` pixels (speed)."""
    if path is None:
        with cbook.get_sample_data("grace_hopper.jpg") as f:
            im = Image.open(f).convert("RGB")
    else:
        im = Image.fromarray(image.load_image(path)).convert("RGB")
    scale = size / max(im.size)
    if scale < 1:
        im = im.resize((round(im.width * scale), round(im.height * scale)), Image.Resampling.LANCZOS)
    return np.asarray(im)


def boundaries(labels):
    """``[H, W]`` bool: pixels whose right or lower neighbour is in another region."""
    edge = np.zeros(labels.shape, bool)
    edge[:, :-1] |= labels[:, 1:] != labels[:, :-1]
    edge[:-1, :] |= labels[1:, :] != labels[:-1, :]
    return edge


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("image", nargs="?", help="image file (default: matplotlib's grace_hopper.jpg)")
    parser.add_argument("-o", "--output", default="segment_image.png", help="the side-by-side PNG to write")
    parser.add_argument("--size", type=int, default=240, help="scale the longer side down to this many pixels")
    parser.add_argument("--spatial-radius", type=float, default=7, help="joint: spatial window half-size")
    parser.add_argument("--range-radius", type=float, default=14, help="joint: colour radius (0-255)")
    args = parser.parse_args()

    img = load(args.image, args.size)
    h, w = img.shape[:2]

    t = time.perf_counter()
    colors = image.segment_colors(img, quantile=0.06, n_samples=500)
    t_colors = time.perf_counter() - t
    print(f"{w}x{h} pixels: {len(colors.palette)} colour modes (bandwidth {colors.bandwidth:.1f}) in {t_colors:.1f}s")

    t = time.perf_counter()
    seg = image.segment(img, spatial_radius=args.spatial_radius, range_radius=args.range_radius, min_region_size=25)
    t_joint = time.perf_counter() - t
    print(f"joint spatial-range: {seg.n_regions} regions in {t_joint:.1f}s (compilation included)")

    regions = np.clip(np.rint(seg.colors[seg.labels]), 0, 255).astype(np.uint8)
    outlined = regions.copy()
    outlined[boundaries(seg.labels)] = 0

    panels = [
        (img, "original"),
        (colors.quantized, f"by colour: {len(colors.palette)} modes"),
        (seg.filtered, f"joint filtering (hs={args.spatial_radius:g}, hr={args.range_radius:g})"),
        (outlined, f"joint segmentation: {seg.n_regions} regions"),
    ]
    fig, axes = plt.subplots(1, len(panels), figsize=(3.2 * len(panels), 3.2 * h / w + 0.5))
    for ax, (pic, title) in zip(axes, panels, strict=True):
        ax.imshow(pic)
        ax.set_title(title, fontsize=9)
        ax.axis("off")
    fig.tight_layout()
    fig.savefig(args.output, dpi=72)
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
