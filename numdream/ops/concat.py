"""Concatenation, and its backward pass: the gradient is split back into the pieces."""
from ..backend import get_array_module


def concat_forward(xs, axis=1):
    """xs: list of (N, C_i, H, W) -> y: (N, sum C_i, H, W); the cache is (axis, sizes)."""
    xp = get_array_module(*xs)
    return xp.concatenate(xs, axis=axis), (axis, [x.shape[axis] for x in xs])


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
