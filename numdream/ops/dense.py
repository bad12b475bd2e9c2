"""The classifier head: a fully connected layer (Caffe's InnerProduct, TensorFlow's MatMul) and a
softmax over channels, with their backward passes.

Activations stay 4-D everywhere in numdream. ``dense`` reads (N, C, H, W), flattens each image
in C-major order, index (c * H + h) * W + w, which is Caffe's order, and returns (N, O, 1, 1),
so the objectives and ops after it see the usual layout. TensorFlow flattens NHWC instead; its
converter permutes the weights once (tools/tfgraph), so there is one ``dense`` meaning.
"""
from collections import namedtuple

from ..backend import get_array_module

DenseCache = namedtuple("DenseCache", "x w")


def dense_forward(x, w, b):
    """y = flatten(x) @ w.T + b.

    x: (N, C, H, W) (or any (N, ...) holding K = C*H*W values per image); w: (O, K); b: (O,)
    or None. Returns y: (N, O, 1, 1) and the cache.
    """
    n = x.shape[0]
    o, k = w.shape
    features = x.reshape(n, -1)
    if features.shape[1] != k:
        raise ValueError(f"dense: input {tuple(x.shape)} holds {features.shape[1]} values per "
                         f"image but the weights {tuple(w.shape)} expect {k}")
    y = features @ w.T
    if b is not None:
        y += b
    return y.reshape(n, o, 1, 1), DenseCache(x, w)


def dense_backward(dy, cache, weights=False):
    """Gradients of dense_forward.

    dy: (N, O, 1, 1). Returns dx: the shape of x; with weights=True, (dx, dw, db) with
    dw: (O, K) and db: (O,). DeepDream only needs dx.
    """
    x, w = cache
    n = x.shape[0]
    dy2 = dy.reshape(n, w.shape[0])
    dx = (dy2 @ w).reshape(x.shape)
    if not weights:
        return dx
    return dx, dy2.T @ x.reshape(n, -1), dy2.sum(axis=0)


def softmax_forward(x):
    """y[:, c] = exp(x[:, c]) / sum over c' of exp(x[:, c']), at each position.

    x: (N, C, H, W) (a classifier's logits are (N, C, 1, 1)). The maximum is subtracted first
    so exp never overflows; the result is the same. Returns y and the cache (y itself).
    """
    xp = get_array_module(x)
    e = xp.exp(x - x.max(axis=1, keepdims=True))
    y = e / e.sum(axis=1, keepdims=True)
    return y, y


def softmax_backward(dy, cache):
    """dx_c = y_c * (dy_c - sum over c' of dy_c' * y_c'): the Jacobian diag(y) - y y^T applied to dy.

    dy: (N, C, H, W) -> dx: (N, C, H, W).
    """
    y = cache
    return y * (dy - (dy * y).sum(axis=1, keepdims=True))
