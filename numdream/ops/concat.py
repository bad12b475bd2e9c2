"""Concatenation, and its backward pass: the gradient is split back into the pieces."""
from collections import namedtuple

from ..backend import get_array_module

ConcatCache = namedtuple("ConcatCache", "axis sizes")  # sizes: each piece's extent along axis


def concat_forward(xs, axis=1):
    """xs: list of (N, C_i, H, W) -> y: (N, sum C_i, H, W), and the cache."""
    xp = get_array_module(*xs)
    return xp.concatenate(xs, axis=axis), ConcatCache(axis, [x.shape[axis] for x in xs])


def concat_backward(dy, cache):
    """dy: (N, sum C_i, H, W) -> list of dx_i: (N, C_i, H, W), views into dy."""
    axis, sizes = cache
    dxs, start = [], 0
    index = [slice(None)] * dy.ndim
    for size in sizes:
        index[axis] = slice(start, start + size)
        dxs.append(dy[tuple(index)])
        start += size
    return dxs
