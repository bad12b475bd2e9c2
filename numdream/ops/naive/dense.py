"""The loop oracles of ``numdream.ops.dense``: the classifier head (dense, softmax), written out."""
from collections import namedtuple
from itertools import product

import numpy as np

NaiveDenseCache = namedtuple("NaiveDenseCache", "x w")


def dense_forward(x, w, b):
    """y[n, o] = sum over every input value k of x[n, k] * w[o, k] + b[o], one output at a time.

    x: (N, C, H, W), read in C-major order (k = (c * H + h) * W + w, Caffe's); w: (O, K);
    b: (O,) or None. Returns y: (N, O, 1, 1) and the cache.
    """
    x, w = np.asarray(x), np.asarray(w)
    n, o = x.shape[0], w.shape[0]
    y = np.zeros((n, o, 1, 1), dtype=x.dtype)
    for i, f in product(range(n), range(o)):
        total = 0.0 if b is None else b[f]
        for j, index in enumerate(np.ndindex(x.shape[1:])):  # C-major: the last axis runs fastest
            total += x[(i,) + index] * w[f, j]
        y[i, f, 0, 0] = total
    return y, NaiveDenseCache(x, w)


def dense_backward(dy, cache, weights=False):
    """Every output sends dy * w[o] back to the input values it read, and dy * x to w[o].

    dy: (N, O, 1, 1) -> dx: the shape of x; with weights=True also dw: (O, K), db: (O,).
    """
    x, w = cache
    n, o = x.shape[0], w.shape[0]
    dx, dw, db = np.zeros_like(x), np.zeros_like(w), np.zeros(o, dtype=w.dtype)
    for i, f in product(range(n), range(o)):
        g = dy[i, f, 0, 0]
        for j, index in enumerate(np.ndindex(x.shape[1:])):
            dx[(i,) + index] += g * w[f, j]
            dw[f, j] += g * x[(i,) + index]
        db[f] += g
    return (dx, dw, db) if weights else dx


def softmax_forward(x):
    """At each image and position, y_c = exp(x_c) / sum over c' of exp(x_c'), written out.

    x: (N, C, H, W) -> y: (N, C, H, W), cache = y. The largest x_c is subtracted before exp
    (the ratio is unchanged) so that exp cannot overflow.
    """
    x = np.asarray(x)
    y = np.empty_like(x)
    n, c, h, width = x.shape
    for i, p, q in product(range(n), range(h), range(width)):
        top = max(x[i, ch, p, q] for ch in range(c))
        exps = [np.exp(x[i, ch, p, q] - top) for ch in range(c)]
        for ch in range(c):
            y[i, ch, p, q] = exps[ch] / sum(exps)
    return y, y


def softmax_backward(dy, cache):
    """dx_d = sum over c of dy_c * dy_c/dx_d, with dy_c/dx_d = y_c * ([c == d] - y_d).

    dy: (N, C, H, W) -> dx: (N, C, H, W).
    """
    y = cache
    dx = np.zeros_like(y)
    n, c, h, width = y.shape
    for i, p, q in product(range(n), range(h), range(width)):
        for d, ch in product(range(c), range(c)):
            dx[i, d, p, q] += dy[i, ch, p, q] * y[i, ch, p, q] * ((ch == d) - y[i, d, p, q])
    return dx
