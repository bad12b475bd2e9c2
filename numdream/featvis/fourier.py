"""The Fourier parametrisation: the image is the inverse real 2-D FFT of a learnable spectrum.

Each frequency's coefficient is scaled by 1 / max(f, 1 / max(H, W)) ** decay, f its magnitude in
cycles per pixel, so that a unit step in every coefficient gives the 1/f spectrum of natural
images: the optimiser then moves low frequencies as easily as high ones, where raw pixels favour
the high ones (Olah et al., "Feature Visualization", Distill 2017; Lucid's fft_image).

Parameters are real: (N, C, H, W//2 + 1, 2), the real and imaginary parts of the half spectrum
that ``irfft2`` reads (Lucent's layout). The transform is orthonormal, so the pixels and the
spectrum have the same energy and a pixel-space learning rate carries over.

The adjoint, written out (it is what ``fourier_backward`` computes). The image is real-linear in
the coefficients S[k, l] = a + i b, for every width, because of how irfft2 reads a half spectrum:
a full complex inverse FFT along H, then a complex-to-real inverse FFT along W, which takes the
real part of columns 0 and W/2 (they stand for themselves) and counts every other column twice
(once for itself, once for its conjugate mirror column W - l, which is not stored):

    x[m, n] = 1/sqrt(HW) * sum_k sum_l  w_l * Re(S[k, l] * exp(2 pi i (k m / H + l n / W)))
            = 1/sqrt(HW) * sum_k sum_l  w_l * (a cos(theta) - b sin(theta)),
    w_l = 1 for l = 0 and, when W is even, l = W/2; w_l = 2 for the other columns.

Odd W has no Nyquist column: W//2 + 1 columns, only column 0 appears once. With dL/dx = g,

    dL/da[k, l] =  w_l / sqrt(HW) * sum g cos(theta) = w_l * Re(R[k, l])
    dL/db[k, l] = -w_l / sqrt(HW) * sum g sin(theta) = w_l * Im(R[k, l]),   R = rfft2(g, 'ortho'),

since rfft2(g)[k, l] = 1/sqrt(HW) * sum g (cos(theta) - i sin(theta)). So the backward is the
forward real FFT of the gradient, columns 1 .. (W-1)//2 doubled, times the same per-frequency
scale. The imaginary parts that cannot reach the image (rows 0 and H/2 of columns 0 and W/2,
where sin(theta) is 0 at every pixel) get zero from this formula, as Im(R) vanishes there; the FFT
leaves rounding residue (1e-17) in them, which the backward sets to exactly 0: Adam divides by a
gradient's own scale and would turn that residue into full-size steps of dead parameters.

One step is explicit rather than left to the FFT library: the real part of columns 0 and W/2
after the inverse FFT along H. pocketfft (NumPy, torch) discards their imaginary parts itself;
cuFFT's complex-to-real transform assumes a Hermitian input and may return something else when
it is not (and may overwrite its input), so taking the real part first makes the forward above
the one that runs on every backend.
"""
from collections import namedtuple

import numpy as np

from ..backend import get_array_module

# Lucid divides its Fourier image by 4 (lucid/optvis/param/spatial.py, fft_image: "is that a
# magic constant?"), and Lucent keeps it ("increasing this seems to reduce saturation"). Kept, so
# that Lucid's learning rate (0.05) and initial scale (sd 0.01) give Lucid's contrast.
LUCID_GAIN = 0.25

FourierCache = namedtuple("FourierCache", "size weights")  # weights: (H, W//2+1) host, scale * w_l


def spectrum_shape(size, batch=1, channels=3):
    """The parameter shape for an (H, W) image: (N, C, H, W//2 + 1, 2)."""
    h, w = size
    return (batch, channels, h, w // 2 + 1, 2)


def frequency_magnitude(size):
    """f[k, l] = sqrt(fy[k]^2 + fx[l]^2) in cycles per pixel, (H, W//2 + 1), host float64.

    fy = fftfreq(H) (negative for the upper half of the rows), fx = rfftfreq(W): the frequencies of
    the coefficients irfft2 reads. Lucid slices fftfreq(W) instead; the magnitudes are the same.
    """
    h, w = size
    fy = np.fft.fftfreq(h)[:, None]
    fx = np.fft.rfftfreq(w)[None, :]
    return np.sqrt(fy * fy + fx * fx)


def spectrum_scale(size, decay=1.0, gain=LUCID_GAIN):
    """gain / max(f, 1 / max(H, W)) ** decay, (H, W//2 + 1), host float64.

    The floor 1 / max(H, W) (the lowest non-zero frequency) keeps the mean colour (f = 0) finite.
    """
    floor = 1.0 / max(size)
    return gain / np.maximum(frequency_magnitude(size), floor) ** decay


def half_spectrum_multiplicity(width):
    """w_l: how many times column l of the half spectrum appears in the full one, (W//2 + 1,)."""
    counts = np.full(width // 2 + 1, 2.0)
    counts[0] = 1.0
    if width % 2 == 0:
        counts[-1] = 1.0  # the Nyquist column W/2 is its own mirror
    return counts


def _check_spectrum(spectrum, size):
    h, w = size
    if spectrum.ndim != 5 or spectrum.shape[2:] != (h, w // 2 + 1, 2):
        raise ValueError(f"fourier: a {h}x{w} image needs a spectrum (N, C, {h}, {w // 2 + 1}, 2), "
                         f"got {tuple(spectrum.shape)}")


def fourier_forward(spectrum, size, decay=1.0, gain=LUCID_GAIN):
    """image = irfft2(scale * (re + i im), s=size, norm='ortho').

    spectrum: (N, C, H, W//2 + 1, 2), real and imaginary parts; size: (H, W), needed because
    W//2 + 1 columns fit both W = 2j and W = 2j + 1. decay, gain: see spectrum_scale.
    Returns image: (N, C, H, W) in the spectrum's dtype, and the cache.
    """
    _check_spectrum(spectrum, size)
    xp = get_array_module(spectrum)
    h, w = size
    scale = spectrum_scale(size, decay, gain)
    coefficients = (spectrum[..., 0] + 1j * spectrum[..., 1]) * xp.asarray(scale, dtype=spectrum.dtype)
    columns = xp.fft.ifft(coefficients, axis=-2, norm="ortho")  # (N, C, H, W//2+1): H done in full
    once = [0] + ([w // 2] if w % 2 == 0 else [])
    columns[..., once] = columns[..., once].real  # see the module docstring: same result everywhere
    image = xp.fft.irfft(columns, n=w, axis=-1, norm="ortho")
    weights = scale * half_spectrum_multiplicity(w)
    return image, FourierCache(tuple(size), weights)


def fourier_backward(dimage, cache):
    """dspectrum = w_l * scale * rfft2(dimage, norm='ortho'), as real and imaginary parts.

    dimage: (N, C, H, W) -> dspectrum: (N, C, H, W//2 + 1, 2). Derivation: the module docstring.
    """
    xp = get_array_module(dimage)
    h, w = cache.size
    r = xp.fft.rfft2(dimage, norm="ortho") * xp.asarray(cache.weights, dtype=dimage.dtype)
    for k in [0] + ([h // 2] if h % 2 == 0 else []):
        for l in [0] + ([w // 2] if w % 2 == 0 else []):
            r[..., k, l] = r[..., k, l].real  # a dead imaginary part: exactly 0, not FFT residue
    return xp.stack([r.real, r.imag], axis=-1)


def init_spectrum(size, batch=1, channels=3, sd=0.01, rng=None, dtype=np.float32):
    """Lucid's start: every coefficient normal with standard deviation sd (0.01), seeded.

    rng: a numpy Generator (default: seed 0). Returns a host array (N, C, H, W//2 + 1, 2);
    numdream.backend.to_device moves it to the GPU.
    """
    rng = np.random.default_rng(0) if rng is None else rng
    return (sd * rng.standard_normal(spectrum_shape(size, batch, channels))).astype(dtype)
