"""2-D convolution (cross-correlation, as in every deep-learning framework) and its backward pass.

Forward is im2col + one GEMM; a 1x1 stride-1 unpadded convolution is a plain GEMM.
Backward to the input is the transposed convolution: a GEMM with the transposed weights,
then col2im to add every window's contribution back to the pixels it came from.
"""
from collections import namedtuple

from ..backend import get_array_module
from .geometry import col2im, crop, im2col, out_size, pad_for_windows, padding4, pair

ConvCache = namedtuple("ConvCache", "x w stride padding out_hw")


def _is_pointwise(w, stride, padding):
    return w.shape[2:] == (1, 1) and stride == (1, 1) and padding == (0, 0, 0, 0)


def conv2d_forward(x, w, b, stride=(1, 1), padding=(0, 0, 0, 0)):
    """y = x * w + b.

    x: (N, C, H, W); w: (O, C, kh, kw); b: (O,) or None.
    stride: (sh, sw) or int; padding: (top, bottom, left, right), (ph, pw) or int.
    Returns y: (N, O, OH, OW) with OH = (H + top + bottom - kh) // sh + 1, and the cache.
    """
    stride, padding = pair(stride), padding4(padding)
    n, c, h, width = x.shape
    o, wc, kh, kw = w.shape
    if wc != c:
        raise ValueError(f"conv2d: input has {c} channels but the weights expect {wc}")
    oh = out_size(h, kh, stride[0], padding[0], padding[1])
    ow = out_size(width, kw, stride[1], padding[2], padding[3])
    w2 = w.reshape(o, c * kh * kw)
    if _is_pointwise(w, stride, padding):
        y = w2 @ x.reshape(n, c, h * width)
    else:
        xpad = pad_for_windows(x, (kh, kw), stride, padding, (oh, ow))
        cols = im2col(xpad, (kh, kw), stride, (oh, ow))
        y = w2 @ cols.reshape(n, c * kh * kw, oh * ow)
    y = y.reshape(n, o, oh, ow)
    if b is not None:
        y += b.reshape(1, o, 1, 1)
    return y, ConvCache(x, w, stride, padding, (oh, ow))


def conv2d_backward(dy, cache, weights=False):
    """Gradients of conv2d_forward.

    dy: (N, O, OH, OW). Returns dx: (N, C, H, W); with weights=True, (dx, dw, db) with
    dw: (O, C, kh, kw) and db: (O,). DeepDream only ever needs dx.
    """
    x, w, stride, padding, (oh, ow) = cache
    n, c, h, width = x.shape
    o, _, kh, kw = w.shape
    dy2 = dy.reshape(n, o, oh * ow)
    w2 = w.reshape(o, c * kh * kw)
    dcols = w2.T @ dy2  # (N, C*kh*kw, OH*OW)
    if _is_pointwise(w, stride, padding):
        dx = dcols.reshape(n, c, h, width)
    else:
        t, b, l, r = padding
        hp = max(h + t + b, (oh - 1) * stride[0] + kh)
        wp = max(width + l + r, (ow - 1) * stride[1] + kw)
        dxpad = col2im(dcols.reshape(n, c, kh, kw, oh, ow), (hp, wp), stride)
        dx = crop(dxpad, padding, (h, width))
        if dx.base is not None:
            dx = dx.copy()  # a contiguous gradient, not a view into the padded buffer
    if not weights:
        return dx
    xp = get_array_module(x)
    if _is_pointwise(w, stride, padding):
        cols = x.reshape(n, c, h * width)
    else:
        xpad = pad_for_windows(x, (kh, kw), stride, padding, (oh, ow))
        cols = im2col(xpad, (kh, kw), stride, (oh, ow)).reshape(n, c * kh * kw, oh * ow)
    dw = xp.tensordot(dy2, cols, axes=([0, 2], [0, 2])).reshape(w.shape)
    db = dy.sum(axis=(0, 2, 3))
    return dx, dw, db
