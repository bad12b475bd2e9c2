"""Masks: where a dream may change the picture (white), where it may not (black), and blends
in between (gray).

    mask = load_mask("mask.png", (h, w))     # float32 (h, w) in [0, 1], 1 = dream fully

The dream loop multiplies every step's normalised gradient by the mask resized to the octave
(numdream.dream), so a step moves a pixel by its mask value times the step it would take
unmasked; and the detail carried up from a smaller octave is cut where the mask is 0, so that
the bilinear upsampling of an octave cannot spread the dream across the mask's edge. Where the
mask is 0, the dream is the photo, bit for bit.
"""
import numpy as np
from PIL import Image

from .colors import luminance
from .errors import ImageError, NumdreamError
from .images import load_image_and_alpha

ASPECT_TOLERANCE = 0.01  # of the image's height: a mask drawn at another scale may round differently


def load_mask(source, hw):
    """The mask of an image of hw = (H, W) pixels, as float32 (H, W) in [0, 1].

    source: a path, PIL image or array, read as numdream.images reads a photo; its gray level
    (luminance) is the mask, times its alpha where it has one (a transparent pixel is 0, so a
    mask painted in white on a transparent layer works). A mask of another size with the
    image's shape (aspect ratio) is resized to it; one of another shape is refused, and so is a
    mask that is black everywhere (nothing would be dreamed).
    """
    name = str(source) if isinstance(source, (str, bytes)) or hasattr(source, "__fspath__") else "the mask"
    try:
        rgb, alpha = load_image_and_alpha(source)
    except ImageError as err:
        raise ImageError(str(err).replace("cannot read image", "cannot read mask", 1)) from None
    mask = luminance(rgb).astype(np.float32) / 255
    if alpha is not None:
        mask *= alpha.astype(np.float32) / 255
    h, w = hw
    mh, mw = mask.shape
    if abs(mh * w / mw - h) > max(1.0, ASPECT_TOLERANCE * h):
        raise NumdreamError(f"mask {name!r} is {mw}x{mh} and the image {w}x{h}: their shapes differ "
                            f"(width/height {mw / mh:.3g} against {w / h:.3g}); draw the mask at the "
                            "image's size (or its shape)")
    if (mh, mw) != (h, w):
        mask = np.asarray(Image.fromarray(mask).resize((w, h), Image.BILINEAR))
    mask = np.clip(mask, 0.0, 1.0).astype(np.float32)
    if not mask.any():
        raise NumdreamError(f"mask {name!r} is black everywhere, so nothing would be dreamed; white "
                            "is where the dream goes")
    return mask
