"""What a settings record holds: the JSON values that name a run's model and options.

A frames folder (frames.py) is marked by the record of the settings that made its frames, and a
run resumes it only with the same ones; zoom.py and video.py build that record from these.
"""
import hashlib
import numbers
from pathlib import Path

import numpy as np

from .fileio import file_digest, resolved


def model_settings(model):
    """How a settings record names a model: ``model`` is the digest of its file, so that './m.h5',
    'm.h5' and a link to it are one model (and an edited file another), or the name of a model
    that has no file; ``model_path`` is its resolved path, for records made before digests."""
    path = getattr(model.spec, "path", None)
    if not path:
        return dict(model=str(model.name), model_path=None)
    return dict(model="sha256:" + file_digest(path), model_path=str(resolved(path)))


def describe(value):
    """A dream option as a JSON value for a settings record: NumPy scalars as numbers, arrays
    (a guide image) by shape and digest, anything else by repr."""
    if value is None or isinstance(value, (str, bool)):
        return value
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        return float(value)
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, dict):
        return {str(k): describe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [describe(v) for v in value]
    if isinstance(value, np.ndarray):
        return f"array {list(value.shape)} {array_digest(value)}"
    return repr(value)


def array_digest(array):
    """'sha1:HEX' of an array's bytes (C order). SHA-1, as the frame folders on disk record it:
    another digest would refuse to resume them."""
    return "sha1:" + hashlib.sha1(np.ascontiguousarray(array).tobytes()).hexdigest()
