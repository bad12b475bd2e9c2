"""Objectives for feature visualisation, and their algebra in Python.

    obj = channel("mixed4", 97) - 0.5 * channel("mixed4", 12)
    obj = channel("mixed4:pre_relu", 97) + 0.5 * diversity("mixed4")    # a batch of facets
    value, cache = obj.forward(acts)         # acts: {layer: (N, C, h, w)}, as model.forward returns
    grads = obj.backward(cache)              # {layer: d value / d act}, for model.backward

An Objective is a weighted sum of terms (term_classes.py); each term reads one layer through a
forward/backward pair of ``terms.py``. Gradients of terms on the same layer add up. ``obj(acts)`` returns
``(value, grads)`` at once, the interface of numdream.objectives, so ``numdream.dream`` takes these
too (``objective=channel(...) - channel(...)``). ``prepare(model, sizes, batch)`` checks every
layer, channel and position against the model for each input size the network will see, before
any work.
"""
import math
import numbers

from ..errors import NumdreamError
from .term_classes import ChannelTerm, ClassTerm, DirectionTerm, DiversityTerm, NeuronTerm


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
