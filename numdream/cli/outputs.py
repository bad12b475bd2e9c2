"""What ``numdream dream`` writes besides its picture: the image after each octave
(--save-octaves DIR) and the frames of a GIF of the steps (-o NAME.gif --every K)."""
import tempfile
from pathlib import Path

import numpy
from PIL import Image

from ..errors import NumdreamError
from ..imagemeta import read_settings_text
from ..images import save_image
from ..movie import write_movie
from .record import record_text

GIF_FPS = 10  # frames per second of a GIF of the steps


def octave_folder(path):
    """The folder of --save-octaves, checked: an existing folder, or one that can be made (one
    level) when the first octave is written, so a run refused before its first step leaves none."""
    folder = Path(path)
    if folder.exists() and not folder.is_dir():
        raise NumdreamError(f"--save-octaves {path!r} is not a folder")
    if not folder.exists() and not folder.parent.is_dir():
        raise NumdreamError(f"--save-octaves {path!r}: folder {str(folder.parent)!r} does not exist")
    return folder


def check_octave_files(folder, stem, count):
    """Refuse to replace an octave image that numdream did not write: STEM_octaveK.png (K = 1 ..
    count) may exist only if it holds numdream's settings record (an earlier run's octave)."""
    for k in range(1, count + 1):
        path = Path(folder) / f"{stem}_octave{k}.png"
        if not path.exists():
            continue
        try:
            _, text = read_settings_text(path)
        except NumdreamError:
            text = None
        if not text or '"numdream"' not in text:
            raise NumdreamError(f"--save-octaves: {str(path)!r} exists and numdream did not write it; "
                                "choose another folder, or move that file away")


class OctaveWriter:
    """Writes the picture after each octave as FOLDER/STEM_octaveK.png, with the run's record."""

    def __init__(self, folder, stem, record, steps):
        self.folder, self.stem, self.record, self.last_step = Path(folder), stem, record, steps - 1

    def write(self, octave, image):
        try:
            self.folder.mkdir(exist_ok=True)
        except OSError as err:
            raise NumdreamError(f"--save-octaves {str(self.folder)!r}: {err.strerror or err}") from None
        path = self.folder / f"{self.stem}_octave{octave + 1}.png"
        save_image(path, image, settings=record_text(self.record, octave=octave + 1))


class StepFrames:
    """The frames of a GIF of a dream's steps: the start, then every ``every`` steps and the last,
    each scaled to the full size (smaller octaves are scaled up), kept as PNGs in a temporary
    folder until write() assembles them (numdream.movie.write_movie, atomically)."""

    def __init__(self, plan, every, start):
        self.every, self.steps = every, plan.opts.steps
        self.total = self.steps * len(plan.sizes)
        self.hw = plan.pixels.shape[:2]
        self.folder = tempfile.TemporaryDirectory(prefix="numdream-steps-")
        self.paths = []
        self._keep(start)

    @staticmethod
    def count(plan, every):
        """How many frames a run of ``plan`` makes: the start, every K-th step and the last."""
        total = plan.opts.steps * len(plan.sizes)
        return 1 + total // every + (total % every != 0)

    def add(self, octave, step, image):
        done = octave * self.steps + step + 1
        if done % self.every == 0 or done == self.total:
            self._keep(image)

    def _keep(self, image):
        if image.shape[:2] != self.hw:
            image = numpy.asarray(Image.fromarray(image).resize(self.hw[::-1], Image.BILINEAR))
        path = Path(self.folder.name) / f"frame_{len(self.paths):05d}.png"
        Image.fromarray(image).save(path)
        self.paths.append(path)

    def write(self, output, picture, text):
        """The GIF at ``output``; its last frame is ``picture``, the dream."""
        write_movie(output, self.paths, GIF_FPS, comment=text)

    def close(self):
        self.folder.cleanup()
