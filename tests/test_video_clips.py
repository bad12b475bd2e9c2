"""The benchmark clips of issue 15 carry their true flow, and the flicker measure measures flicker."""
import os
import sys

import numpy as np
import pytest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "benchmarks"))

from numdream.flow import consistency_weight, warp  # noqa: E402
from video_clips import real_clip, synthetic_clip, temporal_instability  # noqa: E402

pytest.importorskip("cv2")  # the video extra, which the test extra includes; CI fails on skips


@pytest.fixture(scope="module")
def synthetic():
    return synthetic_clip(frames=8)


@pytest.fixture(scope="module")
def real():
    return real_clip(frames=(5, 4))


def warp_error(clip, t):
    """Mean |frame t+1 - frame t warped by the true flow| on the pixels that stay in the frame."""
    warped, outside = warp(clip.frames[t], clip.backward[t])
    return np.abs(warped - clip.frames[t + 1]).mean(axis=2)[~outside].mean()


def test_the_true_flow_of_the_synthetic_clip_warps_each_frame_onto_the_next(synthetic):
    assert synthetic.frames.shape == (8, 144, 192, 3) and synthetic.frames.dtype == np.uint8
    assert synthetic.cuts == [] and len(synthetic.backward) == len(synthetic.forward) == 7
    for t in range(7):
        still = np.abs(synthetic.frames[t].astype(float) - synthetic.frames[t + 1]).mean()
        assert warp_error(synthetic, t) < 2.0 < 5.0 < still  # bilinear blur is what remains
        weight = consistency_weight(synthetic.forward[t], synthetic.backward[t])
        assert weight[4:-4, 4:-4].min() == 1  # the true flows agree; only the edges leave the frame
    assert np.abs(synthetic.backward[3]).max() < 3  # slowly: under 3 pixels a frame


def test_the_real_clip_cuts_once_and_its_crops_move_by_their_true_flow(real):
    assert real.frames.shape == (9, 144, 192, 3) and real.cuts == [5]
    assert real.backward[4] is None and real.forward[4] is None
    for t in (0, 1, 2, 3, 5, 6, 7):
        assert warp_error(real, t) == 0  # whole-pixel crops: the warp is exact
        assert np.array_equal(real.forward[t], -real.backward[t])
    assert np.abs(real.frames[5].astype(float) - real.frames[4]).mean() > 40  # another scene


def test_temporal_instability_is_zero_for_a_dream_that_moves_with_the_scene(real):
    # A "dream" that is a fixed function of the scene moves with it: no flicker at all.
    assert temporal_instability(real.frames, real.backward) == 0


def test_temporal_instability_measures_flicker_and_dreams_stuck_to_the_screen(real):
    noise = np.random.default_rng(0).normal(0, 10, real.frames.shape)
    flickering = np.clip(real.frames + noise, 0, 255).astype(np.uint8)
    # two independent N(0, 10) noises differ by N(0, 10 sqrt 2): mean |.| = 10 sqrt 2 sqrt(2 / pi) = 11.3
    assert 10.3 < temporal_instability(flickering, real.backward) < 11.5  # clipping trims it a little
    overlay = np.where(np.indices(real.frames.shape[1:3]).sum(axis=0) % 16 < 8, 40, -40)[..., None]
    stuck = np.clip(real.frames + overlay, 0, 255).astype(np.uint8)  # a pattern that does not move
    assert temporal_instability(stuck, real.backward) > 10
    weights = [None if f is None else np.zeros(f.shape[:2], np.float32) for f in real.backward]
    weights[0] = np.ones((144, 192), np.float32)  # only the first pair counts
    assert temporal_instability(stuck, real.backward, weights) == pytest.approx(
        np.abs(stuck[1].astype(np.float32) - warp(stuck[0], real.backward[0])[0]).mean(axis=2)[
            ~warp(stuck[0], real.backward[0])[1]].mean(), rel=1e-5)
