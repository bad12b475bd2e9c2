"""Dream options with their defaults, validated once so every bad value gets one clear message.

Every option that drives memory or time has a bound, here, with the reason beside it; the CLI's
argument types use the same bounds (numdream/cli/args.py), so both say the same thing. Whole
numbers may be any integer type (int, numpy.int64, ...) and real numbers any real type
(float, numpy.float32, ...), never a bool; they are stored as Python int and float.
"""
import math
import numbers
from dataclasses import dataclass, fields

from PIL import Image

from .errors import NumdreamError
from .guide import MODES as GUIDE_MODES

NORMALIZATIONS = ("mean", "std", "laplacian")
DEFAULT_MAX_PIXELS = 89_478_485  # Pillow's PIL.Image.MAX_IMAGE_PIXELS, when it is set to None

# whole-number options: (smallest, largest)
WHOLE_BOUNDS = {
    "octaves": (1, 100),          # each octave is a dream of its own; 100 at scale 1.01 already span 2.7x
    "steps": (0, 100_000),        # steps per octave: the time of a dream grows with them
    "jitter": (0, 2 ** 31 - 1),   # pixels; dream() caps it at the image's longest side
    "tile_size": (0, 4096),       # pixels a side; a tile's memory grows with its area (MAX_TILE_PIXELS)
    "seed": (0, 2 ** 64 - 1),     # NumPy seeds are 64-bit here, as frame_seed derives them
    "class_index": (0, 2 ** 31 - 1),
    "max_size": (1, 65_535),      # pixels, the longest side; 65535 is the most a JPEG, PNG or TIFF side holds
}
# real-number options: (bound below, inclusive?, upper bound)
SMOOTH_MAX = 1000.0   # Gaussian sigma in pixels: the blur costs a pass over the gradient per pixel of its width
STEP_MAX = 255.0      # a step larger than a pixel's whole 0-255 range only saturates the picture
WEIGHT_MAX = 1e6      # only ratios of layer weights matter (the gradient is normalised); more overflows float32
MAX_TILE_PIXELS = 4096 * 4096  # an untiled run (tile_size 0, or an objective that cannot tile) at most


def max_pixels():
    """The pixel budget of one picture: Pillow's decompression-bomb limit, as for image files."""
    return Image.MAX_IMAGE_PIXELS or DEFAULT_MAX_PIXELS


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
    mask: object = None         # image or path: dream where it is white, not where it is black
    keep_colors: bool = False   # dream the luminance only, keep the photo's colours (numdream.colors)
    max_size: int = None        # shrink the photo first so that its longest side is at most this

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
        """Check every option and store numbers as Python int/float (NumPy scalars included)."""
        for name in ("octaves", "steps", "jitter", "tile_size"):
            setattr(self, name, whole(getattr(self, name), name))
        self.octave_scale = real(self.octave_scale, "octave_scale", above=1.0)
        self.step_size = real(self.step_size, "step_size", above=0.0, at_most=STEP_MAX)
        self.smooth = real(self.smooth, "smooth", at_least=0.0, at_most=SMOOTH_MAX)
        if self.normalize not in NORMALIZATIONS:
            raise NumdreamError(f"unknown normalize {self.normalize!r}; valid: {', '.join(NORMALIZATIONS)}")
        if self.guide_mode not in GUIDE_MODES:
            raise NumdreamError(f"unknown guide_mode {self.guide_mode!r}; valid: {', '.join(GUIDE_MODES)}")
        if self.seed is not None:
            self.seed = whole(self.seed, "seed")
        if self.class_index is not None:
            self.class_index = whole(self.class_index, "class_index")
        if self.max_size is not None:
            self.max_size = whole(self.max_size, "max_size")
        if not isinstance(self.keep_colors, (bool, numbers.Integral)) or self.keep_colors not in (0, 1):
            raise NumdreamError(f"keep_colors must be True or False, got {self.keep_colors!r}")
        self.keep_colors = bool(self.keep_colors)
        if self.init not in (None, "image", "noise"):
            raise NumdreamError(f"unknown init {self.init!r}; valid: image, noise")
        if self.init == "noise":
            self.size = noise_size(self.size)
        if self.callback is not None and not callable(self.callback):
            raise NumdreamError("callback must be callable as callback(octave, step, image)")


def check_options(options):
    """Validate dream() keyword arguments (options and targets) before any work: the zoom, video
    and batch commands call it so a bad value fails before a folder is made or a model loaded."""
    targets = ("layers", "objective", "model")
    DreamOptions.from_kwargs({k: v for k, v in options.items() if k not in targets})
    if isinstance(options.get("layers"), dict):
        for name, weight in options["layers"].items():
            layer_weight(weight, name)


def layer_weight(value, name):
    """A layer's weight as a float: finite, at most WEIGHT_MAX in size (negative minimises)."""
    ok = _is_real(value) and math.isfinite(value) and abs(value) <= WEIGHT_MAX
    if not ok:
        raise NumdreamError(f"the weight of layer {name!r} must be a finite number from "
                            f"{-WEIGHT_MAX:g} to {WEIGHT_MAX:g}, got {value!r}")
    return float(value)


def noise_size(size):
    """(W, H) of a noise start: two whole numbers >= 1 whose product fits max_pixels()."""
    if size is None:
        raise NumdreamError("init='noise' needs a size (W, H), e.g. --size 512x512")
    try:
        w, h = size
    except (TypeError, ValueError):
        w = h = None
    if not (_is_whole(w) and _is_whole(h) and w >= 1 and h >= 1):
        raise NumdreamError(f"size must be two positive whole numbers (W, H), got {size!r}")
    if w * h > max_pixels():
        raise NumdreamError(f"size {w}x{h} is {w * h:,} pixels, more than the {max_pixels():,} a picture "
                            "may have (PIL.Image.MAX_IMAGE_PIXELS, the limit for image files too)")
    return int(w), int(h)


def whole(value, name, bounds=None):
    """``value`` as an int if it is a whole number (not a bool) within WHOLE_BOUNDS[name]."""
    low, high = bounds or WHOLE_BOUNDS[name]
    if not (_is_whole(value) and low <= value <= high):
        raise NumdreamError(f"{name} must be a whole number from {low} to {high}, got {value!r}")
    return int(value)


def number_bound(value, above=None, at_least=None, at_most=None):
    """None if ``value`` is a finite real number (not a bool) within the bounds, else the text of
    what is valid, e.g. 'a number > 1.0'. Shared by these options and the CLI's argument types."""
    ok = (_is_real(value) and math.isfinite(value) and (above is None or value > above)
          and (at_least is None or value >= at_least) and (at_most is None or value <= at_most))
    if ok:
        return None
    bounds = ([f"> {above}"] * (above is not None) + [f">= {at_least}"] * (at_least is not None)
              + [f"<= {at_most}"] * (at_most is not None))
    return "a finite number" if not bounds else "a number " + " and ".join(bounds)


def real(value, name, above=None, at_least=None, at_most=None):
    valid = number_bound(value, above, at_least, at_most)
    if valid:
        raise NumdreamError(f"{name} must be {valid}, got {value!r}")
    return float(value)


def _is_whole(value):
    """int, numpy.int64, ...: numbers.Integral, which numpy.bool_ is not; bool is, and is refused."""
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _is_real(value):
    return isinstance(value, numbers.Real) and not isinstance(value, bool)
