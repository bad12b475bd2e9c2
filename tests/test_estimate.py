"""The estimate before the first step: what the calibration times, and on what."""
import numpy as np
import pytest

from numdream import estimate
from numdream.dreamplan import plan_dream
from numdream.model import Model
from tiny_model import tiny_spec


def _planned(hw, tile_size, objective="l2", octaves=1, **options):
    model = Model(tiny_spec(), dtype=np.float32)
    photo = np.random.default_rng(0).integers(0, 256, (*hw, 3), dtype=np.uint8)
    return plan_dream(photo, model, "mixed", objective, octaves=octaves, steps=1, tile_size=tile_size, seed=0,
                      progress=False, **options)


def _timed_shapes(monkeypatch, plan):
    """The input shapes of the passes calibrate() times, and its result."""
    shapes = []
    real = estimate.piece_gradient, estimate.objective_gradient

    def piece(model, x, objective):
        shapes.append(("piece", x.shape))
        return real[0](model, x, objective)

    def whole(model, x, objective, tile_size=None):
        shapes.append(("whole", x.shape))
        return real[1](model, x, objective, tile_size)

    monkeypatch.setattr(estimate, "piece_gradient", piece)
    monkeypatch.setattr(estimate, "objective_gradient", whole)
    return shapes, estimate.calibrate(plan)


def test_a_tiled_dream_is_timed_on_a_piece_and_its_quarter_not_on_the_whole_octave(monkeypatch):
    plan = _planned((300, 400), tile_size=64)  # 5 x 7 tiles at its one octave
    shapes, (per_pass, per_pixel, bytes_per_pixel) = _timed_shapes(monkeypatch, plan)
    kinds = {kind for kind, _ in shapes}
    assert kinds == {"piece"}, shapes
    sides = sorted({shape[2:] for _, shape in shapes})
    assert sides[-1][0] * sides[-1][1] <= 64 * 64 and len(sides) == 2  # a tile's worth, then smaller
    assert per_pixel > 0 and bytes_per_pixel > 0


def test_a_neuron_is_timed_on_what_its_steps_run(monkeypatch):
    plan = _planned((120, 160), tile_size=64, objective="neuron", neuron=(1, None, None))
    shapes, _ = _timed_shapes(monkeypatch, plan)
    assert [kind for kind, _ in shapes] == ["whole"] * 3  # an untimed pass, then two timed
    assert shapes[0][1][2:] == (120, 160)


def test_calibration_never_preprocesses_the_photo_whole(monkeypatch):
    plan = _planned((300, 400), tile_size=64, octaves=3)
    assert plan.sizes[0] != (300, 400)
    seen = []
    real = plan.model.preprocess
    monkeypatch.setattr(plan.model, "preprocess", lambda pixels: seen.append(pixels.shape) or real(pixels))
    estimate.calibrate(plan)
    assert seen == [(*plan.sizes[0], 3)]


def test_the_memory_estimate_counts_one_tile_per_core_when_tiles_run_side_by_side(monkeypatch):
    """numdream/fast/tiles.py runs a step's tiles side by side, one per core: the estimate's tile
    part grows by the cores; an objective whose tiles run in turn keeps one tile's."""
    from numdream.objectives import L2
    monkeypatch.setenv("NUMDREAM_THREADS", "2")
    monkeypatch.setattr(estimate, "calibrate", lambda plan: (0.0, 1e-6, 1000.0))  # 1 kB a pixel
    monkeypatch.setattr(estimate, "resident_bytes", lambda: 0)

    class InTurn(L2):
        concurrent_tiles = False
    peaks = {}
    for name, objective in (("side by side", L2("mixed")), ("in turn", InTurn("mixed"))):
        plan = _planned((300, 400), tile_size=64)  # 5 x 7 tiles
        plan.objective = objective
        peaks[name] = estimate.estimate_dream(plan).peak_bytes
    tile = 300 * 400 / 35
    assert peaks["side by side"] - peaks["in turn"] == pytest.approx(estimate.ALLOCATOR_SLACK * 1000.0 * tile, rel=1e-6)
