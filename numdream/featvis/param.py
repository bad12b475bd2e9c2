"""Image parametrisations and the chain that turns parameters into an image in [0, 1].

    params --(pixel | fourier)--> (N, 3, H, W) --(decorrelate?)--> RGB --(sigmoid)--> image in [0, 1]

``image_forward`` runs the chain and returns a composite cache; ``image_backward`` unwinds it in
reverse, one backward pass per stage: the chain rule made visible. Lucid's ``image`` does the same
(lucid/optvis/param/images.py: fft_image or pixel_image, then to_valid_rgb with decorrelate and
sigmoid), with autograd where this code writes each gradient out.
"""
from collections import namedtuple

import numpy as np

from ..errors import NumdreamError
from .color import decorrelate_backward, decorrelate_forward, sigmoid_backward, sigmoid_forward
from .fourier import LUCID_GAIN, fourier_backward, fourier_forward, init_spectrum

PARAMS = ("fft", "pixel")

ImageCache = namedtuple("ImageCache", "param decorrelate spatial color squash")


class UnknownParamError(NumdreamError, ValueError):
    """An image parametrisation that does not exist."""


def _check_param(param):
    if param not in PARAMS:
        raise UnknownParamError(f"unknown image parametrisation {param!r}; valid ones are "
                                f"{', '.join(PARAMS)}")


def pixel_forward(pixels):
    """The image is the parameters themselves: (N, C, H, W) -> (N, C, H, W), cache None."""
    return pixels, None


def pixel_backward(dimage, cache):
    """The identity's gradient: dpixels = dimage."""
    return dimage


def image_forward(params, size, param="fft", decorrelate=True, decay=1.0, gain=LUCID_GAIN):
    """params -> an image in (0, 1).

    params: (N, 3, H, W//2 + 1, 2) for param="fft", (N, 3, H, W) for param="pixel";
    size: (H, W); decorrelate: mix the channels by color.COLOR_MIX before the sigmoid;
    decay, gain: the Fourier scaling (fourier.spectrum_scale). Returns image: (N, 3, H, W) and an
    ImageCache holding each stage's cache.
    """
    _check_param(param)
    if param == "fft":
        x, spatial = fourier_forward(params, size, decay, gain)
    else:
        if tuple(params.shape[2:]) != tuple(size):
            raise ValueError(f"pixel: a {size[0]}x{size[1]} image needs params (N, 3, {size[0]}, "
                             f"{size[1]}), got {tuple(params.shape)}")
        x, spatial = pixel_forward(params)
    color = None
    if decorrelate:
        x, color = decorrelate_forward(x)
    image, squash = sigmoid_forward(x)
    return image, ImageCache(param, decorrelate, spatial, color, squash)


def image_backward(dimage, cache):
    """dimage: (N, 3, H, W) -> dparams, the shape of the params; the stages in reverse."""
    dx = sigmoid_backward(dimage, cache.squash)
    if cache.decorrelate:
        dx = decorrelate_backward(dx, cache.color)
    if cache.param == "fft":
        return fourier_backward(dx, cache.spatial)
    return pixel_backward(dx, cache.spatial)


def init_params(size, batch=1, param="fft", sd=0.01, rng=None, dtype=np.float32):
    """Lucid's start for either parametrisation: normal values of standard deviation sd (0.01).

    With the Fourier scaling that is a faint, smooth, grey image; in pixels, faint noise around grey.
    rng: a numpy Generator (default: seed 0), so a seed gives the same start bit for bit.
    Returns a host array, (N, 3, H, W//2 + 1, 2) or (N, 3, H, W).
    """
    _check_param(param)
    if param == "fft":
        return init_spectrum(size, batch, 3, sd, rng, dtype)
    rng = np.random.default_rng(0) if rng is None else rng
    return (sd * rng.standard_normal((batch, 3) + tuple(size))).astype(dtype)
