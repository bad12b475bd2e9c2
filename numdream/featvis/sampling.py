"""Bilinear sampling: the geometry of a resampling (which input pixels, with which weights) and
the two data passes, a gather forward and a scatter-add backward.

An output pixel at source position (r, c), in input pixel units (0 is the centre of the first
pixel), reads its four neighbours floor(r) + {0, 1} x floor(c) + {0, 1} with the bilinear weights
(1 - fr or fr) * (1 - fc or fc). A neighbour outside the input reads 0 (grid_sample's zeros
padding). The output is linear in the input, y = S x with S sparse (four taps per row), so the
backward is dx = S^T dy: every output sends its gradient back to the four pixels it read, with
the same weights, and an input pixel read by several outputs sums their shares.

The geometry depends only on sizes and the random angle or factor, never on pixel values: it is
computed on the host, in the image's precision (``bilinear_taps``), and only the index and weight
arrays go to the device. The scatter-add is ``xp.bincount(index, weights=...)``, one per image plane: NumPy
adds in index order (deterministic); CuPy has the same call (cupy.bincount takes weights), with
atomic adds whose order varies from run to run, so a GPU backward is exact to rounding but not
bit-reproducible.
The fake CuPy of the tests delegates bincount to NumPy.

A separable resampling (scale) needs no scatter at all: one small matrix per axis, whose
transpose is known on the host too, both applied by gathers (``row_taps``, ``apply_along``).
"""
from collections import namedtuple

import numpy as np

from ..backend import get_array_module

Taps = namedtuple("Taps", "index weights out_hw")  # index (4, P) intp, weights (4, P), host
SampleCache = namedtuple("SampleCache", "x_shape index weights")  # index/weights on the device
RowTaps = namedtuple("RowTaps", "index weights")  # (rows, K) host: the non-zeros of a matrix's rows


# the four neighbours (r0 + dr, c0 + dc) of a sample, as rows: (0, 0), (0, 1), (1, 0), (1, 1)
_DR = np.array([0, 0, 1, 1], dtype=np.int32)[:, None]
_DC = np.array([0, 1, 0, 1], dtype=np.int32)[:, None]


def bilinear_taps(rows, cols, in_hw):
    """The four neighbours of each sample and their weights.

    rows, cols: (Ho, Wo) host arrays, source positions in input pixels, float64 or float32 (the
    weights come out in that dtype: a float32 image needs no float64 geometry, which costs twice
    as much); in_hw: (H, W). Returns Taps: index[k, p] = r * W + c of neighbour k of output p (0
    when outside, with weight 0), weights[k, p], and out_hw = (Ho, Wo). All four neighbours at
    once, as (4, P) arrays: a loop over them made this a third of a visualisation step's own time.
    """
    h, w = in_hw
    out_hw = rows.shape
    rows, cols = rows.ravel(), cols.ravel()
    r0, c0 = np.floor(rows), np.floor(cols)
    fr, fc = rows - r0, cols - c0
    itype = np.int32 if h * w < 2 ** 31 else np.int64
    r, c = r0.astype(itype) + _DR, c0.astype(itype) + _DC  # (4, P)
    inside = (r >= 0) & (r < h) & (c >= 0) & (c < w)
    weights = np.where(_DR, fr, 1 - fr) * np.where(_DC, fc, 1 - fc) * inside
    # computed in int32 (half the memory traffic), handed over as intp, which take and bincount
    # would otherwise convert to at every call
    return Taps(((r * w + c) * inside).astype(np.intp), weights, out_hw)


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

    dy: (N, C, Ho, Wo) -> dx: (N, C, H, W). One bincount per image plane: cheaper than one over
    every plane at once, whose bin numbers (plane * H*W + pixel) cost as much to build as the count.
    """
    xp = get_array_module(dy)
    n, c, h, w = cache.x_shape
    flat = dy.reshape(n * c, -1)
    index = cache.index.ravel()
    dx = xp.empty((n * c, h * w), dtype=dy.dtype)
    for plane in range(n * c):
        shares = (flat[plane] * cache.weights).ravel()  # (4, P): each output's share for each tap
        dx[plane] = xp.bincount(index, weights=shares, minlength=h * w)
    return dx.reshape(cache.x_shape)


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
