"""Google's zoom loop: dream, zoom into the centre (optionally rotate), dream again.

    frame 0 = dream(image)
    frame i = dream(zoom_image(frame i-1, zoom, rotate))        for i = 1 .. frames-1

This is "feeding the output back in": each dream starts from the last one, slightly magnified,
so the picture seems to fly into its own hallucinations. Every frame is written to
``folder/frame_NNNNN.png`` as soon as it is dreamed, with the seed ``frame_seed(seed, i)``;
PNG is lossless, so a run resumed after an interruption continues from the last frame on disk
and writes exactly the frames an uninterrupted run would have.
"""
import math
import numbers
import sys

import numpy as np
from scipy import ndimage
from tqdm import tqdm

from .dream import dream
from .errors import NumdreamError
from .images import load_image, save_image
from .model import load_model
from .frames import MAX_FRAMES, check_frames_folder, claim_frames_folder, frame_path, frame_seed, resume_point
from .settings_record import array_digest, describe, model_settings
from .options import check_options


def zoom_image(image, zoom, rotate=0.0):
    """Magnify the centre of ``image`` by 1 / (1 - zoom) and turn it ``rotate`` degrees
    counter-clockwise, keeping its size (bilinear; pixels turned in from outside mirror the edge).

    image: uint8 (H, W, 3). zoom: 0 <= zoom < 1 (Google's ``s``; 0.05 magnifies by about 5 %).
    returns: uint8 (H, W, 3).
    """
    h, w = image.shape[:2]
    turn = math.radians(rotate)
    # Output pixel o = (row, col) samples the input at centre + (1 - zoom) * R (o - centre); rows
    # grow downwards, so this R turns the picture counter-clockwise on screen.
    matrix = (1.0 - zoom) * np.array([[math.cos(turn), math.sin(turn)],
                                      [-math.sin(turn), math.cos(turn)]])
    centre = np.array([(h - 1) / 2.0, (w - 1) / 2.0])
    offset = centre - matrix @ centre
    out = np.empty((h, w, 3), dtype=np.float32)
    for c in range(3):
        ndimage.affine_transform(image[:, :, c].astype(np.float32), matrix, offset, output=out[:, :, c],
                                 order=1, mode="mirror")
    return np.clip(np.rint(out), 0, 255).astype(np.uint8)


def check_zoom(frames, zoom, rotate):
    if not (isinstance(frames, numbers.Integral) and not isinstance(frames, bool) and 1 <= frames <= MAX_FRAMES):
        raise NumdreamError(f"frames must be a whole number from 1 to {MAX_FRAMES}, got {frames!r}")
    if not (_real(zoom) and 0 <= zoom < 1):
        raise NumdreamError(f"zoom must be a number in [0, 1), got {zoom!r} (0.05 magnifies by about 5 % a frame)")
    if not (_real(rotate) and math.isfinite(rotate)):
        raise NumdreamError(f"rotate must be a finite number of degrees, got {rotate!r}")


def _real(value):
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def zoom_frames(image, folder, frames, zoom=0.05, rotate=0.0, model=None, seed=0, progress=True,
                **options):
    """Dream a zoom sequence of ``frames`` frames into ``folder``; resume from the frames there.

    image: path, PIL image or uint8 (H, W, 3); ignored (may be None) with init="noise".
    folder: created (one level) if missing; an existing one must be empty or hold frames of
        the same settings (numdream.frames.claim_frames_folder). seed: the run's seed (each frame derives its own).
    options: dream() options and targets (layers, objective, octaves, steps, ..., init, size).
    returns: the paths of frames 0 .. frames-1, in order.
    """
    check_zoom(frames, zoom, rotate)
    check_options(dict(options, seed=seed))
    check_frames_folder(folder, adopt_empty=True)
    noise = options.get("init") == "noise"
    pixels = None if noise else load_image(image)
    model = model or load_model()
    with claim_frames_folder(folder, _settings(pixels, model, zoom, rotate, seed, options), adopt_empty=True):
        done, frame = resume_point(folder)
        later = {k: v for k, v in options.items() if k not in ("init", "size")}  # frames 1.. start from the last
        bar = tqdm(total=frames, initial=min(done, frames), desc="zoom", unit="frame", file=sys.stderr,
                   disable=not progress)
        try:
            for i in range(done, frames):
                if i == 0:
                    frame = dream(pixels, model=model, seed=frame_seed(seed, 0), progress=False, **options)
                else:
                    frame = dream(zoom_image(frame, zoom, rotate), model=model, seed=frame_seed(seed, i),
                                  progress=False, **later)
                save_image(frame_path(folder, i), frame)
                bar.update()
        finally:
            bar.close()
    return [frame_path(folder, i) for i in range(frames)]


def _settings(pixels, model, zoom, rotate, seed, options):
    """What decides the frames, as JSON-able values: resuming with anything else is refused."""
    described = {key: describe(value) for key, value in sorted(options.items()) if key != "callback"}
    source = "noise" if pixels is None else array_digest(pixels)
    return dict(command="zoom", input=source, shape=None if pixels is None else list(pixels.shape),
                **model_settings(model), zoom=describe(zoom), rotate=describe(rotate), seed=describe(seed),
                **described)
