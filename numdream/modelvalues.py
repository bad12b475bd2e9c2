"""What the values in a model file may be: the caps (numdream/modelcheck.py's docstring says why
each is safe), the kinds an attribute can have, the preprocessing, and error text that stays one
short line whatever a file holds.
"""
import math

import numpy as np

from .errors import ModelFileError

MAX_WINDOW = 1024
MAX_CHANNELS = 65536
MAX_PARAM_VALUES = 1 << 28
MAX_ABS_PARAM = 1e10
MAX_NAME_LENGTH = 256
MODEL_INPUT_CHANNELS = 3  # numdream dreams RGB images
_F32_MAX, _F32_TINY = float(np.finfo(np.float32).max), float(np.finfo(np.float32).tiny)


def check_preprocess(pre, path):
    """channel_order, 3 finite means and a scale that float32 can carry both ways: the network
    input (pixel - mean) * scale and the way back x / scale must be finite and non-zero."""
    order = pre.get("channel_order")
    if not isinstance(order, str) or order not in ("RGB", "BGR"):
        raise ModelFileError(f"{path}: preprocess channel_order is {short_repr(order)}, "
                             f"expected 'RGB' or 'BGR'")
    mean, scale = pre.get("mean", []), pre.get("scale")
    if (not isinstance(mean, (list, tuple)) or len(mean) != 3 or not all(map(_is_number, mean))
            or not _is_number(scale) or scale == 0):
        raise ModelFileError(f"{path}: preprocess needs mean (3 finite numbers) and a finite non-zero "
                             f"scale, got mean={short_repr(mean)} scale={short_repr(scale)}")
    span = 255.0 + max(abs(float(m)) for m in mean)
    size = abs(float(scale))
    if size < _F32_TINY or 1 / size > _F32_MAX or span * size > _F32_MAX:
        raise ModelFileError(f"{path}: preprocess scale {scale!r} with mean {list(mean)!r} overflows "
                             f"float32 (pixels * scale or 1 / scale); use a scale between "
                             f"{_F32_TINY:.1e} and {_F32_MAX / span:.1e}")


def short_repr(value, limit=80):
    """repr(value), cut to ``limit`` characters: an error line stays one short line whatever a
    file holds (and repr escapes control characters)."""
    text = repr(value)
    return text if len(text) <= limit else text[:limit - 3] + "..."


def _is_int(v):
    return isinstance(v, (int, np.integer)) and not isinstance(v, bool)


def _is_number(v):
    if not (_is_int(v) or isinstance(v, (float, np.floating))):
        return False
    try:
        return math.isfinite(float(v))
    except OverflowError:  # an int too large for a float (JSON allows any length)
        return False


def _is_pair(v):
    values = [v] if _is_int(v) else v if isinstance(v, (list, tuple)) and len(v) == 2 else [0]
    return all(_is_int(p) and 0 < p <= MAX_WINDOW for p in values)


def _is_padding(v):
    if isinstance(v, str):
        return v in ("same", "valid")
    return isinstance(v, (list, tuple)) and len(v) == 4 and all(_is_int(p) and 0 <= p <= MAX_WINDOW for p in v)


_ARITY = {"input": (0, 0, "no inputs"), "concat": (1, float("inf"), "at least one input")}
_KINDS = {  # attr kind -> (check, what it allows)
    "count": (lambda v: _is_int(v) and 0 < v <= MAX_CHANNELS, f"a positive int up to {MAX_CHANNELS}"),
    "window": (lambda v: _is_int(v) and 0 < v <= MAX_WINDOW, f"a positive int up to {MAX_WINDOW}"),
    "pair": (_is_pair, f"a positive int or [h, w], each at most {MAX_WINDOW} px"),
    "bool": (lambda v: isinstance(v, bool), "true or false"),
    "padding": (_is_padding, f'"same", "valid" or [top, bottom, left, right], each 0..{MAX_WINDOW} px'),
    "number": (_is_number, "a finite number"),
    "channel_axis": (lambda v: _is_int(v) and v == 1, "1 (the channel axis of NCHW)"),
}
