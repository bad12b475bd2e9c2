"""The loop oracle of ``numdream.ops.concat``: concatenation one slice at a time."""
from collections import namedtuple

import numpy as np

NaiveConcatCache = namedtuple("NaiveConcatCache", "axis sizes")  # sizes: each piece's extent along axis


def concat_forward(xs, axis=1):
    """Stack the pieces one slice at a time along ``axis``.

    xs: list of (N, C_i, H, W) -> y: (N, sum C_i, H, W); cache.
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
    return y, NaiveConcatCache(axis, [x.shape[axis] for x in xs])


def concat_backward(dy, cache):
    """Cut dy back into the pieces: dy (N, sum C_i, H, W) -> list of dx_i (N, C_i, H, W)."""
    axis, sizes = cache
    dxs, start = [], 0
    for size in sizes:
        dxs.append(np.take(dy, range(start, start + size), axis=axis))
        start += size
    return dxs
