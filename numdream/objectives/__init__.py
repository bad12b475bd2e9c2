"""What a dream maximises: each objective returns its value and its gradient at the target layers.

An objective is any object with ``layers`` ({layer name: weight}) and
``__call__(acts) -> (value, {layer: dvalue/dact})``, where acts maps each layer to its
activation (N, C, h, w). ``prepare(model, image_hw)`` runs once before a dream, for objectives
that need the model (a guide image's features) or the final image size (a neuron's position);
``prepare_octave(model, hw)``, if an objective has it, runs before each octave (a guide shown
at that octave's scale).

How the engine may split the image (numdream.dream.objective_gradient), so memory stays bounded:
- most objectives are sums over positions: the engine computes them tile by tile;
- ``window(model, image_hw)`` may return a crop outside which the gradient is exactly zero, and
  an objective to use on that crop: the Neuron does (its receptive field);
- ``whole_image`` (a one-line reason, or False) marks an objective that needs the image in one
  piece: the Class objective, whose classifier reads every position at once;
- ``jitters = False`` keeps the image still: a neuron's position and a classifier's view of the
  whole frame would move with the roll;
- ``concurrent_tiles`` (True on Objective) lets a step's tiles run side by side on numdream's
  threads (numdream/fast/tiles.py), each calling the objective at once; a subclass whose call
  changes its own state sets it False, and an object that is not an Objective runs its tiles
  one after another. (Feature visualisation's objectives, numdream.featvis, are another
  family: they run on whole images and never meet tiles.)
"""
from ..errors import NumdreamError
from .base import Objective, layer_weights
from .basic import L2, Channel, Mean
from .classifier import Class, fitting_sides
from .guided import GUIDE_PIXELS, Guide
from .neuron import Neuron

__all__ = ["Objective", "layer_weights", "L2", "Mean", "Channel", "Neuron", "Guide", "GUIDE_PIXELS", "Class",
           "fitting_sides", "OBJECTIVES", "make_objective"]


OBJECTIVES = {cls.name: cls for cls in (L2, Mean, Channel, Neuron, Guide, Class)}


def make_objective(objective, layers, channels=None, neuron=None, guide=None, class_index=None,
                   guide_mode="gram"):
    """Build an objective from its name ('l2', 'mean', 'channel', 'neuron', 'guide', 'class') and
    options, or return an Objective instance unchanged.

    neuron: (channel, y, x) with y/x None for the centre; guide: an image (uint8 H x W x 3) and
    guide_mode its matching rule (numdream.guide.MODES);
    class_index: the class whose score the 'class' objective raises.
    """
    if not isinstance(objective, str):
        return objective
    if objective not in OBJECTIVES:
        raise NumdreamError(f"unknown objective {objective!r}; valid objectives are "
                            f"{', '.join(OBJECTIVES)}")
    if objective == "channel":
        if channels is None:
            raise NumdreamError("objective 'channel' needs channels (--channel N[,M...])")
        return Channel(layers, channels)
    if objective == "neuron":
        if neuron is None:
            raise NumdreamError("objective 'neuron' needs a unit (--neuron CHANNEL[:Y:X])")
        return Neuron(layers, *neuron)
    if objective == "guide":
        if guide is None:
            raise NumdreamError("objective 'guide' needs a guide image (--guide IMAGE)")
        return Guide(layers, guide, guide_mode)
    if objective == "class":
        if class_index is None:
            raise NumdreamError("objective 'class' needs a class index (--class-index N)")
        return Class(layers, class_index)
    return OBJECTIVES[objective](layers)
