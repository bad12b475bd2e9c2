"""Gradient checks for any forward/backward pair: central differences and PyTorch autograd.

A pair is ``forward(*inputs) -> (y, cache)`` and ``backward(dy, cache) -> dx`` (or a sequence of
gradients, one per input checked). Both checks differentiate the scalar L = <forward(x), dy>:

- ``check_op``: central differences in float64, element by element (``numerical_gradient``)
  and along random directions v, where (L(x + eps v) - L(x - eps v)) / 2 eps must equal <dL/dx, v>.
- ``compare_with_torch``: the same inputs through a PyTorch twin, differentiated by autograd.
  torch is imported only there; without it, TorchNotInstalled says "torch not installed".

Relative error, everywhere in numdream:
    rel_error(a, b) = max|a - b| / max(max|a|, max|b|)        (0 when both are all zero),
the worst element's error measured against the largest magnitude in either array: a tiny entry
cannot blow it up, and a single wrong entry is not averaged away. For two numbers (directional
checks) it is |a - b| / max(|a|, |b|). float32 results are judged by the L2 version,
    rel_l2_error(a, b) = ||a - b||_2 / max(||a||_2, ||b||_2).

A user's own op:
    def square_forward(x): return x * x, x
    def square_backward(dy, x): return 2 * x * dy
    check_op(square_forward, square_backward, [np.random.randn(3, 4)]).passed()   # True

This module is the checking machinery only; it knows no op. The registry of numdream's own pairs
over a grid of configurations (``numdream.opcases``) imports it, never the other way round.
"""
import math
from collections import namedtuple
from dataclasses import dataclass

import numpy as np

from .backend import get_array_module, to_host
from .errors import NumdreamError

# forward(*inputs) -> (y, cache); backward(dy, cache) -> a gradient, or one per input
Pair = namedtuple("Pair", "forward backward")

FD_TOL = 1e-7  # float64 central differences
TORCH_TOL = {"float64": 1e-10, "float32": 1e-5}  # rel_error in float64, rel_l2_error in float32


class TorchNotInstalled(NumdreamError):
    """The PyTorch comparison was asked for, but torch cannot be imported."""


def import_torch():
    """torch, imported on first use; TorchNotInstalled if it is missing."""
    try:
        # Lazy: torch is a test dependency, never a run-time one. Imported here, when a comparison
        # runs, so that numdream (and `numdream gradcheck --no-torch`) works without it.
        import torch
    except ImportError:
        raise TorchNotInstalled("torch not installed: pip install torch (or numdream[test]) "
                                "to compare against PyTorch autograd") from None
    return torch


def torch_available():
    try:
        import_torch()
    except TorchNotInstalled:
        return False
    return True


def rel_error(a, b):
    """max|a - b| / max(max|a|, max|b|); 0 when both are zero. a, b: same shape, host or device."""
    a, b = np.asarray(to_host(a), dtype=np.float64), np.asarray(to_host(b), dtype=np.float64)
    scale = max(np.abs(a).max(initial=0.0), np.abs(b).max(initial=0.0))
    return 0.0 if scale == 0 else float(np.abs(a - b).max(initial=0.0) / scale)


def rel_l2_error(a, b):
    """||a - b||_2 / max(||a||_2, ||b||_2); 0 when both are zero."""
    a, b = np.asarray(to_host(a), dtype=np.float64), np.asarray(to_host(b), dtype=np.float64)
    scale = max(np.linalg.norm(a), np.linalg.norm(b))
    return 0.0 if scale == 0 else float(np.linalg.norm(a - b) / scale)


def _loss(y, dy):
    """L = <y, dy> as a Python float (y, dy on the same device)."""
    return float((y * dy).sum())


def numerical_gradient(f, x, dy, eps=1e-6):
    """dL/dx of L(x) = <f(x), dy> by central differences, one element of x at a time.

    f: x -> y. x: float64 array, host or device; it is perturbed in place and restored.
    dy: the shape of f(x), on the same device. Returns a NumPy array, the shape of x.
    Costs 2 * x.size calls of f.
    """
    grad = np.zeros(x.shape)
    for index in np.ndindex(x.shape):
        old = float(x[index])
        x[index] = old + eps
        plus = _loss(f(x), dy)
        x[index] = old - eps
        minus = _loss(f(x), dy)
        x[index] = old
        grad[index] = (plus - minus) / (2 * eps)
    return grad


def directional_derivative(f, xs, vs, dy, eps=1e-6):
    """(L(xs + eps vs) - L(xs - eps vs)) / 2 eps with L = <f(*xs), dy>: the numerical <dL/dxs, vs>.

    xs: the inputs of f; vs: one direction per input, same shapes and device (None: held fixed).
    """
    def shifted(sign):
        return [x if v is None else x + sign * eps * v for x, v in zip(xs, vs)]
    return (_loss(f(*shifted(1)), dy) - _loss(f(*shifted(-1)), dy)) / (2 * eps)


@dataclass
class GradcheckResult:
    """Relative errors of an analytic gradient against central differences (nan: not run)."""
    elementwise: float  # worst rel_error(backward, numerical_gradient) over the inputs checked
    directional: float  # worst relative error of <dL/dx, v> over the random directions

    @property
    def error(self):
        errors = [e for e in (self.elementwise, self.directional) if not math.isnan(e)]
        return max(errors) if errors else math.nan

    def passed(self, tol=FD_TOL):
        return self.error <= tol


@dataclass
class TorchResult:
    """Relative errors of a pair against its PyTorch twin, forward and worst gradient."""
    forward: float
    backward: float
    forward_l2: float
    backward_l2: float

    @property
    def error(self):
        return max(self.forward, self.backward)

    @property
    def error_l2(self):
        return max(self.forward_l2, self.backward_l2)

    def passed(self, dtype="float64"):
        """float64 is judged by rel_error, float32 by rel_l2_error (see the module docstring)."""
        name = np.dtype(dtype).name
        return (self.error if name == "float64" else self.error_l2) <= TORCH_TOL[name]


def _gradients(backward, dy, cache, inputs, wrt):
    """Run backward; return (host float64 copies of the gradients, the input indices they match)."""
    grads = backward(dy, cache)
    grads = list(grads) if isinstance(grads, (list, tuple)) else [grads]
    wrt = list(range(len(grads))) if wrt is None else list(wrt)
    if len(wrt) != len(grads):
        raise ValueError(f"backward returned {len(grads)} gradients for {len(wrt)} inputs {wrt}")
    for g, i in zip(grads, wrt):
        if tuple(g.shape) != tuple(inputs[i].shape):
            raise ValueError(f"backward returned a gradient of shape {tuple(g.shape)} for input {i} "
                             f"of shape {tuple(inputs[i].shape)}")
    return [np.array(to_host(g), dtype=np.float64) for g in grads], wrt


def _random_like(rng, shape, like, dtype=np.float64):
    """Standard normal values of ``shape`` on the device of ``like``."""
    return get_array_module(like).asarray(rng.standard_normal(shape).astype(dtype))


def check_op(forward, backward, inputs, dy=None, wrt=None, eps=1e-6, directions=3,
             elementwise=True, seed=0):
    """Check backward against float64 central differences of L = <forward(*inputs)[0], dy>.

    forward(*inputs) -> (y, cache); backward(dy, cache) -> dx, or a sequence of gradients for
    the inputs listed in ``wrt`` (default: the first ones, as many as backward returns).
    inputs: arrays, host or device (float64 copies are checked, the originals are not touched).
    dy: the upstream gradient (default: standard normal, seeded). eps: the finite-difference step;
    the element-wise check costs 2 forward calls per input element, each direction costs 2.
    Returns a GradcheckResult.
    """
    rng = np.random.default_rng(seed)
    inputs = [x.astype("float64", copy=True) for x in inputs]
    y, cache = forward(*inputs)
    if dy is None:
        dy = _random_like(rng, y.shape, y)
    grads, wrt = _gradients(backward, dy, cache, inputs, wrt)

    def forward_y(*xs):
        return forward(*xs)[0]

    worst_elementwise = math.nan
    if elementwise:
        worst_elementwise = 0.0
        for g, i in zip(grads, wrt):
            def f(xi, i=i):
                return forward_y(*inputs[:i], xi, *inputs[i + 1:])
            numeric = numerical_gradient(f, inputs[i], dy, eps)
            worst_elementwise = max(worst_elementwise, rel_error(g, numeric))
    worst_directional = math.nan if directions == 0 else 0.0
    for _ in range(directions):
        vs = [None] * len(inputs)
        for i in wrt:
            vs[i] = _random_like(rng, inputs[i].shape, inputs[i])
        analytic = sum(float(np.vdot(g, to_host(vs[i]))) for g, i in zip(grads, wrt))
        numeric = directional_derivative(forward_y, inputs, vs, dy, eps)
        scale = max(abs(analytic), abs(numeric))
        worst_directional = max(worst_directional, 0.0 if scale == 0 else abs(analytic - numeric) / scale)
    return GradcheckResult(worst_elementwise, worst_directional)


def compare_with_torch(forward, backward, inputs, torch_forward, dy=None, wrt=None, seed=0):
    """Compare a pair with a PyTorch twin differentiated by autograd, in the inputs' dtype.

    torch_forward(*tensors) -> tensor: the same op written with torch (e.g. torch.nn.functional).
    inputs: arrays of one float dtype, host or device; wrt as in check_op.
    Returns a TorchResult; raises TorchNotInstalled without torch.
    """
    torch = import_torch()
    rng = np.random.default_rng(seed)
    y, cache = forward(*inputs)
    if dy is None:
        dy = _random_like(rng, y.shape, y, dtype=y.dtype)
    grads, wrt = _gradients(backward, dy, cache, inputs, wrt)
    tensors = [torch.from_numpy(np.array(to_host(x))).requires_grad_(i in wrt)
               for i, x in enumerate(inputs)]
    y_torch = torch_forward(*tensors)
    y_torch.backward(torch.from_numpy(np.array(to_host(dy))))
    pairs = [(g, tensors[i].grad.numpy()) for g, i in zip(grads, wrt)]
    y_torch = y_torch.detach().numpy()
    return TorchResult(
        forward=rel_error(y, y_torch),
        backward=max(rel_error(g, t) for g, t in pairs),
        forward_l2=rel_l2_error(y, y_torch),
        backward_l2=max(rel_l2_error(g, t) for g, t in pairs))


__all__ = [
    "Pair", "FD_TOL", "TORCH_TOL", "TorchNotInstalled", "import_torch", "torch_available",
    "rel_error", "rel_l2_error", "numerical_gradient", "directional_derivative",
    "GradcheckResult", "TorchResult", "check_op", "compare_with_torch",
]
