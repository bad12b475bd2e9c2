"""The loop oracle of ``numdream.ops.conv``: convolution one output pixel at a time, with groups."""
from collections import namedtuple
from itertools import product

import numpy as np

from ..geometry import padding4, pair
from .windows import window_starts

NaiveConvCache = namedtuple("NaiveConvCache", "x w padding rows cols groups")


def _group_channels(f, in_per_group, out_per_group):
    """The input channels that output channel f reads: the slice of its group."""
    g = f // out_per_group
    return slice(g * in_per_group, (g + 1) * in_per_group)


def conv2d_forward(x, w, b, stride=(1, 1), padding=(0, 0, 0, 0), groups=1):
    """y[n, o, oy, ox] = sum(window of x at (oy, ox) * w[o]) + b[o]  (cross-correlation).

    With ``groups``, output channel o belongs to group g = o // (O / groups) and its window
    covers only input channels [g*C/groups, (g+1)*C/groups); groups=1 is every channel.
    x: (N, C, H, W); w: (O, C / groups, kh, kw); b: (O,) or None; padding: (top, bottom, left, right).
    Returns y: (N, O, OH, OW) and the cache.
    """
    x, w = np.asarray(x), np.asarray(w)
    (sh, sw), (t, bo, l, r) = pair(stride), padding4(padding)
    n, c, h, width = x.shape
    o, in_per_group, kh, kw = w.shape
    if groups < 1 or o % groups or in_per_group * groups != c:
        raise ValueError(f"conv2d: {groups} groups of weights {tuple(w.shape)} do not fit "
                         f"an input of {c} channels")
    rows = window_starts(h, kh, sh, t, bo)
    cols = window_starts(width, kw, sw, l, r)
    xpad = np.pad(x, ((0, 0), (0, 0), (t, bo), (l, r)))  # zero padding, so xpad[y0 + t] is x[y0]
    y = np.zeros((n, o, len(rows), len(cols)), dtype=x.dtype)
    for i, f, (oy, y0), (ox, x0) in product(range(n), range(o), enumerate(rows), enumerate(cols)):
        channels = _group_channels(f, in_per_group, o // groups)
        window = xpad[i, channels, y0 + t:y0 + t + kh, x0 + l:x0 + l + kw]  # (C / groups, kh, kw)
        y[i, f, oy, ox] = np.sum(window * w[f]) + (0 if b is None else b[f])
    return y, NaiveConvCache(x, w, (t, bo, l, r), rows, cols, groups)


def conv2d_backward(dy, cache, weights=False):
    """Every output pixel sends dy * w back to the window it read, and dy * window to w.

    dy: (N, O, OH, OW) -> dx: (N, C, H, W); with weights=True also dw: (O, C / groups, kh, kw),
    db: (O,).
    """
    x, w, (t, bo, l, r), rows, cols, groups = cache
    n, c, h, width = x.shape
    o, in_per_group, kh, kw = w.shape
    xpad = np.pad(x, ((0, 0), (0, 0), (t, bo), (l, r)))
    dxpad, dw, db = np.zeros_like(xpad), np.zeros_like(w), np.zeros(o, dtype=w.dtype)
    for i, f, (oy, y0), (ox, x0) in product(range(n), range(o), enumerate(rows), enumerate(cols)):
        g = dy[i, f, oy, ox]
        channels = _group_channels(f, in_per_group, o // groups)
        window = (i, channels, slice(y0 + t, y0 + t + kh), slice(x0 + l, x0 + l + kw))
        dxpad[window] += g * w[f]
        dw[f] += g * xpad[window]
        db[f] += g
    dx = dxpad[:, :, t:t + h, l:l + width].copy()  # the gradient that fell on padding is dropped
    return (dx, dw, db) if weights else dx
