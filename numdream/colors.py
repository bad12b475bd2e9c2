"""Luminance and colour apart: the dream's luminance with the photo's colours (--keep-colors),
and a dream in gray (--gray).

    ycc = rgb_to_ycbcr(rgb)                    # (..., 3) float: Y, Cb, Cr
    out = keep_colors(dreamed, photo)          # the dream's Y with the photo's Cb and Cr

The colour space is YCbCr as JPEG defines it (ITU-R BT.601 weights, full range, chroma centred
on 128). Why YCbCr and not Lab: it is linear and exactly invertible, so a pixel whose luminance
the dream did not change comes back as the same RGB, bit for bit, and the chroma a dream keeps
is the chroma that JPEG, video and neural-style's ``original_colors`` (which uses YUV) keep; Lab
would match perceived lightness a little better, through a gamma curve and a cube root on
every pixel, and nothing numdream keeps would be exact. A change along the gray axis
(R, G, B all moved by d) moves Y by d and leaves Cb and Cr as they were: the Cb and Cr rows
below each sum to zero.

What is lost: where the dream's luminance with the photo's chroma falls outside the RGB cube
(a saturated colour made much brighter or darker), R, G or B is clipped to 0..255, which moves
that pixel's chroma towards gray. Those are the only pixels whose chroma changes.
"""
import numpy as np

# rows: Y, Cb, Cr from R, G, B (JPEG File Interchange Format, BT.601 full range)
RGB_TO_YCBCR = np.array([[0.299, 0.587, 0.114],
                         [-0.168735892, -0.331264108, 0.5],
                         [0.5, -0.418687589, -0.081312411]])
YCBCR_TO_RGB = np.linalg.inv(RGB_TO_YCBCR)
CHROMA_OFFSET = np.array([0.0, 128.0, 128.0])


def rgb_to_ycbcr(rgb):
    """uint8 or float (..., 3) RGB in 0..255 -> float64 (..., 3) Y, Cb, Cr (Y in 0..255)."""
    return np.asarray(rgb, dtype=np.float64) @ RGB_TO_YCBCR.T + CHROMA_OFFSET


def ycbcr_to_rgb(ycc):
    """float (..., 3) Y, Cb, Cr -> uint8 (..., 3) RGB, rounded, clipped to 0..255."""
    rgb = (np.asarray(ycc, dtype=np.float64) - CHROMA_OFFSET) @ YCBCR_TO_RGB.T
    return np.clip(np.rint(rgb), 0, 255).astype(np.uint8)


def luminance(rgb):
    """uint8 (H, W, 3) -> uint8 (H, W): Y, the gray a JPEG decoder would show."""
    return np.clip(np.rint(rgb_to_ycbcr(rgb)[..., 0]), 0, 255).astype(np.uint8)


def keep_colors(dreamed, photo):
    """uint8 (H, W, 3) dreamed and photo of the same shape -> uint8 (H, W, 3): the luminance Y
    of ``dreamed`` with the chroma Cb, Cr of ``photo``."""
    if dreamed.shape != photo.shape:
        raise ValueError(f"dream {dreamed.shape} and photo {photo.shape} differ in shape")
    ycc = rgb_to_ycbcr(photo)
    ycc[..., 0] = rgb_to_ycbcr(dreamed)[..., 0]
    return ycbcr_to_rgb(ycc)
