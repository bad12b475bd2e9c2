"""Colour: decorrelated colour space, and the sigmoid that squashes an image into [0, 1].

Neighbouring colour channels of natural images are strongly correlated (most of the variance is
brightness). Optimising in a decorrelated space, mapped back to RGB by the square root of the
colour covariance, lets every direction of colour move at the same rate, so the pictures come out
in natural colours rather than in saturated primaries (Olah et al., Distill 2017).
"""
from collections import namedtuple

import numpy as np

from ..backend import get_array_module

# The square root of ImageNet's RGB colour covariance, from its SVD: Lucid's
# color_correlation_svd_sqrt (lucid/optvis/param/color.py). Lucid divides it by its largest
# column norm (max_norm_svd_sqrt), so that no decorrelated unit moves RGB by more than one unit.
COLOR_CORRELATION_SVD_SQRT = np.array([[0.26, 0.09, 0.02],
                                       [0.27, 0.00, -0.05],
                                       [0.27, -0.09, 0.03]])
COLOR_MIX = COLOR_CORRELATION_SVD_SQRT / np.linalg.norm(COLOR_CORRELATION_SVD_SQRT, axis=0).max()

SigmoidCache = namedtuple("SigmoidCache", "s")


def _mix(x, matrix):
    """out[:, i] = sum_j matrix[i, j] * x[:, j]; x: (N, 3, H, W), matrix: 3x3 host."""
    xp = get_array_module(x)
    if x.ndim != 4 or x.shape[1] != 3:
        raise ValueError(f"colour mixing needs (N, 3, H, W), got {tuple(x.shape)}")
    # nine scaled adds: cheaper than moving the channel axis last for a 3x3 product, and obvious
    return xp.stack([sum(float(matrix[i, j]) * x[:, j] for j in range(3)) for i in range(3)], axis=1)


def decorrelate_forward(x):
    """rgb = COLOR_MIX @ x at every pixel (Lucid's _linear_decorelate_color, channels first).

    x: (N, 3, H, W), decorrelated colour -> rgb: (N, 3, H, W); the cache is None (the matrix is fixed).
    """
    return _mix(x, COLOR_MIX), None


def decorrelate_backward(drgb, cache):
    """dx = COLOR_MIX.T @ drgb at every pixel: the adjoint of a fixed linear map is its transpose.

    drgb: (N, 3, H, W) -> dx: (N, 3, H, W).
    """
    return _mix(drgb, COLOR_MIX.T)


def sigmoid_forward(x):
    """s = 1 / (1 + exp(-x)), into (0, 1). x: any shape -> s, cache.

    Written with exp(-|x|) so no exp overflows, whatever the sign of x.
    """
    xp = get_array_module(x)
    e = xp.exp(-xp.abs(x))
    s = xp.where(x >= 0, 1 / (1 + e), e / (1 + e))
    return s, SigmoidCache(s)


def sigmoid_backward(ds, cache):
    """dx = ds * s * (1 - s). ds: the shape of s -> dx."""
    s = cache.s
    return ds * s * (1 - s)
