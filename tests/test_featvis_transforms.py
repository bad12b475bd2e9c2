"""The transformations do what they say (geometry, grey border, conventions), the pipeline's
draws are seeded and recorded, and its backward replays exactly what the forward ran."""
import numpy as np
import pytest

from numdream.backend import to_device, to_host
from numdream.featvis.pipeline import (STANDARD_TRANSFORMS, Jitter, Pad, RandomRotate, RandomScale, draw,
                                       pipeline_backward, pipeline_forward, replay_forward)
from numdream.featvis.transforms import (crop_forward, pad_forward, resize_matrix, rotate_backward,
                                         rotate_forward, scale_forward, scaled_size)


def test_standard_transforms_are_lucids():
    pad, jitter8, scale, rotate, jitter4 = STANDARD_TRANSFORMS
    assert pad == Pad(12, 0.5) and jitter8 == Jitter(8) and jitter4 == Jitter(4)
    np.testing.assert_allclose(scale.factors, np.linspace(0.9, 1.1, 11))
    assert rotate.degrees == tuple(range(-10, 11)) + (0,) * 5


def test_pad_is_a_grey_border_around_the_image():
    x = np.random.default_rng(0).random((2, 3, 4, 5))
    y, _ = pad_forward(x, 3)
    assert y.shape == (2, 3, 10, 11)
    np.testing.assert_array_equal(y[:, :, 3:7, 3:8], x)
    border = y.copy()
    border[:, :, 3:7, 3:8] = 0.5
    assert np.all(border == 0.5)


def test_crop_refuses_a_window_that_leaves_the_image():
    with pytest.raises(ValueError, match=r"4x4 window at \(2, 0\) leaves a 5x5"):
        crop_forward(np.zeros((1, 3, 5, 5)), 2, 0, (4, 4))


def test_rotation_by_90_degrees_is_rot90_about_the_centre(xp):
    """Counter-clockwise on screen, about the centre of an odd or even square."""
    for n in (5, 6):
        x = np.random.default_rng(n).standard_normal((2, 3, n, n))
        y, _ = rotate_forward(to_device(x), 90)
        np.testing.assert_allclose(to_host(y), np.rot90(x, k=1, axes=(2, 3)), atol=1e-12)
        y, _ = rotate_forward(to_device(x), -90)
        np.testing.assert_allclose(to_host(y), np.rot90(x, k=-1, axes=(2, 3)), atol=1e-12)


def test_rotation_by_0_is_the_identity_and_small_angles_blacken_only_corners():
    x = np.ones((1, 3, 40, 40))
    y, _ = rotate_forward(x, 0)
    np.testing.assert_array_equal(y, x)
    y, _ = rotate_forward(x, 10)
    np.testing.assert_allclose(y[:, :, 10:30, 10:30], 1.0)  # the centre keeps its full weight
    assert y[0, 0, 0, 0] == 0 and y[0, 0, -1, -1] == 0     # the corners come from outside


def test_rotation_backward_is_deterministic_and_conserves_the_weights_inside():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((3, 3, 11, 9))
    y, cache = rotate_forward(x, 7)
    dy = rng.standard_normal(y.shape)
    assert np.array_equal(rotate_backward(dy, cache), rotate_backward(dy, cache))
    # <S x, dy> = <x, S^T dy>: the backward is the transpose of the forward
    np.testing.assert_allclose((y * dy).sum(), (x * rotate_backward(dy, cache)).sum(), rtol=1e-12)


@pytest.mark.parametrize("n_in, n_out", [(8, 7), (7, 8), (10, 11), (9, 20), (5, 5), (1, 3), (4, 1)])
def test_resize_rows_are_interpolation_weights(n_in, n_out):
    m = resize_matrix(n_in, n_out)
    assert m.shape == (n_out, n_in) and np.all(m >= 0)
    np.testing.assert_allclose(m.sum(axis=1), 1.0)  # a constant image stays constant
    assert np.all((m > 0).sum(axis=1) <= 2)
    if n_in == n_out:
        np.testing.assert_array_equal(m, np.eye(n_in))


def test_scale_rounds_the_size_and_keeps_the_centre():
    assert scaled_size((250, 250), 0.94) == (235, 235)
    assert scaled_size((240, 241), 1.1) == (264, 265)
    x = np.zeros((1, 1, 21, 21))
    x[0, 0, 10, 10] = 1
    y, _ = scale_forward(x, 1.1)  # 21 -> 23: the centre pixel maps to the centre pixel
    assert y.shape == (1, 1, 23, 23)
    assert np.unravel_index(y.argmax(), y.shape)[2:] == (11, 11)


def test_standard_pipeline_draws_are_seeded_recorded_and_cover_their_range(xp):
    x = to_device(np.random.default_rng(0).random((2, 3, 32, 30)))
    y1, c1 = pipeline_forward(x, STANDARD_TRANSFORMS, np.random.default_rng(5))
    y2, c2 = pipeline_forward(x, STANDARD_TRANSFORMS, np.random.default_rng(5))
    assert [s.params for s in c1.steps] == [s.params for s in c2.steps]
    assert np.array_equal(to_host(y1), to_host(y2))
    pad, j8, scale, rotate, j4 = [s.params for s in c1.steps]
    h, w = scaled_size((32 + 24 - 8, 30 + 24 - 8), scale[0])
    assert y1.shape == (2, 3, h - 4, w - 4)
    assert all(0 <= v <= 8 for v in j8) and all(0 <= v <= 4 for v in j4)
    assert scale[0] in STANDARD_TRANSFORMS[2].factors and rotate[0] in STANDARD_TRANSFORMS[3].degrees
    rng = np.random.default_rng(0)
    offsets = {draw(Jitter(4), (20, 20), rng) for _ in range(400)}
    assert {o[0] for o in offsets} == set(range(5)) and {o[1] for o in offsets} == set(range(5))
    angles = {draw(RandomRotate(STANDARD_TRANSFORMS[3].degrees), (20, 20), rng) for _ in range(600)}
    assert {a for (a,) in angles} == set(range(-10, 11))


def test_pipeline_backward_differentiates_the_function_that_ran():
    """<T x, dy> = <x, T^T dy> - <T 0, dy> (pad adds a constant), and a replay is bit-identical."""
    rng = np.random.default_rng(3)
    x = rng.random((1, 3, 24, 24))
    y, cache = pipeline_forward(x, STANDARD_TRANSFORMS, np.random.default_rng(9))
    dy = rng.standard_normal(y.shape)
    dx = pipeline_backward(dy, cache)
    y0, _ = replay_forward(np.zeros_like(x), cache.steps)
    np.testing.assert_allclose((y * dy).sum() - (y0 * dy).sum(), (x * dx).sum(), rtol=1e-12)
    y_again, _ = replay_forward(x, cache.steps)
    assert np.array_equal(y_again, y)


def test_jitter_larger_than_the_image_is_refused():
    with pytest.raises(ValueError, match="jitter 8 leaves nothing of a 6x9 image"):
        pipeline_forward(np.zeros((1, 3, 6, 9)), [Jitter(8)], np.random.default_rng(0))


def test_scale_of_a_list_draws_from_it():
    rng = np.random.default_rng(0)
    assert {draw(RandomScale((0.5, 2.0)), (9, 9), rng) for _ in range(50)} == {(0.5,), (2.0,)}
