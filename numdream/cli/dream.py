"""``numdream dream [INPUT] -o OUTPUT``: dream on a photo (default: the bundled cat)."""
import sys
import time

from ..errors import NumdreamError
from .dreamopts import OBJECTIVES, add_dream_options, choose_seed, dream_kwargs, objective_name, use_backend  # noqa: F401 (OBJECTIVES re-exported)


def add_parser(sub):
    p = sub.add_parser("dream", help="dream on a photo", description=__doc__.split(":", 1)[1].strip())
    p.add_argument("input", nargs="?", help="photo to dream on (default: the bundled sample chelsea.png)")
    p.add_argument("-o", "--output", help="output image (.png, .jpg, .webp); default: INPUT_dream.EXT "
                   "beside the input, never the input itself")
    add_dream_options(p)
    p.set_defaults(run=run)


def refuse_ignored_options(a):
    """Raise NumdreamError for a flag this run would silently ignore, so a mistaken intent fails
    at once instead of dreaming something else."""
    objective = objective_name(a)
    given = {"channel": a.channel and ",".join(map(str, a.channel)),
             "neuron": a.neuron and ":".join(str(v) for v in a.neuron if v is not None),
             "guide": a.guide}
    for name, text in given.items():
        if text is not None and objective != name:
            raise NumdreamError(f"--{name} {text} is used only by --objective {name}, but the "
                                f"objective is {objective!r}; give one of --channel, --neuron "
                                "and --guide (or the matching --objective)")
    if a.class_index is not None and objective != "class":
        raise NumdreamError(f"--class-index {a.class_index} is used only by --objective class, but "
                            f"the objective is {objective!r}")
    if a.size is not None and a.init != "noise":
        raise NumdreamError(f"--size {a.size[0]}x{a.size[1]} is used only with --init noise; "
                            "to dream on a photo at another size, resize the photo first")
    if a.input is not None and a.init == "noise":
        raise NumdreamError(f"--init noise starts from noise and would ignore INPUT {a.input!r}; "
                            "drop INPUT (and name the output with -o)")


def run(a):
    from ..dream import dream
    from ..images import check_not_input, check_output_path, default_output_path, load_image, sample_path, save_image
    from ..model import load_model
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
