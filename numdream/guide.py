"""The guided dream's matching rules: how the features of a dream are pulled toward a guide's.

At a target layer, F (C, n) holds the dream's feature vectors f_p at its n = h*w positions and
the guide image gives its own features g_j (guide_stats prepares what each rule needs, once per
guide size). Each rule is a forward/backward pair, like the ops:

    value, cache = MATCHES[mode].forward(F, stats)     # value: a 0-d array
    dF = MATCHES[mode].backward(dvalue, cache)          # (C, n)

- 'gram' (the default): the guide's style statistics, as in style transfer. Minus the squared
  distance of the Gram matrices F F^T / n, relative to the guide's: the dream takes on which
  features the guide has and which of them occur together, wherever it likes.
- 'mean': the same with the channel means only (first moments instead of second).
- 'nearest': each position is pulled toward the guide feature it is most similar to by cosine,
  minus their squared distance (relative to the guide's mean squared norm).
- 'google': Google's rule: value sum_p max_j <f_p, g_j>, gradient g_j*(p). Raw dot products pick
  the guide vectors of largest norm, which are the guide's border positions (zero padding gives
  them 1.2-1.4x the norm of the interior), and a few of them serve the whole image, so this
  mostly adds one fixed vector to the image's own features (benchmarks/README.md measures it).

The other rules drop the guide's outer ring of positions for that reason (``interior``). Memory
is bounded per call: the n x m products of 'nearest' and 'google' are taken in row chunks of at
most CHUNK_ELEMENTS; 'gram' needs C x C, 'mean' C.
"""
from collections import namedtuple

import numpy
from PIL import Image

from .backend import get_array_module

MODES = ("gram", "mean", "nearest", "google")
CHUNK_ELEMENTS = 1 << 22  # entries of an (n x m) dot-product block: 16 MB in float32
EPS = 1e-8

Match = namedtuple("Match", "forward backward")


def interior(act):
    """(C, h, w) -> (C, m): the feature vectors, without the outer ring when the grid allows it."""
    if act.shape[1] >= 3 and act.shape[2] >= 3:
        act = act[:, 1:-1, 1:-1]
    return act.reshape(act.shape[0], -1)


def unit_columns(F):
    """F (C, n) with every column scaled to unit length (zero columns stay zero)."""
    xp = get_array_module(F)
    return F / (xp.sqrt((F * F).sum(axis=0)) + EPS)


def guide_stats(act, mode):
    """What rule ``mode`` needs of the guide's activation act (C, hg, wg), as a dict of arrays."""
    if mode == "google":
        return {"g": act.reshape(act.shape[0], -1)}
    g = interior(act)
    if mode == "nearest":
        return {"g": g, "unit": unit_columns(g), "scale": float((g * g).sum(axis=0).mean()) + EPS}
    if mode == "mean":
        mean = g.mean(axis=1)
        return {"mean": mean, "scale": float((mean * mean).sum()) + EPS}
    gram = g @ g.T / g.shape[1]
    return {"gram": gram, "scale": float((gram * gram).sum()) + EPS}


def best_matches(queries, keys):
    """For each column of queries (C, n), the index of the column of keys (C, m) with the largest
    dot product, (n,) ints; ties go to the first. The n x m products are made CHUNK_ELEMENTS at a
    time, so a large image or guide never holds them all."""
    xp = get_array_module(queries)
    n, m = queries.shape[1], keys.shape[1]
    rows = max(1, CHUNK_ELEMENTS // max(m, 1))
    best = xp.empty(n, dtype=xp.int64)
    for start in range(0, n, rows):
        best[start:start + rows] = (queries[:, start:start + rows].T @ keys).argmax(axis=1)
    return best


def gram_forward(F, stats):
    """-0.5 ||F F^T / n - G||^2 / ||G||^2 for F (C, n) and the guide's Gram matrix G (C, C)."""
    diff = F @ F.T / F.shape[1] - stats["gram"]
    return -0.5 * (diff * diff).sum() / stats["scale"], (F, diff, stats["scale"])


def gram_backward(dvalue, cache):
    """d value / dF (C, n): -(2 / n) (F F^T / n - G) F / ||G||^2, times dvalue."""
    F, diff, scale = cache
    return (-2.0 * dvalue / (F.shape[1] * scale)) * (diff @ F)


def mean_forward(F, stats):
    """-0.5 ||mean_p f_p - mu||^2 / ||mu||^2 for F (C, n) and the guide's channel means mu (C,)."""
    diff = F.mean(axis=1) - stats["mean"]
    return -0.5 * (diff * diff).sum() / stats["scale"], (F.shape, diff, stats["scale"])


def mean_backward(dvalue, cache):
    """d value / dF (C, n): the same -(mean - mu) / (n ||mu||^2) at every position."""
    xp = get_array_module(cache[1])
    (c, n), diff, scale = cache
    return xp.broadcast_to(((-dvalue / (n * scale)) * diff)[:, None], (c, n)).copy()


def nearest_forward(F, stats):
    """-0.5 sum_p ||f_p - g_j*(p)||^2 / (n s), j*(p) the guide position of highest cosine with f_p
    and s the guide's mean squared norm. F: (C, n)."""
    target = stats["g"][:, best_matches(unit_columns(F), stats["unit"])]
    diff = F - target
    scale = F.shape[1] * stats["scale"]
    return -0.5 * (diff * diff).sum() / scale, (diff, scale)


def nearest_backward(dvalue, cache):
    """d value / dF (C, n): -(f_p - g_j*(p)) / (n s), times dvalue (the match is held fixed: it
    changes only where two guide features tie, a set of measure zero)."""
    diff, scale = cache
    return (-dvalue / scale) * diff


def google_forward(F, stats):
    """sum_p max_j <f_p, g_j> over every guide position, as in Google's notebook. F: (C, n)."""
    g = stats["g"]
    picked = g[:, best_matches(F, g)]
    return (F * picked).sum(), picked


def google_backward(dvalue, picked):
    """d value / dF (C, n): the picked guide vectors g_j*(p), times dvalue."""
    return dvalue * picked


MATCHES = {"gram": Match(gram_forward, gram_backward), "mean": Match(mean_forward, mean_backward),
           "nearest": Match(nearest_forward, nearest_backward),
           "google": Match(google_forward, google_backward)}


def fit_pixels(hw, pixels):
    """(h, w) shrunk, keeping its aspect, to at most ``pixels`` pixels (unchanged if it fits)."""
    h, w = hw
    if h * w <= pixels:
        return int(h), int(w)
    f = (pixels / (h * w)) ** 0.5
    return max(1, int(h * f)), max(1, int(w * f))


def scaled_size(hw, factor, minimum):
    """(h, w) times ``factor``, rounded, with the short side raised to at least ``minimum``."""
    h, w = hw[0] * factor, hw[1] * factor
    short = min(h, w)
    if short < minimum:
        h, w = h * minimum / short, w * minimum / short
    return max(minimum, int(round(h))), max(minimum, int(round(w)))


def resize_pixels(image, hw):
    """uint8 (H, W, 3) -> uint8 (h, w, 3), Lanczos (antialiased when shrinking: a guide shrunk to
    an octave's scale must not alias). On the host: a guide is small once fitted to its budget."""
    if tuple(image.shape[:2]) == tuple(hw):
        return image
    return numpy.asarray(Image.fromarray(image).resize((hw[1], hw[0]), Image.LANCZOS))
