"""``numdream dream [INPUT] -o OUTPUT``: dream on a photo (default: the bundled cat)."""
import secrets
import sys
import time

from .. import backend
from ..options import NORMALIZATIONS
from . import args as types

OBJECTIVES = ("l2", "mean", "channel", "neuron", "guide")


def add_parser(sub):
    p = sub.add_parser("dream", help="dream on a photo", description=__doc__.split(":", 1)[1].strip())
    p.add_argument("input", nargs="?", help="photo to dream on (default: the bundled sample chelsea.png)")
    p.add_argument("-o", "--output", help="output image (.png, .jpg, .webp); default: INPUT_dream.EXT "
                   "beside the input, never the input itself")
    p.add_argument("--layer", action="append", type=types.layer_weight, metavar="NAME[:WEIGHT]",
                   help="target layer, repeatable (default: mixed3 and mixed5)")
    p.add_argument("--objective", choices=OBJECTIVES, help="what to maximise (default: l2, or what "
                   "--channel/--neuron/--guide imply)")
    p.add_argument("--channel", type=types.channel_list, metavar="N[,M...]", help="channel(s) to maximise")
    p.add_argument("--neuron", type=types.neuron, metavar="C[:Y:X]",
                   help="one unit: channel C at grid position Y, X of the layer (default: centre)")
    p.add_argument("--guide", metavar="IMAGE", help="guide image for a guided dream")
    p.add_argument("--octaves", type=types.whole(1), default=4)
    p.add_argument("--octave-scale", type=types.number(above=1.0), default=1.4)
    p.add_argument("--steps", type=types.whole(0), default=10, help="steps per octave")
    p.add_argument("--step-size", type=types.number(above=0.0), default=1.5, help="in 0-255 pixel units")
    p.add_argument("--jitter", type=types.whole(0), default=32, help="random roll in pixels")
    p.add_argument("--normalize", choices=NORMALIZATIONS, default="mean")
    p.add_argument("--smooth", type=types.number(at_least=0.0), default=0.0,
                   help="Gaussian sigma (pixels) to smooth the gradient; 0 = off")
    p.add_argument("--tile-size", type=types.whole(0), default=512, help="pixels; 0 = no tiling")
    p.add_argument("--seed", type=types.whole(0), help="random seed (default: a new one, printed)")
    p.add_argument("--init", choices=("image", "noise"), default="image", help="start from the image or noise")
    p.add_argument("--size", type=types.size, metavar="WxH", help="image size for --init noise")
    p.add_argument("--model", metavar="PATH", help="model HDF5 file (default: bundled InceptionV3)")
    p.add_argument("--backend", choices=backend.BACKENDS, help="array backend (default: $NUMDREAM_BACKEND or numpy)")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar, no summary")
    p.set_defaults(run=run)


def _objective(a):
    if a.objective:
        return a.objective
    for flag, name in ((a.neuron, "neuron"), (a.channel, "channel"), (a.guide, "guide")):
        if flag is not None:
            return name
    return "l2"


def run(a):
    from ..dream import dream
    from ..images import check_not_input, check_output_path, default_output_path, load_image, sample_path, save_image
    from ..model import load_model
    if a.backend:
        backend.use(a.backend)
    noise = a.init == "noise"
    if noise and a.size is None:
        a.size = (512, 512)
    source = None if noise else (a.input or str(sample_path()))
    image = None if noise else load_image(source)  # a bad input fails before the model loads
    output = a.output or default_output_path(source or "noise.png")
    check_output_path(output)
    check_not_input(output, source)
    if a.guide is not None:
        check_not_input(output, a.guide)
    model = load_model(a.model)
    seed = a.seed if a.seed is not None else secrets.randbelow(2 ** 31)
    start = time.perf_counter()
    result = dream(
        image, model=model, layers=dict(a.layer) if a.layer else None, objective=_objective(a),
        octaves=a.octaves, octave_scale=a.octave_scale, steps=a.steps, step_size=a.step_size,
        jitter=a.jitter, normalize=a.normalize, smooth=a.smooth, tile_size=a.tile_size, seed=seed,
        init="noise" if noise else None, size=a.size, progress=not a.quiet, channels=a.channel,
        neuron=a.neuron, guide=a.guide)
    save_image(output, result)
    if not a.quiet:
        h, w = result.shape[:2]
        print(f"wrote {output} ({w}x{h}, seed {seed}, {time.perf_counter() - start:.1f} s)", file=sys.stderr)
    return 0
