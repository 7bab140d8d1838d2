"""jaxshift.image: OpenCV parity of filter_image, segmentation, colour clustering, I/O, validation.

Only the tests that compare with OpenCV need it (``needs_cv2``); the rest run without it.
"""

import jax
import numpy as np
import pytest

from jaxshift import image
from jaxshift.image import filter_image, load_image, save_image, segment, segment_colors

try:
    import cv2
except ImportError:  # a test extra: only the OpenCV parity tests need it
    cv2 = None

needs_cv2 = pytest.mark.skipif(cv2 is None, reason="OpenCV (opencv-python-headless, a test extra) is not installed")


# ------------------------------------------------------------------------ helpers


def psnr(a, b):
    mse = np.mean((np.asarray(a, np.float64) - np.asarray(b, np.float64)) ** 2)
    return np.inf if mse == 0 else 10 * np.log10(255.0**2 / mse)


def same_partition(a, b):
    """True when label maps ``a`` and ``b`` define the same regions (any label names)."""
    a, b = np.asarray(a).ravel(), np.asarray(b).ravel()
    pairs = np.unique(np.stack([a, b], 1), axis=0)
    return len(pairs) == len(np.unique(a)) == len(np.unique(b))


def _photo(name):
    if name == "grace_hopper":
        cbook = pytest.importorskip("matplotlib.cbook")  # the photos come with test extras

        with cbook.get_sample_data("grace_hopper.jpg") as f:
            from PIL import Image

            return np.asarray(Image.open(f).convert("RGB"))
    datasets = pytest.importorskip("sklearn.datasets")
    return datasets.load_sample_image(f"{name}.jpg")


def photo(name, shape=(96, 128)):
    """A real photo, centre-cropped to the aspect of ``shape`` and downscaled (fast tests)."""
    img = _photo(name)
    h, w = img.shape[:2]
    th, tw = shape
    scale = min(h / th, w / tw)
    ch, cw = int(th * scale), int(tw * scale)
    y, x = (h - ch) // 2, (w - cw) // 2
    from PIL import Image

    crop = np.ascontiguousarray(img[y : y + ch, x : x + cw])
    return np.asarray(Image.fromarray(crop).resize((tw, th), Image.Resampling.BOX))  # area averaging


def reference_filter(img, sp, sr, max_iter=5, eps=1.0):
    """A direct, per-pixel transcription of OpenCV's level-0 loop with float colours
    (no colour rounding): the semantics filter_image promises for float images."""
    h, w, _ = img.shape
    src = img.astype(np.float64)
    out = np.empty_like(src)
    for i in range(h):
        for j in range(w):
            x0, y0, c = j, i, src[i, j].copy()
            for _ in range(max_iter):
                minx, miny = max(int(np.rint(x0 - sp)), 0), max(int(np.rint(y0 - sp)), 0)
                maxx, maxy = min(int(np.rint(x0 + sp)), w - 1), min(int(np.rint(y0 + sp)), h - 1)
                win = src[miny : maxy + 1, minx : maxx + 1]
                m = ((win - c) ** 2).sum(-1) <= sr * sr
                if not m.any():
                    break
                ys, xs = np.nonzero(m)
                x1, y1 = int(np.rint((xs + minx).mean())), int(np.rint((ys + miny).mean()))
                s = win[m].mean(0)
                stop = (x0 == x1 and y0 == y1) or abs(x1 - x0) + abs(y1 - y0) + ((s - c) ** 2).sum() <= eps
                x0, y0, c = x1, y1, s
                if stop:
                    break
            out[i, j] = c
    return out


TERM = None if cv2 is None else cv2.TERM_CRITERIA_MAX_ITER | cv2.TERM_CRITERIA_EPS


# ----------------------------------------------------------------- OpenCV parity


def test_round_div_matches_double_precision_cvround():
    """OpenCV's mean is cvRound(s * (1.0 / n)) in double; at exact ties s / n = k + 1/2 the
    product's rounding error decides. Check every tie for n <= 1681 (window of radius
    20) and q up to 600, and random non-ties."""
    ns = np.arange(2, 1682, 2)
    q = np.arange(0, 600)
    n = np.repeat(ns, q.size)
    s = np.tile(q, ns.size) * n + n // 2
    tau, sign = image._tie_table(1681)
    rng = np.random.default_rng(0)
    n_rand = rng.integers(1, 1682, 100_000)
    s_rand = rng.integers(0, 255 * n_rand + 1)
    # The ties and the random pairs in one jitted call (as in the filter): one program.
    n_all, s_all = np.concatenate([n, n_rand]), np.concatenate([s, s_rand])
    got_all = np.asarray(jax.jit(image._round_div)(s_all.astype(np.int32), n_all.astype(np.int32), tau[n_all],
                                                   sign[n_all]))
    got, got_rand = got_all[: len(n)], got_all[len(n):]
    want = np.rint(s * (1.0 / n)).astype(np.int64)
    assert np.array_equal(got, want), np.flatnonzero(got != want)[:10]
    # Both tie outcomes occur, so the test would see a plain half-to-even rounding.
    assert np.any(want != np.rint(s / n))
    assert np.array_equal(got_rand, np.rint(s_rand * (1.0 / n_rand)).astype(np.int64))


@pytest.mark.parametrize("name", ["china", "flower", "grace_hopper"])
@pytest.mark.parametrize(
    "sp, sr, max_iter, eps",
    [(5, 15.0, 5, 1.0), (7.5, 30.0, 3, 2.0)],  # OpenCV's default criteria; a half-integer window, other stops
)
@needs_cv2
def test_filter_image_matches_opencv_on_photos(name, sp, sr, max_iter, eps):
    img = photo(name)
    want = cv2.pyrMeanShiftFiltering(img, sp, sr, maxLevel=0, termcrit=(TERM, max_iter, eps))
    got = filter_image(img, spatial_radius=sp, range_radius=sr, max_iter=max_iter, eps=eps)
    assert got.shape == img.shape and got.dtype == np.uint8
    # The integer arithmetic is OpenCV's, to the rounding of ties: every pixel equal.
    assert np.array_equal(got, want), (np.sum(np.any(got != want, axis=-1)), psnr(got, want))


def test_filter_image_chunked_equals_whole(monkeypatch):
    """Tiny tiles and chunks (many jitted calls, padded last chunks) give the same result."""
    img = photo("flower", (40, 56))
    whole = filter_image(img, spatial_radius=4, range_radius=20)
    monkeypatch.setattr(image._filter, "_CHUNK_PIXELS", 100)  # the filter's tunables live beside it
    monkeypatch.setattr(image._filter, "_WINDOW_BUDGET", 1000)
    calls = []
    tiled = filter_image(img, spatial_radius=4, range_radius=20, progress=lambda d, t: calls.append((d, t)))
    assert np.array_equal(whole, tiled)
    assert calls[-1] == (img.shape[0] * img.shape[1],) * 2
    assert [d for d, _ in calls] == sorted(d for d, _ in calls)
    if cv2 is not None:  # and both are OpenCV's result
        assert np.array_equal(whole, cv2.pyrMeanShiftFiltering(img, 4, 20, maxLevel=0))


def test_filter_image_float_follows_the_reference_loop():
    rng = np.random.default_rng(1)
    img = np.repeat(np.repeat(rng.uniform(0, 1, (3, 4, 3)), 4, 0), 4, 1)
    img = np.clip(img + rng.normal(0, 0.05, img.shape), 0, 1)
    for dtype in (np.float32, np.float64):
        got = filter_image(img.astype(dtype), spatial_radius=3, range_radius=0.25, eps=1e-3)
        assert got.dtype == dtype
        want = reference_filter(img.astype(dtype), 3, 0.25, eps=1e-3)
        np.testing.assert_allclose(got, want, atol=1e-5)


def test_filter_image_grey_rgba_and_channel_layouts():
    img = photo("china", (32, 40))
    grey = img[:, :, 1]
    # Grey d^2 <= 100 is grey-as-RGB 3 d^2 <= 300; with eps=0 the stop rules agree too.
    g = filter_image(grey, spatial_radius=3, range_radius=10, eps=0)
    g3 = filter_image(np.repeat(grey[:, :, None], 3, 2), spatial_radius=3, range_radius=300**0.5, eps=0)
    assert g.shape == grey.shape and np.array_equal(g, g3[:, :, 0])
    assert np.array_equal(filter_image(grey[:, :, None], spatial_radius=3, range_radius=10, eps=0)[:, :, 0], g)
    alpha = np.random.default_rng(0).integers(0, 256, img.shape[:2], dtype=np.uint8)
    rgba = np.concatenate([img, alpha[:, :, None]], 2)
    out = filter_image(rgba, spatial_radius=3, range_radius=12)
    assert np.array_equal(out[:, :, 3], alpha)
    assert np.array_equal(out[:, :, :3], filter_image(img, spatial_radius=3, range_radius=12))


@pytest.mark.parametrize(
    "bad, match",
    [
        (np.zeros((4, 4, 2), np.uint8), r"image must be greyscale .* got shape \(4, 4, 2\)"),
        (np.zeros((4, 4, 3), np.int16), "image must have dtype uint8 or a float dtype, got int16"),
        (np.zeros((4,), np.uint8), r"got shape \(4,\)"),
        (np.zeros((0, 4, 3), np.uint8), "image is empty"),
        (np.full((2, 2), np.nan), "image must be finite, got nan"),
        ("photo.png", "use load_image"),
    ],
)
def test_bad_images_are_refused(bad, match):
    for fn in (
        lambda im: filter_image(im, spatial_radius=2, range_radius=5),
        lambda im: segment(im, spatial_radius=2, range_radius=5),
        lambda im: segment_colors(im, bandwidth=5),
    ):
        with pytest.raises(ValueError, match=match):
            fn(bad)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(spatial_radius=0), "spatial_radius must be a finite number > 0, got 0"),
        (dict(spatial_radius=float("nan")), "spatial_radius must be .* got nan"),
        (dict(range_radius=-1.0), "range_radius must be a finite number > 0, got -1.0"),
        (dict(range_radius=True), "range_radius must be .* got True"),
        (dict(max_iter=0), "max_iter must be an integer >= 1, got 0"),
        (dict(max_iter=2.5), "max_iter must be an integer >= 1, got 2.5"),
        (dict(eps=-0.5), "eps must be a finite number >= 0, got -0.5"),
    ],
)
def test_bad_filter_parameters_are_refused(kwargs, match):
    args = dict(spatial_radius=2, range_radius=5) | kwargs
    img = np.zeros((4, 4, 3), np.uint8)
    with pytest.raises(ValueError, match=match):
        filter_image(img, **args)
    with pytest.raises(ValueError, match=match):
        segment(img, **args)
    with pytest.raises(ValueError, match="min_region_size must be an integer >= 0, got -1"):
        segment(img, spatial_radius=2, range_radius=5, min_region_size=-1)


# ----------------------------------------------------------------- segmentation


def blocks_image(rng, noise, shape=(30, 36)):
    """Four flat colour rectangles plus uniform noise; returns ``(image, true labels)``."""
    h, w = shape
    truth = np.zeros(shape, np.int64)
    truth[: h // 2, w // 3 :] = 1
    truth[h // 2 :, : 2 * w // 3] = 2
    truth[h // 2 :, 2 * w // 3 :] = 3
    colors = np.array([[30, 30, 30], [220, 40, 40], [40, 200, 60], [60, 80, 230]])
    img = colors[truth] + rng.integers(-noise, noise + 1, truth.shape + (3,))
    return np.clip(img, 0, 255).astype(np.uint8), truth


def test_segment_recovers_flat_regions_and_merges_specks():
    img, truth = blocks_image(np.random.default_rng(0), 6)
    seg = segment(img, spatial_radius=4, range_radius=20)
    assert same_partition(seg.labels, truth) and seg.n_regions == 4
    assert seg.labels.dtype == np.int32 and sorted(np.unique(seg.labels)) == [0, 1, 2, 3]
    for k in range(4):
        np.testing.assert_allclose(seg.colors[k], img[seg.labels == k].mean(0))
    # A 2x2 speck of another colour is its own region, until min_region_size merges it
    # into the neighbour of nearest colour (blue, not black).
    img[3:5, 3:5] = (70, 90, 240)
    seg = segment(img, spatial_radius=1, range_radius=20)
    assert seg.n_regions == 5
    merged = segment(img, spatial_radius=1, range_radius=20, min_region_size=5)
    assert merged.n_regions == 4 and merged.labels[3, 3] == merged.labels[0, 0]
    # Nearest-colour rule: a speck straddling red and black joins red when its colour is reddish.
    img2, _ = blocks_image(np.random.default_rng(1), 3)
    img2[2:4, 11:13] = (200, 60, 100)
    m2 = segment(img2, spatial_radius=1, range_radius=20, min_region_size=5)
    assert m2.labels[2, 11] == m2.labels[0, 20] != m2.labels[0, 0]


def test_components_match_scipy_label():
    ndimage = pytest.importorskip("scipy.ndimage")
    rng = np.random.default_rng(2)
    for p in (0.3, 0.55, 0.8):
        mask = rng.random((40, 50)) < p
        a, b = image._grid_edges(*mask.shape)
        keep = mask.ravel()[a] & mask.ravel()[b]
        roots = image._components(mask.size, a[keep], b[keep]).reshape(mask.shape)
        want, _ = ndimage.label(mask)
        want[~mask] = -np.arange(1, (~mask).sum() + 1)  # every background pixel alone
        assert same_partition(roots, want)


# -------------------------------------------------------------- colour clusters


def test_segment_colors_recovers_noisy_flat_regions_exactly():
    for seed in range(3):
        img, truth = blocks_image(np.random.default_rng(seed), 12)
        res = segment_colors(img, bandwidth=40)
        assert same_partition(res.labels, truth)
        assert res.palette.shape == (4, 3) and res.labels.max() == 3
        assert res.quantized.dtype == np.uint8 and res.quantized.shape == img.shape
        assert np.array_equal(res.quantized, np.rint(res.palette[res.labels]).astype(np.uint8))
    # With the bandwidth estimated from a pixel sample, too.
    res = segment_colors(img, quantile=0.2, n_samples=200)
    assert same_partition(res.labels, truth) and res.bandwidth > 0


def test_segment_colors_weighted_unique_colours_equal_sklearn_on_all_pixels():
    """Clustering each distinct colour once, weighted by its count, is clustering every pixel."""
    MeanShift = pytest.importorskip("sklearn.cluster").MeanShift

    rng = np.random.default_rng(3)
    img = (rng.integers(0, 6, (20, 24, 3)) * 40 + rng.integers(0, 3, (20, 24, 3))).astype(np.uint8)
    for bin_seeding in (True, False):
        res = segment_colors(img, bandwidth=60, bin_seeding=bin_seeding)
        ref = MeanShift(bandwidth=60, bin_seeding=bin_seeding).fit(img.reshape(-1, 3).astype(np.float32))
        np.testing.assert_allclose(res.palette, ref.cluster_centers_, rtol=1e-4, atol=1e-3)
        assert np.array_equal(res.labels.ravel(), ref.labels_)


@pytest.mark.parametrize("dtype", ["uint8", "uint16", "float32", "float64"])
@pytest.mark.parametrize("channels", [1, 3, 4])
def test_unique_colors_on_integer_keys_equal_row_unique(dtype, channels):
    """Colours deduplicated on integer keys (packed bits, or per-channel ranks for floats;
    bincount or a 1-D sort) give exactly ``np.unique(axis=0)``: colours, order, inverse, counts."""
    rng = np.random.default_rng(channels)
    for n, levels in [(1, 3), (500, 4), (3000, 256), (70_000, 256)]:
        px = rng.integers(0, levels, (n, channels))
        px = px.astype(dtype) if dtype.startswith("uint") else (px / (levels - 1)).astype(dtype)
        px[n // 2:] = px[: n - n // 2]  # duplicates
        colors, inverse, counts = image._unique_colors(px)
        ref_colors, ref_inverse, ref_counts = np.unique(px, axis=0, return_inverse=True, return_counts=True)
        assert colors.dtype == px.dtype
        np.testing.assert_array_equal(colors, ref_colors)
        np.testing.assert_array_equal(inverse, ref_inverse.ravel())
        np.testing.assert_array_equal(counts, ref_counts)


def test_segment_colors_grey_float_and_rgba():
    rng = np.random.default_rng(4)
    truth = (np.arange(12)[:, None] // 6) * 2 + np.arange(16)[None, :] // 8
    levels = np.array([0.1, 0.35, 0.6, 0.9])
    grey = levels[truth] + rng.uniform(-0.03, 0.03, truth.shape)
    res = segment_colors(grey, bandwidth=0.1)
    assert same_partition(res.labels, truth)
    assert res.quantized.shape == grey.shape and res.quantized.dtype == np.float64
    np.testing.assert_allclose(np.sort(res.palette[:, 0]), levels, atol=0.02)
    rgba = np.dstack([np.repeat(grey[:, :, None], 3, 2), np.full(grey.shape, 0.5)]).astype(np.float32)
    res4 = segment_colors(rgba, bandwidth=0.2)
    assert same_partition(res4.labels, truth) and res4.palette.shape == (4, 3)
    assert np.all(res4.quantized[:, :, 3] == 0.5)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(bandwidth=0), "bandwidth must be a finite number > 0, got 0"),
        (dict(quantile=1.5), "quantile must be in \\(0, 1\\], got 1.5"),
        (dict(quantile=0), "quantile must be a finite number > 0, got 0"),
        (dict(n_samples=0), "n_samples must be an integer >= 1, got 0"),
        (dict(bin_seeding="yes"), "bin_seeding must be True or False, got 'yes'"),
        (dict(kernel="boxcar"), "boxcar"),
        (dict(random_state=-3), "random_state must be an integer >= 0, got -3"),
    ],
)
def test_bad_color_parameters_are_refused(kwargs, match):
    with pytest.raises(ValueError, match=match):
        segment_colors(np.zeros((4, 4, 3), np.uint8), **kwargs)


# ------------------------------------------------------------------------ files


def test_load_and_save_round_trip(tmp_path):
    rng = np.random.default_rng(5)
    rgb = rng.integers(0, 256, (7, 9, 3), dtype=np.uint8)
    rgba = np.dstack([rgb, rng.integers(0, 256, (7, 9), dtype=np.uint8)])
    grey = rgb[:, :, 0]
    for name, img in [("rgb.png", rgb), ("rgba.png", rgba), ("grey.png", grey), ("grey1.bmp", grey[:, :, None])]:
        save_image(tmp_path / name, img)
        back = load_image(tmp_path / name)
        assert np.array_equal(back, img.reshape(back.shape)) and back.ndim == img.ndim - (img.shape[-1] == 1)
    save_image(tmp_path / "f.png", rgb / 255.0)
    assert np.array_equal(load_image(tmp_path / "f.png"), rgb)
    save_image(tmp_path / "a.jpg", rgba)  # JPEG has no alpha: dropped
    assert load_image(tmp_path / "a.jpg").shape == (7, 9, 3)


def test_load_and_save_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="no such file"):
        load_image(tmp_path / "missing.png")
    (tmp_path / "junk.png").write_bytes(b"not an image")
    with pytest.raises(ValueError, match="cannot read image .*junk.png"):
        load_image(tmp_path / "junk.png")
    from PIL import Image

    Image.fromarray(np.zeros((3, 3), np.uint16) + 1000).save(tmp_path / "deep.png")
    with pytest.raises(ValueError, match="more than 8 bits"):
        load_image(tmp_path / "deep.png")
    with pytest.raises(ValueError, match="unknown file extension '.xyz'"):
        save_image(tmp_path / "out.xyz", np.zeros((3, 3), np.uint8))
    with pytest.raises(ValueError, match="image must be greyscale"):
        save_image(tmp_path / "out.png", np.zeros((3, 3, 5), np.uint8))


@needs_cv2
def test_filter_image_window_larger_than_the_image():
    img = photo("china", (12, 20))
    for sp in (15, 40.5):
        want = cv2.pyrMeanShiftFiltering(img, sp, 25, maxLevel=0)
        assert np.array_equal(filter_image(img, spatial_radius=sp, range_radius=25), want)
    one = img[:1, :1]
    assert np.array_equal(filter_image(one, spatial_radius=3, range_radius=5), one)


def test_the_library_imports_no_plotting_or_reference_library():
    """matplotlib is only an examples extra, OpenCV and scikit-learn only test extras."""
    import subprocess
    import sys

    code = (
        "import sys, numpy as np, jaxshift, jaxshift.image as im, jaxshift.cli\n"
        "img = np.zeros((4, 5, 3), np.uint8); img[:, 2:] = 200\n"
        "im.segment_colors(img, bandwidth=10); im.segment(img, spatial_radius=1, range_radius=5)\n"
        "bad = [m for m in ('matplotlib', 'cv2', 'sklearn', 'scipy') if m in sys.modules]\n"
        "assert not bad, bad\n"
    )
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr
