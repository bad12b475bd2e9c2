"""The parameters of the two optical-flow estimators, their defaults, and one check for all of them.

Checked in Python before OpenCV sees them, because OpenCV does not check them all: a DIS patch of
1 pixel, or a finest scale the frame is too small for, crashes the process instead of raising.
Defaults and the choice of DIS: python benchmarks/bench_flow.py (figures in benchmarks/README.md).
DIS (medium preset at full resolution) is the default: its end-point error is 0.03 pixel on the
synthetic pan and zoom and 0.003-0.013 on the moving crops, where Farneback's is 0.07 and 0.9 (it
fails on the rocket clip's untextured sky), and it tells a scene cut apart more clearly.
"""
import math
import numbers

from .errors import NumdreamError
from .options import number_bound

FLOW_METHODS = ("dis", "farneback")
DIS_PRESETS = {"ultrafast": 0, "fast": 1, "medium": 2}   # cv2.DISOPTICAL_FLOW_PRESET_*
# What each preset sets (OpenCV's DISOpticalFlow_create), so a frame-size check can see it before
# OpenCV runs; tests/test_flow.py checks this table against cv2's getters.
DIS_PRESET_VALUES = {
    "ultrafast": dict(finest_scale=2, patch_size=8, patch_stride=4, descent_iterations=12, refinement_iterations=0),
    "fast": dict(finest_scale=2, patch_size=8, patch_stride=4, descent_iterations=16, refinement_iterations=5),
    "medium": dict(finest_scale=1, patch_size=8, patch_stride=3, descent_iterations=25, refinement_iterations=5),
}

# name -> (default, what is valid, check). For DIS, None means "the preset's value".
DIS_PARAMS = {
    "preset": ("medium", "one of " + ", ".join(DIS_PRESETS), lambda v: v in DIS_PRESETS),
    # 0, full resolution, whatever the preset: measured 2-30x more accurate than the presets' own
    # finest scales (2, 2, 1) for 25 ms a pair of 192x144 frames, nothing beside a dream.
    "finest_scale": (0, "a whole number from 0 to 16 (0 = full resolution, 1 = half, ...)",
                     lambda v: _whole(v, 0, 16)),
    "patch_size": (None, "a whole number from 2 to 256", lambda v: _whole(v, 2, 256)),
    "patch_stride": (None, "a whole number from 1 to 256, at most patch_size", lambda v: _whole(v, 1, 256)),
    "descent_iterations": (None, "a whole number from 1 to 1000", lambda v: _whole(v, 1, 1000)),
    "refinement_iterations": (None, "a whole number from 0 to 1000", lambda v: _whole(v, 0, 1000)),
}
FARNEBACK_PARAMS = {  # OpenCV's documented defaults
    "pyr_scale": (0.5, "a number > 0 and < 1", lambda v: number_bound(v, above=0.0) is None and v < 1),
    "levels": (3, "a whole number from 1 to 32", lambda v: _whole(v, 1, 32)),
    "winsize": (15, "a whole number from 1 to 1000", lambda v: _whole(v, 1, 1000)),
    "iterations": (3, "a whole number from 1 to 1000", lambda v: _whole(v, 1, 1000)),
    "poly_n": (5, "5 or 7", lambda v: _whole(v, 5, 7) and v in (5, 7)),
    "poly_sigma": (1.2, "a number > 0 and <= 100 (1.1 suits poly_n 5, 1.5 suits 7)",
                   lambda v: number_bound(v, above=0.0, at_most=100.0) is None),
}
FLOW_PARAMS = {"dis": DIS_PARAMS, "farneback": FARNEBACK_PARAMS}


def _whole(value, minimum, maximum):
    # bounded, so no value overflows the C int OpenCV takes (numbers.Integral: NumPy integers too)
    return not isinstance(value, bool) and isinstance(value, numbers.Integral) and minimum <= value <= maximum


def check_flow_params(method, params):
    """All parameters of ``method`` as a dict: ``params`` (name -> value) over the defaults.

    For DIS, values left to the preset are filled in from it, and 'preset_id' is the cv2 constant.
    Raises NumdreamError naming the bad method, name or value and what is valid.
    """
    if method not in FLOW_PARAMS:
        raise NumdreamError(f"unknown flow method {method!r}; valid: {', '.join(FLOW_METHODS)}")
    table = FLOW_PARAMS[method]
    unknown = sorted(set(params) - set(table))
    if unknown:
        raise NumdreamError(f"unknown {method} flow parameter {unknown[0]!r}; valid: {', '.join(table)}")
    full = {name: default for name, (default, _, _) in table.items()}
    full.update(params)
    for name, (_, valid, ok) in table.items():
        if not (full[name] is None or ok(full[name])):
            raise NumdreamError(f"{method} flow parameter {name} must be {valid}, got {full[name]!r}")
        if isinstance(full[name], numbers.Number):  # NumPy scalars as Python numbers, for OpenCV and records
            full[name] = int(full[name]) if isinstance(full[name], numbers.Integral) else float(full[name])
    if method == "dis":
        full = {**DIS_PRESET_VALUES[full["preset"]], **{k: v for k, v in full.items() if v is not None}}
        full["preset_id"] = DIS_PRESETS[full["preset"]]
        if full["patch_stride"] > full["patch_size"]:
            raise NumdreamError(f"dis flow parameter patch_stride must be at most patch_size "
                                f"({full['patch_size']}), got {full['patch_stride']!r}")
    return full


def dis_coarsest_scale(height, width, patch_size):
    """The coarsest pyramid level DIS will use on a (height, width) frame, as OpenCV computes it
    (dis_flow.cpp: levels down to a quarter of the width in patches, never below one patch);
    -1 or less when the frame is too small for the patch."""
    patches = min(height, width) // patch_size
    if patches < 1:
        return -1
    # int() truncates toward zero, as the C++ (int) cast does; it matters for small frames.
    return min(int(math.log2(max(height, width) / (4.0 * patch_size)) + 0.5), int(math.log2(patches)))


def check_dis_fits(params, height, width):
    """Refuse (one NumdreamError line) a DIS finest scale that a (height, width) frame is too small
    for: OpenCV would compute no pyramid level at it and crash."""
    coarsest = dis_coarsest_scale(height, width, params["patch_size"])
    if params["finest_scale"] > coarsest:
        fits = (f"use finest_scale {coarsest} or less" if coarsest >= 0 else "use a smaller patch_size")
        raise NumdreamError(f"frames of {width}x{height} are too small for DIS flow with patch_size "
                            f"{params['patch_size']} at finest_scale {params['finest_scale']}; {fits}")
