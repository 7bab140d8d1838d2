"""Fuzzing the edges a user reaches through files and the command line (issue 10).

``jaxshift.image`` (``load_image``, ``save_image``, ``segment_colors``,
``filter_image``, ``segment``) and ``jaxshift.cli`` on images 1x1, 1xN, Nx1,
greyscale, RGB, RGBA, 16-bit, float, NaN and inf; image files corrupt, truncated,
empty, over the decompression-bomb limit; CSV files with headers, blank lines,
``\\r\\n`` line ends, non-numeric and non-finite cells, ragged rows and wrong
delimiters. Each input gives the documented result, checked against something
independent where there is one (OpenCV, scikit-learn, a NumPy transcription, the
bytes written), or a ``ValueError`` naming the argument and the value; the command
line gives exit status 0, or a one-line error and a non-zero status, never a
traceback.

The command line runs in-process (``jaxshift.cli.main(argv)``; tests/test_cli.py runs
it end to end in subprocesses). Few distinct shapes are drawn: every new image shape
compiles the filter anew.
"""

import io
import os
import tempfile
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from PIL import Image

from jaxshift import cli
from jaxshift.image import filter_image, load_image, save_image, segment, segment_colors

try:
    import cv2
except ImportError:  # a test extra
    cv2 = None

SHAPES = [(1, 1), (1, 6), (5, 1), (3, 4)]
# Examples compile (a new image shape, channel count or dtype compiles the filter anew):
# fewer of them than the ci profile's default where each one may compile.
COMPILING = settings(max_examples=8)
# The command line tests reset capsys themselves (run_cli reads it before each call).
WITH_CAPSYS = [HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large]
LAYOUTS = {"grey": (), "grey1": (1,), "rgb": (3,), "rgba": (4,)}


@pytest.fixture(autouse=True)
def _no_compilation_cache(monkeypatch):
    """main() would point JAX's persistent cache at ~/.cache for the whole session."""
    monkeypatch.setenv("JAXSHIFT_CACHE_DIR", "off")


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    return tmp_path_factory.mktemp("fuzz_io")


def make_image(shape, layout, dtype, kind, seed):
    """A small image: random pixels, one colour, or two colours (left/right halves)."""
    rng = np.random.default_rng(seed)
    channels = LAYOUTS[layout]
    full = shape + channels
    if kind == "random":
        px = rng.integers(0, 256, full)
    elif kind == "constant":
        px = np.broadcast_to(rng.integers(0, 256, channels), full).copy()
    else:
        left = np.where(np.arange(shape[1]) < shape[1] / 2, 30, 220)
        px = np.broadcast_to(np.broadcast_to(left, shape).reshape(shape + (1,) * len(channels)), full).copy()
    if layout == "rgba":
        px[..., 3] = rng.integers(0, 256, shape)
    return px.astype(np.uint8) if dtype == "uint8" else (px / 255.0).astype(dtype)


images = st.builds(
    make_image,
    st.sampled_from(SHAPES),
    st.sampled_from(list(LAYOUTS)),
    st.sampled_from(["uint8", "float32"]),
    st.sampled_from(["random", "constant", "halves"]),
    st.integers(0, 2**16),
)


def colour(img):
    """``[H, W, C]`` colour channels (alpha dropped), as float64."""
    a = np.asarray(img, np.float64)
    a = a[:, :, None] if a.ndim == 2 else a
    return a[:, :, :3] if a.shape[2] == 4 else a


def reference_filter(img, sp, sr, max_iter=5, eps=1.0):
    """OpenCV's level-0 loop transcribed per pixel, float colours (tests/test_image.py's)."""
    src = colour(img)
    h, w, _ = src.shape
    out = np.empty_like(src)
    for i in range(h):
        for j in range(w):
            x0, y0, c = j, i, src[i, j].copy()
            for _ in range(max_iter):
                minx, miny = max(int(np.rint(x0 - sp)), 0), max(int(np.rint(y0 - sp)), 0)
                maxx, maxy = min(int(np.rint(x0 + sp)), w - 1), min(int(np.rint(y0 + sp)), h - 1)
                win = src[miny : maxy + 1, minx : maxx + 1]
                m = ((win - c) ** 2).sum(-1) <= sr * sr
                ys, xs = np.nonzero(m)
                x1, y1 = int(np.rint((xs + minx).mean())), int(np.rint((ys + miny).mean()))
                s = win[m].mean(0)
                stop = (x0 == x1 and y0 == y1) or abs(x1 - x0) + abs(y1 - y0) + ((s - c) ** 2).sum() <= eps
                x0, y0, c = x1, y1, s
                if stop:
                    break
            out[i, j] = c
    return out


# ------------------------------------------------------------------ image arrays


@COMPILING
@given(img=images, range_radius=st.sampled_from([0.05, 0.2]))
def test_filter_and_segment_on_small_images(img, range_radius):
    is_int = img.dtype == np.uint8
    sr = range_radius * 255 if is_int else range_radius
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no warning either
        out = filter_image(img, spatial_radius=2, range_radius=sr)
        seg = segment(img, spatial_radius=2, range_radius=sr, min_region_size=0)
    assert out.shape == img.shape and out.dtype == img.dtype
    if img.ndim == 3 and img.shape[2] == 4:
        assert np.array_equal(out[:, :, 3], img[:, :, 3])
    if is_int and img.ndim == 3 and img.shape[2] in (3, 4) and cv2 is not None:
        want = cv2.pyrMeanShiftFiltering(np.ascontiguousarray(img[:, :, :3]), 2, sr, maxLevel=0)
        assert np.array_equal(out[:, :, :3], want)
    elif not is_int:
        np.testing.assert_allclose(colour(out), reference_filter(img, 2, sr), atol=1e-5)
    if len(np.unique(colour(img).reshape(-1, colour(img).shape[2]), axis=0)) == 1:  # one colour: nothing moves
        if is_int:
            assert np.array_equal(out, img)
        else:  # a float32 mean of equal values can be off by its rounding
            np.testing.assert_allclose(out, img, rtol=2e-7, atol=0)
    # Regions: labels 0..n-1, each painted with the mean colour of its pixels.
    labels = seg.labels
    assert labels.shape == img.shape[:2] and labels.dtype == np.int32
    assert sorted(np.unique(labels)) == list(range(seg.n_regions))
    for k in range(seg.n_regions):
        np.testing.assert_allclose(seg.colors[k], colour(img)[labels == k].mean(0), rtol=1e-5, atol=1e-6)
    assert np.array_equal(seg.filtered, out)


@COMPILING
@given(img=images, bandwidth=st.sampled_from([0.1, 0.4, None]))
def test_segment_colors_on_small_images(img, bandwidth):
    scale = 255.0 if img.dtype == np.uint8 else 1.0
    bw = None if bandwidth is None else bandwidth * scale
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no "Binning data failed" warning on a 1x1 image
        res = segment_colors(img, bandwidth=bw)
    c = colour(img)
    pixels = c.reshape(-1, c.shape[2])
    k = len(res.palette)
    assert res.labels.shape == img.shape[:2] and res.palette.shape == (k, c.shape[2])
    assert res.labels.min() == 0 and res.labels.max() == k - 1 and res.bandwidth > 0
    assert res.quantized.shape == img.shape and res.quantized.dtype == img.dtype
    painted = res.palette[res.labels]
    want = np.rint(painted).astype(np.uint8) if img.dtype == np.uint8 else painted.astype(img.dtype)
    assert np.array_equal(colour(res.quantized), colour(want))
    if img.ndim == 3 and img.shape[2] == 4:
        assert np.array_equal(res.quantized[:, :, 3], img[:, :, 3])
    _, inverse = np.unique(pixels, axis=0, return_inverse=True)
    for g in np.unique(inverse):  # equal colours, equal labels
        assert len(np.unique(res.labels.ravel()[inverse.ravel() == g])) == 1
    sk = pytest.importorskip("sklearn.cluster")
    with warnings.catch_warnings():  # its "Binning data failed" (ours no longer warns)
        warnings.simplefilter("ignore", UserWarning)
        ref = sk.MeanShift(bandwidth=res.bandwidth, bin_seeding=True).fit(pixels.astype(np.float32))
    np.testing.assert_allclose(res.palette, ref.cluster_centers_, rtol=1e-4, atol=1e-4 * scale)
    assert np.array_equal(res.labels.ravel(), ref.labels_)


BAD_IMAGES = [
    (np.zeros((3,), np.uint8), r"got shape \(3,\)"),
    (np.zeros((2, 2, 2), np.uint8), r"got shape \(2, 2, 2\)"),
    (np.zeros((2, 2, 5), np.uint8), r"got shape \(2, 2, 5\)"),
    (np.zeros((2, 2, 3, 1), np.uint8), r"got shape \(2, 2, 3, 1\)"),
    (np.zeros((0, 3, 3), np.uint8), r"image is empty \(shape \(0, 3, 3\)\)"),
    (np.zeros((3, 0), np.uint8), r"image is empty \(shape \(3, 0\)\)"),
    (np.zeros((2, 2, 3), np.uint16), "dtype uint8 or a float dtype, got uint16"),
    (np.zeros((2, 2), np.int32), "dtype uint8 or a float dtype, got int32"),
    (np.zeros((2, 2), bool), "dtype uint8 or a float dtype, got bool"),
    (np.zeros((2, 2), complex), "dtype uint8 or a float dtype, got complex128"),
    (np.zeros((2, 2), object), "dtype uint8 or a float dtype, got object"),
    (np.where(np.eye(3, dtype=bool), np.nan, 0.5), r"image must be finite, got nan at index \(0, 0\)"),
    (np.full((2, 2, 3), np.inf, np.float32), r"image must be finite, got inf at index \(0, 0, 0\)"),
    ("photo.png", "use load_image"),
    (None, "got None"),
]


@pytest.mark.parametrize("bad, match", BAD_IMAGES, ids=[str(i) for i in range(len(BAD_IMAGES))])
def test_bad_image_arrays_are_refused_before_any_work(bad, match, folder):
    for fn in (
        lambda im: filter_image(im, spatial_radius=2, range_radius=5),
        lambda im: segment(im, spatial_radius=2, range_radius=5),
        lambda im: segment_colors(im, bandwidth=5),
        lambda im: save_image(folder / "never.png", im),
    ):
        with pytest.raises(ValueError, match=match):
            fn(bad)
    assert not (folder / "never.png").exists()


# ------------------------------------------------------------------- image files


FORMATS = {".png": "PNG", ".bmp": "BMP", ".tiff": "TIFF", ".gif": "GIF", ".jpg": "JPEG", ".webp": "WEBP"}
MODES = ["1", "L", "LA", "P", "RGB", "RGBA", "CMYK", "I;16", "I", "F"]


def pil_image(mode, shape, seed):
    rng = np.random.default_rng(seed)
    h, w = shape
    if mode in ("I;16", "I", "F"):
        arr = rng.integers(0, 60000, (h, w)).astype({"I;16": np.uint16, "I": np.int32, "F": np.float32}[mode])
        return Image.fromarray(arr, mode if mode != "I;16" else None)
    bands = len(Image.new(mode, (1, 1)).getbands())
    arr = rng.integers(0, 256, (h, w, bands), dtype=np.uint8)
    if mode == "1":
        return Image.fromarray(arr[:, :, 0] > 127)
    if mode in ("L", "P"):
        return Image.fromarray(arr[:, :, 0], "L").convert(mode)
    return Image.frombytes(mode, (w, h), arr.tobytes())


def encoded(img, fmt):
    buf = io.BytesIO()
    img.save(buf, format=fmt)
    return buf.getvalue()


@settings(max_examples=40)  # decoding only: no JAX here, cheap
@given(
    mode=st.sampled_from(MODES),
    ext=st.sampled_from(list(FORMATS)),
    shape=st.sampled_from(SHAPES + [(7, 9)]),
    seed=st.integers(0, 2**16),
    damage=st.one_of(
        st.none(),
        st.tuples(st.just("truncate"), st.floats(0.0, 0.95)),
        st.tuples(st.just("flip"), st.floats(0.0, 1.0)),
    ),
)
def test_load_image_reads_what_pillow_reads_or_says_why(mode, ext, shape, seed, damage, folder):
    src = pil_image(mode, shape, seed)
    try:
        data = encoded(src, FORMATS[ext])
    except (OSError, ValueError, KeyError):
        assume(False)  # a mode this format cannot store
    if damage is not None:
        what, where = damage
        cut = int(where * len(data))
        data = data[:cut] if what == "truncate" else data[:cut] + bytes([data[min(cut, len(data) - 1)] ^ 0xFF]) + data[cut + 1:]
    path = folder / f"in{ext}"
    path.write_bytes(data)
    # A flipped bit in a header can claim a huge image: a low decompression-bomb limit
    # keeps the test cheap (and exercises the refusal); both decodes below see it.
    limit = Image.MAX_IMAGE_PIXELS
    Image.MAX_IMAGE_PIXELS = 5000
    try:
        check_load(path, data, ext, shape, mode, src, damage)
    finally:
        Image.MAX_IMAGE_PIXELS = limit


def check_load(path, data, ext, shape, mode, src, damage):
    try:
        with warnings.catch_warnings(), Image.open(io.BytesIO(data)) as im:  # what Pillow makes of the bytes
            warnings.simplefilter("ignore")  # "Corrupt EXIF data" and the like
            im.load()
            want_mode = im.mode
            if want_mode in ("1", "L"):
                expected = np.asarray(im.convert("L"))
            elif want_mode not in ("I", "I;16", "I;16B", "I;16L", "F"):
                alpha = want_mode in ("RGBA", "LA", "PA") or "transparency" in im.info
                expected = np.asarray(im.convert("RGBA" if alpha else "RGB"))
            else:
                expected = "deep"
    except Exception:
        expected = "unreadable"
    warnings.simplefilter("ignore", UserWarning)  # Pillow's, about damaged metadata (pytest restores filters)
    if isinstance(expected, str):
        with pytest.raises(ValueError, match="cannot read image .*in" + ext.replace(".", r"\.")) as err:
            load_image(path)
        if expected == "deep":
            assert "more than 8 bits per channel" in str(err.value)
        return
    got = load_image(path)
    assert got.dtype == np.uint8 and np.array_equal(got, expected)
    assert got.ndim == 2 or got.shape[2] in (3, 4)
    if damage is None:  # (a damaged header may give another size)
        assert got.shape[:2] == shape
        lossless = ("PNG", "TIFF") + (("BMP",) if mode != "RGBA" else ())  # Pillow reads 32-bit BMPs as RGB
        if mode in ("L", "RGB", "RGBA") and FORMATS[ext] in lossless:
            assert np.array_equal(got.reshape(-1), np.asarray(src).reshape(-1))  # lossless: the pixels written


def test_load_image_files_that_are_not_images(folder, monkeypatch):
    for name, data in [("empty.png", b""), ("text.png", b"hello, world"), ("fake.jpg", b"\xff\xd8\xff" + bytes(50))]:
        (folder / name).write_bytes(data)
        with pytest.raises(ValueError, match=f"cannot read image .*{name}"):
            load_image(folder / name)
    with pytest.raises(ValueError, match="it is a folder"):
        load_image(folder)
    with pytest.raises(FileNotFoundError, match="no such file: .*missing.png"):
        load_image(folder / "missing.png")
    # Pillow's decompression-bomb limit stays on: over twice the limit is refused.
    Image.new("L", (40, 30)).save(folder / "bomb.png")
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 500)
    with pytest.raises(ValueError, match="cannot read image .*bomb.png.*decompression bomb"):
        load_image(folder / "bomb.png")


@given(img=images, ext=st.sampled_from([".png", ".bmp", ".tiff", ".jpg"]))
def test_save_image_round_trip(img, ext, folder):
    path = folder / f"out{ext}"
    save_image(path, img)
    back = load_image(path)
    as_uint8 = img if img.dtype == np.uint8 else np.clip(np.rint(img.astype(np.float64) * 255), 0, 255).astype(np.uint8)
    want = as_uint8[:, :, 0] if as_uint8.ndim == 3 and as_uint8.shape[2] == 1 else as_uint8
    if ext == ".jpg" or (ext == ".bmp" and want.ndim == 3 and want.shape[2] == 4):
        # JPEG: no alpha, lossy. BMP: Pillow writes the alpha but reads 32-bit BMPs as RGB.
        want = want[:, :, :3] if want.ndim == 3 else want
        assert back.shape == want.shape
        if ext == ".bmp":
            assert np.array_equal(back, want)
    else:
        assert np.array_equal(back, want)


def test_save_image_refuses_what_it_cannot_write(folder):
    img = np.zeros((2, 3, 3), np.uint8)
    for name, match in [("x.xyz", "unknown file extension '.xyz'"), ("x", "unknown file extension ''"),
                        ("x.psd", "Pillow cannot write PSD files")]:
        with pytest.raises(ValueError, match=match):
            save_image(folder / name, img)
    with pytest.raises(OSError):
        save_image(folder / "no-such-folder" / "x.png", img)


# ------------------------------------------------------------------ command line


def run_cli(capsys, *argv):
    """``(status, stdout, stderr)`` of ``jaxshift.cli.main(argv)``, run in-process."""
    capsys.readouterr()
    try:
        code = cli.main([str(a) for a in argv])
    except SystemExit as exc:  # argparse's own exits (usage errors)
        code = exc.code
    out, err = capsys.readouterr()
    return code, out, err


def assert_one_line_error(code, err, *needles):
    assert code in (1, 2), (code, err)
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1, err
    for needle in needles:
        assert needle in err, err


@settings(max_examples=8, suppress_health_check=WITH_CAPSYS)
@given(
    shape=st.sampled_from(SHAPES),
    layout=st.sampled_from(["grey", "rgb", "rgba"]),
    kind=st.sampled_from(["random", "constant", "halves"]),
    seed=st.integers(0, 2**16),
    method=st.sampled_from(["colors", "joint"]),
    ext=st.sampled_from([".png", ".tiff", ".jpg"]),
)
def test_cli_segment_small_images(capsys, folder, shape, layout, kind, seed, method, ext):
    img = make_image(shape, layout, "uint8", kind, seed)
    save_image(folder / "cli_in.png", img)
    extra = ["--spatial-radius", "2"] if method == "joint" else []
    code, out, err = run_cli(capsys, "segment", folder / "cli_in.png", "-o", folder / f"cli_out{ext}",
                             "--method", method, "--labels", folder / "labels.npy", "-q", *extra)
    assert code == 0 and err == "", err  # no warning either (a 1x1 image warned before)
    assert f"{shape[1]}x{shape[0]}" in out
    back = load_image(folder / f"cli_out{ext}")
    want_shape = img.shape if ext != ".jpg" else img.shape[:2] + ((3,) if img.ndim == 3 else ())
    assert back.shape == want_shape
    labels = np.load(folder / "labels.npy")
    assert labels.shape == shape and labels.dtype == np.int32 and labels.min() == 0
    if layout == "rgba" and ext == ".png":
        assert np.array_equal(back[:, :, 3], img[:, :, 3])


def test_cli_segment_bad_files(capsys, folder):
    rgb = np.random.default_rng(0).integers(0, 256, (3, 4, 3), dtype=np.uint8)
    data = encoded(Image.fromarray(rgb), "PNG")
    (folder / "trunc.png").write_bytes(data[: len(data) // 2])
    (folder / "garbage.png").write_bytes(os.urandom(64))
    Image.fromarray(np.full((3, 4), 1000, np.uint16)).save(folder / "deep.png")
    save_image(folder / "ok.png", rgb)
    for name, needle in [("trunc.png", "cannot read image"), ("garbage.png", "cannot read image"),
                         ("deep.png", "more than 8 bits"), ("missing.png", "no such file")]:
        code, out, err = run_cli(capsys, "segment", folder / name, "-o", folder / "x.png")
        assert_one_line_error(code, err, name, needle)
    code, _, err = run_cli(capsys, "segment", folder, "-o", folder / "x.png")
    assert_one_line_error(code, err, "it is a folder")
    assert not (folder / "x.png").exists()


def test_cli_checks_the_output_before_any_work(capsys, folder, monkeypatch):
    from jaxshift import image

    def no_work(*args, **kwargs):
        raise AssertionError("the work started")

    for name in ("segment_colors", "segment", "filter_image"):
        monkeypatch.setattr(image, name, no_work)
    src = folder / "ok2.png"
    save_image(src, np.zeros((3, 4, 4), np.uint8))
    cases = [
        (["-o", folder / "no-such-folder" / "x.png"], 1, "no such folder"),
        (["-o", folder], 2, "unknown image file extension"),
        (["-o", folder / "x.psd"], 2, "Pillow cannot write PSD"),
        (["-o", folder / "x.png", "--labels", folder / "nowhere" / "l.npy"], 1, "--labels", "no such folder"),
        (["-o", folder / "x.png", "--labels", folder], 2, ".npy"),
    ]
    for args, status, *needles in cases:
        code, out, err = run_cli(capsys, "segment", src, *args)
        assert_one_line_error(code, err, *needles)
        assert code == status, err
    d = folder / "a-folder.png"
    d.mkdir()
    code, _, err = run_cli(capsys, "segment", src, "-o", d)
    assert_one_line_error(code, err, "is a folder")
    # A format that cannot hold the image's channels fails once the image is read, before the work.
    if "EPS" in Image.SAVE:
        code, _, err = run_cli(capsys, "segment", src, "-o", folder / "x.eps")
        assert_one_line_error(code, err, "cannot write 4-channel images")
    code, _, err = run_cli(capsys, "cluster", folder / "whatever.csv", "-o", folder / "nowhere" / "x.csv")
    assert_one_line_error(code, err, "-o/--output", "no such folder")


def number_text(v, style):
    return {"plain": repr(float(v)), "int": str(int(round(v))), "padded": f" {v:.3f} ", "exp": f"{v:.4e}"}[style]


@st.composite
def csv_files(draw):
    """``(text, values [n, d], delimiter, kind, line of the defect, header)``: a clean
    CSV, or one with a defect (in a data row after the first) to be reported by line."""
    n = draw(st.integers(1, 7))
    d = draw(st.integers(1, 2))
    rng = np.random.default_rng(draw(st.integers(0, 2**16)))
    centres = np.array([[0.0, 0.0], [10.0, 10.0]])[:, :d]
    values = np.round(centres[rng.integers(0, 2, n)] + rng.normal(0, 0.3, (n, d)), 3)
    delimiter = draw(st.sampled_from([",", ";", "\t"]))
    style = draw(st.sampled_from(["plain", "int", "padded", "exp"]))
    if style == "int":
        values = np.round(values)
    header = draw(st.booleans())
    entries = [("header", delimiter.join(["x", "y"][:d]))] if header else []
    entries += [("row", delimiter.join(number_text(v, style) for v in row)) for row in values]
    for pos in sorted(draw(st.lists(st.integers(0, len(entries)), max_size=3)), reverse=True):
        entries.insert(pos, ("blank", draw(st.sampled_from(["", "   "]))))
    rows = [i for i, (what, _) in enumerate(entries) if what == "row"]
    kind = draw(st.sampled_from(["clean", "clean", "text", "nan", "ragged"]))  # (wrong delimiters: the test's)
    bad_line = None
    if kind in ("text", "nan", "ragged") and len(rows) > 1:
        i = draw(st.sampled_from(rows[1:]))
        cells = entries[i][1].split(delimiter)
        if kind == "ragged":
            cells = cells + ["1"] if len(cells) == 1 or draw(st.booleans()) else cells[:-1]
        else:
            j = draw(st.integers(0, len(cells) - 1))
            cells[j] = draw(st.sampled_from(["abc", "1..2", "?"] if kind == "text" else ["nan", "inf", "-inf"]))
        entries[i] = ("row", delimiter.join(cells))
        bad_line = i + 1
    else:
        kind = "clean"
    eol = draw(st.sampled_from(["\n", "\r\n"]))
    text = eol.join(t for _, t in entries) + (eol if draw(st.booleans()) else "")
    return text, values, delimiter, kind, bad_line, header


@settings(max_examples=25, suppress_health_check=WITH_CAPSYS)
@given(case=csv_files(), given_delimiter=st.sampled_from([None, ",", ";"]))
def test_cli_cluster_csv_files(capsys, folder, case, given_delimiter):
    text, values, delimiter, kind, bad_line, header = case
    use = delimiter if given_delimiter is None else given_delimiter
    src, out_path = folder / "in.csv", folder / "out.csv"
    src.write_bytes(text.encode())
    if out_path.exists():
        out_path.unlink()
    code, out, err = run_cli(capsys, "cluster", src, "--bandwidth", "3", "-o", out_path, "--delimiter", use)
    assert "Traceback" not in err
    if use != delimiter and values.shape[1] > 1:
        # Every line is one field holding the real delimiter: said so, with the one to use.
        assert_one_line_error(code, err)
        if kind == "clean":
            assert f"use --delimiter {delimiter!r}" in err, err
        assert not out_path.exists()
        return
    if kind != "clean":
        assert_one_line_error(code, err, f"line {bad_line}")
        assert not out_path.exists()
        return
    assert code == 0 and err == "", err
    n, d = values.shape
    assert out.splitlines()[0].startswith(f"{n} point{'' if n == 1 else 's'}, ")
    # Every input line unchanged, the label appended; blank lines as they were.
    labels_out = []
    in_lines = text.splitlines(keepends=True)
    out_lines = out_path.read_bytes().decode().splitlines(keepends=True)
    assert len(out_lines) == len(in_lines)
    seen_header = False
    for a, b in zip(in_lines, out_lines, strict=True):
        body = a.rstrip("\r\n")
        if not body.strip():
            assert b == a
            continue
        assert b.startswith(body + use) and b.endswith(a[len(body):]), (a, b)
        label = b[len(body) + 1 : len(b) - (len(a) - len(body))]
        if header and not seen_header:
            assert label == "label"
            seen_header = True
        else:
            labels_out.append(int(label))
    sk = pytest.importorskip("sklearn.cluster")
    ref = sk.MeanShift(bandwidth=3).fit(values)
    assert np.array_equal(labels_out, ref.labels_)


def test_cli_cluster_header_rules_and_delimiters(capsys, folder):
    cases = [
        ("x;y\n1;2\n1.5;2.5\n", ",", ["every line is one field", "use --delimiter ';'"]),
        ("1;2\n1.5;2.5\n", ",", ["every line is one field (line 1: '1;2')", "use --delimiter ';'"]),
        ("1\t2\n3\t4\n", ";", ["use --delimiter '\\t' (a tab)"]),
        ("x,y,z\n1,2\n3,4\n", ",", ["line 1", "the header has 3 fields but the data rows 2"]),
        ("x,y\n", ",", ["line 1", "a header but no data rows"]),
        ("\n  \n", ",", ["no data"]),
        ("x,y\n1,2\n3,inf\n", ",", ["line 3", "'inf' is not a finite number"]),
        ("1,2\n3,oops\n", ",", ["line 2", "not all numbers: '3,oops'"]),
    ]
    for text, delimiter, needles in cases:
        (folder / "h.csv").write_text(text)
        code, _, err = run_cli(capsys, "cluster", folder / "h.csv", "--bandwidth", "1", "--delimiter", delimiter)
        assert_one_line_error(code, err, *needles)
    for bad in ("ab", "", "1", "\n", '"'):
        code, _, err = run_cli(capsys, "cluster", folder / "h.csv", "--delimiter", bad)
        assert_one_line_error(code, err, "--delimiter")
    (folder / "t.csv").write_text("1\t2\n1.2\t2\n")
    code, out, err = run_cli(capsys, "cluster", folder / "t.csv", "--bandwidth", "1", "--delimiter", "\\t")
    assert code == 0 and "2 points, 1 cluster," in out, err


def test_cli_file_errors_are_one_line(capsys, folder):
    (folder / "binary.csv").write_bytes(b"\xff\xfe\x00\x01" * 10)
    code, _, err = run_cli(capsys, "cluster", folder / "binary.csv")
    assert_one_line_error(code, err, "binary.csv")
    code, _, err = run_cli(capsys, "cluster", folder)
    assert_one_line_error(code, err, "is a folder")
    with tempfile.NamedTemporaryFile("w", suffix=".csv", dir=folder, delete=False) as f:
        f.write("1,2\n")
    code, _, err = run_cli(capsys, "cluster", f.name)  # one point: the estimate is 0
    assert_one_line_error(code, err, "give --bandwidth")


class Worked(Exception):
    """Raised in place of the work: the options were accepted."""


def positive(v):
    try:
        return np.isfinite(float(v)) and float(v) > 0
    except ValueError:
        return False


def integer_at_least(m):
    def ok(v):
        try:
            return int(v) >= m
        except ValueError:
            return False

    return ok


OPTIONS = {  # option: (subcommand, method, rule for a valid value)
    "--bandwidth": ("segment", "colors", positive),
    "--quantile": ("cluster", None, lambda v: positive(v) and float(v) <= 1),
    "--n-samples": ("segment", "colors", integer_at_least(1)),
    "--spatial-radius": ("segment", "joint", positive),
    "--range-radius": ("segment", "joint", positive),
    "--min-region-size": ("segment", "joint", integer_at_least(0)),
    "--max-iter": ("segment", "joint", integer_at_least(1)),
    "--kernel": ("cluster", None, lambda v: v in ("flat", "epanechnikov", "biweight", "triweight", "gaussian")),
}
VALUES = ["0", "-0", "-1", "1", "2", "0.5", "1.5", "3.0", "1e400", "1e-320", "nan", "inf", "-inf", "", "abc",
          "0x10", "1_000", " 3", "True", "gaussian", "-1e5"]


@settings(max_examples=40, suppress_health_check=WITH_CAPSYS)
@given(option=st.sampled_from(list(OPTIONS)), value=st.one_of(st.sampled_from(VALUES), st.text(max_size=4)))
def test_cli_option_values_are_checked_before_any_work(capsys, folder, monkeypatch, option, value):
    from jaxshift import cluster, image

    def worked(*args, **kwargs):
        raise Worked

    for module, name in [(image, "segment_colors"), (image, "segment"), (cluster, "MeanShift"),
                         (cluster, "estimate_bandwidth")]:
        monkeypatch.setattr(module, name, worked)
    command, method, valid = OPTIONS[option]
    if command == "segment":
        save_image(folder / "opt.png", np.zeros((2, 3, 3), np.uint8))
        argv = ["segment", folder / "opt.png", "-o", folder / "opt_out.png", "--method", method]
    else:
        (folder / "opt.csv").write_text("1,2\n3,4\n")
        argv = ["cluster", folder / "opt.csv"]
    code, _, err = run_cli(capsys, *argv, option, value)
    if valid(value):
        assert code == 1 and "unexpected Worked" in err, err  # accepted: the work started
    else:
        assert_one_line_error(code, err, option)
        assert code == 2, err
