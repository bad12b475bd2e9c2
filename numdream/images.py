"""Image IO: read any photo into a (H, W, 3) uint8 RGB array, and write one back safely.

This module knows files and pixels only; the dream engine does its own resizing and
preprocessing. Every failure a user can cause raises ImageError with one line naming
the file and the problem.

Conversions made by ``load_image`` (files, PIL images and arrays alike):

- EXIF orientation is applied, so the array is upright as a photo viewer shows it.
- Grayscale (L, 1, I;16*, I, F) is repeated into three equal channels.
- Transparency (RGBA, LA, P or L/RGB with a transparent colour) is composited over
  white: the colour under a fully transparent pixel is often garbage, and white is what
  a viewer shows.
- 16-bit values are scaled by 255/65535 and rounded (65535 -> 255, 32768 -> 128), never
  clipped. Mode I (32-bit int, how Pillow holds some 16-bit files) is taken as 16-bit.
- Float pixels in [0, 1] are scaled by 255, floats in [0, 255] are kept; a float (F)
  file outside both ranges is stretched from its min..max, a float array is rejected.
- Animated files give their first frame; a PIL image gives its current frame.
- Pillow's decompression-bomb limit (``PIL.Image.MAX_IMAGE_PIXELS``) stays in force;
  a larger image is refused.
"""
import contextlib
import os
import re
import warnings
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from .backend import to_host
from .errors import ImageError
from .fileio import atomic_write, one_line, open_regular_file, os_reason, resolved

DATA_DIR = Path(__file__).parent / "data"
SAMPLES = {"chelsea": DATA_DIR / "chelsea.png", "rocket": DATA_DIR / "rocket.jpg"}

# extension -> (Pillow format, whether it takes a quality)
FORMATS = {".png": ("PNG", False), ".jpg": ("JPEG", True), ".jpeg": ("JPEG", True),
           ".webp": ("WEBP", True), ".bmp": ("BMP", False), ".tif": ("TIFF", False),
           ".tiff": ("TIFF", False)}
_VALID_EXT = ", ".join(FORMATS)
_MODES_16BIT = ("I;16", "I;16L", "I;16B", "I;16N", "I")


def sample_path(name="chelsea"):
    """Path of a bundled sample photo: 'chelsea' (the default input) or 'rocket'."""
    if name not in SAMPLES:
        raise ImageError(f"unknown sample {name!r}; valid samples are {', '.join(SAMPLES)}")
    return SAMPLES[name]


def load_image(source):
    """Read ``source`` as RGB pixels.

    source: a path (str or Path) to anything Pillow reads, a PIL.Image, or an array of
        shape (H, W) gray, (H, W, 1), (H, W, 2) gray+alpha, (H, W, 3) RGB or (H, W, 4) RGBA,
        dtype uint8, uint16, bool, another integer type with values in [0, 255], or float
        in [0, 1] or [0, 255]. CuPy arrays are copied to the host.
    returns: (H, W, 3) uint8, C-contiguous, a new array.
    """
    if isinstance(source, (str, os.PathLike)):
        return _load_file(Path(source))
    if isinstance(source, Image.Image):
        name = getattr(source, "filename", "") or "PIL image"
        with _read_errors(name):
            return _decode(source, name)
    return _array_to_rgb(source)


def _load_file(path):
    """Open, fully decode and convert one file; every failure becomes one ImageError line.

    Only a regular file is opened: a FIFO, a device, a folder, a socket or a loop of links is
    named as such (numdream.fileio.open_regular_file), and nothing blocks on a pipe."""
    with open_regular_file(path, "image", ImageError) as f, _read_errors(str(path)):
        # The bomb *warning* is raised as an error so the limit is MAX_IMAGE_PIXELS, not twice it.
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(f) as im:
                return _decode(im, str(path))


@contextlib.contextmanager
def _read_errors(name):
    """Turn what Pillow and the OS raise while reading ``name`` into one ImageError line."""
    where = f"cannot read image {name!r}"
    try:
        yield
    except ImageError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as err:
        found = re.search(r"\((\d+) pixels\)", str(err))
        count = f"{int(found.group(1)):,} pixels" if found else "too many pixels"
        raise ImageError(
            f"{where}: it has {count}, more than the limit of {Image.MAX_IMAGE_PIXELS:,} "
            "(PIL.Image.MAX_IMAGE_PIXELS, a guard against decompression bombs); "
            "shrink the image first") from None
    except FileNotFoundError:
        raise ImageError(f"{where}: no such file") from None
    except PermissionError:
        raise ImageError(f"{where}: permission denied") from None
    except UnidentifiedImageError:
        raise ImageError(f"{where}: not an image format Pillow can read "
                         "(or the file is corrupt)") from None
    except (OSError, SyntaxError, ValueError, EOFError, IndexError, MemoryError) as err:
        # Pillow reports truncated or corrupt data as OSError, SyntaxError or ValueError.
        raise ImageError(f"{where}: truncated or corrupt ({one_line(err)})") from None


def _decode(im, name):
    """Force a full decode (so truncation surfaces here), rotate upright, convert to RGB."""
    im.load()
    im = ImageOps.exif_transpose(im)
    mode = im.mode
    if mode in _MODES_16BIT:
        gray = np.asarray(im).astype(np.float64).clip(0, 65535) * (255 / 65535)
        return _gray_to_rgb(np.rint(gray).astype(np.uint8))
    if mode == "F":
        return _gray_to_rgb(_float_to_uint8(np.asarray(im), name, stretch=True))
    if mode in ("1", "L") and "transparency" not in im.info:
        return _gray_to_rgb(np.asarray(im.convert("L")))
    if mode in ("RGBA", "LA", "PA", "RGBa", "La") or "transparency" in im.info:
        return _over_white(np.asarray(im.convert("RGBA")))
    return np.ascontiguousarray(np.asarray(im.convert("RGB")), dtype=np.uint8).copy()


def _gray_to_rgb(gray):
    """(H, W) uint8 -> (H, W, 3) uint8 with three equal channels."""
    return np.ascontiguousarray(np.repeat(gray[:, :, None], 3, axis=2))


def _over_white(rgba):
    """(H, W, 4) uint8 -> (H, W, 3) uint8: composite over white, rounded to nearest."""
    rgb = rgba[:, :, :3].astype(np.uint32)
    alpha = rgba[:, :, 3:].astype(np.uint32)
    out = (rgb * alpha + 255 * (255 - alpha) + 127) // 255
    return out.astype(np.uint8)


def _float_to_uint8(a, name, stretch=False):
    """Float (H, W[, C]) -> uint8: [0, 1] is scaled by 255, [0, 255] is kept.

    Outside both ranges a file (``stretch``) maps min..max to 0..255; an array is refused.
    """
    a = np.asarray(a, dtype=np.float64)
    if not np.all(np.isfinite(a)):
        raise ImageError(f"cannot read image {name!r}: it has NaN or infinite pixel values")
    lo, hi = (float(a.min()), float(a.max())) if a.size else (0.0, 0.0)
    if lo >= 0 and hi <= 1:
        a = a * 255
    elif lo < 0 or hi > 255:
        if not stretch:
            raise ImageError(f"float image {name!r} has values in [{lo:g}, {hi:g}]; "
                             "valid float pixels lie in [0, 1] or in [0, 255]")
        a = (a - lo) * (255 / (hi - lo)) if hi > lo else np.zeros_like(a)
    return np.rint(a).astype(np.uint8)


def _array_to_rgb(source):
    """Array-like (H, W) or (H, W, C) with C in 1..4 -> (H, W, 3) uint8."""
    name = "array"
    try:
        a = to_host(source)
    except Exception as err:
        raise ImageError(f"cannot use {type(source).__name__} as an image ({one_line(err)}); "
                         "give a path, a PIL.Image or an (H, W, 3) array") from None
    if a.dtype == object or a.dtype.kind not in "buif":
        raise ImageError(f"cannot use {type(source).__name__} (dtype {a.dtype}) as an image; "
                         "give a path, a PIL.Image or an (H, W, 3) numeric array")
    if a.ndim == 2:
        a = a[:, :, None]
    if a.ndim != 3 or a.shape[2] not in (1, 2, 3, 4) or 0 in a.shape:
        hint = ""
        if a.ndim == 3 and a.shape[0] in (1, 3, 4):
            hint = " (channels-first? use np.moveaxis(x, 0, -1))"
        raise ImageError(f"image array has shape {a.shape}; valid shapes are (H, W), (H, W, 1), "
                         f"(H, W, 2), (H, W, 3) or (H, W, 4) with H, W > 0{hint}")
    if a.dtype == np.uint8:
        pass
    elif a.dtype == bool:
        a = a.astype(np.uint8) * 255
    elif a.dtype == np.uint16:
        a = np.rint(a * (255 / 65535)).astype(np.uint8)
    elif a.dtype.kind == "f":
        a = _float_to_uint8(a, name)
    elif a.min() < 0 or a.max() > 255:
        raise ImageError(f"integer image array ({a.dtype}) has values in [{a.min()}, {a.max()}]; "
                         "valid values lie in [0, 255] (or use uint16 for 16-bit)")
    a = a.astype(np.uint8, copy=False)
    if a.shape[2] in (2, 4):  # gray+alpha or RGBA: composite over white
        color = a[:, :, :-1] if a.shape[2] == 4 else np.repeat(a[:, :, :1], 3, axis=2)
        a = _over_white(np.concatenate([color, a[:, :, -1:]], axis=2))
    elif a.shape[2] == 1:
        a = np.repeat(a, 3, axis=2)
    return np.array(a, dtype=np.uint8, order="C", copy=True)


def check_output_path(path):
    """Fail early, before a long dream, if ``path`` cannot be written by save_image.

    Checks the extension (see FORMATS), that the folder exists and is writable, and that
    ``path`` is not a directory. Folders are never created: a typo fails instead.
    returns: Path(path).
    """
    path = Path(path)
    where = f"cannot write image {str(path)!r}"
    try:
        _check_writable(path, where)
    except OSError as err:  # pathlib raises for a name too long for the file system
        raise ImageError(f"{where}: {os_reason(err)}") from None
    return path


def _check_writable(path, where):
    if path.is_dir():
        raise ImageError(f"{where}: it is a directory; give a file name such as "
                         f"{str(path / 'dream.png')!r}")
    if path.suffix.lower() not in FORMATS:
        raise ImageError(f"{where}: unsupported extension {path.suffix or '(none)'!r}; "
                         f"valid extensions are {_VALID_EXT}")
    if not path.parent.is_dir():
        raise ImageError(f"{where}: folder {str(path.parent)!r} does not exist")
    if not os.access(path.parent, os.W_OK | os.X_OK):
        raise ImageError(f"{where}: folder {str(path.parent)!r} is not writable")


def save_image(path, image, quality=95):
    """Write ``image`` to ``path`` atomically (numdream.fileio.atomic_write).

    image: (H, W, 3) uint8 (a CuPy array is copied to the host first).
    path: its extension picks the format (see FORMATS); the folder must already exist.
    quality: 1..100, used by .jpg/.jpeg/.webp. An existing file at ``path`` is replaced
    whole or not at all; no temp file is left behind on failure.
    """
    path = check_output_path(path)
    fmt, takes_quality = FORMATS[path.suffix.lower()]
    if isinstance(quality, bool) or not isinstance(quality, int) or not 1 <= quality <= 100:
        raise ImageError(f"image quality {quality!r} is invalid; "
                         "valid qualities are integers 1..100")
    pixels = np.asarray(to_host(image))
    if pixels.dtype != np.uint8 or pixels.ndim != 3 or pixels.shape[2] != 3 or 0 in pixels.shape:
        raise ImageError(f"cannot write image {str(path)!r}: pixels are {pixels.dtype} "
                         f"{pixels.shape}; valid pixels are uint8 of shape (H, W, 3), H, W > 0")
    options = {"quality": quality} if takes_quality else {}
    try:
        with atomic_write(path) as tmp, open(tmp, "wb") as f:
            Image.fromarray(np.ascontiguousarray(pixels)).save(f, format=fmt, **options)
    except (OSError, ValueError, KeyError) as err:
        raise ImageError(f"cannot write image {str(path)!r}: {one_line(err)}") from None


def default_output_path(input_path, suffix="_dream", ext=None):
    """A new file name beside ``input_path`` that is neither the input nor an existing file.

    'photo.jpg' -> 'photo_dream.jpg', then 'photo_dream_2.jpg', ... . ``ext`` (e.g. '.png')
    overrides the extension; by default the input's is kept when save_image can write it,
    else '.png'. A bundled sample's output goes to the current directory instead of
    site-packages ('chelsea_dream.png').
    returns: Path (relative to the current directory for a bundled sample).
    """
    src = Path(input_path)
    if ext is None:
        ext = src.suffix if src.suffix.lower() in FORMATS else ".png"
    elif not ext.startswith("."):
        ext = "." + ext
    folder = src.parent
    if _same_path(folder, DATA_DIR):
        folder = Path(".")
    candidate, n = folder / f"{src.stem}{suffix}{ext}", 2
    try:
        while candidate.exists() or candidate.is_symlink() or _same_path(candidate, src):
            candidate, n = folder / f"{src.stem}{suffix}_{n}{ext}", n + 1
    except OSError as err:  # e.g. the input's name plus the suffix is too long for the file system
        raise ImageError(f"cannot name an output {str(candidate)!r} beside {str(src)!r}: "
                         f"{os_reason(err)}; name it with -o") from None
    return candidate


def _same_path(a, b):
    """True if paths ``a`` and ``b`` name the same file (by inode, or resolved spelling)."""
    a, b = Path(a), Path(b)
    try:
        if a.exists() and b.exists() and os.path.samefile(a, b):
            return True
    except OSError:
        pass
    return resolved(a) == resolved(b)


def check_not_input(output_path, input_path):
    """Raise ImageError if ``output_path`` is the input file (any spelling, symlink, hard link).

    input_path may be None, a PIL.Image or an array: then there is no file to protect.
    """
    if not isinstance(input_path, (str, os.PathLike)):
        return
    if _same_path(output_path, input_path):
        raise ImageError(f"output {str(output_path)!r} is the input image {str(input_path)!r}; "
                         "choose another output path so the input is not overwritten")
