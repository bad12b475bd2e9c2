"""Loop versions of the parametrisation and the resamplings: slow, obvious, and the oracles that
the fast versions are tested against. NumPy only (np.asarray refuses a CuPy array); tests call
them, the engine never does.
"""
import math
from itertools import product

import numpy as np

from .fourier import LUCID_GAIN, half_spectrum_multiplicity, spectrum_scale


def fourier_forward(spectrum, size, decay=1.0, gain=LUCID_GAIN):
    """x[m, n] = 1/sqrt(HW) sum_k sum_l w_l (a cos(theta) - b sin(theta)), theta = 2 pi (km/H + ln/W),
    one frequency at a time: the formula of fourier.py's docstring, with no FFT.

    spectrum: (N, C, H, W//2 + 1, 2) -> image (N, C, H, W), cache.
    """
    spectrum = np.asarray(spectrum)
    h, w = size
    scaled = spectrum * spectrum_scale(size, decay, gain)[:, :, None]
    counts = half_spectrum_multiplicity(w)
    m, n = np.meshgrid(np.arange(h), np.arange(w), indexing="ij")
    image = np.zeros(spectrum.shape[:2] + (h, w))
    for k, l in product(range(h), range(w // 2 + 1)):
        theta = 2 * math.pi * (k * m / h + l * n / w)
        a, b = scaled[:, :, k, l, 0, None, None], scaled[:, :, k, l, 1, None, None]
        image += counts[l] * (a * np.cos(theta) - b * np.sin(theta))
    return image / math.sqrt(h * w), (size, decay, gain)


def fourier_backward(dimage, cache):
    """d(a, b)[k, l] = scale w_l / sqrt(HW) * (sum g cos(theta), -sum g sin(theta)), frequency by frequency.

    dimage: (N, C, H, W) -> dspectrum: (N, C, H, W//2 + 1, 2).
    """
    size, decay, gain = cache
    h, w = size
    scale = spectrum_scale(size, decay, gain)
    counts = half_spectrum_multiplicity(w)
    m, n = np.meshgrid(np.arange(h), np.arange(w), indexing="ij")
    out = np.zeros(dimage.shape[:2] + (h, w // 2 + 1, 2))
    for k, l in product(range(h), range(w // 2 + 1)):
        theta = 2 * math.pi * (k * m / h + l * n / w)
        factor = scale[k, l] * counts[l] / math.sqrt(h * w)
        out[:, :, k, l, 0] = factor * (dimage * np.cos(theta)).sum(axis=(2, 3))
        out[:, :, k, l, 1] = -factor * (dimage * np.sin(theta)).sum(axis=(2, 3))
    return out


def _neighbours(r, c, h, w):
    """The in-image neighbours of source position (r, c) and their bilinear weights."""
    r0, c0 = math.floor(r), math.floor(c)
    for rr, cc in product((r0, r0 + 1), (c0, c0 + 1)):
        weight = (1 - abs(r - rr)) * (1 - abs(c - cc))
        if 0 <= rr < h and 0 <= cc < w:
            yield rr, cc, weight


def sample_forward(x, rows, cols):
    """y[:, :, i, j] = bilinear read of x at (rows[i, j], cols[i, j]), zero outside, pixel by pixel.

    x: (N, C, H, W); rows, cols: (Ho, Wo) source positions. Returns y: (N, C, Ho, Wo), cache.
    """
    x = np.asarray(x)
    h, w = x.shape[2:]
    y = np.zeros(x.shape[:2] + rows.shape, dtype=x.dtype)
    for i, j in np.ndindex(rows.shape):
        for rr, cc, weight in _neighbours(rows[i, j], cols[i, j], h, w):
            y[:, :, i, j] += weight * x[:, :, rr, cc]
    return y, (x.shape, rows, cols)


def sample_backward(dy, cache):
    """Each output's gradient added to the pixels it read, with the weights it read them with."""
    x_shape, rows, cols = cache
    h, w = x_shape[2:]
    dx = np.zeros(x_shape, dtype=dy.dtype)
    for i, j in np.ndindex(rows.shape):
        for rr, cc, weight in _neighbours(rows[i, j], cols[i, j], h, w):
            dx[:, :, rr, cc] += weight * dy[:, :, i, j]
    return dx


def resize_positions(n_in, n_out):
    """Where each output sits on the input axis: half-pixel centres, clamped to the edge pixels."""
    return [min(max((o + 0.5) * n_in / n_out - 0.5, 0.0), n_in - 1.0) for o in range(n_out)]


def scale_forward(x, out_hw):
    """Bilinear resize of (N, C, H, W) to out_hw: a clamped position never leaves the image, so
    it is the same bilinear read as sample_forward, on the separable grid of resize_positions."""
    h, w = np.asarray(x).shape[2:]
    rows, cols = np.meshgrid(resize_positions(h, out_hw[0]), resize_positions(w, out_hw[1]),
                             indexing="ij")
    return sample_forward(x, rows, cols)


scale_backward = sample_backward
