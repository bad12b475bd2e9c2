"""Array image operations for the dream loop, written with xp so they run on NumPy and CuPy:
bilinear resizing for octaves, Gaussian smoothing, and Laplacian-pyramid normalisation.

All images here are float arrays (N, C, H, W).
"""
import math

from .backend import get_array_module
from .ops import conv2d_forward, conv2d_transpose


def _interp_axis(x, size, axis):
    """Linear interpolation along one axis to ``size`` samples, corners aligned (scipy zoom order=1)."""
    xp = get_array_module(x)
    old = x.shape[axis]
    if old == size:
        return x
    pos = xp.linspace(0.0, old - 1.0, size) if size > 1 else xp.zeros(1)
    lo = xp.clip(xp.floor(pos).astype(int), 0, max(old - 2, 0))
    frac = (pos - lo).astype(x.dtype)
    hi = xp.minimum(lo + 1, old - 1)
    shape = [1] * x.ndim
    shape[axis] = size
    frac = frac.reshape(shape)
    a, b = xp.take(x, lo, axis=axis), xp.take(x, hi, axis=axis)
    return a + (b - a) * frac


def resize(x, hw):
    """Bilinear resize of (N, C, H, W) to (N, C, *hw), mapping corner pixels onto corner pixels."""
    return _interp_axis(_interp_axis(x, hw[0], 2), hw[1], 3)


def gaussian_blur(x, sigma):
    """Separable Gaussian blur of (N, C, H, W) with edge-replicating borders; sigma in pixels."""
    if sigma <= 0:
        return x
    xp = get_array_module(x)
    radius = max(1, int(math.ceil(3 * sigma)))
    taps = [math.exp(-0.5 * (i / sigma) ** 2) for i in range(-radius, radius + 1)]
    total = sum(taps)
    for axis in (2, 3):
        size = x.shape[axis]
        index = xp.clip(xp.arange(-radius, size + radius), 0, size - 1)
        padded = xp.take(x, index, axis=axis)
        out = xp.zeros_like(x)
        for i, tap in enumerate(taps):
            window = [slice(None)] * 4
            window[axis] = slice(i, i + size)
            out += (tap / total) * padded[tuple(window)]
        x = out
    return x


def _binomial_kernel(dtype, xp):
    """The 5x5 binomial kernel of the TensorFlow inception5h notebook, (1, 1, 5, 5)."""
    k = xp.asarray([1.0, 4.0, 6.0, 4.0, 1.0], dtype=dtype)
    return (xp.outer(k, k) / 256.0).reshape(1, 1, 5, 5)


def _upsample(low, hw, kernel):
    """(M, 1, h, w) -> (M, 1, *hw): the transposed stride-2 convolution, the adjoint of blur-and-halve.

    The kernel is taken 4 times: a stride-2 transpose puts each low pixel on one of the four
    (row, column) parities of the output, and each parity sees only the taps of that parity,
    whose weights sum to 1/4 ([1, 4, 6, 4, 1] / 16 has even taps 8/16 and odd taps 8/16 per
    axis). So 4 * kernel makes every output pixel a weighted mean: a flat image comes back flat.
    """
    return conv2d_transpose(low, kernel * 4, (2, 2), (2, 2, 2, 2), hw)


def laplacian_split(x, levels):
    """(N, C, H, W) -> [finest band, ..., coarsest residual]; they sum back to x (laplacian_merge).

    Each level blurs and halves with a stride-2 convolution; the transposed convolution
    brings the low band back up, and the band is what the low band misses.
    """
    xp = get_array_module(x)
    n, c, h, w = x.shape
    kernel = _binomial_kernel(x.dtype, xp)
    bands, cur = [], x.reshape(n * c, 1, h, w)
    for _ in range(levels):
        if min(cur.shape[2:]) < 5:
            break
        low, _ = conv2d_forward(cur, kernel, None, (2, 2), (2, 2, 2, 2))
        bands.append(cur - _upsample(low, cur.shape[2:], kernel))
        cur = low
    bands.append(cur)
    return [b.reshape(n, c, *b.shape[2:]) for b in bands]


def laplacian_merge(bands):
    """Inverse of laplacian_split: [finest band, ..., coarsest residual] -> (N, C, H, W)."""
    xp = get_array_module(bands[0])
    kernel = _binomial_kernel(bands[0].dtype, xp)
    cur = bands[-1]
    for band in reversed(bands[:-1]):
        n, c, h, w = band.shape
        up = _upsample(cur.reshape(n * c, 1, *cur.shape[2:]), (h, w), kernel)
        cur = up.reshape(n, c, h, w) + band
    return cur


def laplacian_normalize(g, levels=4, eps=1e-8):
    """Normalise each band of g's Laplacian pyramid to unit RMS, then merge (inception5h's lap_normalize).

    The result has roughly equal energy at every scale, so fine high-frequency noise no longer
    dominates the step.
    """
    xp = get_array_module(g)
    bands = laplacian_split(g, levels)
    bands = [b / xp.maximum(xp.sqrt((b * b).mean()), eps) for b in bands]
    return laplacian_merge(bands)
