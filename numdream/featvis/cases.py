"""The gradient-check cases of feature visualisation: every parametrisation and transformation
pair over odd and even sizes, batches of 1 and 3, each with its PyTorch twin.

A FeatvisCase answers like a case of the ops registry (op, config, shapes, eps, inputs(seed, dtype),
pair(oracle), torch_forward(*tensors), name), so numdream.opcases.check_case and
compare_case_with_torch take it as it is, and ``numdream gradcheck`` lists it beside the ops.
Random transformations are checked with their parameters fixed (a seeded draw, replayed): the
check differentiates one deterministic function, the one a step runs.

torch is never imported here at module level: a twin gets it from numdream.gradcheck.import_torch
when it runs (imported there lazily too, so that the registry can import this module).
"""
from dataclasses import dataclass
from functools import partial

import numpy as np

from ..gradcheck import Pair
from . import naive
from .color import COLOR_MIX, decorrelate_backward, decorrelate_forward, sigmoid_backward, sigmoid_forward
from .fourier import LUCID_GAIN, fourier_backward, fourier_forward, spectrum_scale, spectrum_shape
from .param import image_backward, image_forward
from .pipeline import (STANDARD_TRANSFORMS, Jitter, Pad, RandomRotate, RandomScale, pipeline_backward,
                       replay_forward, pipeline_forward)
from .transforms import (crop_backward, crop_forward, pad_backward, pad_forward,
                         rotate_backward, rotate_forward, rotation_grid, scale_backward, scale_forward,
                         scaled_size)


def _torch():
    from ..gradcheck import import_torch  # lazy: torch is optional, and gradcheck imports registries
    torch = import_torch()
    return torch, torch.nn.functional


@dataclass
class FeatvisCase:
    """One pair in one configuration: its inputs' shapes, the pair, its naive twin, its torch twin."""
    op: str
    config: str
    shapes: list
    image: tuple                # (N, C, H, W) of the image the pair produces, transforms or is read from
    engine: tuple               # (forward(*inputs) -> (y, cache), backward(dy, cache) -> dx)
    torch_twin: object          # torch_twin(*tensors) -> tensor
    oracle: tuple = None        # the loop oracle (forward, backward), where there is one
    eps: float = 1e-3           # linear maps: any step is exact up to rounding

    def inputs(self, seed=0, dtype="float64"):
        """Standard normal host arrays, one per shape, seeded."""
        rng = np.random.default_rng(seed)
        return [rng.standard_normal(shape).astype(dtype) for shape in self.shapes]

    def pair(self, oracle=False):
        """Pair(forward, backward) that numdream runs, or with oracle=True its loop oracle."""
        chosen = self.oracle if oracle else self.engine
        if chosen is None:
            raise ValueError(f"{self.name} has no loop oracle")
        return Pair(*chosen)

    def torch_forward(self, *tensors):
        return self.torch_twin(*tensors)

    @property
    def name(self):
        return f"{self.op} {self.config}"


def _dims(shape):
    return "x".join(map(str, shape))


# --- torch twins -------------------------------------------------------------------------------

def _torch_fourier(spectrum, size, decay=1.0, gain=LUCID_GAIN):
    torch, _ = _torch()
    scale = torch.as_tensor(spectrum_scale(size, decay, gain), dtype=spectrum.dtype)
    coefficients = torch.view_as_complex(spectrum.contiguous()) * scale
    return torch.fft.irfftn(coefficients, s=tuple(size), dim=(-2, -1), norm="ortho")


def _torch_decorrelate(x):
    torch, _ = _torch()
    return torch.einsum("ij,njhw->nihw", torch.as_tensor(COLOR_MIX, dtype=x.dtype), x)


def _torch_image(params, size, param, decorrelate):
    torch, _ = _torch()
    x = _torch_fourier(params, size) if param == "fft" else params
    return torch.sigmoid(_torch_decorrelate(x) if decorrelate else x)


def _torch_rotate(x, degrees):
    """F.grid_sample at the same source positions: align_corners=True puts -1 and +1 on the
    centres of the edge pixels, so position p in pixels is 2 p / (size - 1) - 1."""
    torch, F = _torch()
    h, w = x.shape[2:]
    rows, cols = rotation_grid((h, w), degrees)
    grid = np.stack([2 * cols / (w - 1) - 1, 2 * rows / (h - 1) - 1], axis=-1)
    grid = torch.as_tensor(grid, dtype=x.dtype).expand(x.shape[0], h, w, 2)
    return F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=True)


def _torch_scale(x, factor):
    """F.interpolate with align_corners=False: half-pixel centres, as transforms.resize_matrix."""
    _, F = _torch()
    return F.interpolate(x, size=scaled_size(x.shape[2:], factor), mode="bilinear", align_corners=False)


def torch_transform(transform, params, x):
    """One transformation with the parameters numdream drew for it, on a torch tensor x
    (N, C, H, W): the PyTorch twin of pipeline.py (benchmarks/torch_featvis.py runs it too)."""
    _, F = _torch()
    if isinstance(transform, Pad):
        p = transform.width
        return F.pad(x, (p, p, p, p), value=transform.value)
    if isinstance(transform, Jitter):
        top, left = params
        h, w = x.shape[2:]
        return x[:, :, top:top + h - transform.d, left:left + w - transform.d]
    if isinstance(transform, RandomScale):
        return _torch_scale(x, params[0])
    return _torch_rotate(x, params[0])


def _torch_replay(steps, x):
    for step in steps:
        x = torch_transform(step.transform, step.params, x)
    return x


# --- the cases ---------------------------------------------------------------------------------

def _fourier(batch, size, decay=1.0):
    shape = spectrum_shape(size, batch)
    config = f"{_dims(shape)} -> {_dims((batch, 3) + size)} decay{decay:g}"
    return FeatvisCase("fourier", config, [shape], (batch, 3) + size,
                       (partial(fourier_forward, size=size, decay=decay), fourier_backward),
                       partial(_torch_fourier, size=size, decay=decay),
                       (partial(naive.fourier_forward, size=size, decay=decay), naive.fourier_backward))


def _image(batch, size, param, decorrelate):
    shape = spectrum_shape(size, batch) if param == "fft" else (batch, 3) + size
    config = f"{param}{' decorrelated' if decorrelate else ''} {_dims((batch, 3) + size)}"
    return FeatvisCase("image", config, [shape], (batch, 3) + size,
                       (partial(image_forward, size=size, param=param, decorrelate=decorrelate),
                        image_backward),
                       partial(_torch_image, size=size, param=param, decorrelate=decorrelate),
                       eps=1e-5)  # the sigmoid is not linear


def _pointwise(op, shape):
    if op == "decorrelate":
        return FeatvisCase(op, _dims(shape), [shape], shape, (decorrelate_forward, decorrelate_backward),
                           _torch_decorrelate)
    return FeatvisCase(op, _dims(shape), [shape], shape, (sigmoid_forward, sigmoid_backward),
                       lambda t: _torch()[0].sigmoid(t), eps=1e-5)


def _pad(shape, width, value=0.5):
    return FeatvisCase("pad", f"{_dims(shape)} width{width} value{value:g}", [shape], shape,
                       (partial(pad_forward, width=width, value=value), pad_backward),
                       lambda t: _torch()[1].pad(t, (width,) * 4, value=value))


def _crop(shape, top, left, out_hw):
    return FeatvisCase("crop", f"{_dims(shape)} at ({top},{left}) to {_dims(out_hw)}", [shape], shape,
                       (partial(crop_forward, top=top, left=left, out_hw=out_hw), crop_backward),
                       lambda t: t[:, :, top:top + out_hw[0], left:left + out_hw[1]])


def _naive_scale(factor):
    def forward(x):
        return naive.scale_forward(x, scaled_size(x.shape[2:], factor))
    return forward, naive.scale_backward


def _scale(shape, factor):
    config = f"{_dims(shape)} x{factor:g} -> {_dims(scaled_size(shape[2:], factor))}"
    return FeatvisCase("scale", config, [shape], shape,
                       (partial(scale_forward, factor=factor), scale_backward),
                       partial(_torch_scale, factor=factor), _naive_scale(factor))


def _naive_rotate(degrees):
    def forward(x):
        return naive.sample_forward(x, *rotation_grid(x.shape[2:], degrees))
    return forward, naive.sample_backward


def _rotate(shape, degrees):
    return FeatvisCase("rotate", f"{_dims(shape)} {degrees:g} deg", [shape], shape,
                       (partial(rotate_forward, degrees=degrees), rotate_backward),
                       partial(_torch_rotate, degrees=degrees), _naive_rotate(degrees))


def _describe(step):
    """pad2, jitter(1,0), scale1.1, rotate-10: a step as it ran."""
    t, params = step.transform, step.params
    if isinstance(t, Pad):
        return f"pad{t.width}"
    if isinstance(t, Jitter):
        return f"jitter({params[0]},{params[1]})"
    return f"{'scale' if isinstance(t, RandomScale) else 'rotate'}{params[0]:g}"


def _pipeline(shape, transforms, seed, label):
    """The transforms with the parameters a seeded draw gives this input size, replayed."""
    _, cache = pipeline_forward(np.zeros(shape), transforms, np.random.default_rng(seed))
    steps = cache.steps
    drawn = " ".join(_describe(s) for s in steps)
    return FeatvisCase("pipeline", f"{label} {_dims(shape)} seed{seed}: {drawn}", [shape], shape,
                       (lambda x: replay_forward(x, steps), pipeline_backward),
                       partial(_torch_replay, steps))


SMALL_TRANSFORMS = (Pad(2, 0.5), Jitter(2), RandomScale((0.9, 1.1)), RandomRotate((-10, 10)), Jitter(1))

CASES = [
    _fourier(1, (8, 8)), _fourier(3, (7, 8)), _fourier(1, (8, 7)),  # even and odd widths and heights
    _fourier(1, (7, 7)), _fourier(3, (6, 6), decay=0.5), _fourier(1, (1, 5)), _fourier(1, (4, 2)),
    _pointwise("decorrelate", (1, 3, 5, 6)), _pointwise("decorrelate", (3, 3, 4, 5)),
    _pointwise("sigmoid", (1, 3, 5, 6)), _pointwise("sigmoid", (3, 3, 4, 5)),
    _image(1, (8, 8), "fft", True), _image(3, (7, 9), "fft", True), _image(1, (6, 7), "fft", False),
    _image(1, (5, 6), "pixel", True), _image(3, (4, 5), "pixel", False),
    _pad((1, 3, 5, 6), 2), _pad((3, 3, 4, 5), 3, value=0.0),
    _crop((1, 3, 7, 8), 1, 2, (5, 4)), _crop((3, 3, 6, 9), 0, 0, (6, 9)),
    _scale((1, 3, 8, 8), 0.9), _scale((3, 3, 7, 9), 1.1), _scale((1, 3, 9, 8), 0.94),
    _scale((1, 2, 10, 10), 1.06), _scale((1, 3, 7, 7), 1.0), _scale((1, 1, 5, 6), 2.3),
    _rotate((1, 3, 8, 8), 10), _rotate((3, 3, 7, 9), -10), _rotate((1, 3, 9, 8), 7),
    _rotate((1, 3, 7, 7), 0), _rotate((1, 2, 6, 6), 45), _rotate((1, 1, 5, 8), -3),
    _pipeline((1, 3, 8, 8), SMALL_TRANSFORMS, 0, "small"),
    _pipeline((3, 3, 9, 7), SMALL_TRANSFORMS, 1, "small"),
    _pipeline((1, 3, 6, 7), STANDARD_TRANSFORMS, 2, "standard"),
]

OPS = sorted({case.op for case in CASES})


def cases(op=None):
    """The cases of one op (all if op is None)."""
    return [c for c in CASES if op is None or c.op == op]
