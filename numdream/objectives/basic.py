"""Objectives that sum over every position: the L2 energy, the mean, chosen channels."""
from ..backend import get_array_module
from ..errors import LayerError, NumdreamError
from .base import Objective


class L2(Objective):
    """0.5 * sum(a^2): its gradient is the activation itself, as in Google's original notebook."""
    name = "l2"

    def layer_value(self, name, act):
        return 0.5 * (act * act).sum(), act


class Mean(Objective):
    """mean(a): "set the gradient to 1 at the target layer" (scaled by 1/size)."""
    name = "mean"

    def layer_value(self, name, act):
        xp = get_array_module(act)
        return act.mean(), xp.full(act.shape, 1.0 / act.size, dtype=act.dtype)


class Channel(Objective):
    """The mean of one or several channels of each target layer: feature visualisation."""
    name = "channel"

    def __init__(self, layers, channels):
        super().__init__(layers)
        self.channels = [int(c) for c in ([channels] if isinstance(channels, int) else channels)]
        if not self.channels:
            raise NumdreamError("the channel objective needs at least one channel")

    def prepare(self, model, image_hw):
        super().prepare(model, image_hw)
        for name in self.layers:
            count = model.layer(name).channels
            bad = [c for c in self.channels if not 0 <= c < count]
            if bad:
                raise LayerError(f"channel {bad[0]} does not exist in layer {name!r}, "
                                 f"which has channels 0 to {count - 1}")

    def layer_value(self, name, act):
        xp = get_array_module(act)
        n, _, h, w = act.shape
        size = n * len(self.channels) * h * w
        grad = xp.zeros_like(act)
        grad[:, self.channels] = 1.0 / size
        return act[:, self.channels].sum() / size, grad
