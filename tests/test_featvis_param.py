"""The parametrisations do what they claim: the Fourier image is the orthonormal inverse real FFT
of the scaled spectrum, the scale is Lucid's, the colour matrix is Lucid's, the sigmoid never
overflows, the start is seeded, and dtypes and devices are kept."""
import warnings

import numpy as np
import pytest

from numdream.backend import to_device, to_host
from numdream.errors import NumdreamError
from numdream.featvis import (COLOR_MIX, LUCID_GAIN, UnknownParamError, fourier_backward, fourier_forward,
                              image_backward, image_forward, init_params, sigmoid_forward, spectrum_shape)
from numdream.featvis.color import COLOR_CORRELATION_SVD_SQRT
from numdream.featvis.fourier import frequency_magnitude, half_spectrum_multiplicity, spectrum_scale

SIZES = [(8, 8), (7, 8), (8, 7), (7, 7), (1, 6), (5, 1), (2, 2)]


def _as_spectrum(complex_half):
    return np.stack([complex_half.real, complex_half.imag], axis=-1)


@pytest.mark.parametrize("size", SIZES)
def test_fourier_image_is_the_orthonormal_irfft2_of_the_scaled_spectrum(size, xp):
    rng = np.random.default_rng(0)
    spectrum = rng.standard_normal(spectrum_shape(size, batch=3))
    image, _ = fourier_forward(to_device(spectrum), size)
    scaled = (spectrum[..., 0] + 1j * spectrum[..., 1]) * spectrum_scale(size)
    expected = np.fft.irfft2(scaled, s=size, norm="ortho")
    np.testing.assert_allclose(to_host(image), expected, rtol=0, atol=1e-14)


@pytest.mark.parametrize("size", SIZES)
def test_without_scaling_the_fourier_image_inverts_rfft2_and_keeps_energy(size):
    """decay 0 and gain 1: the spectrum of an image gives the image back, with the same energy
    once the half spectrum's columns are counted as often as they appear in the full one."""
    x = np.random.default_rng(1).standard_normal((1, 3) + size)
    half = np.fft.rfft2(x, norm="ortho")
    image, _ = fourier_forward(_as_spectrum(half), size, decay=0.0, gain=1.0)
    np.testing.assert_allclose(image, x, rtol=0, atol=1e-13)
    counted = (np.abs(half) ** 2 * half_spectrum_multiplicity(size[1])).sum()
    np.testing.assert_allclose(counted, (x * x).sum(), rtol=1e-12)


@pytest.mark.parametrize("size", [(8, 8), (7, 8), (8, 7), (6, 6)])
def test_imaginary_parts_that_cannot_reach_the_image_get_zero_gradient(size):
    h, w = size
    _, cache = fourier_forward(np.zeros(spectrum_shape(size)), size)
    grad = fourier_backward(np.random.default_rng(2).standard_normal((1, 3) + size), cache)
    dead = [(0, 0)] + ([(h // 2, 0)] if h % 2 == 0 else [])
    if w % 2 == 0:
        dead += [(0, w // 2)] + ([(h // 2, w // 2)] if h % 2 == 0 else [])
    for k, l in dead:
        assert np.all(grad[:, :, k, l, 1] == 0), (k, l)
    live = np.abs(grad[..., 1]).min(axis=(0, 1))
    assert np.count_nonzero(live == 0) == len(dead)  # every other coefficient moves the image


def test_spectrum_scale_is_lucids_1_over_f():
    size = (8, 6)
    f = frequency_magnitude(size)
    assert f.shape == (8, 4) and f[0, 0] == 0
    np.testing.assert_allclose(f[0, 3], 0.5)        # rfftfreq(6)[3]: Nyquist, 0.5 cycles per pixel
    np.testing.assert_allclose(f[4, 0], 0.5)        # fftfreq(8)[4] = -0.5
    np.testing.assert_allclose(f[1, 1], np.hypot(1 / 8, 1 / 6))
    scale = spectrum_scale(size)
    np.testing.assert_allclose(scale[0, 0], LUCID_GAIN * 8)   # f = 0 floored at 1 / max(H, W)
    np.testing.assert_allclose(scale[1, 0], LUCID_GAIN * 8)   # the lowest frequency is the floor
    np.testing.assert_allclose(scale[1, 1], LUCID_GAIN / np.hypot(1 / 8, 1 / 6))
    np.testing.assert_allclose(spectrum_scale(size, decay=2.0)[1, 1],
                               LUCID_GAIN / np.hypot(1 / 8, 1 / 6) ** 2)
    assert list(half_spectrum_multiplicity(6)) == [1, 2, 2, 1]
    assert list(half_spectrum_multiplicity(7)) == [1, 2, 2, 2]


def test_colour_matrix_is_lucids_svd_sqrt_normalised_by_its_largest_column():
    assert COLOR_CORRELATION_SVD_SQRT[0].tolist() == [0.26, 0.09, 0.02]
    norms = np.linalg.norm(COLOR_MIX, axis=0)
    np.testing.assert_allclose(norms.max(), 1.0)
    np.testing.assert_allclose(COLOR_MIX * np.linalg.norm(COLOR_CORRELATION_SVD_SQRT, axis=0).max(),
                               COLOR_CORRELATION_SVD_SQRT)
    # first decorrelated axis = brightness: it moves R, G and B together
    grey = image_forward(np.zeros((1, 3, 2, 2)) + np.array([1.0, 0, 0])[None, :, None, None], (2, 2),
                         param="pixel", decorrelate=True)[0]
    assert np.ptp(grey[0, :, 0, 0]) < 0.01 and grey[0, :, 0, 0].min() > 0.63


def test_sigmoid_saturates_without_overflow():
    x = np.array([-1000.0, -40.0, 0.0, 40.0, 1000.0])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        s, _ = sigmoid_forward(x)
    assert s[0] == 0 and s[2] == 0.5 and s[-1] == 1
    np.testing.assert_allclose(s, 1 / (1 + np.exp(-np.clip(x, -700, 700))), rtol=1e-15, atol=1e-300)


@pytest.mark.parametrize("param", ["fft", "pixel"])
def test_start_is_seeded_faint_and_grey(param):
    a = init_params((32, 40), batch=3, param=param, rng=np.random.default_rng(7))
    b = init_params((32, 40), batch=3, param=param, rng=np.random.default_rng(7))
    c = init_params((32, 40), batch=3, param=param, rng=np.random.default_rng(8))
    assert a.dtype == np.float32 and a.shape == (spectrum_shape((32, 40), 3) if param == "fft" else (3, 3, 32, 40))
    assert np.array_equal(a, b) and not np.array_equal(a, c)
    image, _ = image_forward(a, (32, 40), param=param)
    assert image.shape == (3, 3, 32, 40)
    assert np.abs(image - 0.5).max() < 0.05  # Lucid's sd 0.01: a faint start around mid-grey


@pytest.mark.parametrize("param", ["fft", "pixel"])
@pytest.mark.parametrize("decorrelate", [True, False])
def test_float32_stays_float32_and_device_arrays_stay_on_the_device(param, decorrelate, xp):
    params = to_device(init_params((9, 6), batch=2, param=param))
    image, cache = image_forward(params, (9, 6), param=param, decorrelate=decorrelate)
    dparams = image_backward(xp.ones(image.shape, dtype=xp.float32), cache)
    assert image.dtype == dparams.dtype == np.float32
    assert type(image) is type(params) and type(dparams) is type(params)
    assert dparams.shape == params.shape


def test_bad_parametrisation_and_shapes_say_what_is_valid():
    with pytest.raises(UnknownParamError, match="'fourier'.*fft, pixel") as err:
        image_forward(np.zeros((1, 3, 4, 4)), (4, 4), param="fourier")
    assert isinstance(err.value, NumdreamError)
    with pytest.raises(ValueError, match=r"\(N, C, 4, 3, 2\)"):
        fourier_forward(np.zeros((1, 3, 4, 4, 2)), (4, 5))
    with pytest.raises(ValueError, match="pixel"):
        image_forward(np.zeros((1, 3, 4, 4)), (4, 5), param="pixel")
