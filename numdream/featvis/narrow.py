"""Compute only the branch a channel comes from.

An Inception module is a concat of branches: mixed4's channels 0-191 are its 1x1 branch,
192-383 its 7x7 branch, and so on; 'mixed4:pre_relu' is the same concat of the branches'
convolutions before their ReLUs. A channel objective on such a layer reads one branch, so the
others are pure waste: forward, they compute channels no term reads, and backward, they carry
exact zeros down to the module's input. Reading the channel where it is made instead,

    channel("mixed4:pre_relu", 97)  ->  channel("conv2d_31", 97)   (mixed4's 1x1 branch)

lets Model.forward run only what that layer needs (Model.needed), with the same value and the
same gradient: the other branches add only zeros to the gradient of the module's input. In
float64 the two agree bit for bit (tests); in float32 up to rounding (~1e-6 relative), because
the fused plan computes a lone 1x1 branch as its own GEMM instead of stacked with its siblings,
and a GEMM's float32 sums depend on its shape.
Measured on a 224x224 visualisation of mixed4 channel 97 (2 cores, idle): a step about 59 -> 54 ms,
mixed4 being the last and smallest module (benchmarks/README.md has the benchmark's figure).
"""
import copy

from .objectives import Objective
from .term_classes import ChannelTerm, ClassTerm


def channel_source(model, layer, channel):
    """(layer, channel) of the narrowest node that computes channel ``channel`` of ``layer``.

    Follows concats along the channel axis (and ':pre_relu' aliases) to the input that holds the
    channel; anything else (a ReLU, a pool, a convolution) computes all its channels at once.
    """
    name, asked = layer, channel
    while True:
        node = model.nodes[model.aliases.get(name, name)]
        if node.op != "concat" or node.attrs.get("axis", 1) != 1:
            return name, channel
        for src in node.inputs:
            width = model.layers[src].channels
            if channel < width:
                name = src
                break
            channel -= width
        else:  # a channel beyond the concat: prepare() reports it; leave the term as it is
            return layer, asked


def narrowed(objective, model):
    """``objective`` with each channel and neuron term read at its channel's source (see above).

    Class terms and directions (which read every channel) stay as they are. The result computes
    the same values and gradients; only the layers the network must reach change.
    """
    if not isinstance(objective, Objective):
        return objective
    terms = []
    for weight, term in objective.terms:
        if isinstance(term, ChannelTerm) and not isinstance(term, ClassTerm):  # neurons are channel terms
            source, channel = channel_source(model, term.layer, term.channel)
            if source != term.layer:
                term = _moved(term, source, channel)
        terms.append((weight, term))
    return Objective(terms)


def _moved(term, layer, channel):
    """A copy of ``term`` (whatever its class) reading ``channel`` of ``layer``."""
    moved = copy.copy(term)
    moved.layer, moved.channel = layer, channel
    return moved
