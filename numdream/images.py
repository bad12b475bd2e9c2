"""Image IO: read any photo into a (H, W, 3) uint8 RGB array, and write one back safely.

This module knows files and pixels only; the dream engine does its own resizing and
preprocessing. Every failure a user can cause raises ImageError with one line naming
the file and the problem.

Conversions made by ``load_image`` (files, PIL images and arrays alike):

- EXIF orientation is applied, so the array is upright as a photo viewer shows it.
- Grayscale (L, 1, I;16*, I, F) is repeated into three equal channels.
- Transparency (RGBA, LA, P or L/RGB with a transparent colour) is composited over
  white: the colour under a fully transparent pixel is often garbage, and white is what
  a viewer shows. ``load_image_and_alpha`` keeps the colour and the alpha apart instead,
  for a dream that puts the alpha back.
- 16-bit values are scaled by 255/65535 and rounded (65535 -> 255, 32768 -> 128), never
  clipped. Mode I (32-bit int, how Pillow holds some 16-bit files) is taken as 16-bit.
- Float pixels in [0, 1] are scaled by 255, floats in [0, 255] are kept; a float (F)
  file outside both ranges is stretched from its min..max, a float array is rejected.
- Animated files give their first frame; a PIL image gives its current frame.
- Pillow's decompression-bomb limit (``PIL.Image.MAX_IMAGE_PIXELS``) stays in force;
  a larger image is refused.
"""
import contextlib
import io
import os
import re
import warnings
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from .backend import to_host
from .errors import ImageError
from .fileio import atomic_write, one_line, open_regular_file, os_reason, resolved
from .imagemeta import settings_save_options
from .pixels import array_to_pixels, float_to_uint8, gray_to_rgb, over_white

DATA_DIR = Path(__file__).parent / "data"
SAMPLES = {"chelsea": DATA_DIR / "chelsea.png", "rocket": DATA_DIR / "rocket.jpg"}

# extension -> (Pillow format, whether it takes a quality)
FORMATS = {".png": ("PNG", False), ".jpg": ("JPEG", True), ".jpeg": ("JPEG", True),
           ".webp": ("WEBP", True), ".bmp": ("BMP", False), ".tif": ("TIFF", False),
           ".tiff": ("TIFF", False)}
_VALID_EXT = ", ".join(FORMATS)
NO_ALPHA = ("JPEG", "BMP")  # formats whose RGBA is composited over white when written
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
    return _load(source, keep_alpha=False)


def load_image_and_alpha(source):
    """(rgb, alpha) of ``source`` (as load_image takes it), the colour not composited.

    returns: rgb (H, W, 3) uint8, the colour as stored (under a transparent pixel, whatever the
    file holds there), and alpha (H, W) uint8, or None when the source has no transparency.
    """
    pixels = _load(source, keep_alpha=True)
    if pixels.shape[2] == 3:
        return pixels, None
    return np.ascontiguousarray(pixels[:, :, :3]), np.ascontiguousarray(pixels[:, :, 3])


def load_image_bytes(data, name="stdin", keep_alpha=False):
    """load_image (or, with keep_alpha, the (H, W, 3 or 4) pixels) of an encoded image in ``data``
    (bytes, e.g. read from standard input), with the same checks and messages as a file's."""
    with _read_errors(name):
        return _open_and_decode(io.BytesIO(data), name, keep_alpha)


def _load(source, keep_alpha):
    if isinstance(source, (str, os.PathLike)):
        return _load_file(Path(source), keep_alpha)
    if isinstance(source, Image.Image):
        name = getattr(source, "filename", "") or "PIL image"
        with _read_errors(name):
            return _decode(source, name, keep_alpha)
    return array_to_pixels(source, keep_alpha)


def _load_file(path, keep_alpha=False):
    """Open, fully decode and convert one file; every failure becomes one ImageError line.

    Only a regular file is opened: a FIFO, a device, a folder, a socket or a loop of links is
    named as such (numdream.fileio.open_regular_file), and nothing blocks on a pipe."""
    with open_regular_file(path, "image", ImageError) as f, _read_errors(str(path)):
        return _open_and_decode(f, str(path), keep_alpha)


def _open_and_decode(f, name, keep_alpha):
    # The bomb *warning* is raised as an error so the limit is MAX_IMAGE_PIXELS, not twice it.
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        with Image.open(f) as im:
            return _decode(im, name, keep_alpha)


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


def _decode(im, name, keep_alpha=False):
    """Force a full decode (so truncation surfaces here), rotate upright, convert to RGB (or to
    RGBA, with ``keep_alpha``, when the image has transparency)."""
    im.load()
    im = ImageOps.exif_transpose(im)
    mode = im.mode
    if mode in _MODES_16BIT:
        gray = np.asarray(im).astype(np.float64).clip(0, 65535) * (255 / 65535)
        return gray_to_rgb(np.rint(gray).astype(np.uint8))
    if mode == "F":
        return gray_to_rgb(float_to_uint8(np.asarray(im), name, stretch=True))
    if mode in ("1", "L") and "transparency" not in im.info:
        return gray_to_rgb(np.asarray(im.convert("L")))
    if mode in ("RGBA", "LA", "PA", "RGBa", "La") or "transparency" in im.info:
        rgba = np.asarray(im.convert("RGBA"))
        return np.array(rgba, order="C") if keep_alpha else over_white(rgba)
    return np.ascontiguousarray(np.asarray(im.convert("RGB")), dtype=np.uint8).copy()


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


def save_image(path, image, quality=95, settings=None):
    """Write ``image`` to ``path`` atomically (numdream.fileio.atomic_write).

    image: uint8 (H, W, 3) RGB, (H, W, 4) RGBA or (H, W) gray (a CuPy array is copied to the
    host first). RGBA keeps its alpha in PNG, WebP and TIFF; JPEG and BMP (whose alpha few
    readers honour) get it composited over white.
    path: its extension picks the format (see FORMATS); the folder must already exist.
    quality: 1..100, used by .jpg/.jpeg/.webp. settings: text (numdream's record of how the
    image was made) stored in the file where its format has a place (numdream.imagemeta).
    An existing file at ``path`` is replaced whole or not at all; no temp file is left
    behind on failure.
    """
    path = check_output_path(path)
    picture, fmt, options = _encoding(str(path), path.suffix.lower(), image, quality, settings)
    try:
        with atomic_write(path) as tmp, open(tmp, "wb") as f:
            picture.save(f, format=fmt, **options)
    except (OSError, ValueError, KeyError) as err:
        raise ImageError(f"cannot write image {str(path)!r}: {one_line(err)}") from None


def image_bytes(image, ext=".png", quality=95, settings=None, name="stdout"):
    """``image`` encoded as save_image would write it to a file ending in ``ext``, as bytes
    (for standard output: the whole picture is encoded before the first byte is written)."""
    picture, fmt, options = _encoding(name, ext, image, quality, settings)
    buffer = io.BytesIO()
    try:
        picture.save(buffer, format=fmt, **options)
    except (OSError, ValueError, KeyError) as err:
        raise ImageError(f"cannot encode image for {name}: {one_line(err)}") from None
    return buffer.getvalue()


def _encoding(name, ext, image, quality, settings):
    """(PIL image, Pillow format, save options) for ``image`` written as ``ext``."""
    fmt, takes_quality = FORMATS[ext]
    if isinstance(quality, bool) or not isinstance(quality, int) or not 1 <= quality <= 100:
        raise ImageError(f"image quality {quality!r} is invalid; "
                         "valid qualities are integers 1..100")
    pixels = np.asarray(to_host(image))
    shape_ok = pixels.ndim == 2 or (pixels.ndim == 3 and pixels.shape[2] in (3, 4))
    if pixels.dtype != np.uint8 or not shape_ok or 0 in pixels.shape:
        raise ImageError(f"cannot write image {name!r}: pixels are {pixels.dtype} {pixels.shape}; valid "
                         "pixels are uint8 of shape (H, W, 3), (H, W, 4) or (H, W), H, W > 0")
    if pixels.ndim == 3 and pixels.shape[2] == 4 and fmt in NO_ALPHA:
        pixels = over_white(pixels)
    picture = Image.fromarray(np.ascontiguousarray(pixels))
    options = {"quality": quality} if takes_quality else {}
    if settings is not None:
        options.update(settings_save_options(fmt, settings))
    return picture, fmt, options


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
