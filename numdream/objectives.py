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
  whole frame would move with the roll.
"""
import numpy

from .backend import get_array_module
from .errors import LayerError, NumdreamError
from .guide import MATCHES, MODES as GUIDE_MODES, fit_pixels, guide_stats, resize_pixels, scaled_size
from .images import load_image
from .options import MAX_TILE_PIXELS, layer_weight
from .receptive import exact_crop

GUIDE_PIXELS = 512 * 512  # the most pixels a guide is shown at: one tile's worth


def layer_weights(layers):
    """'mixed3' | ['mixed3', 'mixed5'] | {'mixed3': 1.0, 'mixed5': 1.5} -> {name: weight}."""
    if isinstance(layers, str):
        return {layers: 1.0}
    if isinstance(layers, dict):
        return {str(k): layer_weight(v, k) for k, v in layers.items()}
    return {str(name): 1.0 for name in layers}


class Objective:
    """Base class: holds the weighted target layers; subclasses define the per-layer value."""
    whole_image = False  # or the reason, in one line, why this objective cannot be tiled
    jitters = True

    def window(self, model, image_hw):
        """((y0, y1, x0, x1), objective) for a crop that gives the whole gradient, or None."""
        return None

    def __init__(self, layers):
        self.layers = layer_weights(layers)
        if not self.layers:
            raise NumdreamError("an objective needs at least one target layer")

    def prepare(self, model, image_hw):
        for name in self.layers:
            model.layer(name)

    def layer_value(self, name, act):
        """(value, gradient) of one layer's activation (N, C, h, w). Subclasses define it."""
        raise NotImplementedError

    def __call__(self, acts):
        total, grads = 0.0, {}
        for name, weight in self.layers.items():
            value, grad = self.layer_value(name, acts[name])
            total += weight * float(value)
            grads[name] = grad * weight if weight != 1.0 else grad
        return total, grads


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


class Neuron(Objective):
    """One unit h_ij: channel c at grid position (y, x) of the target layer, as in the lecture.

    y, x index the layer's grid at the final image size (None: the centre); on the smaller
    images of earlier octaves the same relative position is used.
    The unit sees its receptive field only, so window() crops the image to it (exactly, see
    numdream.receptive): the memory is that of the receptive field whatever the image's size.
    """
    name = "neuron"
    jitters = False

    def __init__(self, layers, channel, y=None, x=None):
        super().__init__(layers)
        self.channel, self.y, self.x = int(channel), y, x
        self._grid = {}
        self._cells = {}  # {layer: (y, x)} fixed grid positions: the objective on a crop

    def prepare(self, model, image_hw):
        Channel(self.layers, [self.channel]).prepare(model, image_hw)
        shapes = model.output_shapes(image_hw, list(self.layers))
        for name in self.layers:
            h, w = shapes[name]
            y = h // 2 if self.y is None else int(self.y)
            x = w // 2 if self.x is None else int(self.x)
            if not (0 <= y < h and 0 <= x < w):
                raise LayerError(f"position ({y}, {x}) is outside layer {name!r}, whose grid is "
                                 f"{h}x{w} for a {image_hw[0]}x{image_hw[1]} image")
            self._grid[name] = ((y + 0.5) / h, (x + 0.5) / w)
        box, _ = self.window(model, image_hw)
        if (box[1] - box[0]) * (box[3] - box[2]) > MAX_TILE_PIXELS:
            raise NumdreamError(f"the neuron objective runs the whole {image_hw[1]}x{image_hw[0]} image at once "
                                "(the unit sees every pixel, through a dense layer or a global pool), more "
                                f"than the {MAX_TILE_PIXELS:,} pixels numdream runs in one piece; shrink it")

    def window(self, model, image_hw):
        """The crop of an image_hw image around the unit's receptive field, and the objective
        there: the same unit at its place in the crop's grid (the whole image and this objective
        when the unit sees all of it)."""
        shapes = model.output_shapes(image_hw, list(self.layers))
        cells = {name: self.position(name, shapes[name]) for name in self.layers}
        crop = exact_crop(model, image_hw, cells)
        if crop is None:  # a dense node or a global pool on the way: the unit sees every pixel
            return (0, image_hw[0], 0, image_hw[1]), self
        box, offsets = crop
        local = Neuron(self.layers, self.channel)
        local._cells = {name: (y - offsets[name][0], x - offsets[name][1]) for name, (y, x) in cells.items()}
        return box, local

    def position(self, name, hw):
        """Grid index (y, x) in an activation of spatial size hw."""
        if name in self._cells:
            return self._cells[name]
        if name not in self._grid:  # used without prepare(): positions index this grid directly
            h, w = hw
            return (h // 2 if self.y is None else int(self.y)), (w // 2 if self.x is None else int(self.x))
        fy, fx = self._grid[name]
        return min(int(fy * hw[0]), hw[0] - 1), min(int(fx * hw[1]), hw[1] - 1)

    def layer_value(self, name, act):
        xp = get_array_module(act)
        y, x = self.position(name, act.shape[2:])
        grad = xp.zeros_like(act)
        grad[:, self.channel, y, x] = 1.0
        return act[:, self.channel, y, x].sum(), grad


class Guide(Objective):
    """A guided dream: pull the dream's features toward a guide image's, by one of the matching
    rules of numdream.guide ('gram', the default; 'mean'; 'nearest'; 'google', Google's rule).

    The guide is shown to the network at each octave at that octave's scale (the scale the photo
    has there), so guide and dream features describe things of the same size; Google's rule
    computes the guide's features once, at the guide's own size, as Google's notebook did.

    Memory is bounded whatever the sizes: the guide is shrunk to at most ``pixels`` pixels
    (512 x 512, one tile's worth, by default) before its forward pass, which keeps no tape; the
    dream is tiled like the other objectives (each tile matched on its own); and the matching
    products are chunked (numdream.guide.CHUNK_ELEMENTS).
    """
    name = "guide"

    def __init__(self, layers, guide_image, mode="gram", pixels=GUIDE_PIXELS):
        super().__init__(layers)
        if mode not in GUIDE_MODES:
            raise NumdreamError(f"unknown guide mode {mode!r}; valid guide modes are {', '.join(GUIDE_MODES)}")
        if isinstance(pixels, bool) or not isinstance(pixels, int) or pixels < 1:
            raise NumdreamError(f"the guide's pixel budget must be a whole number >= 1, got {pixels!r}")
        self.guide_image = guide_image if isinstance(guide_image, numpy.ndarray) else load_image(guide_image)
        self.mode, self.pixels = mode, pixels
        self._base = self._full_hw = self._shown_hw = None
        self._minimum = 1
        self._stats = {}

    def prepare(self, model, image_hw):
        super().prepare(model, image_hw)
        self._full_hw = tuple(image_hw)
        strides = [model.layer(name).stride for name in self.layers]
        # each target layer gets at least 3 x 3 positions of the guide, so an interior remains
        self._minimum = max(model.min_input_size(list(self.layers)), 5 * max(strides))
        base_hw = fit_pixels(self.guide_image.shape[:2], self.pixels)
        self._base = resize_pixels(self.guide_image, scaled_size(base_hw, 1.0, self._minimum))
        self._shown_hw = None
        self._show_guide(model, self._base.shape[:2])

    def prepare_octave(self, model, hw):
        """Before an octave of size hw: show the guide at the scale the photo has there."""
        if self.mode == "google" or self._full_hw is None:
            return
        factor = (hw[0] * hw[1] / (self._full_hw[0] * self._full_hw[1])) ** 0.5
        self._show_guide(model, scaled_size(self._base.shape[:2], factor, self._minimum))

    def _show_guide(self, model, hw):
        if hw == self._shown_hw:
            return
        x = model.preprocess(resize_pixels(self._base, hw))
        acts, _ = model.forward(x, list(self.layers), keep_tape=False)
        self._stats = {name: guide_stats(act[0], self.mode) for name, act in acts.items()}
        self._shown_hw = hw

    def layer_value(self, name, act):
        if name not in self._stats:
            raise NumdreamError("the guide objective needs prepare(model, image_hw) first")
        xp = get_array_module(act)
        forward, backward = MATCHES[self.mode]
        n, c, h, w = act.shape
        grad = xp.empty_like(act)
        value = 0.0
        for i in range(n):
            v, cache = forward(act[i].reshape(c, h * w), self._stats[name])
            grad[i] = backward(1.0, cache).reshape(c, h, w)
            value += float(v)
        return value, grad


class Class(Objective):
    """The score of one class before the softmax (its logit): class visualisation, the image the
    network finds most like class N (Simonyan et al. 2014, as in the lectures).

    The layer must be a classifier, a dense node such as 'loss3/classifier' (Caffe GoogLeNet) or
    'softmax2_pre_activation' (TensorFlow inception5h). A classifier reads a fixed number of
    values, so it accepts few image sizes (GoogLeNet's: squares of 223 to 254 pixels, made for
    224x224), unless a global pool comes before it. So the image is dreamt whole (no tiles, no
    jitter), at its own size, which must fit the head; octaves too small for it are skipped.
    prepare() names the sizes that fit when the image does not.
    """
    name = "class"
    whole_image = "its classifier reads every position of the image at once"
    jitters = False

    def __init__(self, layers, class_index):
        super().__init__(layers)
        self.class_index = int(class_index)

    def prepare(self, model, image_hw):
        super().prepare(model, image_hw)
        for name in self.layers:
            info = model.layer(name)
            if info.op != "dense":
                heads = [n for n in model.layer_names if model.layers[n].op == "dense"]
                raise LayerError(f"the class objective needs a classifier layer (a dense node), but "
                                 f"{name!r} is a {info.op}; " + (f"the classifiers of {model.name} are "
                                 f"{', '.join(heads)}" if heads else f"{model.name} has none"))
            if not 0 <= self.class_index < info.channels:
                raise LayerError(f"class {self.class_index} does not exist in layer {name!r}, which "
                                 f"scores classes 0 to {info.channels - 1}")
            try:
                model.output_shapes(image_hw, [name])
            except NumdreamError as err:
                low, high = fitting_sides(model, name)
                side = next((s for s in range(low, high + 1) if s % 8 == 0), low)
                raise NumdreamError(f"{err}. The class objective dreams the whole image, so its size "
                                    f"must fit the classifier: squares from {low}x{low} to "
                                    f"{high}x{high} do; resize the photo, or start from noise "
                                    f"(--init noise --size {side}x{side})") from None

    def layer_value(self, name, act):
        xp = get_array_module(act)
        grad = xp.zeros_like(act)
        grad[:, self.class_index] = 1.0
        return act[:, self.class_index].sum(), grad


def fitting_sides(model, name, limit=4096):
    """(smallest, largest) side of the square images that layer ``name`` can be computed for:
    a contiguous range when a classifier head reads a fixed number of values."""
    low = model.min_input_size([name])
    high = low
    while high < limit:
        try:
            model.output_shapes((high + 1, high + 1), [name])
        except NumdreamError:
            break
        high += 1
    return low, high


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
