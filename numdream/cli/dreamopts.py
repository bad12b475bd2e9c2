"""The dream flags shared by every command that dreams (dream, zoom, video, gallery, batch).

    add_dream_options(parser)       # --layer ... --seed [--init --size] --model --backend -q
    options = dream_kwargs(args)    # keyword arguments for numdream.dream.dream()

A command that chooses its own targets (the gallery) leaves them out with ``targets=False``;
one that can start from noise adds ``--init``/``--size`` with ``noise=True``.
"""
import argparse
import secrets

from .. import backend
from ..errors import NumdreamError
from ..guide import MODES as GUIDE_MODES
from ..options import NORMALIZATIONS, SMOOTH_MAX, STEP_MAX, check_options
from . import args as types

OBJECTIVES = ("l2", "mean", "channel", "neuron", "guide", "class")
NOISE_SIZE = (512, 512)  # (W, H) of --init noise without --size


def add_dream_options(p, targets=True, noise=True, seed_help="random seed (default: a new one, printed)"):
    """Add the dream flags to argparse parser ``p``, in the order ``numdream dream --help`` lists them."""
    if targets:
        p.add_argument("--layer", action="append", type=types.layer_weight, metavar="NAME[:WEIGHT]",
                       help="target layer, repeatable (default: mixed3 and mixed5)")
        p.add_argument("--objective", choices=OBJECTIVES, help="what to maximise (default: l2, or what "
                       "--channel/--neuron/--guide/--class-index imply)")
        p.add_argument("--channel", type=types.channel_list, metavar="N[,M...]", help="channel(s) to maximise")
        p.add_argument("--neuron", type=types.neuron, metavar="C[:Y:X]",
                       help="one unit: channel C at grid position Y, X of the layer (default: centre)")
        p.add_argument("--guide", metavar="IMAGE", help="guide image for a guided dream")
        p.add_argument("--guide-mode", choices=GUIDE_MODES, help="how the dream matches the guide: "
                       "its Gram statistics (gram, the default), channel means, nearest features, or "
                       "Google's rule (google)")
        p.add_argument("--class-index", type=types.option_whole("class_index"), metavar="N",
                       help="class N of a classifier layer (e.g. loss3/classifier): dream toward "
                       "that class (objective 'class'; the image must fit the head, 224x224 for GoogLeNet)")
    p.add_argument("--octaves", type=types.option_whole("octaves"), default=4,
                   help="image scales to dream at, smallest first (default: %(default)s)")
    p.add_argument("--octave-scale", type=types.number(above=1.0), default=1.4,
                   help="size ratio from one octave to the next (default: %(default)s)")
    p.add_argument("--steps", type=types.option_whole("steps"), default=10,
                   help="gradient-ascent steps per octave (default: %(default)s)")
    p.add_argument("--step-size", type=types.number(above=0.0, at_most=STEP_MAX), default=1.5,
                   help="in 0-255 pixel units (default: %(default)s)")
    p.add_argument("--jitter", type=types.option_whole("jitter"), default=32,
                   help="random roll in pixels, capped at the image's longest side (default: %(default)s)")
    p.add_argument("--normalize", choices=NORMALIZATIONS, default="mean",
                   help="how the gradient is scaled before a step (default: %(default)s)")
    p.add_argument("--smooth", type=types.number(at_least=0.0, at_most=SMOOTH_MAX), default=0.0,
                   help=f"Gaussian sigma (pixels, at most {SMOOTH_MAX:g}) to smooth the gradient; 0 = off "
                   "(default: %(default)s)")
    p.add_argument("--tile-size", type=types.option_whole("tile_size"), default=512,
                   help="pixels; 0 = no tiling, for images up to 4096x4096 pixels (default: %(default)s)")
    p.add_argument("--seed", type=types.option_whole("seed"), help=seed_help)
    if noise:
        p.add_argument("--init", choices=("image", "noise"), default="image",
                       help="start from the image or noise (default: %(default)s)")
        p.add_argument("--size", type=types.size, metavar="WxH",
                       help=f"image size for --init noise (default: {NOISE_SIZE[0]}x{NOISE_SIZE[1]})")
    p.add_argument("--keep-colors", action=argparse.BooleanOptionalAction, default=False,
                   help="dream the luminance only and keep the photo's colours (YCbCr chroma); "
                   "--no-keep-colors turns a recorded one off (--like)")
    p.add_argument("--mask", metavar="MASK", help="dream only where this image is white (gray blends, black "
                   "keeps the photo); the photo's shape, any size")
    p.add_argument("--max-size", type=types.option_whole("max_size"), metavar="N",
                   help="shrink the photo first so that its longest side is at most N pixels (default: as it is)")
    add_run_options(p)


def add_run_options(p):
    """--model, --backend and -q: where the network comes from and how loud the run is."""
    p.add_argument("--model", metavar="PATH", help="model HDF5 file (default: bundled InceptionV3)")
    p.add_argument("--backend", choices=backend.BACKENDS, help="array backend (default: $NUMDREAM_BACKEND or numpy)")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar, no summary")


def add_cluster_options(p, workers_help, paths, blas_threads=True):
    """--workers N or --scheduler ADDRESS (one of them): where the Dask work of batch, video and
    atlas runs; ``paths`` names what the workers of an existing cluster must see; --blas-threads
    for the workers of a local cluster."""
    where = p.add_mutually_exclusive_group()
    where.add_argument("--workers", type=types.whole(1), help=workers_help)
    where.add_argument("--scheduler", metavar="tcp://HOST:PORT", help=f"... or an existing Dask cluster; its "
                       f"workers must see the same {paths}")
    if blas_threads:
        p.add_argument("--blas-threads", type=types.whole(1), help="BLAS threads per local worker "
                       "(default: the cores shared out, 1 or 2 each)")


def objective_name(a):
    """--objective if given, else what --neuron, --channel, --guide or --class-index imply, else 'l2'."""
    if a.objective:
        return a.objective
    for flag, name in ((a.neuron, "neuron"), (a.channel, "channel"), (a.guide, "guide"),
                       (a.class_index, "class")):
        if flag is not None:
            return name
    return "l2"


def choose_seed(a):
    """--seed, or a new random seed (which the command prints so the picture can be made again)."""
    return a.seed if a.seed is not None else secrets.randbelow(2 ** 31)


def use_backend(a):
    if a.backend:
        backend.use(a.backend)


def dream_kwargs(a, seed):
    """Keyword arguments for numdream.dream.dream() from parsed flags (without image, model, progress).

    Includes layers/objective/channels/neuron/guide when the parser has the target flags and
    init/size when it has the noise flags; ``--init noise`` without ``--size`` means 512x512.
    The options are checked here (numdream.options.check_options), before any work.
    """
    kwargs = dict(octaves=a.octaves, octave_scale=a.octave_scale, steps=a.steps, step_size=a.step_size,
                  jitter=a.jitter, normalize=a.normalize, smooth=a.smooth, tile_size=a.tile_size, seed=seed,
                  keep_colors=a.keep_colors, mask=a.mask, max_size=a.max_size)
    if hasattr(a, "objective"):
        kwargs.update(layers=dict(a.layer) if a.layer else None, objective=objective_name(a),
                      channels=a.channel, neuron=a.neuron, guide=a.guide, class_index=a.class_index)
        if a.guide is not None:  # only then: other runs' settings records stay as they were
            a.guide_mode = a.guide_mode or "gram"  # recorded as used, should the default change
            kwargs["guide_mode"] = a.guide_mode
    if hasattr(a, "init"):
        noise = a.init == "noise"
        kwargs.update(init="noise" if noise else None, size=(a.size or NOISE_SIZE) if noise else a.size)
    check_options(kwargs)
    return kwargs


def refuse_no_steps(a, what="the output would be the photo itself, written as a dream"):
    """--steps 0 would write the photo, only passed through the network's pre- and post-processing,
    under a dream's name (or visualize's random start): refused for the commands whose output is a
    dream (not for zoom, where zooming without dreaming is a movie of its own)."""
    if a.steps == 0:
        raise NumdreamError(f"--steps 0 dreams nothing: {what}; give --steps 1 or more")


def refuse_ignored_options(a):
    """Raise NumdreamError for a flag this run would silently ignore, so a mistaken intent fails
    at once instead of dreaming something else."""
    if not hasattr(a, "objective"):  # a command without target flags (gallery)
        return
    objective = objective_name(a)
    given = {"channel": a.channel and ",".join(map(str, a.channel)),
             "neuron": a.neuron and ":".join(str(v) for v in a.neuron if v is not None),
             "guide": a.guide}
    for name, text in given.items():
        if text is not None and objective != name:
            raise NumdreamError(f"--{name} {text} is used only by --objective {name}, but the "
                                f"objective is {objective!r}; give one of --channel, --neuron "
                                "and --guide (or the matching --objective)")
    if a.guide_mode is not None and objective != "guide":
        raise NumdreamError(f"--guide-mode {a.guide_mode} is used only by --objective guide, but the "
                            f"objective is {objective!r}")
    if a.class_index is not None and objective != "class":
        raise NumdreamError(f"--class-index {a.class_index} is used only by --objective class, but "
                            f"the objective is {objective!r}")
    init, size = getattr(a, "init", None), getattr(a, "size", None)
    if init == "noise" and (a.keep_colors or a.max_size is not None):
        flag = "--keep-colors" if a.keep_colors else f"--max-size {a.max_size}"
        raise NumdreamError(f"{flag} is used only with a photo, and --init noise starts from noise; "
                            "drop one of them")
    if size is not None and init != "noise":
        raise NumdreamError(f"--size {size[0]}x{size[1]} is used only with --init noise; "
                            "to dream on a photo at another size, resize the photo first")
    if getattr(a, "input", None) is not None and init == "noise":
        raise NumdreamError(f"--init noise starts from noise and would ignore INPUT {a.input!r}; "
                            "drop INPUT (and name the output with -o)")
