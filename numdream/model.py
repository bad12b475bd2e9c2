"""The graph executor: a model file's nodes run forward to any targets and back to the pixels.

    model = load_model()                                  # the bundled InceptionV3 trunk
    x = model.preprocess(image)                           # (1, 3, H, W) in the network's input space
    acts, tape = model.forward(x, until=["mixed3"])       # {"mixed3": (1, 768, h, w)}, and the tape
    dx = model.backward({"mixed3": ones_like(acts["mixed3"])}, tape)  # dL/dx, (1, 3, H, W)

As at the op level, forward keeps what backward needs and hands it over explicitly: an op returns
(y, cache), the graph returns (acts, tape), a Tape holding every step's cache in order. backward
walks the steps in reverse, adds up the gradients where a tensor fans out to several branches,
and frees each cache once used, so a tape serves one backward pass.
"""
import contextlib
import difflib
import threading
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy

from . import backend, modelfile, nodes
from .errors import LayerError, NumdreamError
from .fast.plan import fused_plan
from .fast.threads import own_cores
from .fast.winograd import default_on
from .layershapes import LayerShapes

BUNDLED = "inception_v3.h5"


@dataclass(frozen=True)
class LayerInfo:
    """A node as a user chooses it: its op, channel count and spatial stride w.r.t. the input.

    stride 0 marks a layer whose every output sees the whole image (a dense node, a global pool,
    and what follows them)."""
    name: str
    op: str
    channels: int
    stride: int


def bundled_model_path():
    """Path of the bundled InceptionV3 file: installed as the numdream.weights package, or in the
    weights/ folder beside numdream/ when running from a source checkout."""
    try:
        return str(resources.files("numdream.weights") / BUNDLED)
    except ModuleNotFoundError:
        return str(Path(__file__).resolve().parent.parent / "weights" / BUNDLED)


def load_model(path=None, dtype=numpy.float32, fuse=True, winograd=None):
    """Read and validate a model file (the bundled InceptionV3 when path is None).

    fuse: run the fused plan of numdream.fast (default), or False for the readable ops one node
    at a time (same values; what a student steps through). winograd: whether the fused plan runs
    its stride-1 convolutions through Winograd (None: numdream.fast.winograd.default_on decides).
    """
    return Model(modelfile.read_model(path or bundled_model_path()), dtype=dtype, fuse=fuse, winograd=winograd)


class Tape:
    """What one forward pass kept for its backward: the steps that ran and their caches, in order.

    Made by Model.forward and consumed by Model.backward, which frees each cache as it goes: a
    tape serves one backward pass. Dropping a tape unused frees its caches too.
    """

    def __init__(self, model, steps, input_shape, input_xp):
        self.model, self.steps, self.caches = model, steps, []
        self.input_shape, self.input_xp = input_shape, input_xp
        self.reached = {name for step in steps for name in step.outputs}
        self.used = False


class Model(LayerShapes):
    """A validated graph whose parameters live on the active backend in ``dtype``.

    fuse=True (the default) runs the fused, cache-friendly plan of numdream.fast.plan;
    fuse=False runs every node through the readable ops of numdream.ops, one by one.
    """

    def __init__(self, spec, dtype=numpy.float32, fuse=True, winograd=None):
        self.spec = spec
        self.name = spec.name
        self.dtype = numpy.dtype(dtype)
        for node in spec.nodes:
            node.params = {k: backend.to_device(v, self.dtype) for k, v in node.params.items()}
        # the graph: the file's nodes, and a pre-ReLU concat after each Inception module
        self.aliases, added = nodes.pre_relu_layers(spec.nodes)
        after = {follows: node for node, follows in added}
        self.graph = [n for node in spec.nodes for n in (node, after.get(node.name)) if n is not None]
        self.nodes = {n.name: n for n in self.graph}
        self._input = next(n.name for n in spec.nodes if n.op == "input")
        self.layers = self._layer_infos()
        self.layer_names = [n.name for n in spec.nodes]  # the file's nodes; self.layers adds ':pre_relu' ones
        pre = spec.preprocess
        self.channel_order = pre["channel_order"]
        self.mean = numpy.asarray(pre["mean"], dtype=numpy.float64).reshape(3)
        self.scale = float(pre["scale"])  # network input units per 0-255 pixel unit
        self.fuse = fuse  # False: run every node through the readable ops, one by one
        self.winograd = default_on() if winograd is None else bool(winograd)  # fused plan only
        self._plans = {}
        self._plans_lock = threading.Lock()
        self._transformed = {}  # Winograd weights of the fused plans' convolutions (fast/plan.py)
        self._sizes_that_fit = set()  # ((input H, W), targets) that forward() has checked

    # ---- layers -------------------------------------------------------------------------------

    def _layer_infos(self):
        """{name: LayerInfo} of every node and pre-ReLU alias (after its ReLU), in order."""
        info = {}
        for node in self.graph:
            if node.op == "input":
                info[node.name] = LayerInfo(node.name, node.op, int(node.attrs.get("channels", 3)), 1)
                continue
            srcs = [info[s] for s in node.inputs]
            stride = srcs[0].stride * (nodes.spatial_stride(node) if node.op != "concat" else 1)
            if node.op in ("conv2d", "dense"):
                channels = int(node.params["w"].shape[0])
            elif node.op == "concat":
                channels = sum(s.channels for s in srcs)
            else:
                channels = srcs[0].channels
            info[node.name] = LayerInfo(node.name, node.op, channels, stride)
            alias = node.name + nodes.PRE_RELU
            if alias in self.aliases:
                source = info[self.aliases[alias]]
                info[alias] = LayerInfo(alias, source.op, source.channels, source.stride)
        return info

    def has_pre_relu(self, name):
        """True if layer ``name`` can be read before its last ReLU, as name + ':pre_relu'."""
        return name + nodes.PRE_RELU in self.layers

    def _node_names(self, until):
        """Layer names -> the graph nodes that hold them (a ReLU's pre-ReLU alias is its input)."""
        return [self.aliases.get(name, name) for name in until]

    def default_layers(self):
        """{layer: weight} that a dream targets when none are given (the model file's dream_layers)."""
        if self.spec.dream_layers:
            return dict(self.spec.dream_layers)
        concats = [n.name for n in self.spec.nodes if n.op == "concat"][-3:]
        hint = f", e.g. {', '.join(concats)}" if concats else ""
        raise LayerError(f"model {self.name!r} names no default dream layers; choose target layers "
                         f"(--layer NAME){hint}")

    def layer(self, name):
        """LayerInfo of ``name``; an unknown name raises LayerError with the closest valid names."""
        if name not in self.layers:
            close = difflib.get_close_matches(name, list(self.layers), n=3, cutoff=0.5)
            hint = f"; did you mean {', '.join(close)}?" if close else ""
            raise LayerError(f"unknown layer {name!r} in model {self.name!r}{hint} "
                             f"(`numdream layers` lists all {len(self.layer_names)})")
        return self.layers[name]

    def needed(self, until):
        """Names of the nodes that the layers ``until`` depend on (themselves included), in execution order."""
        needed, stack = set(), self._node_names(until)
        while stack:
            name = stack.pop()
            if name not in needed:
                needed.add(name)
                stack.extend(self.nodes[name].inputs)
        return [node.name for node in self.graph if node.name in needed]

    # ---- pixels <-> network input ----------------------------------------------------------------

    def preprocess(self, image):
        """uint8 (H, W, 3) RGB -> (1, 3, H, W) network input on the active backend."""
        img = numpy.asarray(image, dtype=self.dtype)  # in the model's dtype: a 4K photo stays small
        if self.channel_order == "BGR":
            img = img[..., ::-1]
        x = ((img - self.mean.astype(self.dtype)) * self.dtype.type(self.scale)).transpose(2, 0, 1)[None]
        return backend.to_device(numpy.ascontiguousarray(x), self.dtype)

    def deprocess(self, x):
        """(1, 3, H, W) or (3, H, W) network input -> uint8 (H, W, 3) RGB on the host."""
        x = numpy.asarray(backend.to_host(x), dtype=self.dtype)
        img = x.reshape(x.shape[-3:]).transpose(1, 2, 0) / self.dtype.type(self.scale) + self.mean.astype(self.dtype)
        if self.channel_order == "BGR":
            img = img[..., ::-1]
        return numpy.clip(numpy.rint(img), 0, 255).astype(numpy.uint8)

    def input_range(self, xp=numpy):
        """(low, high), each (1, 3, 1, 1): the network-input values of pixels 0 and 255."""
        low = ((0 - self.mean) * self.scale).reshape(1, 3, 1, 1)
        high = ((255 - self.mean) * self.scale).reshape(1, 3, 1, 1)
        return xp.asarray(low, dtype=self.dtype), xp.asarray(high, dtype=self.dtype)

    # ---- forward and backward ----------------------------------------------------------------------

    def _plan(self, until):
        """The steps for these targets (cached: fusing stacks weights once per target set)."""
        key = (tuple(sorted(until)), self.fuse, self.winograd)
        with self._plans_lock:  # a dream's tiles side by side may ask for the first plan at once
            if key not in self._plans:
                order = [n for n in self.needed(until) if n != self._input]
                self._plans[key] = (fused_plan(self.nodes, order, set(until), self._transformed, self.winograd)
                                    if self.fuse else [nodes.NodeStep(self.nodes[name]) for name in order])
            return self._plans[key]

    def _cores(self, xp):
        """The fused plan runs its convolutions in pieces on the cores (numdream/fast/threads.py)."""
        return own_cores(xp.__name__) if self.fuse else contextlib.nullcontext()

    def forward(self, x, until, keep_tape=True):
        """Run the nodes that ``until`` needs. x: (N, C, H, W).

        Returns (acts, tape): acts maps each name in ``until`` to its activation, and the tape
        holds what backward() needs. keep_tape=False keeps no caches (to measure or to read
        features without a backward pass) and returns (acts, None).
        """
        until = [until] if isinstance(until, str) else list(until)
        for name in until:
            self.layer(name)
        if x.ndim != 4 or x.shape[1] != self.layers[self._input].channels:
            raise NumdreamError(f"input must be (N, {self.layers[self._input].channels}, H, W), "
                                f"got shape {tuple(x.shape)}")
        fits = (tuple(x.shape[2:]), frozenset(until))
        if fits not in self._sizes_that_fit:  # every layer's size: about 1 ms, once per size
            self.output_shapes(x.shape[2:], until)  # a clear error before any work if x is too small
            if len(self._sizes_that_fit) >= 256:  # a video of ever new sizes: forget, not grow
                self._sizes_that_fit.clear()
            self._sizes_that_fit.add(fits)
        steps = self._plan(self._node_names(until))
        tape = Tape(self, steps, x.shape, backend.get_array_module(x)) if keep_tape else None
        left = {}  # name -> how many steps still have to read it
        for step in steps:
            for src in step.inputs:
                left[src] = left.get(src, 0) + 1
        acts, keep = {self._input: x}, set(self._node_names(until))
        with self._cores(backend.get_array_module(x)):
            for step in steps:
                ys, cache = step.forward([acts[s] for s in step.inputs])
                if tape is not None:
                    tape.caches.append(cache)
                acts.update(zip(step.outputs, ys))
                for src in step.inputs:  # drop what no later step reads
                    left[src] -= 1
                    if left[src] == 0 and src not in keep:
                        del acts[src]
        return {name: acts[self.aliases.get(name, name)] for name in until}, tape

    def backward(self, grads, tape):
        """{name: dL/d(activation)} -> dL/dx (N, C, H, W), through the caches of ``tape``.

        Gradients add up where a tensor feeds several nodes. Each cache is freed once used, so a
        tape serves one backward pass; run forward() again for the next.
        """
        if not isinstance(tape, Tape) or tape.model is not self:
            raise NumdreamError("backward needs the tape that this model's forward() returned: "
                                "acts, tape = model.forward(x, until); model.backward(grads, tape)")
        if tape.used:
            raise NumdreamError("this tape was already used by a backward pass, which freed its "
                                "caches; run forward() again for another backward pass")
        unknown = [n for n in grads if self.aliases.get(n, n) not in tape.reached and n != self._input]
        if unknown:
            raise NumdreamError(f"the forward pass of this tape did not reach "
                                f"{', '.join(map(repr, unknown))}; call forward(x, until=[...]) "
                                "with these layers")
        tape.used = True
        pending = {}
        for name, grad in grads.items():  # a layer and its alias may both be given: they add up
            node = self.aliases.get(name, name)
            pending[node] = grad if node not in pending else pending[node] + grad
        with self._cores(tape.input_xp):
            for step in reversed(tape.steps):
                cache = tape.caches.pop()
                dys = [pending.pop(name, None) for name in step.outputs]
                if all(dy is None for dy in dys):
                    continue
                for src, dx in zip(step.inputs, step.backward(dys, cache)):
                    pending[src] = dx if src not in pending else pending[src] + dx
        dx = pending.pop(self._input, None)
        return dx if dx is not None else tape.input_xp.zeros(tape.input_shape, self.dtype)
