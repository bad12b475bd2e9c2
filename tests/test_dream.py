"""The dream loop on a tiny model: tiling, octaves, reproducibility, and that it really dreams."""
import importlib

import numpy as np
import pytest

from numdream.dream import dream, evaluate, objective_gradient, octave_sizes, tile_bounds
from numdream.errors import NumdreamError
from numdream.model import Model
from numdream.objectives import L2
from tiny_model import tiny_spec

RNG = np.random.default_rng(11)
PHOTO = RNG.integers(0, 256, (61, 83, 3), dtype=np.uint8)


@pytest.fixture(scope="module")
def tiny():
    return Model(tiny_spec())


def test_tile_bounds_cover_the_range_in_near_equal_pieces():
    assert tile_bounds(10, 512) == [(0, 10)]
    assert tile_bounds(1000, 512) == [(0, 500), (500, 1000)]
    bounds = tile_bounds(1301, 512)
    assert bounds[0][0] == 0 and bounds[-1][1] == 1301 and len(bounds) == 3
    assert all(b[1] == c[0] for b, c in zip(bounds, bounds[1:]))
    assert max(b - a for a, b in bounds) - min(b - a for a, b in bounds) <= 1


def test_one_tile_covering_the_image_equals_untiled():
    model = Model(tiny_spec(), dtype=np.float64)
    x = RNG.uniform(-1, 1, (1, 3, 45, 52))
    v_full, g_full = objective_gradient(model, x, L2("mixed"), tile_size=None)
    v_tile, g_tile = objective_gradient(model, x, L2("mixed"), tile_size=52)
    assert v_tile == v_full
    np.testing.assert_array_equal(g_tile, g_full)


def test_small_tiles_still_raise_the_objective(tiny):
    out = dream(PHOTO, model=tiny, layers="mixed", octaves=1, steps=5, tile_size=24, seed=0, progress=False)
    before, after = evaluate(PHOTO, layers="mixed", model=tiny), evaluate(out, layers="mixed", model=tiny)
    assert after > 1.2 * before


def test_tiled_gradient_differs_from_untiled_only_near_seams():
    model = Model(tiny_spec(), dtype=np.float64)
    x = RNG.uniform(-1, 1, (1, 3, 64, 64))
    _, full = objective_gradient(model, x, L2("mixed"))
    _, tiled = objective_gradient(model, x, L2("mixed"), tile_size=32)
    cos = (full * tiled).sum() / np.linalg.norm(full) / np.linalg.norm(tiled)
    assert 0.5 < cos < 1.0  # the same direction overall, but really computed per tile


@pytest.mark.parametrize("hw,octaves,expected", [
    ((301, 227), 3, [(154, 116), (215, 162), (301, 227)]),
    ((300, 451), 4, [(109, 164), (153, 230), (214, 322), (300, 451)]),
    ((15, 9), 4, [(15, 9)]),  # the next octave, (11, 6), would fall below 7 px
])
def test_octave_sizes_for_odd_sizes(hw, octaves, expected):
    assert octave_sizes(hw, octaves, 1.4, minimum=7) == expected


def test_dream_returns_same_shape_uint8_and_raises_energy(tiny):
    out = dream(PHOTO, model=tiny, layers="mixed", octaves=3, steps=4, seed=1, progress=False)
    assert out.shape == PHOTO.shape and out.dtype == np.uint8
    assert evaluate(out, layers="mixed", model=tiny) > 1.2 * evaluate(PHOTO, layers="mixed", model=tiny)


def test_same_seed_same_bits_other_seed_other_bits(tiny):
    kwargs = dict(model=tiny, layers="mixed", octaves=2, steps=3, progress=False)
    a = dream(PHOTO, seed=5, **kwargs)
    b = dream(PHOTO, seed=5, **kwargs)
    c = dream(PHOTO, seed=6, **kwargs)
    np.testing.assert_array_equal(a, b)
    assert (a != c).any()


@pytest.mark.parametrize("normalize,smooth", [("std", 0.0), ("laplacian", 0.0), ("mean", 1.5)])
def test_every_normalisation_dreams(tiny, normalize, smooth):
    out = dream(PHOTO, model=tiny, layers="mixed", octaves=2, steps=4, seed=2, progress=False,
                normalize=normalize, smooth=smooth)
    assert evaluate(out, layers="mixed", model=tiny) > 1.1 * evaluate(PHOTO, layers="mixed", model=tiny)


def test_callback_sees_every_step_and_noise_init_has_the_size(tiny):
    seen = []
    out = dream(model=tiny, layers="mixed", init="noise", size=(40, 30), octaves=2, steps=2, seed=0,
                progress=False, callback=lambda o, s, img: seen.append((o, s, img.shape)))
    assert out.shape == (30, 40, 3)
    assert [(o, s) for o, s, _ in seen] == [(0, 0), (0, 1), (1, 0), (1, 1)]
    assert seen[-1][2] == (30, 40, 3) and seen[0][2] == (21, 29, 3)


@pytest.mark.parametrize("smooth", [0.0, 2.0])
def test_step_size_is_in_pixel_units(tiny, smooth):
    """One step with mean-|g| normalisation moves pixels by step_size on average (before clipping)."""
    gray = np.full((40, 40, 3), 128, np.uint8)
    out = dream(gray, model=tiny, layers="mixed", octaves=1, steps=1, step_size=3.0, jitter=0,
                seed=0, progress=False, smooth=smooth)
    assert np.abs(out.astype(float) - 128).mean() == pytest.approx(3.0, abs=0.3)


@pytest.mark.parametrize("options,message", [
    ({"octaves": 0}, "octaves must be a whole number from 1 to 100, got 0"),
    ({"octave_scale": 1.0}, "octave_scale must be a number > 1.0"),
    ({"steps": -1}, "steps must be"),
    ({"step_size": "big"}, "step_size must be a number"),
    ({"normalize": "max"}, "unknown normalize 'max'; valid: mean, std, laplacian"),
    ({"tile_size": 5}, "tile size 5 is too small for these layers; use at least 14"),
    ({"init": "noise"}, "needs a size"),
    ({"colour": 1}, "unknown dream option 'colour'"),
])
def test_bad_options_are_named(tiny, options, message):
    with pytest.raises(NumdreamError, match=message):
        dream(PHOTO, model=tiny, layers="mixed", progress=False, **options)


def test_image_smaller_than_the_network_is_refused(tiny):
    with pytest.raises(NumdreamError, match="smaller than the 7x7 minimum"):
        dream(PHOTO[:5, :5], model=tiny, layers="mixed", progress=False)


@pytest.mark.parametrize("normalize,smooth", [("mean", 0.0), ("std", 1.0), ("laplacian", 0.5)])
def test_a_float32_dream_step_stays_float32(tiny, normalize, smooth, monkeypatch):
    """No silent upcast to float64 anywhere in a step: the gradient, smoothing, normalisation and
    the update itself. x is updated in place, which would hide a float64 temporary, so every
    stage's output is recorded as dream_step passes it on, and the update is checked against
    the same arithmetic done in float32."""
    engine = importlib.import_module("numdream.dream")  # numdream.dream is also the function
    from numdream.objectives import Channel
    from numdream.options import DreamOptions
    seen = []

    def recorded(stage):
        def run(*args, **kwargs):
            out = stage(*args, **kwargs)
            seen.append((stage.__name__, out[1] if isinstance(out, tuple) else out))
            return out
        return run

    for name in ("objective_gradient", "gaussian_blur", "normalize_gradient"):
        monkeypatch.setattr(engine, name, recorded(getattr(engine, name)))
    low, high = tiny.input_range()
    opts = DreamOptions(normalize=normalize, smooth=smooth, tile_size=40, jitter=0)
    for objective in (L2("mixed"), Channel("top", [1])):
        seen.clear()
        x = tiny.preprocess(PHOTO)
        before = x.copy()
        engine.dream_step(tiny, x, objective, opts, np.random.default_rng(0), low, high)
        stages = ["objective_gradient"] + ["gaussian_blur"] * (smooth > 0) + ["normalize_gradient"]
        assert [name for name, _ in seen] == stages
        assert all(out.dtype == np.float32 for _, out in seen), [(n, o.dtype) for n, o in seen]
        step = np.float32(opts.step_size * tiny.scale) * seen[-1][1]
        np.testing.assert_array_equal(x, np.clip(before + step, low, high))
