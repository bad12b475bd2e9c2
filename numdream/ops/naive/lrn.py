"""The loop oracle of ``numdream.ops.lrn``: local response normalisation, one channel at a time."""
from collections import namedtuple

import numpy as np

NaiveLRNCache = namedtuple("NaiveLRNCache", "x scale size alpha beta")


def _lrn_window(c, size, channels):
    """The channels whose squares scale channel c: [c - size//2, c + (size-1)//2], clipped."""
    return range(max(c - size // 2, 0), min(c + (size - 1) // 2 + 1, channels))


def lrn_forward(x, size, alpha=1e-4, beta=0.75, k=1.0):
    """Cross-channel LRN (Caffe/PyTorch: alpha is divided by size), one channel at a time.

    scale_c = k + alpha / size * sum of x_d^2 over d in _lrn_window(c);  y_c = x_c * scale_c^-beta.
    x: (N, C, H, W) -> y: (N, C, H, W), cache.
    """
    x = np.asarray(x)
    channels = x.shape[1]
    scale = np.empty_like(x)
    for c in range(channels):
        squares = sum(x[:, d] ** 2 for d in _lrn_window(c, size, channels))
        scale[:, c] = k + alpha / size * squares
    return x * scale ** -beta, NaiveLRNCache(x, scale, size, alpha, beta)


def lrn_backward(dy, cache):
    """The chain rule through y_c = x_c * scale_c^-beta, written out term by term.

    y_c depends on x_c directly, and on every x_d in its window through scale_c:
    dy_c/dx_d = [c == d] * scale_c^-beta - beta * x_c * scale_c^(-beta-1) * alpha/size * 2 x_d.
    dy: (N, C, H, W) -> dx: (N, C, H, W).
    """
    x, scale, size, alpha, beta = cache
    channels = x.shape[1]
    dx = np.zeros_like(x)
    for c in range(channels):
        dx[:, c] += dy[:, c] * scale[:, c] ** -beta
        dscale = dy[:, c] * x[:, c] * -beta * scale[:, c] ** (-beta - 1)  # dL/dscale_c
        for d in _lrn_window(c, size, channels):
            dx[:, d] += dscale * alpha / size * 2 * x[:, d]
    return dx
