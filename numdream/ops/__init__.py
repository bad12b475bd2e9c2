"""Layers as forward/backward function pairs with explicit caches (CS231n style).

Every ``*_forward(x, ...)`` returns ``(y, cache)`` and every ``*_backward(dy, cache)`` returns
the gradient with respect to the input. Layout: NCHW activations, OIHW weights; the dtype
follows the input. Loop-based versions of each op live in ``numdream.ops.naive`` as test oracles.
"""
from .activation import relu_backward, relu_forward
from .concat import concat_backward, concat_forward
from .conv import conv2d_backward, conv2d_forward, conv2d_transpose
from .dense import dense_backward, dense_forward, softmax_backward, softmax_forward
from .geometry import same_padding
from .lrn import lrn_backward, lrn_forward
from .pool import avg_pool2d_backward, avg_pool2d_forward, max_pool2d_backward, max_pool2d_forward

__all__ = [
    "conv2d_forward", "conv2d_backward", "conv2d_transpose",
    "max_pool2d_forward", "max_pool2d_backward",
    "avg_pool2d_forward", "avg_pool2d_backward",
    "relu_forward", "relu_backward",
    "concat_forward", "concat_backward",
    "lrn_forward", "lrn_backward",
    "dense_forward", "dense_backward",
    "softmax_forward", "softmax_backward",
    "same_padding",
]
