"""``numdream visualize --layer NAME --channel N -o OUT.png``: what does a neuron want? Feature visualisation."""
import contextlib
import sys
import time
from pathlib import Path

from ..errors import NumdreamError
from ..featvis import channel, class_logit, class_probability, diversity, neuron, visualize
from ..featvis.render import stuck, stuck_note
from ..gallery import contact_sheet
from ..images import check_output_path, default_output_path, save_image
from ..model import bundled_model_path, load_model
from ..frames import (check_frames_folder, claim_frames_folder, frame_path, holds_frames, remove_frames_folder,
                      replace_frames)
from ..movie import check_movie_path, require_imageio, write_movie
from ..nodes import PRE_RELU
from . import args as types
from .dreamopts import choose_seed, refuse_no_steps, use_backend
from .record import make_record, record_text
from .featvisopts import add_visualize_options, target_layer, visualize_kwargs


def add_parser(sub):
    p = sub.add_parser("visualize", help="feature visualisation: the image a channel or neuron wants",
                       description=__doc__.split(":", 1)[1].strip() + " An image parametrised by its Fourier "
                       "spectrum in decorrelated colour, optimised with Adam through small random "
                       "transformations (Olah et al., Distill 2017).")
    p.add_argument("-o", "--output", help="output image (default: LAYER_CHANNEL.png in this folder)")
    p.add_argument("--layer", required=True, metavar="NAME", help="target layer, e.g. mixed4 or mixed4:pre_relu")
    what = p.add_mutually_exclusive_group(required=True)
    what.add_argument("--channel", type=types.channel_list, metavar="N[,M...]",
                      help="channel(s) to maximise, the mean over all positions")
    what.add_argument("--neuron", type=types.neuron, metavar="C[:Y:X]",
                      help="one unit: channel C at grid position Y, X of the layer (default: the centre)")
    what.add_argument("--class-index", type=types.whole(0), metavar="N",
                      help="class N of a classifier layer (a dense node): its logit")
    p.add_argument("--probability", action="store_true",
                   help="with --class-index: the softmax probability instead of the logit")
    p.add_argument("--batch", type=types.whole(1), default=1, metavar="N", help="images made together (default: 1)")
    p.add_argument("--diversity", type=types.number(above=0.0), metavar="WEIGHT",
                   help="with --batch N >= 2: reward images whose styles (Gram matrices) differ")
    p.add_argument("--every", type=types.whole(1), metavar="K",
                   help="also write the image every K steps into FRAMES (see --frames)")
    p.add_argument("--frames", metavar="DIR", help="folder of the --every images (default: OUTPUT_steps beside "
                   "the output; a new or empty folder, or the folder of an earlier visualize, whose frames "
                   "are replaced)")
    p.add_argument("--gif", metavar="OUT.gif", help="with --every: a GIF of the optimisation")
    p.add_argument("--mp4", metavar="OUT.mp4", help="with --every: an MP4 of the optimisation")
    p.add_argument("--fps", type=types.number(above=0.0), default=12.0,
                   help="frames per second of --gif/--mp4 (default: 12)")
    add_visualize_options(p)
    p.set_defaults(run=run)


def build_objective(a, model):
    """The objective the flags ask for, with every flag that would be ignored refused."""
    layer = target_layer(a, model)
    if a.probability and a.class_index is None:
        raise NumdreamError("--probability applies to --class-index N only")
    if a.diversity is not None and a.batch < 2:
        raise NumdreamError(f"--diversity {a.diversity:g} compares the images of a batch; give --batch 2 or more")
    if a.channel is not None:
        objective = sum(channel(layer, c) for c in a.channel) / len(a.channel)
    elif a.neuron is not None:
        objective = neuron(layer, *a.neuron)
    else:
        objective = (class_probability if a.probability else class_logit)(layer, a.class_index)
    if a.diversity is not None:
        # the Gram matrices of the layer's output, as Lucid does, whether the target is pre-ReLU or not
        base = layer[:-len(PRE_RELU)] if layer.endswith(PRE_RELU) else layer
        objective = objective + a.diversity * diversity(base)
    return objective


def _movies(a):
    movies = [(path, ext) for path, ext in ((a.gif, ".gif"), (a.mp4, ".mp4")) if path]
    if (movies or a.frames) and a.every is None:
        raise NumdreamError("--frames, --gif and --mp4 show the optimisation every K steps; give --every K")
    for path, ext in movies:
        check_movie_path(path, ext)
    if movies:
        require_imageio()  # fail now, not after the visualisation
    return movies


def _frames_folder(a, output):
    """The --every images' folder: one numdream makes (or an empty one), checked before the run."""
    folder = Path(a.frames) if a.frames else output.with_name(output.stem + "_steps")
    check_frames_folder(folder, adopt_empty=True)
    return folder


def file_stem(name):
    """A layer name made safe as a file name's stem: 'mixed4:pre_relu_97' -> 'mixed4_pre_relu_97'."""
    return "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in name)


def as_one_image(images):
    """uint8 (N, H, W, 3) -> (H, W, 3): the image itself, or the batch side by side, numbered."""
    if len(images) == 1:
        return images[0]
    return contact_sheet(list(images), [f"{i + 1}/{len(images)}" for i in range(len(images))],
                         columns=len(images))


def run(a):
    refuse_no_steps(a, "the output would be the random start image")
    use_backend(a)
    movies = _movies(a)
    model = load_model(a.model)
    objective = build_objective(a, model)
    name = f"{a.layer}_{a.channel[0] if a.channel else a.neuron[0] if a.neuron else a.class_index}"
    output = Path(a.output) if a.output else default_output_path(file_stem(name), suffix="", ext=".png")
    check_output_path(output)
    folder = _frames_folder(a, output) if a.every else None
    seed = choose_seed(a)
    frames = []
    start = time.perf_counter()
    values = []
    settings = dict(command="visualize", objective=repr(objective), batch=a.batch, every=a.every,
                    model=str(a.model or "bundled"), **visualize_kwargs(a, seed))
    # a folder that holds an earlier run's frames is never removed, even if this run stops at step 0;
    # its frames give way to this run's when the first of them is written (replace_frames)
    earlier = folder is not None and folder.is_dir() and holds_frames(folder)
    claim = (claim_frames_folder(folder, settings, adopt_empty=True, restart=True) if folder
             else contextlib.nullcontext())
    with claim as claimed:

        def write_frame(step, images):
            if earlier and not frames:
                replace_frames(claimed, settings)
            frames.append(frame_path(claimed, len(frames)))
            save_image(frames[-1], as_one_image(images))

        try:
            images = visualize(objective, batch=a.batch, model=model, progress=not a.quiet, every=a.every,
                               callback=write_frame if a.every else None, values=values,
                               **visualize_kwargs(a, seed))
        except BaseException:
            if claimed is not None and not frames and not earlier:  # made for nothing: leave none behind
                remove_frames_folder(claimed)
            raise
    record = make_record(a, seed, model, a.model or bundled_model_path(), None, command="visualize",
                         objective=repr(objective))
    save_image(output, as_one_image(images), settings=record_text(record))
    for path, _ in movies:
        write_movie(path, frames, a.fps)
    if not a.quiet:
        made = ", ".join([str(output)] + ([f"{len(frames)} frames in {folder}"] if frames else [])
                         + [str(path) for path, _ in movies])
        print(f"wrote {made} ({objective!r}, seed {seed}, {time.perf_counter() - start:.1f} s)", file=sys.stderr)
    if stuck(values):  # shown even with -q: the picture is grey, and this says why
        print(stuck_note(objective), file=sys.stderr)
    return 0
