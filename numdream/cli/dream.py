"""``numdream dream [INPUT] -o OUTPUT``: dream on a photo (default: the bundled cat)."""
import argparse
import hashlib
import sys
import time
from pathlib import Path

import numpy
from PIL import Image

from ..colors import luminance
from ..dream import run_dream
from ..dreamplan import plan_dream
from ..errors import ImageError, NumdreamError
from ..estimate import confirm, estimate_dream, over_budget
from ..fileio import file_digest, read_bounded
from ..images import (FORMATS, check_not_input, check_output_path, default_output_path, image_bytes, load_image_and_alpha,
                      load_image_bytes, sample_path, save_image)
from ..model import bundled_model_path, load_model
from ..movie import check_movie_path, check_movie_size
from . import args as types
from .dreamopts import add_dream_options, choose_seed, dream_kwargs, refuse_ignored_options, refuse_no_steps, use_backend
from .outputs import OctaveWriter, StepFrames, check_octave_files, octave_folder
from .record import make_record, record_text

STDIN = "-"
STDIN_LIMIT = 1 << 30  # bytes of an image read from standard input (a 89-megapixel PNG is well under)


def add_parser(sub):
    p = sub.add_parser("dream", help="dream on a photo", description=__doc__.split(":", 1)[1].strip())
    p.add_argument("input", nargs="?", help="photo to dream on, or - to read it from standard input "
                   "(default: the bundled sample chelsea.png)")
    p.add_argument("-o", "--output", help="output image (.png, .jpg, .webp, .tif, .bmp), NAME.gif for a movie of "
                   "the steps, or - for a PNG on standard output; default: INPUT_dream.EXT beside the input, never "
                   "the input itself")
    add_dream_options(p)
    p.add_argument("--seeds", type=types.seed_list, metavar="LIST",
                   help="several dreams in one run, one per seed, e.g. 0-3 or 1,5,9; each output name ends in "
                   "_seedN")
    p.add_argument("--gray", action=argparse.BooleanOptionalAction, default=False,
                   help="write the dream's luminance as a gray image (a gray photo is dreamed in colour "
                   "unless this is given; --no-gray turns a recorded one off)")
    p.add_argument("--save-octaves", metavar="DIR", help="also write the image after each octave into DIR "
                   "(made if missing), as NAME_octaveK.png")
    p.add_argument("--every", type=types.whole(1, 100_000), metavar="K",
                   help="with -o NAME.gif: a frame every K steps (default: 1)")
    p.add_argument("--like", metavar="IMAGE", help="dream with the settings recorded in IMAGE, a numdream output "
                   "(numdream info IMAGE shows them); flags given here override them")
    p.add_argument("-y", "--yes", action="store_true", help="start without asking a run estimated to take over "
                   "30 minutes or half the free memory (asked on a terminal, refused elsewhere)")
    p.set_defaults(run=run)


def run(a):
    refuse_ignored_options(a)
    refuse_no_steps(a)
    _refuse_conflicts(a)
    use_backend(a)
    source, rgb, alpha, described = _read_input(a)  # a bad input fails before the model loads
    seeds = a.seeds or [choose_seed(a)]
    outputs = _output_names(a, source, seeds)
    octaves_dir = octave_folder(a.save_octaves) if a.save_octaves else None
    model = load_model(a.model)
    first = plan_dream(rgb, model, progress=not a.quiet, **dream_kwargs(a, seeds[0]))
    if a.output and a.output.lower().endswith(".gif"):
        check_movie_size(a.output, StepFrames.count(first, a.every or 1), first.pixels.shape[:2])
    if octaves_dir is not None:
        for seed, output in zip(seeds, outputs):
            check_octave_files(octaves_dir, _stem(output, seed), len(first.sizes))
    rate = _estimate(a, first, len(seeds))
    for seed, output in zip(seeds, outputs):
        plan = first if seed == seeds[0] else plan_dream(rgb, model, progress=not a.quiet, **dream_kwargs(a, seed))
        start = time.perf_counter()
        record = make_record(a, seed, model, a.model or bundled_model_path(), described)
        result = _dream_one(a, plan, output, record, alpha, octaves_dir, rate)
        if not a.quiet:
            h, w = result.shape[:2]
            where = "standard output (PNG, " if output == STDIN else f"{output} ("
            print(f"wrote {where}{w}x{h}, seed {seed}, {time.perf_counter() - start:.1f} s)", file=sys.stderr)
    if not a.quiet and not a.gray and rgb is not None and _is_gray(rgb):
        print("note: the photo is gray, the dream is in colour (--gray keeps it gray)", file=sys.stderr)
    return 0


def _dream_one(a, plan, output, record, alpha, octaves_dir, rate):
    """Run one planned dream, feed its octave images and GIF frames, write it; returns the picture."""
    def finish(image):
        return _as_output(image, a.gray, alpha)
    frames = StepFrames(plan, a.every or 1, finish(plan.pixels)) if output.lower().endswith(".gif") else None
    writer = OctaveWriter(octaves_dir, _stem(output, record["seed"]), record, plan.opts.steps) if octaves_dir else None
    plan.opts.callback = _callback(frames, writer, finish)
    try:
        result = finish(run_dream(plan, initial_rate=rate))
        _write(output, result, record, frames)
    finally:
        if frames is not None:
            frames.close()
    return result


def _refuse_conflicts(a):
    if a.seeds is not None and a.seed is not None:
        raise NumdreamError(f"--seed {a.seed} and --seeds make one and several dreams; give one of them")
    gif = bool(a.output) and a.output.lower().endswith(".gif")
    if a.every is not None and not gif:
        raise NumdreamError(f"--every {a.every} sets the frames of a GIF of the steps; name one with -o NAME.gif")
    if a.output == STDIN and a.seeds is not None and len(a.seeds) > 1:
        raise NumdreamError(f"-o - writes one picture to standard output, and --seeds makes {len(a.seeds)}; "
                            "name the outputs with -o NAME.png")
    if a.input == STDIN and a.output is None:
        raise NumdreamError("standard input has no name to put the dream beside; give -o FILE, or -o - "
                            "for standard output")


def _read_input(a):
    """(source name or None, rgb (H, W, 3) or None for noise, alpha (H, W) or None, and the input as
    the record names it: (name as given, SHA-256), or None)."""
    if a.init == "noise":
        return None, None, None, None
    if a.input == STDIN:
        data = read_bounded(sys.stdin.buffer, STDIN_LIMIT, "standard input", ImageError)
        pixels = load_image_bytes(data, "standard input", keep_alpha=True)
        alpha = None if pixels.shape[2] == 3 else numpy.ascontiguousarray(pixels[:, :, 3])
        return STDIN, numpy.ascontiguousarray(pixels[:, :, :3]), alpha, (STDIN, hashlib.sha256(data).hexdigest())
    source = a.input or str(sample_path())
    rgb, alpha = load_image_and_alpha(source)
    return source, rgb, alpha, (a.input or "chelsea.png (bundled)", file_digest(source))


def _output_names(a, source, seeds):
    """One output per seed, each checked before any work: '-' (stdout), an image, or a GIF."""
    many = len(seeds) > 1
    names = []
    for seed in seeds:
        if a.output == STDIN:
            names.append(STDIN)
            continue
        if a.output:
            path = Path(a.output)
            name = str(path.with_name(f"{path.stem}_seed{seed}{path.suffix}")) if many else a.output
        else:
            name = str(default_output_path(source or "noise.png", suffix=f"_dream_seed{seed}" if many else "_dream"))
        if name.lower().endswith(".gif"):
            check_movie_path(name, ".gif")
        elif Path(name).suffix.lower() not in FORMATS:
            raise ImageError(f"cannot write {name!r}: unsupported extension {Path(name).suffix or '(none)'!r}; "
                             f"valid are {', '.join(FORMATS)}, .gif (a GIF of the steps) and - (a PNG on "
                             "standard output)")
        else:
            check_output_path(name)
        check_not_input(name, source if source != STDIN else None)
        if a.guide is not None:
            check_not_input(name, a.guide)
        if a.mask is not None:
            check_not_input(name, a.mask)
        names.append(name)
    if len(set(names)) < len(names):
        raise NumdreamError("two dreams of this run would write the same file; give each seed once")
    return names


def _stem(output, seed):
    return f"dream_seed{seed}" if output == STDIN else Path(output).stem


def _estimate(a, plan, runs):
    """Print the estimate (unless quiet), refuse or ask past the budget; the measured rate."""
    if a.quiet and a.yes:
        return None
    estimate = estimate_dream(plan)
    reasons = over_budget(estimate, runs)
    if reasons and not a.yes:
        confirm(estimate, reasons, runs)  # asks on a terminal (the estimate in the question), else refuses
    elif not a.quiet:
        print(f"estimate: {estimate.text(runs)}", file=sys.stderr)
    return estimate.rate


def _callback(frames, writer, finish):
    """The dream's callback(octave, step, image) that feeds the GIF's frames and the octave images."""
    if frames is None and writer is None:
        return None

    def callback(octave, step, image):
        if frames is not None:
            frames.add(octave, step, finish(image))
        if writer is not None and step == writer.last_step:
            writer.write(octave, finish(image))
    return callback


def _as_output(image, gray, alpha):
    """uint8 (h, w, 3) dream -> what is written: its luminance with --gray, its alpha put back
    (resized to the dream's size, which --max-size and octaves change)."""
    if gray:
        image = luminance(image) if alpha is None else numpy.repeat(luminance(image)[:, :, None], 3, axis=2)
    if alpha is None:
        return image
    if alpha.shape != image.shape[:2]:
        alpha = numpy.asarray(Image.fromarray(alpha).resize(image.shape[1::-1], Image.BILINEAR))
    return numpy.concatenate([image, alpha[:, :, None]], axis=2)


def _write(output, picture, record, frames):
    text = record_text(record)
    if output == STDIN:
        data = image_bytes(picture, ".png", settings=text)
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
    elif frames is not None:
        frames.write(output, picture, text)
    else:
        save_image(output, picture, settings=text)


def _is_gray(rgb):
    return bool((rgb[:, :, 0] == rgb[:, :, 1]).all() and (rgb[:, :, 1] == rgb[:, :, 2]).all())
