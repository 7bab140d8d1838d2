"""Images in and out: arrays checked and split into colour and alpha, files read and written.

Every image function takes ``[H, W]``, ``[H, W, 1]``, ``[H, W, 3]`` or ``[H, W, 4]``
arrays of ``uint8`` or floats; :func:`_as_image` checks them once and splits off the
alpha channel, :func:`_restore` puts results back in the caller's layout.
:func:`load_image` and :func:`save_image` read and write files with Pillow.
"""

from __future__ import annotations

import math
import os
from typing import NamedTuple

import numpy as np
from jax.typing import ArrayLike

__all__ = ["load_image", "save_image"]


class _Image(NamedTuple):
    """A validated image split into what the algorithms see and what they carry."""

    color: np.ndarray  # [H, W, C], C in (1, 3), uint8 or float
    alpha: np.ndarray | None  # [H, W] or None
    shape: tuple  # the caller's shape, to give results back in
    dtype: np.dtype


def _as_image(image, name: str = "image") -> _Image:
    if isinstance(image, (str, bytes, os.PathLike)) or image is None:
        raise ValueError(f"{name} must be an array [H, W] or [H, W, C], got {image!r}; use load_image() for files")
    try:
        a = np.asarray(image)
    except Exception as exc:
        raise ValueError(f"{name} must be an array of pixel values, got {type(image).__name__}") from exc
    if a.dtype != np.uint8 and not np.issubdtype(a.dtype, np.floating):
        raise ValueError(f"{name} must have dtype uint8 or a float dtype, got {a.dtype}")
    if a.ndim not in (2, 3) or (a.ndim == 3 and a.shape[2] not in (1, 3, 4)):
        raise ValueError(
            f"{name} must be greyscale [H, W] or [H, W, 1], RGB [H, W, 3] or RGBA [H, W, 4], "
            f"got shape {a.shape}"
        )
    if a.shape[0] == 0 or a.shape[1] == 0:
        raise ValueError(f"{name} is empty (shape {a.shape})")
    if a.dtype != np.uint8 and not np.all(np.isfinite(a)):
        bad = tuple(int(i) for i in np.argwhere(~np.isfinite(a))[0])
        raise ValueError(f"{name} must be finite, got {a[bad].item()!r} at index {bad}")
    if a.dtype == np.float16:
        a = a.astype(np.float32)
    shape = a.shape
    if a.ndim == 2:
        a = a[:, :, None]
    alpha = None
    if a.shape[2] == 4:
        alpha, a = a[:, :, 3], a[:, :, :3]
    return _Image(np.ascontiguousarray(a), alpha, shape, a.dtype)


def _restore(img: _Image, color: np.ndarray) -> np.ndarray:
    """``[H, W, C]`` colours (in ``img.dtype``) back to the caller's layout."""
    if img.alpha is not None:
        color = np.concatenate([color, img.alpha[:, :, None]], axis=2)
    return color.reshape(img.shape)


def _to_dtype(values: np.ndarray, dtype) -> np.ndarray:
    if dtype == np.uint8:
        return np.clip(np.rint(values), 0, 255).astype(np.uint8)
    return values.astype(dtype)


def _number(v, name: str, *, minimum: float = 0.0, strict: bool = True) -> float:
    ok = isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool)
    if ok:
        f = float(v)
        ok = math.isfinite(f) and (f > minimum if strict else f >= minimum)
    if not ok:
        rel = ">" if strict else ">="
        raise ValueError(f"{name} must be a finite number {rel} {minimum:g}, got {v!r}")
    return float(v)



def load_image(path: str | os.PathLike) -> np.ndarray:
    """Read an image file with Pillow, as ``uint8``.

    Greyscale files give ``[H, W]``; files with transparency ``[H, W, 4]`` (RGBA);
    everything else ``[H, W, 3]`` (RGB).

    Args:
        path: the file.

    Returns:
        The pixels, ``uint8``.

    The file is untrusted input: Pillow's decompression-bomb limit
    (``PIL.Image.MAX_IMAGE_PIXELS``, about 89 million pixels: a warning above it, an
    error above twice it) is kept on, truncated files are refused, and any failure
    to decode is a ``ValueError`` naming the file. Multi-frame files (GIF, TIFF) give
    their first frame. 16-bit RGB PNGs are read by Pillow as 8 bits per channel.

    Args:
        path: the file.

    Returns:
        The pixels, ``uint8``.

    Raises:
        FileNotFoundError: if there is no such file.
        ValueError: if the path is a folder, the file is not an image Pillow can
            read (corrupt, truncated, over the decompression-bomb limit), or it has
            more than 8 bits per channel (16-bit greyscale, 32-bit integer or float
            pixels).

    Examples:
        >>> import os, tempfile, numpy as np
        >>> path = os.path.join(tempfile.mkdtemp(), "grey.png")
        >>> save_image(path, np.array([[0, 128, 255]], np.uint8))
        >>> load_image(path)
        array([[  0, 128, 255]], dtype=uint8)
    """
    from PIL import Image

    path = os.fspath(path)
    if os.path.isdir(path):
        raise ValueError(f"cannot read image {path!r}: it is a folder")
    if not os.path.isfile(path):
        raise FileNotFoundError(f"no such file: {path!r}")
    pixels = None
    try:
        with Image.open(path) as im:
            im.load()
            mode = im.mode
            if mode in ("1", "L"):
                pixels = np.asarray(im.convert("L"))
            elif mode not in ("I", "I;16", "I;16B", "I;16L", "F"):
                alpha = mode in ("RGBA", "LA", "PA", "La", "RGBa") or "transparency" in im.info
                pixels = np.asarray(im.convert("RGBA" if alpha else "RGB"))
    except MemoryError:
        raise
    except Exception as exc:  # untrusted bytes: whatever the decoder raises (OSError, bomb, struct.error, ...)
        raise ValueError(f"cannot read image {path!r}: {exc or type(exc).__name__}") from exc
    if pixels is None:
        raise ValueError(
            f"cannot read image {path!r}: {mode} pixels (more than 8 bits per channel) are not supported; "
            "convert it to 8 bits first"
        )
    return pixels


def save_image(path: str | os.PathLike, image: ArrayLike) -> None:
    """Write an image file with Pillow (format from the file extension).

    Args:
        path: the file to write.
        image: ``[H, W]``, ``[H, W, 1]``, ``[H, W, 3]`` or ``[H, W, 4]``, ``uint8``,
            or float in ``[0, 1]`` (clipped, scaled to 0-255). Formats without
            transparency (JPEG) drop the alpha channel; PNG and TIFF keep it (a BMP
            stores it, but Pillow reads 32-bit BMPs back as RGB).

    Raises:
        ValueError: for a bad image, an unknown file extension, or a format Pillow
            cannot write (or not with these channels).
        OSError: if the file cannot be written (no such folder, no permission).

    Examples:
        >>> import os, tempfile, numpy as np
        >>> path = os.path.join(tempfile.mkdtemp(), "rgb.png")
        >>> save_image(path, np.zeros((2, 3, 3), np.uint8))
        >>> load_image(path).shape
        (2, 3, 3)
    """
    from PIL import Image

    img = _as_image(image)
    a = np.asarray(image)
    if a.dtype != np.uint8:
        a = np.clip(np.rint(a.astype(np.float64) * 255.0), 0, 255).astype(np.uint8)
    if a.ndim == 3 and a.shape[2] == 1:
        a = a[:, :, 0]
    del img
    path = os.fspath(path)
    ext = os.path.splitext(path)[1].lower()
    Image.init()
    if ext not in Image.EXTENSION:
        raise ValueError(f"cannot save image to {path!r}: unknown file extension {ext!r}")
    fmt = Image.EXTENSION[ext]
    if fmt not in Image.SAVE:
        raise ValueError(f"cannot save image to {path!r}: Pillow cannot write {fmt} files")
    try:
        Image.fromarray(_for_format(a, fmt)).save(path, format=fmt)
    except (KeyError, ValueError) as exc:
        raise ValueError(f"cannot save image to {path!r}: {exc}") from exc
    except OSError as exc:
        if str(exc).startswith("cannot write mode"):  # Pillow: these channels in this format
            raise ValueError(f"cannot save image to {path!r}: {exc}") from exc
        raise


def _for_format(a: np.ndarray, fmt: str) -> np.ndarray:
    """``uint8`` pixels as the Pillow format ``fmt`` takes them: JPEG, which has no
    transparency, drops the alpha channel."""
    if fmt == "JPEG" and a.ndim == 3 and a.shape[2] == 4:
        return a[:, :, :3]
    return a
