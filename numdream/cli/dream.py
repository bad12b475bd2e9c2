"""``numdream dream [INPUT] -o OUTPUT``: dream on a photo (default: the bundled cat)."""
import sys
import time

from ..dream import dream
from ..images import check_not_input, check_output_path, default_output_path, load_image, sample_path, save_image
from ..model import load_model
from .dreamopts import add_dream_options, choose_seed, dream_kwargs, refuse_ignored_options, use_backend


def add_parser(sub):
    p = sub.add_parser("dream", help="dream on a photo", description=__doc__.split(":", 1)[1].strip())
    p.add_argument("input", nargs="?", help="photo to dream on (default: the bundled sample chelsea.png)")
    p.add_argument("-o", "--output", help="output image (.png, .jpg, .webp); default: INPUT_dream.EXT "
                   "beside the input, never the input itself")
    add_dream_options(p)
    p.set_defaults(run=run)


def run(a):
    refuse_ignored_options(a)
    use_backend(a)
    noise = a.init == "noise"
    source = None if noise else (a.input or str(sample_path()))
    image = None if noise else load_image(source)  # a bad input fails before the model loads
    output = a.output or default_output_path(source or "noise.png")
    check_output_path(output)
    check_not_input(output, source)
    if a.guide is not None:
        check_not_input(output, a.guide)
    model = load_model(a.model)
    seed = choose_seed(a)
    start = time.perf_counter()
    result = dream(image, model=model, progress=not a.quiet, **dream_kwargs(a, seed))
    save_image(output, result)
    if not a.quiet:
        h, w = result.shape[:2]
        print(f"wrote {output} ({w}x{h}, seed {seed}, {time.perf_counter() - start:.1f} s)", file=sys.stderr)
    return 0
