"""From an image in [0, 1] to the network's input, as a forward/backward pair: what
Model.preprocess does to a uint8 photo, on float arrays and batches.

    x[:, c] = (255 * image[:, source(c)] - mean[c]) * scale

source(c) is c for an RGB network and 2 - c for a BGR one (Caffe's); mean is in the network's
channel order, and scale converts 0-255 pixel units into its input units (1/127.5 and a mean of
127.5 put InceptionV3's input in [-1, 1]). The map is affine, so the backward is its linear part
transposed: dimage[:, source(c)] = 255 * scale * dx[:, c] (reversing the channels is its own
inverse).
"""
from collections import namedtuple

from ..backend import get_array_module

NetInputCache = namedtuple("NetInputCache", "gain bgr")


def network_input_forward(image, mean, scale, channel_order="RGB"):
    """image: (N, 3, H, W) RGB in [0, 1]; mean: 3 numbers in the network's channel order;
    scale: input units per 0-255 pixel unit. Returns x: (N, 3, H, W) in the image's dtype, cache."""
    xp = get_array_module(image)
    if channel_order not in ("RGB", "BGR"):
        raise ValueError(f"channel order must be 'RGB' or 'BGR', got {channel_order!r}")
    bgr = channel_order == "BGR"
    gain = 255.0 * float(scale)
    ordered = image[:, ::-1] if bgr else image
    offset = xp.asarray([float(m) * float(scale) for m in mean], dtype=image.dtype).reshape(1, 3, 1, 1)
    return ordered * image.dtype.type(gain) - offset, NetInputCache(gain, bgr)


def network_input_backward(dx, cache):
    """dx: (N, 3, H, W) -> dimage: (N, 3, H, W), RGB."""
    dimage = dx * dx.dtype.type(cache.gain)
    return dimage[:, ::-1] if cache.bgr else dimage


def model_input_forward(image, model):
    """network_input_forward with ``model``'s own preprocessing (channel order, mean, scale)."""
    return network_input_forward(image, model.mean, model.scale, model.channel_order)
