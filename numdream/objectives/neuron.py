"""One unit of a layer, computed on the crop of the image it sees."""
from ..backend import get_array_module
from ..errors import LayerError, NumdreamError
from ..options import MAX_TILE_PIXELS
from ..receptive import exact_crop
from .base import Objective
from .basic import Channel


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
