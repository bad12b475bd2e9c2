"""Loop-based versions of every op: slow, obvious, and the oracle the fast ops are tested against.

Each function has the signature of its twin in ``numdream.ops`` and returns ``(y, cache)`` or
the gradient, but it computes one window (or one channel) at a time, the way the op is written
on paper. Read these first; then read the fast versions, which do the same with im2col and GEMMs.
The files mirror ``numdream/ops/``: ``naive/conv.py`` is the oracle of ``ops/conv.py``, and so on.

NumPy only: they run on the host (``np.asarray`` refuses a CuPy array rather than copy it
silently). The engine never calls them; tests, ``numdream gradcheck`` and tutorials do.
"""
from .activation import relu_backward, relu_forward
from .concat import concat_backward, concat_forward
from .conv import conv2d_backward, conv2d_forward
from .dense import dense_backward, dense_forward, softmax_backward, softmax_forward
from .lrn import lrn_backward, lrn_forward
from .pool import avg_pool2d_backward, avg_pool2d_forward, max_pool2d_backward, max_pool2d_forward

__all__ = [
    "conv2d_forward", "conv2d_backward",
    "max_pool2d_forward", "max_pool2d_backward",
    "avg_pool2d_forward", "avg_pool2d_backward",
    "relu_forward", "relu_backward",
    "concat_forward", "concat_backward",
    "lrn_forward", "lrn_backward",
    "dense_forward", "dense_backward",
    "softmax_forward", "softmax_backward",
]
