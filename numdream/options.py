"""Dream options with their defaults, validated once so every bad value gets one clear message."""
import math
from dataclasses import dataclass, fields

from .errors import NumdreamError
from .guide import MODES as GUIDE_MODES

NORMALIZATIONS = ("mean", "std", "laplacian")


@dataclass
class DreamOptions:
    octaves: int = 4
    octave_scale: float = 1.4
    steps: int = 10
    step_size: float = 1.5      # in 0-255 pixel units per step
    jitter: int = 32            # pixels of random roll, undone after each step
    normalize: str = "mean"     # 'mean' |g|, 'std', or 'laplacian' pyramid
    smooth: float = 0.0         # Gaussian sigma (pixels) applied to the gradient; 0 = off
    tile_size: int = 512        # pixels; 0 = one tile for the whole image
    seed: int = None
    init: str = None            # None: start from the image; 'noise': from noise of `size`
    size: tuple = None          # (W, H) for init='noise'
    callback: object = None     # callback(octave, step, uint8 image)
    progress: bool = True       # a tqdm bar on stderr
    channels: object = None     # for objective='channel'
    neuron: tuple = None        # (channel, y, x) for objective='neuron'; y, x may be None
    guide: object = None        # guide image (array, PIL image or path) for objective='guide'
    guide_mode: str = "gram"    # how the guide is matched: numdream.guide.MODES
    class_index: int = None     # for objective='class': the class whose score to raise

    @classmethod
    def from_kwargs(cls, kwargs):
        names = {f.name for f in fields(cls)}
        unknown = sorted(set(kwargs) - names)
        if unknown:
            raise NumdreamError(f"unknown dream option {unknown[0]!r}; valid options are "
                                f"{', '.join(sorted(names))}")
        opts = cls(**kwargs)
        opts.validate()
        return opts

    def validate(self):
        _whole(self.octaves, "octaves", 1)
        _whole(self.steps, "steps", 0)
        _whole(self.jitter, "jitter", 0)
        _whole(self.tile_size, "tile_size", 0)
        _number(self.octave_scale, "octave_scale", above=1.0)
        _number(self.step_size, "step_size", above=0.0)
        _number(self.smooth, "smooth", at_least=0.0)
        if self.normalize not in NORMALIZATIONS:
            raise NumdreamError(f"unknown normalize {self.normalize!r}; valid: {', '.join(NORMALIZATIONS)}")
        if self.guide_mode not in GUIDE_MODES:
            raise NumdreamError(f"unknown guide_mode {self.guide_mode!r}; valid: {', '.join(GUIDE_MODES)}")
        if self.seed is not None:
            _whole(self.seed, "seed", 0)
        if self.class_index is not None:
            _whole(self.class_index, "class_index", 0)
        if self.init not in (None, "image", "noise"):
            raise NumdreamError(f"unknown init {self.init!r}; valid: image, noise")
        if self.init == "noise":
            if self.size is None:
                raise NumdreamError("init='noise' needs a size (W, H), e.g. --size 512x512")
            if len(self.size) != 2 or any(not isinstance(v, int) or v < 1 for v in self.size):
                raise NumdreamError(f"size must be two positive whole numbers (W, H), got {self.size!r}")
        if self.callback is not None and not callable(self.callback):
            raise NumdreamError("callback must be callable as callback(octave, step, image)")


def _whole(value, name, minimum):
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise NumdreamError(f"{name} must be a whole number >= {minimum}, got {value!r}")


def number_bound(value, above=None, at_least=None):
    """None if ``value`` is a finite real number (not a bool) within the bound, else the text of
    what is valid, e.g. 'a number > 1.0'. Shared by these options and the CLI's argument types."""
    ok = (isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
          and (above is None or value > above) and (at_least is None or value >= at_least))
    if ok:
        return None
    bounds = [f"> {above}"] * (above is not None) + [f">= {at_least}"] * (at_least is not None)
    return " ".join(["a finite number"] + bounds) if not bounds else "a number " + " and ".join(bounds)


def _number(value, name, above=None, at_least=None):
    valid = number_bound(value, above, at_least)
    if valid:
        raise NumdreamError(f"{name} must be {valid}, got {value!r}")
