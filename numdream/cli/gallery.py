"""``numdream gallery [INPUT] -o SHEET.png``: a labelled contact sheet of one photo dreamed at each layer."""
import sys
import time

from ..errors import NumdreamError
from ..gallery import DEFAULT_GALLERY_LAYERS, channel_tiles, check_sheet_size, contact_sheet, layer_tiles
from ..images import check_not_input, check_output_path, default_output_path, load_image, sample_path, save_image
from ..fileio import file_digest
from ..model import bundled_model_path, load_model
from ..options import DreamOptions
from . import args as types
from .dreamopts import add_dream_options, dream_kwargs, refuse_no_steps, use_backend
from .record import make_record, record_text


def add_parser(sub):
    p = sub.add_parser("gallery", help="a contact sheet: what each layer draws",
                       description=__doc__.split(":", 1)[1].strip() + " With --channels N, the first N "
                       "channels of one --layer instead, each visualised as `numdream visualize` does "
                       "(--steps Adam steps, 512 by default; --layer mixed4:pre_relu for the values before the ReLU).")
    p.add_argument("input", nargs="?", help="photo to dream on (default: the bundled sample chelsea.png)")
    p.add_argument("-o", "--output", help="contact sheet image (default: INPUT_gallery.png beside the input)")
    p.add_argument("--layer", action="append", metavar="NAME",
                   help="layer to show, repeatable (default: mixed0 ... mixed5)")
    p.add_argument("--channels", type=types.whole(1), metavar="N",
                   help="show channels 0 .. N-1 of the one --layer, each visualised (feature visualisation)")
    p.add_argument("--size", type=types.size, default=(224, 224), metavar="WxH",
                   help="tile size for --channels (default: 224x224)")
    p.add_argument("--columns", type=types.whole(1), help="tiles per row (default: about square)")
    p.add_argument("--no-original", dest="original", action="store_false",
                   help="leave the undreamed photo out of the sheet")
    add_dream_options(p, targets=False, noise=False, seed_help="seed of every tile's dream (default: 0)")
    p.set_defaults(run=run, seed=0, steps=None)  # None: 10 per octave for a photo, 512 for --channels
    steps = next(action for action in p._actions if action.dest == "steps")
    steps.help = "gradient-ascent steps per octave, or Adam steps with --channels (default: 10, 512 with --channels)"


def _visualize_options(a):
    """--channels visualises each channel: --steps counts Adam steps; the dream-only flags are refused."""
    defaults = DreamOptions()
    for flag, field in (("--octaves", "octaves"), ("--octave-scale", "octave_scale"), ("--step-size", "step_size"),
                        ("--jitter", "jitter"), ("--normalize", "normalize"), ("--smooth", "smooth"),
                        ("--tile-size", "tile_size"), ("--keep-colors", "keep_colors"), ("--mask", "mask"),
                        ("--max-size", "max_size")):
        if getattr(a, field) != getattr(defaults, field):
            raise NumdreamError(f"{flag} applies to a photo's gallery; --channels visualises each channel "
                                "(numdream visualize's method; its --steps counts Adam steps)")
    return dict(steps=512 if a.steps is None else a.steps)


def run(a):
    refuse_no_steps(a)
    use_backend(a)
    if a.channels is None and a.steps is None:
        a.steps = DreamOptions().steps
    options = _visualize_options(a) if a.channels is not None else dream_kwargs(a, a.seed)
    if a.channels is not None:
        if not a.layer or len(a.layer) != 1:
            raise NumdreamError(f"--channels shows one layer's channels; give exactly one --layer "
                                f"(got {len(a.layer or [])})")
        if a.input:
            raise NumdreamError(f"--channels visualises each channel from scratch, not from {a.input!r}; "
                                "leave the photo out")
        source = None
        output = a.output or default_output_path(f"{a.layer[0].replace('/', '_')}.png", suffix="_channels")
    else:
        source = a.input or str(sample_path())
        image = load_image(source)  # a bad input fails before the model loads
        output = a.output or default_output_path(source, suffix="_gallery", ext=".png")
    check_output_path(output)
    check_not_input(output, source)
    if a.channels is not None:
        check_sheet_size(a.channels, a.size[::-1], a.columns)
    else:
        check_sheet_size(len(a.layer or DEFAULT_GALLERY_LAYERS) + a.original, image.shape[:2], a.columns)
    model = load_model(a.model)
    start = time.perf_counter()
    if a.channels is not None:
        tiles, labels = channel_tiles(a.layer[0], a.channels, size=a.size, model=model, seed=a.seed,
                                      progress=not a.quiet, **options)
    else:
        tiles, labels = layer_tiles(image, a.layer or DEFAULT_GALLERY_LAYERS, model=model, original=a.original,
                                    progress=not a.quiet, **options)
    sheet = contact_sheet(tiles, labels, columns=a.columns)
    described = None if source is None else (a.input or "chelsea.png (bundled)", file_digest(source))
    record = make_record(a, a.seed, model, a.model or bundled_model_path(), described, command="gallery")
    save_image(output, sheet, settings=record_text(record))
    if not a.quiet:
        print(f"wrote {output} ({len(tiles)} tiles, seed {a.seed}, {time.perf_counter() - start:.1f} s)",
              file=sys.stderr)
    return 0
