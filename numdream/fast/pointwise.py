"""Sibling 1x1 convolutions of one input as one GEMM, with their biases, ReLUs and Inception pool
branches done inside the GEMM's pieces.

A 1x1 stride-1 convolution is a GEMM, W (O, C) @ x (C, H*W). The first layer of most Inception
branches reads the same tensor, so their weights are stacked and computed as one GEMM, whose
backward also sums the branches' gradients for free (dx = W^T dy_all).

The pieces: the GEMM is split into blocks of output channels, one per thread (threads.py), and
each block's epilogue (its bias, the ReLU, a pool branch's average pool) runs in the same piece,
right after the block's rows are computed and while they are still in the cache; the backward's
prologue (ReLU masks, the pool's backward) runs in the same blocks, writing straight into its
rows of dy_all (no zeroed dy_all, no copies of whole branches). Done once over the whole output
after the GEMM, these passes ran on one core, 9 ms of a 512x512 step at two threads; in the
pieces the groups take ~1 ms less: they are memory-bound, and the two cores share the memory.
"""
from collections import namedtuple

from ..backend import get_array_module
from ..ops import avg_pool2d_backward, avg_pool2d_forward, relu_backward
from ..nodes import output_hw, window
from .conv import MIN_PIECE_FLOPS, matmul_in_row_blocks
from .threads import piece_count, run_pieces

PointwiseGroupCache = namedtuple("PointwiseGroupCache", "x_shape pieces outs pool_caches")

# What a pool branch's channel costs in a piece, against a plain member's. Forward: a channel's
# GEMM costs C multiply-adds per pixel, and its average pool as much as ~300 more; backward: a
# ReLU mask is one pass, the mask and the pool's backward ~6. Split by channel count alone, the
# piece holding the pool branch ran 1.3x (forward) and 5x (backward) as long as the other. The
# first figures (128 and 10) came from each piece alone on one thread; with the pieces side by
# side on two threads, as they run, the pool's block then still ran 1.2x as long going forward
# and 0.8x going back. With these, the two blocks of each of InceptionV3's groups at 512x512
# ran within 0.76-1.12x of each other in two runs (medians of 20 steps; the machine's noise is
# about 10 %): python benchmarks/pointwise_balance.py.
POOL_FORWARD_COST = 300  # in multiply-adds per pixel, beside the GEMM's C
POOL_BACKWARD_COST = 6  # in ReLU-mask passes


def _balanced_blocks(edges, costs, pieces):
    """[(r0, r1)]: at most ``pieces`` blocks of the stacked channels whose summed costs are near
    equal. edges: the members' channel offsets; costs: one member's cost per channel, each."""
    cumulative, total = [], 0.0  # the cost up to each member's start
    for (e0, e1), cost in zip(zip(edges[:-1], edges[1:]), costs):
        cumulative.append(total)
        total += cost * (e1 - e0)
    cuts = [0]
    for k in range(1, pieces):
        goal = total * k / pieces
        for (e0, e1), start, cost in zip(zip(edges[:-1], edges[1:]), cumulative, costs):
            if start + cost * (e1 - e0) >= goal:  # the cut falls in this member
                cuts.append(min(e1, e0 + round((goal - start) / cost)) if cost else e1)  # 0: all costs are 0
                break
    cuts.append(edges[-1])
    return [(a, b) for a, b in zip(cuts[:-1], cuts[1:]) if b > a]


def _parts(edges, r0, r1):
    """[(member i, a, b)]: the members' channels in the block [r0, r1), as offsets a:b in member i."""
    return [(i, max(r0, e0) - e0, min(r1, e1) - e0) for i, (e0, e1) in enumerate(zip(edges[:-1], edges[1:]))
            if max(r0, e0) < min(r1, e1)]


class PointwiseGroupStep:
    """Sibling 1x1 stride-1 convolutions of one input, computed as one GEMM whose backward also
    sums the branches' gradients. Each member is (conv, relu or None, pool or None).

    A member with a pool is an Inception pool branch, relu(conv1x1(avgpool(x))). A 1x1
    convolution is linear and acts on each pixel alone, so it commutes with an average pool that
    leaves padding out of the count: avgpool(w x + b) = w avgpool(x) + b. The branch therefore
    joins the GEMM on x and pools its O output channels instead of x's C input channels.
    """

    def __init__(self, members):
        self.members = members
        conv0, _, pool0 = members[0]
        self.inputs = list((pool0 or conv0).inputs)
        self.outputs = [(relu or conv).name for conv, relu, _ in members]
        xp = get_array_module(conv0.params["w"])
        self.w = xp.concatenate([conv.params["w"][:, :, 0, 0] for conv, _, _ in members])  # (O, C)
        self.b = xp.concatenate([conv.params["b"] for conv, _, _ in members])
        self.edges = [0]
        for conv, _, _ in members:
            self.edges.append(self.edges[-1] + conv.params["w"].shape[0])

    def forward(self, xs):
        """xs: [x (N, C, H, W)] -> ([each member's output (N, O_i, H, W), or its pool's size], cache)."""
        x = xs[0]
        xp = get_array_module(x)
        n, c, h, w = x.shape
        o = self.w.shape[0]
        y = xp.empty((n, o, h, w), dtype=x.dtype)
        outs = [y[:, e0:e1] if pool is None else xp.empty((n, e1 - e0) + output_hw(pool, [(h, w)]), dtype=x.dtype)
                for (_, _, pool), e0, e1 in zip(self.members, self.edges[:-1], self.edges[1:])]
        pieces = piece_count(n * o * c * h * w, MIN_PIECE_FLOPS)  # multiply-adds, as fast/conv.py counts
        blocks = _balanced_blocks(self.edges, [c + (POOL_FORWARD_COST if pool is not None else 0)
                                               for _, _, pool in self.members], pieces)
        pool_caches = {}  # member -> its pool's cache (the geometry: one serves any of its channels)
        x2 = x.reshape(n, c, h * w)  # once: a non-contiguous x would be copied by every block

        def block(r0, r1):
            xp.matmul(self.w[r0:r1], x2, out=y[:, r0:r1].reshape(n, r1 - r0, h * w))
            y[:, r0:r1] += self.b[r0:r1].reshape(1, -1, 1, 1)
            for i, a, b in _parts(self.edges, r0, r1):
                _, relu, pool = self.members[i]
                out = outs[i][:, a:b]
                if pool is not None:
                    kernel, stride, padding = window(pool, (h, w))
                    pooled, pool_caches[i] = avg_pool2d_forward(y[:, self.edges[i] + a:self.edges[i] + b],
                                                                kernel, stride, padding)
                    out[...] = pooled
                if relu is not None:
                    xp.maximum(out, 0, out=out)
        run_pieces(lambda r0=r0, r1=r1: block(r0, r1) for r0, r1 in blocks)
        return outs, PointwiseGroupCache(x.shape, pieces, outs, pool_caches)

    def backward(self, dys, cache):
        """dys: [dy of each member's output, or None] -> [dx (N, C, H, W)]."""
        x_shape, pieces, outs, pool_caches = cache
        xp = get_array_module(outs[0])
        n, c, h, w = x_shape
        dy_all = xp.empty((n, self.w.shape[0], h, w), dtype=outs[0].dtype)
        blocks = _balanced_blocks(self.edges, [POOL_BACKWARD_COST if pool is not None else 1
                                               for _, _, pool in self.members], pieces)

        def block(r0, r1):  # the rows r0:r1 of dy_all: each member's dy, masked, through its pool
            for i, a, b in _parts(self.edges, r0, r1):
                _, relu, pool = self.members[i]
                rows = dy_all[:, self.edges[i] + a:self.edges[i] + b]
                if dys[i] is None:
                    rows[...] = 0
                    continue
                dy, out = dys[i][:, a:b], outs[i][:, a:b]
                if pool is None and relu is None:
                    xp.copyto(rows, dy)
                elif pool is None:  # relu_backward, written straight into dy_all's rows
                    xp.multiply(dy, out > 0, out=rows)
                else:  # the mask at the pool's output size, which a 'valid' pool makes smaller
                    pool_cache = pool_caches[i]._replace(x_shape=(n, b - a, h, w))  # these channels
                    rows[...] = avg_pool2d_backward(relu_backward(dy, out) if relu is not None else dy, pool_cache)
        run_pieces(lambda r0=r0, r1=r1: block(r0, r1) for r0, r1 in blocks)
        dx = xp.empty((n, c, h * w), dtype=dy_all.dtype)
        return [matmul_in_row_blocks(self.w.T, dy_all.reshape(n, -1, h * w), dx, pieces).reshape(n, c, h, w)]
