"""Feature visualisation: what does a neuron want? Image parametrisations, random transformations,
objectives and Adam, each gradient written by hand as a forward/backward pair, and the loop that
joins them to the network.

    img = numdream.visualize(channel("mixed4:pre_relu", 97))              # uint8 (1, 224, 224, 3)

    params --image_forward--> image in [0, 1] --pipeline_forward--> --network_input_forward-->
    the network --> objective value; and back through each backward, in reverse, to d params;
    params <- adam_step(params, -d params, state)

- ``param``: the chain params -> image: ``fourier`` (a 1/f-scaled spectrum through an
  orthonormal inverse real FFT) or pixels, ``color`` (decorrelated colour, sigmoid).
- ``transforms``: pad, crop, scale, rotate with explicit parameters; ``sampling``: the bilinear
  gather and its scatter-add adjoint; ``pipeline``: random draws, Lucid's standard set.
- ``objectives``: channel, neuron, direction, diversity, class logits and probabilities, and their
  algebra (``channel(a, 1) - 0.5 * channel(a, 2)``); ``terms``: their forward/backward pairs.
- ``netinput``: an image in [0, 1] to the network's input (Model.preprocess on arrays).
- ``render``: the loop and ``visualize``; ``atlas``: one visualisation per channel, resumable.
- ``adam``: the optimiser, its state explicit. ``naive``: loop oracles. ``cases``,
  ``objective_cases``: every pair with its shapes and PyTorch twin, for ``numdream gradcheck``.
"""
from .adam import AdamState, adam_init, adam_step
from .color import COLOR_MIX, decorrelate_backward, decorrelate_forward, sigmoid_backward, sigmoid_forward
from .fourier import LUCID_GAIN, fourier_backward, fourier_forward, init_spectrum, spectrum_shape
from .netinput import network_input_backward, network_input_forward
from .objectives import (Objective, as_objective, channel, class_logit, class_probability, direction, diversity,
                         neuron)
from .param import PARAMS, UnknownParamError, image_backward, image_forward, init_params
from .pipeline import (STANDARD_TRANSFORMS, Jitter, Pad, RandomRotate, RandomScale, pipeline_backward,
                       pipeline_forward, replay_forward)
from .render import render_gradient, visualize
from .transforms import (crop_backward, crop_forward, pad_backward, pad_forward, rotate_backward,
                         rotate_forward, scale_backward, scale_forward)

__all__ = [
    "AdamState", "adam_init", "adam_step",
    "COLOR_MIX", "decorrelate_forward", "decorrelate_backward", "sigmoid_forward", "sigmoid_backward",
    "LUCID_GAIN", "fourier_forward", "fourier_backward", "init_spectrum", "spectrum_shape",
    "network_input_forward", "network_input_backward",
    "Objective", "as_objective", "channel", "neuron", "direction", "diversity", "class_logit",
    "class_probability",
    "PARAMS", "UnknownParamError", "image_forward", "image_backward", "init_params",
    "STANDARD_TRANSFORMS", "Pad", "Jitter", "RandomScale", "RandomRotate",
    "pipeline_forward", "pipeline_backward", "replay_forward",
    "render_gradient", "visualize",
    "pad_forward", "pad_backward", "crop_forward", "crop_backward",
    "scale_forward", "scale_backward", "rotate_forward", "rotate_backward",
]
