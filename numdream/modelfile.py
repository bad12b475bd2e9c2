"""The numdream HDF5 model format: one file holds the graph, weights, preprocessing and provenance.

See weights/README.md for the layout. ``read_model`` validates everything and raises
ModelFileError (one clear line naming the file and the problem); ``write_model`` is what the
converters in tools/ call.
"""
from dataclasses import dataclass, field

FORMAT_NAME = "numdream-model"
FORMAT_VERSION = 1

# op -> the parameter datasets it needs
OPS = {
    "input": (),
    "conv2d": ("w", "b"),
    "relu": (),
    "max_pool2d": (),
    "avg_pool2d": (),
    "concat": (),
    "lrn": (),
}


@dataclass
class Node:
    """One graph node. params maps 'w'/'b' to float32 arrays (conv2d: w (O, C, kh, kw), b (O,))."""
    name: str
    op: str
    inputs: list
    attrs: dict = field(default_factory=dict)
    params: dict = field(default_factory=dict)


@dataclass
class ModelSpec:
    """Everything a model file holds. preprocess: channel_order 'RGB'|'BGR', mean (3,) and scale,
    so that network input = (pixel[0..255] in channel_order - mean) * scale."""
    name: str
    nodes: list
    preprocess: dict
    provenance: dict
    path: str = ""
