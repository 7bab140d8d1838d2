"""The ``jaxshift`` command line: segment images, cluster CSV files.

Run ``jaxshift --help``, ``jaxshift segment --help`` or ``jaxshift cluster --help``.
Exit status: 0 on success, 1 when the work fails (a missing or unreadable file,
bad data), 2 for a bad command line. Errors are one line on stderr, without a
traceback. JAX is imported only once there is work to do, so ``--help`` is quick.
"""

from __future__ import annotations

import argparse
import io
import math
import os
import sys
import tempfile
import threading
import time
import warnings

from ._table import TableError, count, labelled_lines, read_csv

__all__ = ["main"]

_EPILOG_SEGMENT = """\
methods:
  colors  cluster the pixel colours (mean shift in colour space, each distinct colour
          once, weighted by its count); every pixel takes its mode colour. Options:
          --bandwidth (or --quantile and --n-samples to estimate it), --kernel.
  joint   joint spatial-range mean shift (Comaniciu & Meer; OpenCV's
          pyrMeanShiftFiltering at maxLevel=0), then neighbouring pixels with modes
          within --range-radius are fused into regions and regions smaller than
          --min-region-size are merged into their nearest-coloured neighbour; every
          pixel is painted with its region's mean colour (or, with --filtered, its mode).
          Options: --spatial-radius, --range-radius, --min-region-size, --max-iter.

examples:
  jaxshift segment photo.jpg -o colours.png --bandwidth 20
  jaxshift segment photo.jpg -o regions.png --method joint --spatial-radius 8 --range-radius 16 --labels labels.npy
"""

_EPILOG_CLUSTER = """\
The CSV holds one point per row, numbers only, with an optional header row: the first
row is a header when none of its fields is a number, and it must have as many fields
as the data rows. Blank lines are skipped. A file whose rows are single fields holding
another delimiter (';', tab, ...) is refused with the delimiter to use. The centres are
printed on stdout, densest first. With -o, every input line is written unchanged, the
text of each field as it was, with the delimiter and the row's label appended ('label'
on the header line); blank lines stay blank.

example:
  jaxshift cluster points.csv --bandwidth 2 -o labelled.csv
"""


class _Parser(argparse.ArgumentParser):
    """argparse with a one-line error (and exit status 2)."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message} (see '{self.prog} --help')\n")


class _Fail(Exception):
    """A one-line error for the user; ``code`` is the exit status."""

    def __init__(self, message, code=1):
        super().__init__(message)
        self.code = code


def _positive_float(text):
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not (math.isfinite(v) and v > 0):
        raise argparse.ArgumentTypeError(f"must be a positive number, got {text!r}")
    return v


def _quantile(text):
    v = _positive_float(text)
    if v > 1:
        raise argparse.ArgumentTypeError(f"must be in (0, 1], got {text!r}")
    return v


def _int_at_least(minimum):
    def parse(text):
        try:
            v = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
        from ._validate import is_int  # lazy: --help stays free of the jax import

        if not is_int(v, minimum):
            raise argparse.ArgumentTypeError(f"must be an integer >= {minimum}, got {text!r}")
        return v

    parse.__name__ = "integer"
    return parse


_positive_float.__name__ = "number"
_quantile.__name__ = "quantile"


# ------------------------------------------------------------------------- progress


class _Progress:
    """A progress bar on stderr, drawn by a background thread every 0.1 s.

    ``mode="auto"`` draws only when stderr is a terminal and the work has taken more
    than a second; ``"always"`` draws whenever the work takes more than a second;
    ``"never"`` draws nothing. ``update(done, total, label)`` sets what it shows.
    """

    def __init__(self, mode, stream=None, delay=1.0):
        self.stream = stream or sys.stderr
        self.delay = delay
        self.isatty = bool(getattr(self.stream, "isatty", lambda: False)())
        self.enabled = mode == "always" or (mode == "auto" and self.isatty)
        self.start = time.monotonic()
        self.state = ("starting", 0, 1)
        self.drawn = False
        self._stop = threading.Event()
        self._thread = None

    def __enter__(self):
        if self.enabled:
            self._thread = threading.Thread(target=self._run, daemon=True)
            self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            if self.drawn:
                if exc[0] is None:
                    self._draw()
                if self.isatty:
                    self.stream.write("\n")
                self.stream.flush()
        return False

    def update(self, done, total, label=None):
        self.state = (label or self.state[0], done, max(total, 1))

    def _run(self):
        # On a terminal the bar is redrawn in place ten times a second; in a log (not a
        # terminal) only when it changes, at most once a second.
        period = 0.1 if self.isatty else 1.0
        last = None
        while not self._stop.wait(period):
            if time.monotonic() - self.start > self.delay and (self.isatty or self.state != last):
                last = self.state
                self._draw()

    def _draw(self):
        label, done, total = self.state
        frac = min(max(done / total, 0.0), 1.0)
        width = 30
        fill = int(round(frac * width))
        bar = "#" * fill + "." * (width - fill)
        line = f"{label:<22} [{bar}] {100 * frac:5.1f}% {time.monotonic() - self.start:6.1f}s"
        self.stream.write(f"\r{line}" if self.isatty else f"{line}\n")
        self.stream.flush()
        self.drawn = True


# ---------------------------------------------------------------------------- segment


def _check_writable(path, what):
    """Fail now, before any work, if ``path`` cannot be written: its folder missing,
    not a folder, or not writable (tried with a temporary file: permission bits do
    not tell for root or read-only mounts), or ``path`` itself a folder or read-only."""
    folder = os.path.dirname(os.path.abspath(path))
    if os.path.isdir(path):
        raise _Fail(f"{what} {path!r} is a folder, not a file")
    if not os.path.isdir(folder):
        raise _Fail(f"{what} {path!r}: no such folder {folder!r}")
    try:
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as exc:
        raise _Fail(f"{what} {path!r}: cannot write in folder {folder!r}: {exc.strerror or exc}") from None
    if os.path.exists(path) and not os.access(path, os.W_OK):
        raise _Fail(f"{what} {path!r}: the file exists and is not writable")


def _check_output_path(path, what):
    """An image file Pillow can write (by its extension), in a writable folder."""
    from PIL import Image

    Image.init()
    ext = os.path.splitext(path)[1].lower()
    if ext not in Image.EXTENSION:
        raise _Fail(f"{what} {path!r}: unknown image file extension {ext or '(none)'!r}; use .png, .jpg, ...", 2)
    if Image.EXTENSION[ext] not in Image.SAVE:
        raise _Fail(f"{what} {path!r}: Pillow cannot write {Image.EXTENSION[ext]} files; use .png, .jpg, ...", 2)
    _check_writable(path, what)


def _check_image_format(path, what, channels):
    """Encode a 1x1 image with ``channels`` channels in ``path``'s format, in memory:
    a format that cannot hold such pixels fails now rather than after the work."""
    import numpy as np
    from PIL import Image

    from .image import _io

    fmt = Image.EXTENSION[os.path.splitext(path)[1].lower()]
    pixel = np.zeros((1, 1, channels) if channels > 1 else (1, 1), np.uint8)
    try:
        Image.fromarray(_io._for_format(pixel, fmt)).save(io.BytesIO(), format=fmt)
    except (OSError, ValueError, KeyError) as exc:
        raise _Fail(f"{what} {path!r}: cannot write {channels}-channel images in this format: {exc}") from None


def _segment(args):
    colors_only = ("bandwidth", "quantile", "n_samples", "kernel")
    joint_only = ("spatial_radius", "range_radius", "min_region_size", "max_iter", "filtered")
    wrong = joint_only if args.method == "colors" else colors_only
    for name in wrong:
        if getattr(args, name) not in (None, False):
            raise _Fail(f"--{name.replace('_', '-')} does not apply to --method {args.method}", 2)
    _check_output_path(args.output, "-o/--output")
    if args.labels is not None:
        if not args.labels.endswith(".npy"):
            raise _Fail(f"--labels {args.labels!r}: the labels file must end in .npy", 2)
        _check_writable(args.labels, "--labels")

    import numpy as np

    from . import image

    with _Progress(args.progress) as bar:
        bar.update(0, 1, "reading")
        try:
            img = image.load_image(args.input)
        except FileNotFoundError:
            raise _Fail(f"{args.input}: no such file") from None
        except ValueError as exc:
            raise _Fail(str(exc)) from None
        _check_image_format(args.output, "-o/--output", 1 if img.ndim == 2 else img.shape[2])
        h, w = img.shape[:2]
        bar.update(0, 1, "mean-shift filtering" if args.method == "joint" else "clustering colours")
        if args.method == "colors":
            bar.update(1, 3, "clustering colours")
            res = image.segment_colors(
                img,
                bandwidth=args.bandwidth,
                quantile=0.1 if args.quantile is None else args.quantile,
                n_samples=100 if args.n_samples is None else args.n_samples,
                kernel=args.kernel or "flat",
            )
            out, labels = res.quantized, res.labels
            summary = f"{count(len(res.palette), 'colour')} (bandwidth {res.bandwidth:.4g})"
        else:
            seg = image.segment(
                img,
                spatial_radius=10.0 if args.spatial_radius is None else args.spatial_radius,
                range_radius=20.0 if args.range_radius is None else args.range_radius,
                min_region_size=20 if args.min_region_size is None else args.min_region_size,
                max_iter=5 if args.max_iter is None else args.max_iter,
                progress=lambda done, total: bar.update(done, total, "mean-shift filtering"),
            )
            bar.update(1, 1, "regions")
            labels = seg.labels
            if args.filtered:
                out = seg.filtered
            else:
                painted = np.clip(np.rint(seg.colors[labels]), 0, 255).astype(np.uint8)
                out = painted if img.ndim == 3 else painted[:, :, 0]
                if img.ndim == 3 and img.shape[2] == 4:
                    out = np.dstack([out, img[:, :, 3]])
            summary = count(seg.n_regions, "region")
        bar.update(1, 1, "writing")
        try:
            image.save_image(args.output, out)
            if args.labels is not None:
                np.save(args.labels, labels.astype(np.int32))
        except (OSError, ValueError) as exc:
            raise _Fail(f"cannot write output: {exc}") from None
    extra = f", labels {args.labels}" if args.labels else ""
    print(f"{args.input}: {w}x{h} -> {summary}; wrote {args.output}{extra}")
    return 0


# ---------------------------------------------------------------------------- cluster


def _delimiter(text):
    """``--delimiter``: one character (``\\t`` or ``tab`` for a tab)."""
    text = {"\\t": "\t", "tab": "\t", "space": " "}.get(text, text)
    if len(text) != 1 or text in "\r\n\"" or text.isalnum() or text in ".-+":
        raise argparse.ArgumentTypeError(
            f"must be one character other than a letter, digit, '.', '-', '+', quote or newline, got {text!r}"
        )
    return text


_delimiter.__name__ = "delimiter"


def _cluster(args):
    import numpy as np

    if args.output is not None:
        _check_writable(args.output, "-o/--output")
    try:
        table = read_csv(args.input, args.delimiter)
    except TableError as exc:
        raise _Fail(str(exc)) from None
    X = np.asarray(table.values, np.float64)
    header = None if table.header is None else [c.strip() for c in table.records[table.header][2]]
    from . import cluster

    with _Progress(args.progress) as bar:
        bar.update(0, 2, "bandwidth" if args.bandwidth is None else "clustering")
        bandwidth = args.bandwidth
        try:
            if bandwidth is None:
                bandwidth = float(cluster.estimate_bandwidth(X, quantile=args.quantile, n_samples=args.n_samples))
                if bandwidth <= 0:
                    raise _Fail("the estimated bandwidth is 0 (all points equal?); give --bandwidth")
            bar.update(1, 2, "clustering")
            model = cluster.MeanShift(bandwidth=bandwidth, bin_seeding=args.bin_seeding, kernel=args.kernel)
            model.fit(X)
        except ValueError as exc:
            raise _Fail(str(exc).splitlines()[0]) from None
        bar.update(2, 2, "done")
    labels = model.labels_
    centres = model.cluster_centers_
    if args.output is not None:
        try:
            with open(args.output, "w", newline="", encoding="utf-8") as f:
                f.write(labelled_lines(table, labels, args.delimiter))
        except OSError as exc:
            raise _Fail(f"cannot write {args.output}: {exc}") from None
    names = header or [f"x{j}" for j in range(X.shape[1])]
    counts = np.bincount(labels[labels >= 0], minlength=len(centres))
    print(f"{count(len(X), 'point')}, {count(len(centres), 'cluster')}, bandwidth {float(np.max(bandwidth)):.6g}")
    print("label," + ",".join(names) + ",size")
    for k, c in enumerate(centres):
        print(f"{k}," + ",".join(f"{v:.6g}" for v in c) + f",{counts[k]}")
    if args.output is not None:
        print(f"wrote {args.output}")
    return 0


# ------------------------------------------------------------------------------- main


def _parser():
    p = _Parser(
        prog="jaxshift",
        description="Mean-shift clustering and image segmentation (jaxshift, pure JAX).",
    )
    sub = p.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    formatter = argparse.RawDescriptionHelpFormatter

    s = sub.add_parser(
        "segment", help="segment an image by colour or by joint spatial-range mean shift",
        description="Segment an image with mean shift and write the result as an image.",
        epilog=_EPILOG_SEGMENT, formatter_class=formatter,
    )
    s.add_argument("input", metavar="IN", help="input image (PNG, JPEG, ... anything Pillow reads)")
    s.add_argument("-o", "--output", metavar="OUT", required=True,
                   help="output image; the format follows the extension (.png, .jpg, ...)")
    s.add_argument("--method", choices=("colors", "joint"), default="colors",
                   help="'colors': cluster pixel colours; 'joint': spatial-range segmentation (default: colors)")
    s.add_argument("--labels", metavar="LABELS.npy",
                   help="also save the label map, an int32 [H, W] NumPy array, to this .npy file")
    g = s.add_argument_group("--method colors")
    g.add_argument("--bandwidth", type=_positive_float,
                   help="colour bandwidth in 0-255 units (default: estimated from a pixel sample)")
    g.add_argument("--quantile", type=_quantile,
                   help="quantile of the nearest-neighbour distances for the estimate, in (0, 1] (default 0.1)")
    g.add_argument("--n-samples", type=_int_at_least(1), help="pixels sampled for the estimate (default 100)")
    g.add_argument("--kernel", choices=("flat", "epanechnikov", "biweight", "triweight", "gaussian"),
                   help="mean-shift kernel (default flat, as scikit-learn)")
    g = s.add_argument_group("--method joint")
    g.add_argument("--spatial-radius", type=_positive_float,
                   help="half-size of the square spatial window, in pixels (default 10)")
    g.add_argument("--range-radius", type=_positive_float,
                   help="radius of the colour ball, in 0-255 units (default 20)")
    g.add_argument("--min-region-size", type=_int_at_least(0),
                   help="merge regions with fewer pixels into their nearest-coloured neighbour (default 20)")
    g.add_argument("--max-iter", type=_int_at_least(1), help="most mean-shift steps per pixel (default 5)")
    g.add_argument("--filtered", action="store_true",
                   help="write the filtered image (each pixel its mode colour) instead of the region colours")
    _add_progress(s)
    s.set_defaults(func=_segment)

    c = sub.add_parser(
        "cluster", help="cluster the points of a CSV file (scikit-learn's MeanShift)",
        description="Cluster the rows of a CSV file with mean shift; print the centres, "
        "optionally write the rows with a label column.",
        epilog=_EPILOG_CLUSTER, formatter_class=formatter,
    )
    c.add_argument("input", metavar="IN.csv", help="input CSV file: one point per row")
    c.add_argument("-o", "--output", metavar="OUT.csv",
                   help="write the input rows with an added 'label' column here")
    c.add_argument("--bandwidth", type=_positive_float,
                   help="kernel radius in the data's units (default: estimated as scikit-learn does)")
    c.add_argument("--quantile", type=_quantile, default=0.3,
                   help="quantile for the bandwidth estimate, in (0, 1] (default 0.3)")
    c.add_argument("--n-samples", type=_int_at_least(1),
                   help="points sampled for the bandwidth estimate (default: all)")
    c.add_argument("--bin-seeding", action="store_true", help="seed from a grid of the bandwidth's spacing (faster)")
    c.add_argument("--kernel", choices=("flat", "epanechnikov", "biweight", "triweight", "gaussian"), default="flat",
                   help="mean-shift kernel (default flat, as scikit-learn)")
    c.add_argument("--delimiter", type=_delimiter, default=",",
                   help="field delimiter, one character; '\\t' or 'tab' for a tab (default ',')")
    _add_progress(c)
    c.set_defaults(func=_cluster)
    return p


def _add_progress(p):
    g = p.add_mutually_exclusive_group()
    g.add_argument("--progress", dest="progress", action="store_const", const="always", default="auto",
                   help="show a progress bar on stderr even when it is not a terminal (default: only on a "
                   "terminal, for work over a second)")
    g.add_argument("-q", "--quiet", dest="progress", action="store_const", const="never",
                   help="no progress bar")


def _compilation_cache():
    """Keep compiled XLA programs between runs: a one-shot command is mostly compilation.

    ``$JAXSHIFT_CACHE_DIR`` (default ``$XDG_CACHE_HOME/jaxshift/xla``, ``~/.cache/...``)
    chooses the folder, ``JAXSHIFT_CACHE_DIR=off`` turns it off, and a cache the user
    configured for JAX (``JAX_COMPILATION_CACHE_DIR``) is left as it is.
    """
    if os.environ.get("JAX_COMPILATION_CACHE_DIR"):
        return
    path = os.environ.get("JAXSHIFT_CACHE_DIR")
    if path is None:
        base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
        path = os.path.join(base, "jaxshift", "xla")
    if path.strip().lower() in ("", "0", "off", "no", "none"):
        return
    import jax

    try:
        jax.config.update("jax_compilation_cache_dir", path)
        jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)
    except (AttributeError, ValueError):  # a JAX without the persistent cache: compile as usual
        pass


def main(argv=None) -> int:
    """Run the command line; returns the exit status (0 ok, 1 failure, 2 usage)."""
    parser = _parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help(sys.stderr)
        return 2
    prog = f"jaxshift {args.command}"
    _compilation_cache()

    def one_line(exc):
        return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__

    def show_warning(message, category, filename, lineno, file=None, line=None):
        print(f"{prog}: warning: {one_line(message)}", file=sys.stderr)

    with warnings.catch_warnings():  # a warning is one line too, without a source path
        warnings.showwarning = show_warning
        try:
            return args.func(args)
        except _Fail as exc:
            print(f"{prog}: error: {exc}", file=sys.stderr)
            return exc.code
        except KeyboardInterrupt:
            print(f"{prog}: interrupted", file=sys.stderr)
            return 130
        except (ValueError, TypeError, OSError, MemoryError) as exc:
            print(f"{prog}: error: {one_line(exc)}", file=sys.stderr)
            return 1
        except Exception as exc:  # a bug, or XLA out of memory: still one line, never a traceback
            print(f"{prog}: error: unexpected {type(exc).__name__}: {one_line(exc)}", file=sys.stderr)
            return 1


if __name__ == "__main__":
    sys.exit(main())
