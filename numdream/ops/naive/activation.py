"""The loop oracle of ``numdream.ops.activation``: ReLU, one element at a time."""
import numpy as np


def relu_forward(x):
    """y = x where x > 0, else 0, one element at a time. x: any shape -> y, cache = x."""
    x = np.asarray(x)
    y = np.zeros_like(x)
    for index in np.ndindex(x.shape):
        if x[index] > 0:
            y[index] = x[index]
    return y, x


def relu_backward(dy, cache):
    """dx = dy where x > 0, else 0 (at exactly 0 the gradient is taken as 0, as in PyTorch)."""
    x = cache
    dx = np.zeros_like(dy)
    for index in np.ndindex(x.shape):
        if x[index] > 0:
            dx[index] = dy[index]
    return dx
