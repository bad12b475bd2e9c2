"""Window geometry shared by convolution and pooling: output sizes, padding, im2col, col2im.

im2col and col2im are built from kh*kw strided slice copies (Chainer's idiom), so they need
no scatter and run unchanged on NumPy and CuPy.
"""
import math

from ..backend import get_array_module


def pair(v):
    """2 -> (2, 2); (1, 7) -> (1, 7)."""
    if isinstance(v, int):
        return (v, v)
    a, b = v
    return (int(a), int(b))


def padding4(p):
    """0 -> (0, 0, 0, 0); (1, 2) -> (1, 1, 2, 2); (t, b, l, r) unchanged."""
    if isinstance(p, int):
        return (p, p, p, p)
    p = tuple(int(v) for v in p)
    if len(p) == 2:
        return (p[0], p[0], p[1], p[1])
    if len(p) != 4:
        raise ValueError(f"padding must be an int, (ph, pw) or (top, bottom, left, right), got {p!r}")
    return p


def same_padding(in_hw, kernel, stride):
    """TensorFlow's 'SAME' padding: output = ceil(in / stride), extra pixel at the bottom/right.

    in_hw: (H, W); kernel: (kh, kw) or int; stride: (sh, sw) or int.
    Returns (top, bottom, left, right).
    """
    out = []
    for size, k, s in zip(pair(in_hw), pair(kernel), pair(stride)):
        total = max((math.ceil(size / s) - 1) * s + k - size, 0)
        out += [total // 2, total - total // 2]
    return tuple(out)


def out_size(size, k, s, pad_before, pad_after, ceil_mode=False):
    """Number of window positions along one axis.

    Ceil mode follows Caffe/PyTorch: round up, but the last window must start inside the input
    or its top/left padding.
    """
    span = size + pad_before + pad_after - k
    if span < 0:
        raise ValueError(f"window {k} does not fit an input of {size} with padding "
                         f"({pad_before}, {pad_after})")
    if not ceil_mode:
        return span // s + 1
    n = -(-span // s) + 1
    if (n - 1) * s >= size + pad_before:
        n -= 1
    return n


def padded_size(hw, kernel, stride, padding, out_hw):
    """(Hp, Wp): the padded input that out_hw windows need, for an input of hw = (H, W).

    The explicit padding (top, bottom, left, right), grown at the bottom/right when ceil mode's
    last window overhangs it. Convolution, pooling and their backward passes all use this size.
    """
    (kh, kw), (sh, sw), (t, b, l, r) = kernel, stride, padding
    return (max(hw[0] + t + b, (out_hw[0] - 1) * sh + kh),
            max(hw[1] + l + r, (out_hw[1] - 1) * sw + kw))


def pad_for_windows(x, kernel, stride, padding, out_hw, value=0.0):
    """Pad x (N, C, H, W) so every one of out_hw windows lies inside; returns (N, C, Hp, Wp).

    The padding is (top, bottom, left, right), grown at the bottom/right when ceil mode needs it.
    """
    xp = get_array_module(x)
    t, _, l, _ = padding
    n, c, h, w = x.shape
    hp, wp = padded_size((h, w), kernel, stride, padding, out_hw)
    if (hp, wp) == (h, w):
        return x
    padded = xp.full((n, c, hp, wp), value, dtype=x.dtype)
    padded[:, :, t:t + h, l:l + w] = x
    return padded


def _window_rows(i, sh, rows):
    """The padded-input rows that window row i of output rows [r0, r1) reads: a strided slice."""
    r0, r1 = rows
    return slice(r0 * sh + i, r0 * sh + i + sh * (r1 - r0 - 1) + 1, sh)


def im2col(xpad, kernel, stride, out_hw, rows=None, out=None):
    """Padded x (N, C, Hp, Wp) -> cols (N, C, kh, kw, R, OW): cols[..., i, j, y, x] = xpad[..., y*sh+i, x*sw+j].

    rows: (r0, r1), the output rows to gather (default: all OH, so R = OH); the fast path works
    in row chunks that fit the CPU cache. out: an array of cols' shape to fill (e.g. a reused
    scratch buffer) instead of a new one.
    """
    xp = get_array_module(xpad)
    (kh, kw), (sh, sw), (oh, ow) = kernel, stride, out_hw
    rows = rows or (0, oh)
    n, c = xpad.shape[:2]
    cols = xp.empty((n, c, kh, kw, rows[1] - rows[0], ow), dtype=xpad.dtype) if out is None else out
    for i in range(kh):
        for j in range(kw):
            cols[:, :, i, j] = xpad[:, :, _window_rows(i, sh, rows), j:j + sw * (ow - 1) + 1:sw]
    return cols


def col2im(cols, padded_hw, stride, rows=None, out=None):
    """Adjoint of im2col: cols (N, C, kh, kw, R, OW) -> (N, C, Hp, Wp), overlapping windows add up.

    rows: (r0, r1), the output rows that cols holds (default: all, from 0). out: an (N, C, Hp, Wp)
    array to add into (e.g. the gradient that earlier row chunks started) instead of a new zero one.
    """
    xp = get_array_module(cols)
    n, c, kh, kw, r, ow = cols.shape
    sh, sw = stride
    rows = rows or (0, r)
    if out is None:
        out = xp.zeros((n, c) + tuple(padded_hw), dtype=cols.dtype)
    for i in range(kh):
        for j in range(kw):
            out[:, :, _window_rows(i, sh, rows), j:j + sw * (ow - 1) + 1:sw] += cols[:, :, i, j]
    return out


def crop(xpad, padding, hw):
    """Undo pad_for_windows: (N, C, Hp, Wp) -> (N, C, H, W)."""
    t, _, l, _ = padding
    h, w = hw
    return xpad[:, :, t:t + h, l:l + w]
