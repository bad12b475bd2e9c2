"""Cross-channel local response normalisation (LRN), GoogLeNet's normaliser, and its backward pass."""
from collections import namedtuple

from ..backend import get_array_module

LRNCache = namedtuple("LRNCache", "x y scale size alpha beta")


def _channel_window_sum(a, before, after):
    """s[:, c] = sum of a[:, c - before : c + after + 1] (zero outside). a: (N, C, H, W)."""
    xp = get_array_module(a)
    n, c = a.shape[:2]
    padded = xp.zeros((n, c + before + after) + a.shape[2:], dtype=a.dtype)
    padded[:, before:before + c] = a
    total = xp.zeros_like(a)
    for offset in range(before + after + 1):
        total += padded[:, offset:offset + c]
    return total


def lrn_forward(x, size, alpha=1e-4, beta=0.75, k=1.0):
    """Cross-channel LRN, Caffe/PyTorch convention (alpha is divided by size).

    scale_c = k + alpha / size * sum of x_c'^2 over channels c' in [c - size//2, c + (size-1)//2]
    y_c = x_c * scale_c ** -beta.
    x: (N, C, H, W) -> y: (N, C, H, W), cache.
    """
    scale = k + (alpha / size) * _channel_window_sum(x * x, size // 2, (size - 1) // 2)
    y = x * scale ** -beta
    return y, LRNCache(x, y, scale, size, alpha, beta)


def lrn_backward(dy, cache):
    """dx_d = dy_d * scale_d^-beta - 2*alpha*beta/size * x_d * sum over windows c holding d of
    dy_c * y_c / scale_c.  dy: (N, C, H, W) -> dx: (N, C, H, W)."""
    x, y, scale, size, alpha, beta = cache
    # d lies in c's window exactly when c lies in [d - (size-1)//2, d + size//2]: the mirror window.
    spread = _channel_window_sum(dy * y / scale, (size - 1) // 2, size // 2)
    return dy * scale ** -beta - (2 * alpha * beta / size) * x * spread
