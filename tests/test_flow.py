"""Optical flow for video dreams: warping, the forward-backward check, the estimators, scene cuts."""
import sys

import numpy as np
import pytest
from PIL import Image
from scipy import ndimage

from numdream.errors import NumdreamError
from numdream.flow import (carry_dream, consistency_weight, estimate_flow, is_scene_cut, next_start,
                           require_cv2, warp, warp_naive, warped_detail)
from numdream.flowparams import DIS_PRESET_VALUES, DIS_PRESETS, check_flow_params
from numdream.images import load_image, sample_path
from numdream.video import blend_frames

cv2 = pytest.importorskip("cv2")  # the video extra, which the test extra includes; CI fails on skips


def texture(h, w, seed=0, sigma=1.5):
    """A smooth random RGB texture, uint8 (h, w, 3): detail at every place, as flow needs."""
    noise = np.random.default_rng(seed).standard_normal((h, w, 3))
    smooth = ndimage.gaussian_filter(noise, (sigma, sigma, 0))
    return np.clip(128 + 60 * smooth / smooth.std(), 0, 255).astype(np.uint8)


def constant_flow(h, w, dx, dy):
    return np.broadcast_to(np.float32([dx, dy]), (h, w, 2)).copy()


def test_warp_of_a_whole_pixel_shift_moves_the_pixels_and_marks_what_fell_off():
    image = np.random.default_rng(1).random((30, 40, 3)).astype(np.float32)
    out, outside = warp(image, constant_flow(30, 40, 3, -2))  # out[y, x] = image[y - 2, x + 3]
    assert out.dtype == np.float32 and out.shape == image.shape
    assert np.array_equal(out[2:, :37], image[:28, 3:])
    expected_outside = np.zeros((30, 40), bool)
    expected_outside[:2, :] = True
    expected_outside[:, 37:] = True
    assert np.array_equal(outside, expected_outside)
    assert np.array_equal(out[0, 5], image[0, 8])  # off the frame: the nearest edge pixel (replicate)


def test_warp_of_a_small_rotation_gives_the_rotated_pixels():
    h, w, angle = 64, 80, np.deg2rad(3.0)
    cy, cx = (h - 1) / 2, (w - 1) / 2
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float64)

    def picture(x, y):  # smooth: wavelengths of about 40 px
        return np.stack([100 * np.sin(x / 6.5) * np.cos(y / 7.0), 80 * np.cos((x + y) / 9.0), x + 2 * y], axis=2)
    src_x = cx + np.cos(angle) * (xs - cx) - np.sin(angle) * (ys - cy)
    src_y = cy + np.sin(angle) * (xs - cx) + np.cos(angle) * (ys - cy)
    flow = np.stack([src_x - xs, src_y - ys], axis=2).astype(np.float32)
    expected = picture(src_x, src_y)
    interior = (slice(6, -6), slice(6, -6))
    # Bilinear interpolation errs by up to (|f_xx| + |f_yy|) / 8 = (100/6.5^2 + 100/7^2) / 8 = 0.55;
    # remap also rounds positions to 1/32 pixel: up to |grad f| / 64 = (100/6.5 + 100/7) / 64 = 0.46 more.
    for warper, tolerance in ((warp, 0.55 + 0.46), (warp_naive, 0.55)):
        out, outside = warper(picture(xs, ys), flow)
        assert not outside[interior].any()
        assert np.abs(out - expected)[interior].max() < tolerance
    wrong, _ = warp(picture(xs, ys), -flow)  # the rotation the other way round is far off
    assert np.abs(wrong - expected)[interior].max() > 20


def test_warp_matches_its_exact_bilinear_oracle_to_a_32nd_of_a_pixel():
    image = texture(40, 50, seed=2).astype(np.float32)
    flow = np.random.default_rng(3).uniform(-3, 3, (40, 50, 2)).astype(np.float32)
    fast, outside = warp(image, flow)
    exact, outside_exact = warp_naive(image, flow)
    assert np.array_equal(outside, outside_exact)
    step = max(np.abs(np.diff(image, axis=a)).max() for a in (0, 1))  # largest change over one pixel
    assert np.abs(fast - exact).max() <= step / 32 + 1e-3
    with pytest.raises(NumdreamError, match="cannot warp an image of shape"):
        warp(image[:39], flow)


def moving_square(shift=6):
    """Two 96x128 frames: a textured square moves ``shift`` pixels right over a static background.
    Returns (frame0, frame1, revealed): revealed (96, 128) bool is the background that frame 1
    shows and frame 0 hid under the square."""
    background, square = texture(96, 128, seed=4), texture(40, 40, seed=5, sigma=2.0)
    frames = []
    for x in (40, 40 + shift):
        frame = background.copy()
        frame[28:68, x:x + 40] = square
        frames.append(frame)
    revealed = np.zeros((96, 128), bool)
    revealed[28:68, 40:40 + shift] = True
    return frames[0], frames[1], revealed


def test_consistency_weight_is_zero_where_motion_reveals_the_background_true_flows():
    h, w, shift = 96, 128, 6
    _, _, revealed = moving_square(shift)
    flow_fw = np.zeros((h, w, 2), np.float32)
    flow_fw[28:68, 40:80, 0] = shift           # frame 0's square moves right
    flow_bw = np.zeros((h, w, 2), np.float32)
    flow_bw[28:68, 40 + shift:80 + shift, 0] = -shift  # frame 1's square came from the left
    weight = consistency_weight(flow_fw, flow_bw)  # the revealed strip has the background's flow, 0
    assert weight.dtype == np.float32 and weight.shape == (h, w)
    assert np.all(weight[revealed] == 0)
    assert np.all(weight[~revealed] == 1)


def test_consistency_weight_is_zero_where_motion_reveals_the_background_estimated_flows():
    frame0, frame1, revealed = moving_square(6)
    weight = consistency_weight(estimate_flow(frame0, frame1), estimate_flow(frame1, frame0))
    assert weight[revealed].mean() < 0.2  # DIS blurs the flow's edge over a pixel or so: 0.14 measured
    assert weight[32:64, 50:82].mean() > 0.95  # the square itself, moved
    far = np.ones_like(revealed)
    far[16:80, 28:100] = False  # well away from the square and its edges
    assert weight[far].mean() > 0.97


def test_consistency_weight_soft_ramps_and_the_frame_edge_is_zero():
    h, w = 20, 30
    # excess = |fw + bw|^2 / (0.01 (|fw|^2 + |bw|^2) + 0.5) with fw = (2, 0), bw = (-1, 0): 1 / 0.55
    weight = consistency_weight(constant_flow(h, w, 2, 0), constant_flow(h, w, -1, 0), soft=True)
    assert np.allclose(weight[:, 1:], 2 - 1 / 0.55)
    assert np.all(weight[:, 0] == 0)  # x - 1 is off the frame
    hard = consistency_weight(constant_flow(h, w, 2, 0), constant_flow(h, w, -1, 0))
    assert np.all(hard == 0)  # excess 1.8 > 1
    assert np.all(consistency_weight(constant_flow(h, w, 2, 0), constant_flow(h, w, -2, 0))[:, 2:] == 1)


def pan(shift=(2.5, -1.25), size=(96, 128)):
    """frame0, frame1, true backward flow: a subpixel pan of a smooth texture by ``shift`` (x, y)."""
    big = texture(size[0] + 20, size[1] + 20, seed=6, sigma=2.0).astype(np.float64)
    moved = ndimage.shift(big, (shift[1], shift[0], 0), order=3, mode="reflect")
    crop = (slice(10, -10), slice(10, -10))
    to_uint8 = lambda a: np.clip(np.rint(a[crop]), 0, 255).astype(np.uint8)  # noqa: E731
    # frame1[y, x] = frame0[y - dy, x - dx]: the backward flow (frame 1 -> 0) is -shift.
    return to_uint8(big), to_uint8(moved), constant_flow(*size, -shift[0], -shift[1])


@pytest.mark.parametrize("method, tolerance", [("dis", 0.05), ("farneback", 0.1)])
def test_the_estimated_flow_of_a_pan_is_close_to_the_truth(method, tolerance):
    frame0, frame1, true_bw = pan()
    flow_bw = estimate_flow(frame1, frame0, method)
    flow_fw = estimate_flow(frame0, frame1, method)
    assert flow_bw.dtype == np.float32 and flow_bw.shape == (96, 128, 2)
    interior = (slice(12, -12), slice(12, -12))
    assert np.median(np.linalg.norm(flow_bw - true_bw, axis=2)[interior]) < tolerance
    assert np.median(np.linalg.norm(flow_fw + true_bw, axis=2)[interior]) < tolerance
    assert np.array_equal(flow_bw, estimate_flow(frame1, frame0, method))  # deterministic: resumes match


def photos(size=(128, 96)):
    return [np.asarray(Image.fromarray(load_image(sample_path(name))).resize(size, Image.LANCZOS))
            for name in ("chelsea", "rocket")]


def test_a_scene_cut_starts_afresh_and_a_static_scene_carries_the_dream():
    cat, rocket = photos()
    dreamed = np.clip(cat.astype(int) + texture(96, 128, seed=7) - 128, 0, 255).astype(np.uint8)
    start, weight, cut = carry_dream(cat, dreamed, rocket, blend=0.6)
    assert cut and np.array_equal(start, rocket) and not weight.any()
    start, weight, cut = carry_dream(cat, dreamed, cat, blend=0.6)
    assert not cut and weight.mean() > 0.99
    assert np.abs(start.astype(int) - blend_frames(cat, dreamed, 0.6)).max() <= 1  # the plain blend
    assert not is_scene_cut(np.ones((4, 4))) and is_scene_cut(np.zeros((4, 4)))
    assert is_scene_cut(np.full((4, 4), 0.7), threshold=0.8) and not is_scene_cut(np.full((4, 4), 0.7))


def test_the_warped_detail_follows_the_motion_and_the_start_weighs_it():
    frame0, frame1, true_bw = pan(shift=(3, 0))
    detail = np.zeros((96, 128, 3), np.int16)
    detail[40:50, 60:70] = 40  # a dreamed blob at x 60..69 in frame 0 ...
    dreamed0 = np.clip(frame0 + detail, 0, 255).astype(np.uint8)
    moved = warped_detail(frame0, dreamed0, true_bw)
    assert np.array_equal(moved, warp(dreamed0.astype(np.float32) - frame0, true_bw)[0])
    assert np.array_equal(moved[:, 3:], dreamed0[:, :-3].astype(np.float32) - frame0[:, :-3])  # ... at 63..72 in 1
    assert np.abs(moved[40:50, 63:73]).max(axis=2).min() > 0 and not moved[:, 73:].any()
    weight = np.ones((96, 128), np.float32)
    weight[:, :66] = 0.5
    start = next_start(frame1, moved, 0.8, weight)
    expected = np.clip(np.rint(frame1 + 0.8 * weight[..., None] * moved), 0, 255).astype(np.uint8)
    assert start.dtype == np.uint8 and np.array_equal(start, expected)
    assert np.array_equal(next_start(frame1, moved, 0.0, weight), frame1)
    with pytest.raises(NumdreamError, match="same size"):
        warped_detail(frame0, dreamed0[1:], true_bw)
    with pytest.raises(NumdreamError, match="same height and width"):
        next_start(frame1, moved, 0.5, weight[1:])


def test_without_opencv_the_error_is_the_one_line_install_hint(monkeypatch):
    monkeypatch.setitem(sys.modules, "cv2", None)  # import cv2 now raises ImportError
    hint = ("optical flow needs OpenCV (opencv-python-headless), which is not installed; "
            "run: pip install 'numdream[video]'")
    for call in (require_cv2, lambda: estimate_flow(*photos()), lambda: warp(np.zeros((4, 4)), np.zeros((4, 4, 2)))):
        with pytest.raises(NumdreamError) as err:
            call()
        assert str(err.value) == hint


@pytest.mark.parametrize("method, params, message", [
    ("lucas", {}, "unknown flow method 'lucas'; valid: dis, farneback"),
    ("dis", dict(winsize=3), "unknown dis flow parameter 'winsize'; valid: preset, finest_scale"),
    ("dis", dict(preset="slow"), "dis flow parameter preset must be one of ultrafast, fast, medium, got 'slow'"),
    ("dis", dict(patch_size=1), "patch_size must be a whole number from 2 to 256, got 1"),  # OpenCV would crash
    ("dis", dict(finest_scale=2 ** 31), "finest_scale must be a whole number from 0 to 16"),  # a C int overflow
    ("dis", dict(patch_size=4, patch_stride=6), "patch_stride must be at most patch_size (4), got 6"),
    ("dis", dict(finest_scale=True), "finest_scale must be a whole number from 0 to 16"),
    ("farneback", dict(pyr_scale=1.0), "pyr_scale must be a number > 0 and < 1, got 1.0"),
    ("farneback", dict(poly_n=6), "poly_n must be 5 or 7, got 6"),
    ("farneback", dict(levels=0), "levels must be a whole number from 1 to 32, got 0"),
    ("farneback", dict(winsize=np.int64(10 ** 6)), "winsize must be a whole number from 1 to 1000"),
    ("farneback", dict(poly_sigma=float("nan")), "poly_sigma must be a number > 0"),
])
def test_bad_flow_settings_are_one_line_errors(method, params, message):
    frame = photos()[0]
    with pytest.raises(NumdreamError) as err:
        estimate_flow(frame, frame, method, **params)
    assert message in str(err.value) and "\n" not in str(err.value)


def test_frames_too_small_for_the_dis_pyramid_are_refused_not_crashed():
    frame = texture(16, 200, seed=8)  # at finest_scale 2 OpenCV builds no level and segfaults
    with pytest.raises(NumdreamError, match=r"frames of 200x16 are too small for DIS flow with patch_size 8 "
                                            r"at finest_scale 2; use finest_scale 1 or less"):
        estimate_flow(frame, frame, finest_scale=2)
    assert estimate_flow(frame, frame, finest_scale=1).shape == (16, 200, 2)
    with pytest.raises(NumdreamError, match="use a smaller patch_size"):
        estimate_flow(frame, frame, patch_size=17)
    with pytest.raises(NumdreamError, match="at least 16 pixels"):
        estimate_flow(frame[:15], frame[:15])
    with pytest.raises(NumdreamError, match="different sizes"):
        estimate_flow(frame, frame[:, :100])
    with pytest.raises(NumdreamError, match="uint8"):
        estimate_flow(frame.astype(np.float32), frame)


def test_the_dis_preset_table_is_what_opencv_sets():
    for name, values in DIS_PRESET_VALUES.items():
        dis = cv2.DISOpticalFlow_create(DIS_PRESETS[name])
        assert values == dict(finest_scale=dis.getFinestScale(), patch_size=dis.getPatchSize(),
                              patch_stride=dis.getPatchStride(), descent_iterations=dis.getGradientDescentIterations(),
                              refinement_iterations=dis.getVariationalRefinementIterations())
    full = check_flow_params("dis", dict(preset="ultrafast", finest_scale=None))
    assert full["finest_scale"] == 2 and full["preset_id"] == cv2.DISOPTICAL_FLOW_PRESET_ULTRAFAST
    assert check_flow_params("dis", {})["finest_scale"] == 0  # the measured default: full resolution
