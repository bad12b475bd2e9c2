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


def pad_for_windows(x, kernel, stride, padding, out_hw, value=0.0):
    """Pad x (N, C, H, W) so every one of out_hw windows lies inside; returns (N, C, Hp, Wp).

    The padding is (top, bottom, left, right), grown at the bottom/right when ceil mode needs it.
    """
    xp = get_array_module(x)
    (kh, kw), (sh, sw) = kernel, stride
    t, b, l, r = padding
    n, c, h, w = x.shape
    hp = max(h + t + b, (out_hw[0] - 1) * sh + kh)
    wp = max(w + l + r, (out_hw[1] - 1) * sw + kw)
    if (hp, wp) == (h, w):
        return x
    padded = xp.full((n, c, hp, wp), value, dtype=x.dtype)
    padded[:, :, t:t + h, l:l + w] = x
    return padded


def im2col(xpad, kernel, stride, out_hw):
    """Padded x (N, C, Hp, Wp) -> cols (N, C, kh, kw, OH, OW): cols[..., i, j, y, x] = xpad[..., y*sh+i, x*sw+j]."""
    xp = get_array_module(xpad)
    (kh, kw), (sh, sw), (oh, ow) = kernel, stride, out_hw
    n, c = xpad.shape[:2]
    cols = xp.empty((n, c, kh, kw, oh, ow), dtype=xpad.dtype)
    for i in range(kh):
        for j in range(kw):
            cols[:, :, i, j] = xpad[:, :, i:i + sh * (oh - 1) + 1:sh, j:j + sw * (ow - 1) + 1:sw]
    return cols


def col2im(cols, padded_hw, stride):
    """Adjoint of im2col: cols (N, C, kh, kw, OH, OW) -> (N, C, Hp, Wp), overlapping windows add up."""
    xp = get_array_module(cols)
    n, c, kh, kw, oh, ow = cols.shape
    sh, sw = stride
    out = xp.zeros((n, c) + tuple(padded_hw), dtype=cols.dtype)
    for i in range(kh):
        for j in range(kw):
            out[:, :, i:i + sh * (oh - 1) + 1:sh, j:j + sw * (ow - 1) + 1:sw] += cols[:, :, i, j]
    return out


def crop(xpad, padding, hw):
    """Undo pad_for_windows: (N, C, Hp, Wp) -> (N, C, H, W)."""
    t, _, l, _ = padding
    h, w = hw
    return xpad[:, :, t:t + h, l:l + w]
