"""2-D convolution (cross-correlation, as in every deep-learning framework) and its backward pass.

Forward is im2col + one GEMM; a 1x1 stride-1 unpadded convolution is a plain GEMM.
Backward to the input is the transposed convolution (``conv2d_transpose``): a GEMM with the
transposed weights, then col2im to add every window's contribution back to the pixels it came
from. It is also an op of its own: the adjoint of a strided convolution upsamples (imageops uses
it to bring a Laplacian pyramid's low band back up).
A grouped convolution (Caffe's ``group``) is ``groups`` independent convolutions on channel slices.
"""
from collections import namedtuple

from ..backend import get_array_module
from .geometry import col2im, crop, im2col, out_size, pad_for_windows, padded_size, padding4, pair

ConvCache = namedtuple("ConvCache", "x w stride padding out_hw groups", defaults=(1,))


def _is_pointwise(w, stride, padding):
    return w.shape[2:] == (1, 1) and stride == (1, 1) and padding == (0, 0, 0, 0)


def conv2d_forward(x, w, b, stride=(1, 1), padding=(0, 0, 0, 0), groups=1):
    """y = x * w + b.

    x: (N, C, H, W); w: (O, C / groups, kh, kw); b: (O,) or None.
    stride: (sh, sw) or int; padding: (top, bottom, left, right), (ph, pw) or int.
    groups: output channels [g*O/G, (g+1)*O/G) see only input channels [g*C/G, (g+1)*C/G).
    Returns y: (N, O, OH, OW) with OH = (H + top + bottom - kh) // sh + 1, and the cache.
    """
    stride, padding = pair(stride), padding4(padding)
    if groups != 1:
        return _grouped_forward(x, w, b, stride, padding, groups)
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


def conv2d_transpose(y, w, stride, padding, out_hw):
    """The adjoint of conv2d_forward in its input: every y pixel adds y * w to the window it came from.

    y: (N, O, OH, OW); w: (O, C, kh, kw); stride, padding as for conv2d_forward; out_hw: (H, W)
    of the input that conv2d_forward would have read (a strided convolution maps several input
    sizes to one OH, so it must be given). Returns (N, C, H, W). Weights are not flipped here:
    applying the transposed GEMM and col2im is the flip.
    """
    stride, padding = pair(stride), padding4(padding)
    n, o, oh, ow = y.shape
    _, c, kh, kw = w.shape
    dcols = w.reshape(o, c * kh * kw).T @ y.reshape(n, o, oh * ow)  # (N, C*kh*kw, OH*OW)
    if _is_pointwise(w, stride, padding):
        return dcols.reshape(n, c, oh, ow)
    hp, wp = padded_size(out_hw, (kh, kw), stride, padding, (oh, ow))
    dxpad = col2im(dcols.reshape(n, c, kh, kw, oh, ow), (hp, wp), stride)
    dx = crop(dxpad, padding, out_hw)
    return dx.copy() if dx.base is not None else dx  # contiguous, not a view into the padded buffer


def conv2d_backward(dy, cache, weights=False):
    """Gradients of conv2d_forward.

    dy: (N, O, OH, OW). Returns dx: (N, C, H, W); with weights=True, (dx, dw, db) with
    dw: (O, C / groups, kh, kw) and db: (O,). DeepDream only ever needs dx.
    """
    if cache.groups != 1:
        return _grouped_backward(dy, cache, weights)
    x, w, stride, padding, (oh, ow), _ = cache
    dx = conv2d_transpose(dy, w, stride, padding, x.shape[2:])
    if not weights:
        return dx
    xp = get_array_module(x)
    n, c, h, width = x.shape
    o, _, kh, kw = w.shape
    if _is_pointwise(w, stride, padding):
        cols = x.reshape(n, c, h * width)
    else:
        xpad = pad_for_windows(x, (kh, kw), stride, padding, (oh, ow))
        cols = im2col(xpad, (kh, kw), stride, (oh, ow)).reshape(n, c * kh * kw, oh * ow)
    dw = xp.tensordot(dy.reshape(n, o, oh * ow), cols, axes=([0, 2], [0, 2])).reshape(w.shape)
    db = dy.sum(axis=(0, 2, 3))
    return dx, dw, db


def _group_slices(c, o, groups):
    """(input channel slice, output channel slice) of each group."""
    ci, oi = c // groups, o // groups
    return [(slice(g * ci, (g + 1) * ci), slice(g * oi, (g + 1) * oi)) for g in range(groups)]


def _grouped_forward(x, w, b, stride, padding, groups):
    """Each group convolves its own slice of the input channels with its own slice of filters."""
    xp = get_array_module(x)
    c, o = x.shape[1], w.shape[0]
    if groups < 1 or c % groups or o % groups or w.shape[1] * groups != c:
        raise ValueError(f"conv2d: {groups} groups need input channels ({c}) and output channels "
                         f"({o}) divisible by the groups, and weights (O, C / groups, kh, kw), "
                         f"got {tuple(w.shape)}")
    ys = [conv2d_forward(x[:, cs], w[os], None if b is None else b[os], stride, padding)[0]
          for cs, os in _group_slices(c, o, groups)]
    y = xp.concatenate(ys, axis=1)
    return y, ConvCache(x, w, stride, padding, y.shape[2:], groups)


def _grouped_backward(dy, cache, weights):
    """Backward of each group on its slices; the pieces are put back side by side."""
    xp = get_array_module(dy)
    x, w, stride, padding, out_hw, groups = cache
    pieces = [conv2d_backward(dy[:, os], ConvCache(x[:, cs], w[os], stride, padding, out_hw), weights)
              for cs, os in _group_slices(x.shape[1], w.shape[0], groups)]
    if not weights:
        return xp.concatenate(pieces, axis=1)
    dx, dw, db = zip(*pieces)
    return xp.concatenate(dx, axis=1), xp.concatenate(dw, axis=0), xp.concatenate(db, axis=0)
