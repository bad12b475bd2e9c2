"""Objectives for feature visualisation, and their algebra in Python.

    obj = channel("mixed4", 97) - 0.5 * channel("mixed4", 12)
    obj = channel("mixed4:pre_relu", 97) + 0.5 * diversity("mixed4")    # a batch of facets
    value, cache = obj.forward(acts)         # acts: {layer: (N, C, h, w)}, as model.forward returns
    grads = obj.backward(cache)              # {layer: d value / d act}, for model.backward

An Objective is a weighted sum of terms; each term reads one layer through a forward/backward pair
of ``terms.py``. Gradients of terms on the same layer add up. ``obj(acts)`` returns
``(value, grads)`` at once, the interface of numdream.objectives, so ``numdream.dream`` takes these
too (``objective=channel(...) - channel(...)``). ``prepare(model, sizes, batch)`` checks every
layer, channel and position against the model for each input size the network will see, before
any work.
"""
import math
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


class Objective:
    """sum over k of weight_k * term_k, to maximise. Build one with channel(), neuron(), ..., and
    + - * / with numbers; ``layers`` are the layers the network must reach."""

    def __init__(self, weighted_terms):
        self.terms = tuple((float(w), t) for w, t in weighted_terms)
        if not self.terms:
            raise NumdreamError("an objective needs at least one term")

    @property
    def layers(self):
        """The layer names the terms read, each once, in order."""
        return tuple(dict.fromkeys(t.layer for _, t in self.terms))

    @property
    def whole_image(self):
        """For the dream loop: a unit at one position, a classifier or a batch comparison needs the
        image whole (no tiles, no jitter); means over positions do not."""
        return any(isinstance(t, (NeuronTerm, ClassTerm, DiversityTerm)) for _, t in self.terms)

    def prepare(self, model, sizes, batch=1):
        """Check every term for a batch of ``batch`` images whose network inputs have ``sizes``
        [(H, W), ...] (or one (H, W), as the dream loop passes it)."""
        if len(sizes) == 2 and all(isinstance(v, numbers.Integral) for v in sizes):
            sizes = [sizes]
        for _, term in self.terms:
            term.prepare(model, [tuple(s) for s in sizes], batch)

    def prepare_octave(self, model, hw):
        """The dream loop, before each octave: the terms checked at its size, so a unit placed for
        the full image that a smaller octave does not have is one line, not an IndexError."""
        self.prepare(model, hw)

    def forward(self, acts):
        """acts: {layer: (N, C, h, w)} -> (value, cache): value = sum of weight * term value."""
        caches, value = [], 0.0
        for weight, term in self.terms:
            term_value, cache = term.forward(acts[term.layer])
            value += weight * term_value
            caches.append(cache)
        return value, caches

    def backward(self, cache, dvalue=1.0):
        """-> {layer: d(dvalue * value)/d act}: each term's gradient, added up per layer."""
        grads = {}
        for (weight, term), term_cache in zip(self.terms, cache):
            g = term.backward(dvalue * weight, term_cache)
            grads[term.layer] = g if term.layer not in grads else grads[term.layer] + g
        return grads

    def __call__(self, acts):
        value, cache = self.forward(acts)
        return value, self.backward(cache)

    # --- the algebra ---------------------------------------------------------------------------

    def __add__(self, other):
        if isinstance(other, Objective):
            return Objective(self.terms + other.terms)
        if _is_number(other) and other == 0:  # sum([...]) starts from 0
            return self
        return NotImplemented

    __radd__ = __add__

    def __neg__(self):
        return Objective((-w, t) for w, t in self.terms)

    def __sub__(self, other):
        return self + (-other) if isinstance(other, Objective) else NotImplemented

    def __mul__(self, factor):
        if not _is_number(factor):
            return NotImplemented
        if not math.isfinite(factor):
            raise NumdreamError(f"an objective's weight must be a finite number, got {factor!r}")
        return Objective((w * factor, t) for w, t in self.terms)

    __rmul__ = __mul__

    def __truediv__(self, divisor):
        if _is_number(divisor) and divisor == 0:
            raise NumdreamError("cannot divide an objective by 0")
        return self * (1.0 / divisor) if _is_number(divisor) else NotImplemented

    def __repr__(self):
        text = ""
        for w, t in self.terms:
            sign = "-" if w < 0 else "+"
            magnitude = "" if abs(w) == 1 else f"{abs(w):g} * "
            text += (f" {sign} " if text else ("-" if w < 0 else "")) + magnitude + repr(t)
        return text


# --- the constructors a user calls --------------------------------------------------------------

def channel(layer, index, batch=None):
    """The mean of channel ``index`` of ``layer`` over all positions ('mixed4:pre_relu' for the
    values before the last ReLU)."""
    return Objective([(1.0, ChannelTerm(layer, index, batch))])


def neuron(layer, index, y=None, x=None, batch=None):
    """Channel ``index`` at grid position (y, x) of ``layer`` (default: the centre)."""
    return Objective([(1.0, NeuronTerm(layer, index, y, x, batch))])


def direction(layer, vector, batch=None):
    """The mean over positions of the dot product of ``layer``'s channel vector with ``vector``."""
    return Objective([(1.0, DirectionTerm(layer, vector, batch))])


def diversity(layer):
    """Minus the mean pairwise cosine similarity of the batch members' Gram matrices at ``layer``."""
    return Objective([(1.0, DiversityTerm(layer))])


def class_logit(layer, index, batch=None):
    """The score of class ``index`` before the softmax, at dense classifier layer ``layer``."""
    return Objective([(1.0, ClassTerm(layer, index, False, batch))])


def class_probability(layer, index, batch=None):
    """The softmax probability of class ``index`` over the logits of classifier layer ``layer``."""
    return Objective([(1.0, ClassTerm(layer, index, True, batch))])


def as_objective(objective):
    """An Objective as it is, or 'LAYER:CHANNEL' (e.g. 'mixed4:97', 'mixed4:pre_relu:97') as
    channel(LAYER, CHANNEL), Lucid's shorthand."""
    if isinstance(objective, Objective):
        return objective
    if isinstance(objective, str):
        layer, sep, index = objective.rpartition(":")
        if sep and layer and index.isdigit():
            return channel(layer, int(index))
        raise NumdreamError(f"objective {objective!r} is not LAYER:CHANNEL (e.g. 'mixed4:97'); build "
                            "others with numdream.featvis.channel(), neuron(), direction(), ...")
    raise NumdreamError(f"an objective must be an Objective (numdream.featvis.channel(...), ...) or "
                        f"'LAYER:CHANNEL', got {type(objective).__name__}")


def _is_number(value):
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def _index(value, what):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 0:
        raise NumdreamError(f"a {what} must be a whole number >= 0, got {value!r}")
    return int(value)


def _check_channel(model, layer, index):
    count = model.layer(layer).channels
    if index >= count:
        raise LayerError(f"channel {index} does not exist in layer {layer!r}, which has channels "
                         f"0 to {count - 1}")
