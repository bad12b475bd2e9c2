"""Feature visualisation, the model-independent half: image parametrisations, random
transformations and Adam, each gradient written by hand as a forward/backward pair.

    params --image_forward--> image in [0, 1] --pipeline_forward--> the network's input
    d params <-image_backward-- d image <-pipeline_backward-- gradient from the objective
    params <- adam_step(params, -d params, state)

- ``param``: the chain params -> image: ``fourier`` (a 1/f-scaled spectrum through an
  orthonormal inverse real FFT) or pixels, ``color`` (decorrelated colour, sigmoid).
- ``transforms``: pad, crop, scale, rotate with explicit parameters; ``sampling``: the bilinear
  gather and its scatter-add adjoint; ``pipeline``: random draws, Lucid's standard set.
- ``adam``: the optimiser, its state explicit. ``naive``: loop oracles. ``cases``: every pair
  with its shapes and PyTorch twin, for the gradient checks.
"""
from .adam import AdamState, adam_init, adam_step
from .color import COLOR_MIX, decorrelate_backward, decorrelate_forward, sigmoid_backward, sigmoid_forward
from .fourier import LUCID_GAIN, fourier_backward, fourier_forward, init_spectrum, spectrum_shape
from .param import PARAMS, UnknownParamError, image_backward, image_forward, init_params
from .pipeline import (STANDARD_TRANSFORMS, Jitter, Pad, RandomRotate, RandomScale, pipeline_backward,
                       pipeline_forward, replay_forward)
from .transforms import (crop_backward, crop_forward, pad_backward, pad_forward, rotate_backward,
                         rotate_forward, scale_backward, scale_forward)

__all__ = [
    "AdamState", "adam_init", "adam_step",
    "COLOR_MIX", "decorrelate_forward", "decorrelate_backward", "sigmoid_forward", "sigmoid_backward",
    "LUCID_GAIN", "fourier_forward", "fourier_backward", "init_spectrum", "spectrum_shape",
    "PARAMS", "UnknownParamError", "image_forward", "image_backward", "init_params",
    "STANDARD_TRANSFORMS", "Pad", "Jitter", "RandomScale", "RandomRotate",
    "pipeline_forward", "pipeline_backward", "replay_forward",
    "pad_forward", "pad_backward", "crop_forward", "crop_backward",
    "scale_forward", "scale_backward", "rotate_forward", "rotate_backward",
]
