"""The guided dream as an objective; the matching rules are numdream.guide's."""
import numpy

from ..backend import get_array_module
from ..errors import NumdreamError
from ..guide import MATCHES, MODES as GUIDE_MODES, fit_pixels, guide_stats, resize_pixels, scaled_size
from ..images import load_image
from .base import Objective

GUIDE_PIXELS = 512 * 512  # the most pixels a guide is shown at: one tile's worth


class Guide(Objective):
    """A guided dream: pull the dream's features toward a guide image's, by one of the matching
    rules of numdream.guide ('gram', the default; 'mean'; 'nearest'; 'google', Google's rule).

    The guide is shown to the network at each octave at that octave's scale (the scale the photo
    has there), so guide and dream features describe things of the same size; Google's rule
    computes the guide's features once, at the guide's own size (within the budget below), as
    Google's notebook did.

    Memory is bounded whatever the sizes: the guide is shrunk to at most ``pixels`` pixels
    (512 x 512, one tile's worth, by default; a thin strip is cut to it around its centre once its
    short side is raised to what the layers need) before its forward pass, which keeps no tape; the
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
        self._base = self._budgeted(self.guide_image)
        self._shown_hw = None
        self._show_guide(model, self._base.shape[:2])

    def _budgeted(self, image):
        """uint8 (H, W, 3) -> the guide as the network first sees it: fitted to ``pixels``, its short
        side raised to what every layer needs, and, if that raise passes the budget again (a guide
        that is a thin strip), its long side cut to the budget around the centre."""
        h, w = scaled_size(fit_pixels(image.shape[:2], self.pixels), 1.0, self._minimum)
        if h * w > self.pixels:
            axis = 0 if h > w else 1
            side = max(self._minimum, self.pixels // min(h, w))  # the long side the budget leaves
            full = image.shape[axis]
            keep = max(1, round(full * side / max(h, w)))
            start = (full - keep) // 2
            image = image[start:start + keep] if axis == 0 else image[:, start:start + keep]
            h, w = (side, w) if axis == 0 else (h, side)
        return resize_pixels(image, (h, w))

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
