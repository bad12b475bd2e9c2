"""Max and average pooling with explicit backward passes.

Max pooling routes each window's gradient to exactly one input: the first maximum in
row-major window order (numpy's argmax rule), so tied inputs never share a gradient.
"""
from collections import namedtuple

from ..backend import get_array_module
from .geometry import col2im, crop, out_size, pad_for_windows, padding4, pair

MaxPoolCache = namedtuple("MaxPoolCache", "x_shape argmax kernel stride padding padded_hw")
AvgPoolCache = namedtuple("AvgPoolCache", "x_shape counts kernel stride padding padded_hw")


def _geometry(x, size, stride, padding, ceil_mode):
    kernel, stride, padding = pair(size), pair(stride), padding4(padding)
    h, w = x.shape[2:]
    oh = out_size(h, kernel[0], stride[0], padding[0], padding[1], ceil_mode)
    ow = out_size(w, kernel[1], stride[1], padding[2], padding[3], ceil_mode)
    return kernel, stride, padding, (oh, ow)


def _window_slices(kernel, stride, out_hw):
    """The kh*kw strided slices that pick window offset (i, j) of every window, in row-major order."""
    (kh, kw), (sh, sw), (oh, ow) = kernel, stride, out_hw
    return [(slice(None), slice(None), slice(i, i + sh * (oh - 1) + 1, sh), slice(j, j + sw * (ow - 1) + 1, sw))
            for i in range(kh) for j in range(kw)]


def max_pool2d_forward(x, size, stride, padding=(0, 0, 0, 0), ceil_mode=False):
    """Max over each window; padding counts as -inf.

    x: (N, C, H, W); size, stride: int or pair; padding: (top, bottom, left, right).
    Returns y: (N, C, OH, OW) and the cache, which keeps, per window, the row-major offset of its
    first maximum (uint8: a window has at most 255 pixels here).
    """
    xp = get_array_module(x)
    kernel, stride, padding, out_hw = _geometry(x, size, stride, padding, ceil_mode)
    if kernel[0] * kernel[1] > 255:
        raise ValueError(f"max_pool2d: window {kernel} has more than 255 pixels")
    xpad = pad_for_windows(x, kernel, stride, padding, out_hw, value=-xp.inf)
    slices = _window_slices(kernel, stride, out_hw)
    y = xpad[slices[0]].copy()
    argmax = xp.zeros(y.shape, dtype=xp.uint8)
    for k, window in enumerate(slices[1:], start=1):
        candidate = xpad[window]
        better = candidate > y  # strictly greater: a tie keeps the earlier (first) maximum
        xp.copyto(y, candidate, where=better)
        argmax[better] = k
    return y, MaxPoolCache(x.shape, argmax, kernel, stride, padding, xpad.shape[2:])


def max_pool2d_backward(dy, cache):
    """dy: (N, C, OH, OW) -> dx: (N, C, H, W); each window's gradient goes to its first maximum."""
    xp = get_array_module(dy)
    x_shape, argmax, kernel, stride, padding, padded_hw = cache
    dxpad = xp.zeros(dy.shape[:2] + tuple(padded_hw), dtype=dy.dtype)
    for k, window in enumerate(_window_slices(kernel, stride, dy.shape[2:])):
        dxpad[window] += xp.where(argmax == k, dy, 0)
    return crop(dxpad, padding, x_shape[2:]).copy()


def _window_sum(xpad, kernel, stride, out_hw):
    """Sum of each window of xpad (..., Hp, Wp) -> (..., OH, OW)."""
    xp = get_array_module(xpad)
    (kh, kw), (sh, sw), (oh, ow) = kernel, stride, out_hw
    total = xp.zeros(xpad.shape[:-2] + (oh, ow), dtype=xpad.dtype)
    for i in range(kh):
        for j in range(kw):
            total += xpad[..., i:i + sh * (oh - 1) + 1:sh, j:j + sw * (ow - 1) + 1:sw]
    return total


def avg_pool2d_forward(x, size, stride, padding=(0, 0, 0, 0), count_include_pad=False,
                       ceil_mode=False):
    """Mean over each window.

    The divisor counts the input pixels in the window, plus the explicit padding when
    count_include_pad (Caffe); TensorFlow's 'SAME' pooling leaves padding out. Windows that
    ceil mode pushes past the padding never count the overhang (Caffe and PyTorch agree).
    x: (N, C, H, W) -> y: (N, C, OH, OW), cache.
    """
    xp = get_array_module(x)
    kernel, stride, padding, out_hw = _geometry(x, size, stride, padding, ceil_mode)
    xpad = pad_for_windows(x, kernel, stride, padding, out_hw)
    t, b, l, r = padding
    h, w = x.shape[2:]
    counted = xp.zeros((1, 1) + xpad.shape[2:], dtype=x.dtype)
    if count_include_pad:
        counted[:, :, :h + t + b, :w + l + r] = 1
    else:
        counted[:, :, t:t + h, l:l + w] = 1
    counts = _window_sum(counted, kernel, stride, out_hw)
    y = _window_sum(xpad, kernel, stride, out_hw) / counts
    return y, AvgPoolCache(x.shape, counts, kernel, stride, padding, xpad.shape[2:])


def avg_pool2d_backward(dy, cache):
    """dy: (N, C, OH, OW) -> dx: (N, C, H, W); each window spreads dy / count over its pixels."""
    xp = get_array_module(dy)
    x_shape, counts, kernel, stride, padding, padded_hw = cache
    n, c, oh, ow = dy.shape
    share = dy / counts
    dcols = xp.broadcast_to(share[:, :, None, None], (n, c, kernel[0], kernel[1], oh, ow))
    return crop(col2im(dcols, padded_hw, stride), padding, x_shape[2:]).copy()
