"""Loop-based versions of every op: slow, obvious, and the oracle the fast ops are tested against.

Each function has the signature of its twin in ``numdream.ops`` and returns ``(y, cache)`` or
the gradient, but it computes one window (or one channel) at a time, the way the op is written
on paper. Read these first; then read the fast versions, which do the same with im2col and GEMMs.

NumPy only: they run on the host (``np.asarray`` refuses a CuPy array rather than copy it
silently). The engine never calls them; tests, ``numdream gradcheck`` and tutorials do.
"""
from collections import namedtuple
from itertools import product

import numpy as np

from .geometry import padding4, pair

ConvCache = namedtuple("ConvCache", "x w padding rows cols")
PoolCache = namedtuple("PoolCache", "x_shape rows cols kernel picked")


def window_starts(size, k, stride, pad_before, pad_after, ceil_mode=False):
    """Where each window starts along one axis, in input coordinates (the first is -pad_before).

    Windows step by ``stride`` from the top/left edge of the padding. Floor mode keeps the
    windows that fit inside the padded input. Ceil mode (Caffe/PyTorch) adds one more window
    when the last one leaves pixels uncovered, but only if it starts inside the input or its
    top/left padding; a window starting in the bottom/right padding would see nothing new.
    """
    end = size + pad_after  # one past the last padded position
    starts, s = [], -pad_before
    while s + k <= end:
        starts.append(s)
        s += stride
    if not starts:
        raise ValueError(f"window {k} does not fit an input of {size} with padding "
                         f"({pad_before}, {pad_after})")
    if ceil_mode and starts[-1] + k < end and s < size:
        starts.append(s)
    return starts


def _windows(x_shape, rows, cols):
    """Every (n, c, oy, y0, ox, x0): image, channel, output position and window start."""
    n, c = x_shape[:2]
    for i, ch, (oy, y0), (ox, x0) in product(range(n), range(c), enumerate(rows), enumerate(cols)):
        yield i, ch, oy, y0, ox, x0


# --- convolution -----------------------------------------------------------------------------

def conv2d_forward(x, w, b, stride=(1, 1), padding=(0, 0, 0, 0)):
    """y[n, o, oy, ox] = sum(window of x at (oy, ox) * w[o]) + b[o]  (cross-correlation).

    x: (N, C, H, W); w: (O, C, kh, kw); b: (O,) or None; padding: (top, bottom, left, right).
    Returns y: (N, O, OH, OW) and the cache.
    """
    x, w = np.asarray(x), np.asarray(w)
    (sh, sw), (t, bo, l, r) = pair(stride), padding4(padding)
    n, c, h, width = x.shape
    o, _, kh, kw = w.shape
    rows = window_starts(h, kh, sh, t, bo)
    cols = window_starts(width, kw, sw, l, r)
    xpad = np.pad(x, ((0, 0), (0, 0), (t, bo), (l, r)))  # zero padding, so xpad[y0 + t] is x[y0]
    y = np.zeros((n, o, len(rows), len(cols)), dtype=x.dtype)
    for i, f, (oy, y0), (ox, x0) in product(range(n), range(o), enumerate(rows), enumerate(cols)):
        window = xpad[i, :, y0 + t:y0 + t + kh, x0 + l:x0 + l + kw]  # (C, kh, kw)
        y[i, f, oy, ox] = np.sum(window * w[f]) + (0 if b is None else b[f])
    return y, ConvCache(x, w, (t, bo, l, r), rows, cols)


def conv2d_backward(dy, cache, weights=False):
    """Every output pixel sends dy * w back to the window it read, and dy * window to w.

    dy: (N, O, OH, OW) -> dx: (N, C, H, W); with weights=True also dw: (O, C, kh, kw), db: (O,).
    """
    x, w, (t, bo, l, r), rows, cols = cache
    n, c, h, width = x.shape
    o, _, kh, kw = w.shape
    xpad = np.pad(x, ((0, 0), (0, 0), (t, bo), (l, r)))
    dxpad, dw, db = np.zeros_like(xpad), np.zeros_like(w), np.zeros(o, dtype=w.dtype)
    for i, f, (oy, y0), (ox, x0) in product(range(n), range(o), enumerate(rows), enumerate(cols)):
        g = dy[i, f, oy, ox]
        window = (i, slice(None), slice(y0 + t, y0 + t + kh), slice(x0 + l, x0 + l + kw))
        dxpad[window] += g * w[f]
        dw[f] += g * xpad[window]
        db[f] += g
    dx = dxpad[:, :, t:t + h, l:l + width].copy()  # the gradient that fell on padding is dropped
    return (dx, dw, db) if weights else dx


# --- pooling ---------------------------------------------------------------------------------

def _pool_geometry(x_shape, size, stride, padding, ceil_mode):
    (kh, kw), (sh, sw), (t, b, l, r) = pair(size), pair(stride), padding4(padding)
    rows = window_starts(x_shape[2], kh, sh, t, b, ceil_mode)
    cols = window_starts(x_shape[3], kw, sw, l, r, ceil_mode)
    return (kh, kw), (t, b, l, r), rows, cols


def max_pool2d_forward(x, size, stride, padding=(0, 0, 0, 0), ceil_mode=False):
    """y = the largest input pixel of each window; padding never wins (it counts as -inf).

    Ties: the first maximum in row-major window order wins (strict ``>`` below), so exactly
    one input per window receives that window's gradient.
    x: (N, C, H, W) -> y: (N, C, OH, OW), cache.
    """
    x = np.asarray(x)
    (kh, kw), _, rows, cols = _pool_geometry(x.shape, size, stride, padding, ceil_mode)
    h, width = x.shape[2:]
    y = np.empty(x.shape[:2] + (len(rows), len(cols)), dtype=x.dtype)
    picked = np.empty(y.shape + (2,), dtype=int)  # (row, col) in x of each window's winner
    for i, ch, oy, y0, ox, x0 in _windows(x.shape, rows, cols):
        best = None
        for p in range(max(y0, 0), min(y0 + kh, h)):  # rows outer, columns inner: row-major
            for q in range(max(x0, 0), min(x0 + kw, width)):
                if best is None or x[i, ch, p, q] > x[i, ch, best[0], best[1]]:
                    best = (p, q)
        if best is None:
            raise ValueError(f"window {oy, ox} covers only padding: padding must be less than the kernel")
        y[i, ch, oy, ox] = x[i, ch, best[0], best[1]]
        picked[i, ch, oy, ox] = best
    return y, PoolCache(x.shape, rows, cols, (kh, kw), picked)


def max_pool2d_backward(dy, cache):
    """Each window's dy goes to its one winner; a pixel that wins several windows sums them.

    dy: (N, C, OH, OW) -> dx: (N, C, H, W).
    """
    x_shape, rows, cols, _, picked = cache
    dx = np.zeros(x_shape, dtype=dy.dtype)
    for i, ch, oy, _, ox, _ in _windows(x_shape, rows, cols):
        p, q = picked[i, ch, oy, ox]
        dx[i, ch, p, q] += dy[i, ch, oy, ox]
    return dx


def avg_pool2d_forward(x, size, stride, padding=(0, 0, 0, 0), count_include_pad=False,
                       ceil_mode=False):
    """y = sum of the input pixels in each window / count.

    count counts the input pixels of the window, plus its explicit padding when
    count_include_pad (Caffe; TensorFlow's SAME pooling leaves padding out). The overhang that
    ceil mode adds beyond the bottom/right padding is never counted (Caffe and PyTorch agree).
    x: (N, C, H, W) -> y: (N, C, OH, OW), cache (whose ``picked`` holds the counts).
    """
    x = np.asarray(x)
    (kh, kw), (t, b, l, r), rows, cols = _pool_geometry(x.shape, size, stride, padding, ceil_mode)
    h, width = x.shape[2:]
    y = np.empty(x.shape[:2] + (len(rows), len(cols)), dtype=x.dtype)
    counts = np.zeros((len(rows), len(cols)), dtype=int)
    for i, ch, oy, y0, ox, x0 in _windows(x.shape, rows, cols):
        total, count = 0.0, 0
        for p, q in product(range(y0, y0 + kh), range(x0, x0 + kw)):
            inside = 0 <= p < h and 0 <= q < width
            in_padding = -t <= p < h + b and -l <= q < width + r  # input or explicit padding
            if inside:
                total += x[i, ch, p, q]
            if inside or (count_include_pad and in_padding):
                count += 1
        if count == 0:
            raise ValueError(f"window {oy, ox} covers only padding: padding must be less than the kernel")
        y[i, ch, oy, ox] = total / count
        counts[oy, ox] = count
    return y, PoolCache(x.shape, rows, cols, (kh, kw), counts)


def avg_pool2d_backward(dy, cache):
    """Each window shares dy / count equally among the input pixels it covers.

    dy: (N, C, OH, OW) -> dx: (N, C, H, W).
    """
    x_shape, rows, cols, (kh, kw), counts = cache
    h, width = x_shape[2:]
    dx = np.zeros(x_shape, dtype=dy.dtype)
    for i, ch, oy, y0, ox, x0 in _windows(x_shape, rows, cols):
        share = dy[i, ch, oy, ox] / counts[oy, ox]
        for p, q in product(range(max(y0, 0), min(y0 + kh, h)), range(max(x0, 0), min(x0 + kw, width))):
            dx[i, ch, p, q] += share
    return dx


# --- element-wise and channel ops ------------------------------------------------------------

def relu_forward(x):
    """y = x where x > 0, else 0, one element at a time. x: any shape -> y, cache = x."""
    x = np.asarray(x)
    y = np.zeros_like(x)
    for index in np.ndindex(x.shape):
        if x[index] > 0:
            y[index] = x[index]
    return y, x


def relu_backward(dy, cache):
    """dx = dy where x > 0, else 0 (at exactly 0 the gradient is taken as 0, as in PyTorch)."""
    x = cache
    dx = np.zeros_like(dy)
    for index in np.ndindex(x.shape):
        if x[index] > 0:
            dx[index] = dy[index]
    return dx


def concat_forward(xs, axis=1):
    """Stack the pieces one slice at a time along ``axis``.

    xs: list of (N, C_i, H, W) -> y: (N, sum C_i, H, W); cache = (axis, sizes).
    """
    xs = [np.asarray(x) for x in xs]
    shape = list(xs[0].shape)
    shape[axis] = sum(x.shape[axis] for x in xs)
    y = np.empty(shape, dtype=np.result_type(*xs))
    index = [slice(None)] * len(shape)
    row = 0
    for x in xs:
        for j in range(x.shape[axis]):
            index[axis] = row
            y[tuple(index)] = np.take(x, j, axis=axis)
            row += 1
    return y, (axis, [x.shape[axis] for x in xs])


def concat_backward(dy, cache):
    """Cut dy back into the pieces: dy (N, sum C_i, H, W) -> list of dx_i (N, C_i, H, W)."""
    axis, sizes = cache
    dxs, start = [], 0
    for size in sizes:
        dxs.append(np.take(dy, range(start, start + size), axis=axis))
        start += size
    return dxs


def _lrn_window(c, size, channels):
    """The channels whose squares scale channel c: [c - size//2, c + (size-1)//2], clipped."""
    return range(max(c - size // 2, 0), min(c + (size - 1) // 2 + 1, channels))


def lrn_forward(x, size, alpha=1e-4, beta=0.75, k=1.0):
    """Cross-channel LRN (Caffe/PyTorch: alpha is divided by size), one channel at a time.

    scale_c = k + alpha / size * sum of x_d^2 over d in _lrn_window(c);  y_c = x_c * scale_c^-beta.
    x: (N, C, H, W) -> y: (N, C, H, W), cache.
    """
    x = np.asarray(x)
    channels = x.shape[1]
    scale = np.empty_like(x)
    for c in range(channels):
        squares = sum(x[:, d] ** 2 for d in _lrn_window(c, size, channels))
        scale[:, c] = k + alpha / size * squares
    return x * scale ** -beta, (x, scale, size, alpha, beta)


def lrn_backward(dy, cache):
    """The chain rule through y_c = x_c * scale_c^-beta, written out term by term.

    y_c depends on x_c directly, and on every x_d in its window through scale_c:
    dy_c/dx_d = [c == d] * scale_c^-beta - beta * x_c * scale_c^(-beta-1) * alpha/size * 2 x_d.
    dy: (N, C, H, W) -> dx: (N, C, H, W).
    """
    x, scale, size, alpha, beta = cache
    channels = x.shape[1]
    dx = np.zeros_like(x)
    for c in range(channels):
        dx[:, c] += dy[:, c] * scale[:, c] ** -beta
        dscale = dy[:, c] * x[:, c] * -beta * scale[:, c] ** (-beta - 1)  # dL/dscale_c
        for d in _lrn_window(c, size, channels):
            dx[:, d] += dscale * alpha / size * 2 * x[:, d]
    return dx


# --- the classifier head and grouped convolution (added with the GoogLeNet converters) -------
# They live in naive_head.py (this file would pass 300 lines); imported here so that
# ``naive.<op>`` names every oracle, as ``ops.<op>`` names every fast op.
from .naive_head import (dense_backward, dense_forward, grouped_conv2d_backward,  # noqa: E402
                         grouped_conv2d_forward, softmax_backward, softmax_forward)
