"""The terms an Objective adds up (numdream/featvis/objectives.py): each names its layer, checks
itself against a model before any work (``prepare``) and computes its value and gradient through
a forward/backward pair of terms.py.
"""
import numbers

import numpy as np

from ..errors import LayerError, NumdreamError
from ..objectives import Class
from ..ops import softmax_backward, softmax_forward
from . import terms


class Term:
    """One term on one layer: subclasses set ``layer`` and define forward(act) / backward(dvalue, cache)."""

    def __init__(self, layer, batch=None):
        if not isinstance(layer, str) or not layer:
            raise NumdreamError(f"a layer name must be a non-empty string, got {layer!r}")
        self.layer = layer
        self.batch = _index(batch, "batch member") if batch is not None else None

    def prepare(self, model, sizes, batch):
        """Check this term against ``model``, for the network inputs of ``sizes`` [(H, W)] and a
        batch of ``batch`` images; raise a NumdreamError naming what is wrong."""
        model.layer(self.layer)
        if self.batch is not None and self.batch >= batch:
            raise NumdreamError(f"{self!r} reads batch member {self.batch}, but the batch has {batch} "
                                f"image{'s' * (batch != 1)} (members 0 to {batch - 1})")

    def _suffix(self):
        return "" if self.batch is None else f", batch={self.batch}"


class ChannelTerm(Term):
    def __init__(self, layer, channel, batch=None):
        super().__init__(layer, batch)
        self.channel = _index(channel, "channel")

    def prepare(self, model, sizes, batch):
        super().prepare(model, sizes, batch)
        _check_channel(model, self.layer, self.channel)

    def forward(self, act):
        return terms.channel_forward(act, self.channel, self.batch)

    backward = staticmethod(terms.channel_backward)

    def __repr__(self):
        return f"channel({self.layer!r}, {self.channel}{self._suffix()})"


class NeuronTerm(ChannelTerm):
    """y, x: the grid position, or None for the centre of whatever grid the network produces (the
    transformations change the image size from step to step; the centre stays the centre)."""

    def __init__(self, layer, channel, y=None, x=None, batch=None):
        super().__init__(layer, channel, batch)
        self.y = None if y is None else _index(y, "row")
        self.x = None if x is None else _index(x, "column")

    def prepare(self, model, sizes, batch):
        super().prepare(model, sizes, batch)
        if self.y is None and self.x is None:
            return
        grids = [model.output_shapes(hw, [self.layer])[self.layer] for hw in sizes]
        h, w = min(g[0] for g in grids), min(g[1] for g in grids)
        y, x = self._position((h, w))
        if not (y < h and x < w):
            raise LayerError(f"position ({y}, {x}) is outside layer {self.layer!r}, whose grid is "
                             f"{h}x{w} on the smallest image the network sees ({min(sizes)[0]}x{min(sizes)[1]})")

    def _position(self, hw):
        return (hw[0] // 2 if self.y is None else self.y), (hw[1] // 2 if self.x is None else self.x)

    def forward(self, act):
        y, x = self._position(act.shape[2:])
        return terms.neuron_forward(act, self.channel, y, x, self.batch)

    backward = staticmethod(terms.neuron_backward)

    def __repr__(self):
        where = "" if self.y is None and self.x is None else f", y={self.y}, x={self.x}"
        return f"neuron({self.layer!r}, {self.channel}{where}{self._suffix()})"


class DirectionTerm(Term):
    def __init__(self, layer, vector, batch=None):
        super().__init__(layer, batch)
        vector = np.array(vector, dtype=np.float64).reshape(-1)
        if vector.size == 0 or not np.isfinite(vector).all():
            raise NumdreamError(f"a direction needs a vector of finite numbers, got {vector!r}")
        self.vector = vector

    def prepare(self, model, sizes, batch):
        super().prepare(model, sizes, batch)
        channels = model.layer(self.layer).channels
        if self.vector.size != channels:
            raise LayerError(f"layer {self.layer!r} has {channels} channels, but the direction has "
                             f"{self.vector.size} values")

    def forward(self, act):
        return terms.direction_forward(act, self.vector, self.batch)

    backward = staticmethod(terms.direction_backward)

    def __repr__(self):
        return f"direction({self.layer!r}, <{self.vector.size} values>{self._suffix()})"


class DiversityTerm(Term):
    def prepare(self, model, sizes, batch):
        super().prepare(model, sizes, batch)
        if batch < 2:
            raise NumdreamError(f"{self!r} compares the images of a batch; it needs a batch of 2 or "
                                f"more, got {batch}")

    forward = staticmethod(terms.diversity_forward)
    backward = staticmethod(terms.diversity_backward)

    def __repr__(self):
        return f"diversity({self.layer!r})"


class ClassTerm(ChannelTerm):
    """A classifier's logit (probability=False) or softmax probability of class ``channel``.

    The layer must be a dense classifier node; numdream.objectives.Class checks that, the class
    index, and that every image size the network sees fits the head.
    """

    def __init__(self, layer, index, probability=False, batch=None):
        super().__init__(layer, index, batch)
        self.probability = bool(probability)

    def prepare(self, model, sizes, batch):
        Term.prepare(self, model, sizes, batch)
        for hw in sizes:
            Class(self.layer, self.channel).prepare(model, hw)

    def forward(self, logits):
        if not self.probability:
            return terms.channel_forward(logits, self.channel, self.batch)
        probabilities, softmax_cache = softmax_forward(logits)
        value, cache = terms.channel_forward(probabilities, self.channel, self.batch)
        return value, (softmax_cache, cache)

    def backward(self, dvalue, cache):
        if not self.probability:
            return terms.channel_backward(dvalue, cache)
        softmax_cache, mean_cache = cache
        return softmax_backward(terms.channel_backward(dvalue, mean_cache), softmax_cache)

    def __repr__(self):
        kind = "probability" if self.probability else "logit"
        return f"class_{kind}({self.layer!r}, {self.channel}{self._suffix()})"


def _index(value, what):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 0:
        raise NumdreamError(f"a {what} must be a whole number >= 0, got {value!r}")
    return int(value)


def _check_channel(model, layer, index):
    count = model.layer(layer).channels
    if index >= count:
        raise LayerError(f"channel {index} does not exist in layer {layer!r}, which has channels "
                         f"0 to {count - 1}")
