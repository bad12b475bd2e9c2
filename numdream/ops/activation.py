"""ReLU: the non-linearity after (almost) every convolution."""
from ..backend import get_array_module


def relu_forward(x):
    """y = max(x, 0). x: any shape. The cache is y itself: y > 0 exactly where x > 0."""
    xp = get_array_module(x)
    y = xp.maximum(x, 0)
    return y, y


def relu_backward(dy, cache):
    """dx = dy where x > 0, else 0 (the gradient at 0 is taken as 0, as in PyTorch)."""
    y = cache
    return dy * (y > 0)
