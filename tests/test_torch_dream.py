"""benchmarks/torch_dream.py, the PyTorch twin of the dream loop that bench_dream_vs_torch.py times
against numdream: in float64 it must draw numdream.dream's pixels, or the benchmark compares two
different algorithms."""
import os
import sys

import numpy as np
import pytest
from PIL import Image

from numdream.dream import dream
from numdream.images import load_image, sample_path
from numdream.model import bundled_model_path, load_model
from numdream.modelfile import read_model

torch = pytest.importorskip("torch")  # the test extra installs it; CI fails on skips
sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "benchmarks"))
from torch_dream import torch_dream  # noqa: E402
from torch_inception import TorchInception  # noqa: E402


@pytest.fixture(scope="module")
def engines():
    """(numdream model, torch twin), both float64, torch on one thread: the pixels do not depend
    on it, and on a busy shared machine two threads make these small convolutions ~100x slower."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield load_model(dtype=np.float64), TorchInception(read_model(bundled_model_path()), torch.float64)
    torch.set_num_threads(threads)


def photo(w, h):
    return np.asarray(Image.fromarray(load_image(sample_path("chelsea"))).resize((w, h), Image.BICUBIC))


def apart(a, b):
    return np.abs(a.astype(int) - b.astype(int))


def test_one_octave_draws_numdreams_pixels(engines):
    model, twin = engines
    pixels, options = photo(64, 48), dict(octaves=1, steps=2, seed=0)
    ours = dream(pixels, model=model, progress=False, **options)
    theirs = torch_dream(twin, model, pixels, **options)
    assert apart(ours, pixels).mean() > 2  # it dreamed: the comparison is not of two copies of the photo
    assert apart(ours, theirs).max() <= 1
    assert (ours == theirs).mean() > 0.999


def test_octaves_tiles_weights_smoothing_and_std_draw_numdreams_pixels(engines):
    model, twin = engines  # 120x90: 2x2 tiles of 86 px at the top octave, one at the 86x64 below it
    pixels = photo(120, 90)
    options = dict(layers={"mixed3": 1.0, "mixed5": 1.5}, octaves=2, steps=2, tile_size=86, smooth=0.8,
                   normalize="std", jitter=20, seed=3)
    ours = dream(pixels, model=model, progress=False, **options)
    theirs = torch_dream(twin, model, pixels, **options)
    assert apart(ours, theirs).max() <= 1
    assert (ours == theirs).mean() > 0.999


def test_another_seed_rolls_other_shifts(engines):
    """The agreement above needs the same jitter draws: with another seed the pixels differ."""
    model, twin = engines
    pixels, options = photo(64, 48), dict(octaves=1, steps=2)
    ours = dream(pixels, model=model, progress=False, seed=0, **options)
    assert apart(ours, torch_dream(twin, model, pixels, seed=1, **options)).max() > 1


def test_a_normalisation_it_does_not_have_is_refused(engines):
    model, twin = engines
    with pytest.raises(ValueError, match="laplacian"):
        torch_dream(twin, model, photo(64, 48), octaves=1, steps=1, normalize="laplacian")
