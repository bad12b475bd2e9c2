"""``numdream atlas --layer NAME [--channels 0-63] -o SHEET.png``: one visualisation per channel, labelled."""
import sys
import time
from pathlib import Path

from ..errors import NumdreamError
from ..featvis.atlas import atlas_tiles
from ..gallery import check_sheet_size, contact_sheet
from ..images import check_output_path, default_output_path, save_image
from ..model import bundled_model_path, load_model
from ..nodes import PRE_RELU
from . import args as types
from .dreamopts import add_cluster_options, choose_seed, refuse_no_steps, use_backend
from .record import make_record, record_text
from .featvisopts import add_visualize_options, target_layer, visualize_kwargs
from .visualize import file_stem

DEFAULT_COUNT = 64
def add_parser(sub):
    p = sub.add_parser("atlas", help="a sheet of one visualisation per channel of a layer",
                       description=__doc__.split(":", 1)[1].strip() + " Each tile is saved in a work folder "
                       "as soon as it is made; run the same command again to continue an interrupted atlas.")
    p.add_argument("-o", "--output", help="contact sheet image (default: LAYER_atlas.png in this folder)")
    p.add_argument("--layer", required=True, metavar="NAME", help="layer, e.g. mixed4 or mixed4:pre_relu")
    p.add_argument("--channels", type=types.channel_ranges, metavar="LIST",
                   help=f"channels, e.g. 0-63 or 3,7,10-12 (default: the first {DEFAULT_COUNT})")
    p.add_argument("--tiles", metavar="DIR", help="work folder of the tiles (default: OUTPUT_tiles beside the "
                   "output); kept afterwards, one PNG per channel")
    p.add_argument("--columns", type=types.whole(1), help="tiles per row (default: about square)")
    add_cluster_options(p, "make the tiles in parallel on a local Dask cluster of this many processes "
                        "(pip install 'numdream[dask]')", "tiles folder and --model paths", blas_threads=False)
    add_visualize_options(p, seed_help="seed of every tile (default: 0, so a resumed atlas continues the same sheet)")
    p.set_defaults(run=run, seed=0)


def run(a):
    refuse_no_steps(a, "the output would be the random start image")
    use_backend(a)
    model = load_model(a.model)
    layer = target_layer(a, model)
    count = model.layer(layer).channels
    channels = a.channels if a.channels is not None else list(range(min(DEFAULT_COUNT, count)))
    bad = [c for c in channels if c >= count]
    if bad:
        raise NumdreamError(f"channel {bad[0]} does not exist in layer {layer!r}, which has channels 0 to {count - 1}")
    output = Path(a.output) if a.output else default_output_path(file_stem(layer) + "_atlas", suffix="", ext=".png")
    check_output_path(output)
    check_sheet_size(len(channels), a.size[::-1], a.columns)
    folder = Path(a.tiles) if a.tiles else output.with_name(output.stem + "_tiles")
    seed = choose_seed(a)
    start = time.perf_counter()
    zero = []
    tiles, labels = atlas_tiles(layer, channels, folder, model=model, model_path=a.model, workers=a.workers,
                                scheduler=a.scheduler, backend_name=a.backend, progress=not a.quiet,
                                stuck_channels=zero, **visualize_kwargs(a, seed))
    record = make_record(a, seed, model, a.model or bundled_model_path(), None, command="atlas",
                         objective=f"one visualisation per channel of {layer}")
    save_image(output, contact_sheet(tiles, labels, columns=a.columns), settings=record_text(record))
    if not a.quiet:
        print(f"wrote {output} ({len(tiles)} tiles, kept in {folder}; seed {seed}, "
              f"{time.perf_counter() - start:.1f} s)", file=sys.stderr)
    if zero:  # shown even with -q: those tiles are grey, and this says why
        hint = "" if layer.endswith(PRE_RELU) else f"; --pre-relu ({layer}{PRE_RELU}) reads them before the ReLU"
        print(f"note: channel{'s' * (len(zero) > 1)} {', '.join(map(str, zero))} stayed 0 at every step: off "
              f"after the ReLU on the whole image, so no gradient reached the pixels{hint}", file=sys.stderr)
    return 0
