"""Max pooling in pieces of channels, on numdream's own threads (fast/threads.py).

Pooling is a few strided passes over memory with no arithmetic to speak of, and NumPy runs them
on one core: at 512x512 the stem's two pools were 11 % of a two-thread step while every
convolution around them ran on both cores. Channels pool independently, so each piece runs the
readable op (numdream.ops.max_pool2d_*, same tie rule, same caches) on a block of channels and
writes its channels of one y (forward) or one dx (backward), with the stem's ReLU after the pool
and its mask applied in the same pieces.
"""
from collections import namedtuple

from ..backend import get_array_module
from ..ops import max_pool2d_backward as readable_backward
from ..ops import max_pool2d_forward as readable_forward
from ..ops import relu_backward
from ..ops.pool import pool_geometry
from .threads import channel_blocks, run_pieces

# Elements per piece at least, ~0.1 ms of passes on one core: smaller pools stay whole. At 1 << 20
# the stem's pools at 299x299 and mixed3's at 512x512 ran on one core; 1 << 16 to 1 << 18 took
# about 1 % off a step at both sizes (benchmarks/README.md).
MIN_PIECE_ELEMENTS = 1 << 17
BACKWARD_BLOCK_ELEMENTS = 1 << 20  # of dx per call of the readable backward, in a piece (see below)

PiecesCache = namedtuple("PiecesCache", "x_shape channels caches")


def max_pool2d_forward(x, size, stride, padding=(0, 0, 0, 0), ceil_mode=False, relu=False):
    """numdream.ops.max_pool2d_forward, in channel pieces where that pays. x: (N, C, H, W) ->
    (y (N, C, OH, OW), cache): the readable op's cache, or a PiecesCache of one per piece.

    relu: y = relu(maxpool(x)), each piece on its own channels (the stem's ReLU, moved after its
    pool by plan.ConvStep), so that it costs neither a pass of its own nor a join."""
    xp = get_array_module(x)
    pieces = channel_blocks(x, MIN_PIECE_ELEMENTS)
    if len(pieces) == 1:
        y, cache = readable_forward(x, size, stride, padding, ceil_mode)
        return (xp.maximum(y, 0, out=y) if relu else y), cache
    results = [None] * len(pieces)

    def piece(i, c0, c1):
        pooled, results[i] = readable_forward(x[:, c0:c1], size, stride, padding, ceil_mode)
        if relu:
            xp.maximum(pooled, 0, out=y[:, c0:c1])
        else:
            xp.copyto(y[:, c0:c1], pooled)
    y = xp.empty(x.shape[:2] + pool_geometry(x, size, stride, padding, ceil_mode)[3], dtype=x.dtype)
    run_pieces(lambda i=i, c0=c0, c1=c1: piece(i, c0, c1) for i, (c0, c1) in enumerate(pieces))
    return y, PiecesCache(x.shape, pieces, results)


def max_pool2d_backward(dy, cache, relu_output=None):
    """dy: (N, C, OH, OW) -> dx: (N, C, H, W), as numdream.ops.max_pool2d_backward.

    relu_output: y of max_pool2d_forward(..., relu=True): dy is first masked by y > 0
    (numdream.ops.relu_backward), each piece on its own channels."""
    xp = get_array_module(dy)
    if relu_output is not None:
        if relu_output.shape != dy.shape:
            raise ValueError(f"max pool: the ReLU's output has shape {tuple(relu_output.shape)}, "
                             f"dy {tuple(dy.shape)}: they must agree")
        if not isinstance(cache, PiecesCache):
            return readable_backward(relu_backward(dy, relu_output), cache)
    elif not isinstance(cache, PiecesCache):
        return readable_backward(dy, cache)
    dx = xp.empty(cache.x_shape, dtype=dy.dtype)

    def piece(c0, c1, pool_cache):
        d = dy[:, c0:c1] if relu_output is None else relu_backward(dy[:, c0:c1], relu_output[:, c0:c1])
        # in blocks of at most BACKWARD_BLOCK_ELEMENTS of dx: the routing's intermediates (the
        # half-routed gradient, the masks) then stay in the cache. On the stem's first pool at
        # 512x512 a piece's 32 channels took 4.2 ms whole and 2.8-3.0 in blocks of 4 to 16 (one
        # thread); the second pool's blocks were level with it whole.
        per_channel = dx[:, :1].size
        step = max(1, min(c1 - c0, BACKWARD_BLOCK_ELEMENTS // per_channel))
        for a in range(0, c1 - c0, step):
            b = min(c1 - c0, a + step)
            part = pool_cache._replace(x_shape=(dx.shape[0], b - a) + dx.shape[2:],
                                       col_arg=pool_cache.col_arg[:, a:b], row_arg=pool_cache.row_arg[:, a:b])
            readable_backward(d[:, a:b], part, out=dx[:, c0 + a:c0 + b])
    run_pieces(lambda c0=c0, c1=c1, pool_cache=pool_cache: piece(c0, c1, pool_cache)
               for (c0, c1), pool_cache in zip(cache.channels, cache.caches))
    return dx
