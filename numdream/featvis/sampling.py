"""Bilinear sampling: the geometry of a resampling (which input pixels, with which weights) and
the two data passes, a gather forward and a scatter-add backward.

An output pixel at source position (r, c), in input pixel units (0 is the centre of the first
pixel), reads its four neighbours floor(r) + {0, 1} x floor(c) + {0, 1} with the bilinear weights
(1 - fr or fr) * (1 - fc or fc). A neighbour outside the input reads 0 (grid_sample's zeros
padding). The output is linear in the input, y = S x with S sparse (four taps per row), so the
backward is dx = S^T dy: every output sends its gradient back to the four pixels it read, with
the same weights, and an input pixel read by several outputs sums their shares.

The geometry depends only on sizes and the random angle or factor, never on pixel values: it is
computed on the host in float64 (``bilinear_taps``) and only the index and weight arrays go to
the device. The scatter-add is one ``xp.bincount(index, weights=...)``: NumPy adds in index order
(deterministic); CuPy has the same call (cupy.bincount takes weights), with atomic adds whose order
varies from run to run, so a GPU backward is exact to rounding but not bit-reproducible.
The fake CuPy of the tests delegates bincount to NumPy.

A separable resampling (scale) needs no scatter at all: one small matrix per axis, whose
transpose is known on the host too, both applied by gathers (``row_taps``, ``apply_along``).
"""
from collections import namedtuple

import numpy as np

from ..backend import get_array_module

Taps = namedtuple("Taps", "index weights out_hw")  # index (4, P) int64, weights (4, P) f64, host
SampleCache = namedtuple("SampleCache", "x_shape index weights")  # index/weights on the device
RowTaps = namedtuple("RowTaps", "index weights")  # (rows, K) host: the non-zeros of a matrix's rows


def bilinear_taps(rows, cols, in_hw):
    """The four neighbours of each sample and their weights.

    rows, cols: (Ho, Wo) host float64, source positions in input pixels; in_hw: (H, W).
    Returns Taps: index[k, p] = r * W + c of neighbour k of output p (0 when outside, with
    weight 0), weights[k, p], and out_hw = (Ho, Wo).
    """
    h, w = in_hw
    out_hw = rows.shape
    rows, cols = rows.ravel(), cols.ravel()
    r0, c0 = np.floor(rows), np.floor(cols)
    fr, fc = rows - r0, cols - c0
    r0, c0 = r0.astype(np.int64), c0.astype(np.int64)
    index, weights = [], []
    for dr, dc, weight in ((0, 0, (1 - fr) * (1 - fc)), (0, 1, (1 - fr) * fc),
                           (1, 0, fr * (1 - fc)), (1, 1, fr * fc)):
        r, c = r0 + dr, c0 + dc
        inside = (r >= 0) & (r < h) & (c >= 0) & (c < w)
        index.append(np.where(inside, r * w + c, 0))
        weights.append(np.where(inside, weight, 0.0))
    return Taps(np.stack(index), np.stack(weights), out_hw)


def sample_forward(x, taps):
    """y[..., p] = sum over the four taps k of weights[k, p] * x[..., index[k, p]].

    x: (N, C, H, W); taps: from bilinear_taps for this (H, W). Returns y: (N, C, Ho, Wo), cache.
    """
    xp = get_array_module(x)
    n, c, h, w = x.shape
    index = xp.asarray(taps.index)
    weights = xp.asarray(taps.weights, dtype=x.dtype)
    flat = x.reshape(n, c, h * w)
    y = xp.take(flat, index[0], axis=2) * weights[0]  # take: 4x faster than fancy indexing here
    for k in range(1, 4):
        y += xp.take(flat, index[k], axis=2) * weights[k]
    return y.reshape((n, c) + tuple(taps.out_hw)), SampleCache(x.shape, index, weights)


def sample_backward(dy, cache):
    """dx = S^T dy, a scatter-add of dy * weight into each tap's input pixel.

    dy: (N, C, Ho, Wo) -> dx: (N, C, H, W).
    """
    xp = get_array_module(dy)
    n, c, h, w = cache.x_shape
    planes = n * c
    shares = dy.reshape(planes, 1, -1) * cache.weights  # (N*C, 4, P)
    # one bin per input pixel of every plane: plane * H*W + pixel
    bins = xp.arange(planes).reshape(planes, 1, 1) * (h * w) + cache.index
    dx = xp.bincount(bins.ravel(), weights=shares.ravel(), minlength=planes * h * w)
    return dx.reshape(cache.x_shape).astype(dy.dtype, copy=False)


# --- separable resampling: one small matrix per axis, applied by its non-zeros ------------------

def row_taps(matrix):
    """A host matrix (n_out, n_in) stored by the non-zeros of each row: index and weights, both
    (n_out, K), K the most non-zeros in a row (shorter rows padded with weight 0).

    An interpolation matrix has two non-zeros per row; its transpose has at most
    ceil(n_out / n_in) + 1. Applied by K gathers, a resampling and its adjoint need neither a
    scatter nor BLAS: a dense GEMM of this size (240 x 264) runs 1.5 ms on one thread here and
    up to 100 ms when OpenBLAS's threads wait for a busy core.
    """
    k = max(1, int((matrix != 0).sum(axis=1).max()))
    index = np.argsort(matrix == 0, axis=1, kind="stable")[:, :k]  # the non-zero columns first
    return RowTaps(index, np.take_along_axis(matrix, index, axis=1))


def apply_along(x, taps, axis):
    """matrix @ x along ``axis``: y[.., o, ..] = sum_k weights[o, k] * x[.., index[o, k], ..].

    x: any array; taps: row_taps of an (n_out, x.shape[axis]) matrix. Returns x with that axis
    resized to n_out.
    """
    xp = get_array_module(x)
    shape = [1] * x.ndim
    shape[axis] = -1
    y = None
    for k in range(taps.index.shape[1]):
        weight = xp.asarray(taps.weights[:, k], dtype=x.dtype).reshape(shape)
        term = xp.take(x, xp.asarray(taps.index[:, k]), axis=axis) * weight
        y = term if y is None else y + term
    return y
