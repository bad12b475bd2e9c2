"""Pixel arrays in and out of numdream's one picture format, uint8 (H, W, 3) RGB, for images.py.

    rgb = over_white(rgba)                 # (H, W, 4) -> (H, W, 3): what a viewer shows
    rgba = array_to_pixels(a, keep_alpha=True)   # any (H, W[, C]) array -> uint8 (H, W, 3 or 4)

Kept apart from the file decoding of numdream/images.py: these are the conversions of values
(16-bit, float, bool, gray, gray + alpha), the same for an array and for a decoded file.
"""
import numpy as np

from .backend import to_host
from .errors import ImageError
from .fileio import one_line


def gray_to_rgb(gray):
    """(H, W) uint8 -> (H, W, 3) uint8 with three equal channels."""
    return np.ascontiguousarray(np.repeat(gray[:, :, None], 3, axis=2))


def over_white(rgba):
    """(H, W, 4) uint8 -> (H, W, 3) uint8: composite over white, rounded to nearest."""
    rgb = rgba[:, :, :3].astype(np.uint32)
    alpha = rgba[:, :, 3:].astype(np.uint32)
    out = (rgb * alpha + 255 * (255 - alpha) + 127) // 255
    return out.astype(np.uint8)


def float_to_uint8(a, name, stretch=False):
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


def array_to_pixels(source, keep_alpha=False):
    """Array-like (H, W) or (H, W, C) with C in 1..4 -> (H, W, 3) uint8, a new C-contiguous array.

    Gray + alpha (C = 2) and RGBA (C = 4) are composited over white, or with ``keep_alpha``
    returned as (H, W, 4) RGBA with their colour as it is (gray repeated into RGB).
    """
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
        a = float_to_uint8(a, name)
    elif a.min() < 0 or a.max() > 255:
        raise ImageError(f"integer image array ({a.dtype}) has values in [{a.min()}, {a.max()}]; "
                         "valid values lie in [0, 255] (or use uint16 for 16-bit)")
    a = a.astype(np.uint8, copy=False)
    if a.shape[2] in (2, 4):  # gray+alpha or RGBA
        color = a[:, :, :-1] if a.shape[2] == 4 else np.repeat(a[:, :, :1], 3, axis=2)
        a = np.concatenate([color, a[:, :, -1:]], axis=2)
        if not keep_alpha:
            a = over_white(a)
    elif a.shape[2] == 1:
        a = np.repeat(a, 3, axis=2)
    return np.array(a, dtype=np.uint8, order="C", copy=True)
