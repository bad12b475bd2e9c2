"""The loop oracles of ``numdream.ops.pool``: max and average pooling, one window at a time."""
from collections import namedtuple
from itertools import product

import numpy as np

from ..geometry import padding4, pair
from .windows import window_starts

# picked: (N, C, OH, OW, 2), the (row, col) in x of each window's winner
NaiveMaxPoolCache = namedtuple("NaiveMaxPoolCache", "x_shape rows cols kernel picked")
# counts: (OH, OW), how many pixels each window divides by
NaiveAvgPoolCache = namedtuple("NaiveAvgPoolCache", "x_shape rows cols kernel counts")


def _each_window(x_shape, rows, cols):
    """Every (n, c, oy, y0, ox, x0): image, channel, output position and window start."""
    n, c = x_shape[:2]
    for i, ch, (oy, y0), (ox, x0) in product(range(n), range(c), enumerate(rows), enumerate(cols)):
        yield i, ch, oy, y0, ox, x0


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
    for i, ch, oy, y0, ox, x0 in _each_window(x.shape, rows, cols):
        best = None
        for p in range(max(y0, 0), min(y0 + kh, h)):  # rows outer, columns inner: row-major
            for q in range(max(x0, 0), min(x0 + kw, width)):
                if best is None or x[i, ch, p, q] > x[i, ch, best[0], best[1]]:
                    best = (p, q)
        if best is None:
            raise ValueError(f"window {oy, ox} covers only padding: padding must be less than the kernel")
        y[i, ch, oy, ox] = x[i, ch, best[0], best[1]]
        picked[i, ch, oy, ox] = best
    return y, NaiveMaxPoolCache(x.shape, rows, cols, (kh, kw), picked)


def max_pool2d_backward(dy, cache):
    """Each window's dy goes to its one winner; a pixel that wins several windows sums them.

    dy: (N, C, OH, OW) -> dx: (N, C, H, W).
    """
    x_shape, rows, cols, _, picked = cache
    dx = np.zeros(x_shape, dtype=dy.dtype)
    for i, ch, oy, _, ox, _ in _each_window(x_shape, rows, cols):
        p, q = picked[i, ch, oy, ox]
        dx[i, ch, p, q] += dy[i, ch, oy, ox]
    return dx


def avg_pool2d_forward(x, size, stride, padding=(0, 0, 0, 0), count_include_pad=False,
                       ceil_mode=False):
    """y = sum of the input pixels in each window / count.

    count counts the input pixels of the window, plus its explicit padding when
    count_include_pad (Caffe; TensorFlow's SAME pooling leaves padding out). The overhang that
    ceil mode adds beyond the bottom/right padding is never counted (Caffe and PyTorch agree).
    x: (N, C, H, W) -> y: (N, C, OH, OW), cache.
    """
    x = np.asarray(x)
    (kh, kw), (t, b, l, r), rows, cols = _pool_geometry(x.shape, size, stride, padding, ceil_mode)
    h, width = x.shape[2:]
    y = np.empty(x.shape[:2] + (len(rows), len(cols)), dtype=x.dtype)
    counts = np.zeros((len(rows), len(cols)), dtype=int)
    for i, ch, oy, y0, ox, x0 in _each_window(x.shape, rows, cols):
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
    return y, NaiveAvgPoolCache(x.shape, rows, cols, (kh, kw), counts)


def avg_pool2d_backward(dy, cache):
    """Each window shares dy / count equally among the input pixels it covers.

    dy: (N, C, OH, OW) -> dx: (N, C, H, W).
    """
    x_shape, rows, cols, (kh, kw), counts = cache
    h, width = x_shape[2:]
    dx = np.zeros(x_shape, dtype=dy.dtype)
    for i, ch, oy, y0, ox, x0 in _each_window(x_shape, rows, cols):
        share = dy[i, ch, oy, ox] / counts[oy, ox]
        for p, q in product(range(max(y0, 0), min(y0 + kh, h)), range(max(x0, 0), min(x0 + kw, width))):
            dx[i, ch, p, q] += share
    return dx
