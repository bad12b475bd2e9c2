"""Adam (Kingma and Ba, 2015, Algorithm 1), written out: a running mean of the gradient (m) and
of its square (v), both corrected for starting at zero, and a step of lr * m / sqrt(v) per value.

Dividing by sqrt(v) gives every parameter a step of about lr whatever its gradient's scale, which
is what lets one learning rate serve a Fourier spectrum whose gradients span orders of magnitude.
The state is an explicit AdamState, passed in and returned: nothing is hidden, and two runs from
the same parameters and gradients are identical bit for bit.
"""
from dataclasses import dataclass

from ..backend import get_array_module


@dataclass
class AdamState:
    """m, v: one array per parameter array (same shape and device); t: the steps taken so far."""
    m: list
    v: list
    t: int = 0


def adam_init(params):
    """A zero state for a list of parameter arrays."""
    zeros = [get_array_module(p).zeros_like(p) for p in params]
    return AdamState(m=zeros, v=[z.copy() for z in zeros], t=0)


def adam_step(params, grads, state, lr=0.05, beta1=0.9, beta2=0.999, eps=1e-8):
    """One step of descent, p -= lr * m_hat / (sqrt(v_hat) + eps), every array updated in place.

    params, grads: lists of arrays, pairwise the same shape; to climb an objective, pass minus its
    gradient. lr = 0.05 is Lucid's (lucid/optvis/render.py, make_optimizer: AdamOptimizer(0.05));
    beta1, beta2, eps are the paper's. eps is added to the corrected sqrt(v_hat), as in the paper
    and torch.optim.Adam (TensorFlow adds it before the correction: a difference of eps-sized
    steps, invisible in a picture). Returns the state, its t advanced by one.
    """
    state.t += 1
    correction1 = 1 - beta1 ** state.t  # m and v start at 0: early averages are too small by this
    correction2 = 1 - beta2 ** state.t
    for p, g, m, v in zip(params, grads, state.m, state.v):
        xp = get_array_module(p)
        m *= beta1
        m += (1 - beta1) * g
        v *= beta2
        v += (1 - beta2) * (g * g)
        p -= lr * (m / correction1) / (xp.sqrt(v / correction2) + eps)
    return state
