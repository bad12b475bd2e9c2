"""The transformations a visualisation must survive, each a forward/backward pair with its
parameters given explicitly: pad, crop (jitter), scale and rotate. ``pipeline.py`` draws the
random parameters; here every transform is a deterministic function of its input, so it is
gradient-checked like any op.

All are linear in the image (pad adds a constant), so each backward is the adjoint: pad <-> crop,
and resampling by a matrix (scale) or by bilinear taps (rotate) <-> its transpose.
Images are (N, C, H, W); one set of parameters serves the whole batch, as in Lucid.
"""
import functools
import math
from collections import namedtuple

import numpy as np

from ..backend import get_array_module
from .sampling import apply_along, bilinear_taps, row_taps, sample_backward, sample_forward

PadCache = namedtuple("PadCache", "width")
CropCache = namedtuple("CropCache", "x_shape top left")
ScaleCache = namedtuple("ScaleCache", "rows_t cols_t")  # row_taps of the matrices' transposes
RotateCache = namedtuple("RotateCache", "sample")


def pad_forward(x, width, value=0.5):
    """A border of ``width`` pixels of constant ``value`` (0.5: mid-grey in [0, 1] units, Lucid's
    pad(12, mode="constant", constant_value=.5)). x: (N, C, H, W) -> (N, C, H + 2w, W + 2w)."""
    xp = get_array_module(x)
    n, c, h, w = x.shape
    y = xp.full((n, c, h + 2 * width, w + 2 * width), value, dtype=x.dtype)
    y[:, :, width:width + h, width:width + w] = x
    return y, PadCache(width)


def pad_backward(dy, cache):
    """The border is a constant: only the interior's gradient reaches x. dy -> dx (N, C, H, W)."""
    p = cache.width
    return dy[:, :, p:dy.shape[2] - p, p:dy.shape[3] - p].copy()


def crop_forward(x, top, left, out_hw):
    """The window of out_hw pixels whose corner is (top, left): an integer translation (jitter).

    x: (N, C, H, W) -> (N, C, *out_hw).
    """
    h, w = x.shape[2:]
    oh, ow = out_hw
    if not (0 <= top <= h - oh and 0 <= left <= w - ow):
        raise ValueError(f"crop: a {oh}x{ow} window at ({top}, {left}) leaves a {h}x{w} image")
    return x[:, :, top:top + oh, left:left + ow], CropCache(x.shape, top, left)


def crop_backward(dy, cache):
    """The window's gradient back in place, zero where the crop cut. dy -> dx: the input's shape."""
    xp = get_array_module(dy)
    dx = xp.zeros(cache.x_shape, dtype=dy.dtype)
    oh, ow = dy.shape[2:]
    dx[:, :, cache.top:cache.top + oh, cache.left:cache.left + ow] = dy
    return dx


def scaled_size(hw, factor):
    """(round(factor * H), round(factor * W)). Lucid truncates (int); rounding keeps float error
    from turning 0.94 * 250 = 234.99999999999997 into 234."""
    return tuple(max(1, int(round(factor * s))) for s in hw)


def resize_matrix(n_in, n_out):
    """(n_out, n_in) host float64: row o holds the linear-interpolation weights of output o.

    Half-pixel centres (output o sits at input position (o + 0.5) * n_in / n_out - 0.5, clamped
    to the edge pixels), the convention of F.interpolate(align_corners=False) and of TensorFlow 2;
    it keeps the image centred, where TF1's resize_bilinear, which Lucid calls, shifts it by up to
    half a pixel.
    """
    pos = (np.arange(n_out) + 0.5) * (n_in / n_out) - 0.5
    pos = np.clip(pos, 0, n_in - 1)
    lo = np.minimum(np.floor(pos).astype(np.int64), n_in - 1)
    hi = np.minimum(lo + 1, n_in - 1)
    frac = pos - lo
    matrix = np.zeros((n_out, n_in))
    rows = np.arange(n_out)
    matrix[rows, lo] += 1 - frac
    matrix[rows, hi] += frac  # a separate statement: at the clamped edge hi == lo, and both add
    return matrix


@functools.lru_cache(maxsize=64)
def resize_taps(n_in, n_out):
    """(row_taps of resize_matrix(n_in, n_out), row_taps of its transpose), host, cached: a
    visualisation resizes between the same few sizes at every step (sampling.row_taps sorts)."""
    matrix = resize_matrix(n_in, n_out)
    return row_taps(matrix), row_taps(matrix.T)


def scale_forward(x, factor):
    """Bilinear resize by ``factor`` to scaled_size: y = A_rows @ x @ A_cols^T per image plane,
    each matrix applied by its non-zeros (sampling.row_taps). A factor that keeps the size is the
    identity (every output sits on its input pixel), and returns x itself.

    x: (N, C, H, W) -> y: (N, C, Ho, Wo), cache (None for the identity).
    """
    h, w = x.shape[2:]
    oh, ow = scaled_size((h, w), factor)
    if (oh, ow) == (h, w):
        return x, None
    (rows, rows_t), (cols, cols_t) = resize_taps(h, oh), resize_taps(w, ow)
    return apply_along(apply_along(x, rows, 2), cols, 3), ScaleCache(rows_t, cols_t)


def scale_backward(dy, cache):
    """The transpose of each interpolation: dx = A_rows^T @ dy @ A_cols. dy: (N, C, Ho, Wo)."""
    if cache is None:
        return dy
    return apply_along(apply_along(dy, cache.cols_t, 3), cache.rows_t, 2)


def rotation_grid(hw, degrees):
    """Source positions (rows, cols), each (H, W) host float64, of an image turned by ``degrees``
    counter-clockwise on screen (rows grow downwards) about its centre ((H - 1) / 2, (W - 1) / 2).

    Output pixel p reads the input at centre + R^-1 (p - centre): sampling pulls, so the grid is
    turned the other way than the picture.
    """
    h, w = hw
    a = math.radians(degrees)  # Lucid's _angle2rads uses 3.14 for pi; this is pi
    cy, cx = (h - 1) / 2, (w - 1) / 2
    dy, dx = (np.arange(h) - cy)[:, None], (np.arange(w) - cx)[None, :]  # broadcast to (H, W)
    rows = cy + math.cos(a) * dy + math.sin(a) * dx
    cols = cx + math.cos(a) * dx - math.sin(a) * dy
    return rows, cols


def rotate_forward(x, degrees):
    """Rotation by bilinear sampling of the rotated grid; corners from outside the image read 0,
    as Lucid (tfa.image.rotate) and Lucent (kornia) fill them.

    x: (N, C, H, W) -> y: (N, C, H, W), cache. A turn by 0 degrees samples every pixel at its own
    centre, the identity, and returns x itself (Lucid's standard set draws 0 six times in 26).
    """
    if degrees == 0:
        return x, RotateCache(None)
    hw = x.shape[2:]
    rows, cols = rotation_grid(hw, degrees)
    if x.dtype == np.float32:  # positions to 1e-5 pixels, as a float32 grid_sample has them
        rows, cols = rows.astype(np.float32), cols.astype(np.float32)
    y, sample = sample_forward(x, bilinear_taps(rows, cols, hw))
    return y, RotateCache(sample)


def rotate_backward(dy, cache):
    """The sampling's transpose: each output's gradient scattered to its four taps. dy -> dx."""
    return dy if cache.sample is None else sample_backward(dy, cache.sample)
