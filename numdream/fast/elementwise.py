"""The fused plan's memory-bound passes, in channel pieces on numdream's own threads (threads.py):
a ReLU's mask in the backward of an im2col convolution, an Inception module's concat. (The
plan's ReLUs and their other masks cost no pass of their own: the convolutions and the stem's
max pools apply them in their own pieces, see plan.ConvStep.)

Each is one pass over memory with next to no arithmetic, and NumPy runs it on one core: at
512x512 the stem's ReLUs, masks and the concats were about 6 of the 16 ms a two-thread step
spent on one core (7 ms remain there with them in pieces; benchmarks/thread_scaling.py). Two
cores copy about twice as fast while the arrays stay in the shared L3 (32 MB here), which the
stem's 8 MB activations do. Channels are independent, so each piece writes its own block and
the results are the readable ops' (numdream.ops.relu*, concat_forward), value for value.
"""
from ..backend import get_array_module
from ..ops import concat_forward
from ..ops.concat import ConcatCache
from .pool import MIN_PIECE_ELEMENTS  # the max pool's: about 0.1 ms of a pass on one core
from .threads import channel_blocks, piece_count, run_pieces


def _blocks(y):
    """Channel blocks of y (N, C, H, W), one per piece."""
    return channel_blocks(y, MIN_PIECE_ELEMENTS)


def relu_backward(dy, y):
    """numdream.ops.relu_backward(dy, y) = dy * (y > 0), into a new array. dy, y: (N, C, H, W)."""
    xp = get_array_module(dy)
    dx = xp.empty(dy.shape, dtype=dy.dtype)
    run_pieces(lambda c0=c0, c1=c1: xp.multiply(dy[:, c0:c1], y[:, c0:c1] > 0, out=dx[:, c0:c1])
               for c0, c1 in _blocks(dy))
    return dx


def concat_forward_in_pieces(xs):
    """numdream.ops.concat_forward(xs, axis=1), each input copied into its channels by a piece.
    xs: [(N, C_i, H, W)] -> (y (N, sum C_i, H, W), the readable op's cache)."""
    xp = get_array_module(*xs)
    n, _, h, w = xs[0].shape
    if (piece_count(sum(x.size for x in xs), MIN_PIECE_ELEMENTS) == 1
            or any(x.ndim != 4 or x.shape[0] != n or x.shape[2:] != (h, w) for x in xs)):
        return concat_forward(xs, axis=1)  # small, or shapes the readable op will name
    y = xp.empty((n, sum(x.shape[1] for x in xs), h, w), dtype=xp.result_type(*xs))
    starts = [0]
    for x in xs:
        starts.append(starts[-1] + x.shape[1])
    run_pieces(lambda x=x, c0=c0: xp.copyto(y[:, c0:c0 + x.shape[1]], x) for x, c0 in zip(xs, starts))
    return y, ConcatCache(1, [x.shape[1] for x in xs])
