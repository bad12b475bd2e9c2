"""The time left that a dream prints weighs each step by its work: with a fake clock whose steps
cost what larger octaves cost, the estimate stays within 25 % of the truth."""
import importlib

import numpy as np
import pytest

from numdream.dreamplan import octave_sizes, plan_dream, step_work
from numdream.model import Model
from numdream.progress import StepClock, format_seconds
from tiny_model import tiny_spec

engine = importlib.import_module("numdream.dream")


class FakeClock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


def step_cost(tiles, pixels, per_tile=0.004, per_pixel=2e-6):
    """Seconds of one step on the fake clock: a cost per network pass and one per pixel."""
    return per_tile * tiles + per_pixel * pixels


def simulate(work, steps):
    """[(predicted, true) seconds left] after each step of a run timed on a fake clock."""
    clock = FakeClock()
    eta = StepClock(work, steps, clock)
    predicted = []
    for octave, w in enumerate(work):
        for _ in range(steps):
            clock.now += step_cost(*w)
            eta.step_done(octave)
            predicted.append((clock.now, eta.remaining()))
    return [(left, clock.now - at) for at, left in predicted]


def chelsea_work(tile=512, hw=(300, 451), octaves=4):
    return [(len(engine.tile_bounds(h, tile)) * len(engine.tile_bounds(w, tile)), h * w)
            for h, w in octave_sizes(hw, octaves, 1.4, 75)]


@pytest.mark.parametrize("hw, tile", [((300, 451), 512), ((2000, 3000), 512), ((700, 900), 256)])
def test_the_time_left_is_within_a_quarter_of_the_truth_at_every_step(hw, tile):
    work = chelsea_work(tile, hw)
    assert len({pixels for _, pixels in work}) == 4  # unequal octaves
    for left, truth in simulate(work, steps=10)[:-1]:
        assert abs(left - truth) <= 0.25 * truth, (left, truth)


def test_counting_steps_as_equal_misses_by_far_more():
    """What numdream said before (tqdm's rate: every step alike), in the same run: the test above
    would fail it."""
    work, steps = chelsea_work(), 10
    clock, done = 0.0, 0
    for octave, w in enumerate(work):
        for _ in range(steps):
            clock += step_cost(*w)
            done += 1
            if done == steps:  # at 10 of 40 steps, the example
                equal = clock / done * (len(work) * steps - done)
    truth = clock - sum(step_cost(*work[0]) for _ in range(steps))
    assert equal < 0.6 * truth


def test_after_two_octaves_the_fitted_cost_is_exact():
    work = chelsea_work()
    for left, truth in simulate(work, steps=5)[5:-1]:
        assert left == pytest.approx(truth, rel=1e-9)


def test_before_any_step_a_calibrated_rate_or_nothing():
    assert StepClock([(1, 100)], 3, FakeClock()).remaining() is None
    assert StepClock([(1, 100), (1, 400)], 3, FakeClock(), initial_rate=0.01).remaining() == pytest.approx(15.0)


def test_the_dream_loop_feeds_the_clock_one_step_at_a_time(monkeypatch):
    """A real dream on the tiny model, its steps timed by the fake clock: the bar's estimate after
    each step is within 25 % of the time the rest of the run then took."""
    model, clock, seen = Model(tiny_spec()), FakeClock(), []
    photo = np.random.default_rng(0).integers(0, 256, (90, 120, 3), dtype=np.uint8)
    plan = plan_dream(photo, model, "mixed", octaves=3, steps=4, tile_size=40, seed=0, progress=False)
    real_step, real_remaining = engine.dream_step, StepClock.remaining

    def timed_step(model, x, *args):
        clock.now += step_cost(*step_work(model, plan.objective, x.shape[2:], 40), per_tile=1e-4)
        return real_step(model, x, *args)

    def remaining(self):
        left = real_remaining(self)
        seen.append((clock.now, left))
        return left

    monkeypatch.setattr(engine, "dream_step", timed_step)
    monkeypatch.setattr(StepClock, "remaining", remaining)
    engine.run_dream(plan, clock=clock)
    assert len(seen) == 12 and len({w for w in plan.work}) == 3
    for at, left in seen[:-1]:
        assert abs(left - (clock.now - at)) <= 0.25 * (clock.now - at)
    assert seen[-1][1] == 0


@pytest.mark.parametrize("seconds, text", [(42.4, "42 s"), (125, "2.1 min"), (5400, "1.5 h")])
def test_times_read_as_a_person_says_them(seconds, text):
    assert format_seconds(seconds) == text
