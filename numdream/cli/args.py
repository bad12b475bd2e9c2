"""argparse value types that reject bad values with a message naming the value and what is valid.

Every whole number has an upper bound as well as a lower one, so no value reaches NumPy's
fixed-size integers (an overflow there is a traceback deep in a dream, not a message); the
dream options' bounds come from numdream.options, the one table of them.
"""
import argparse
import math

from ..errors import NumdreamError
from ..options import WEIGHT_MAX, WHOLE_BOUNDS, noise_size, number_bound

ANY_WHOLE_MAX = 2 ** 31 - 1  # the bound of a whole-number option that has no bound of its own


def whole(minimum, maximum=ANY_WHOLE_MAX):
    def parse(text):
        try:
            value = int(text)
        except ValueError:  # not a number, or more than Python's 4300 digits
            value = None
        if value is None or not minimum <= value <= maximum:
            raise argparse.ArgumentTypeError(f"{short(text)!r} is not a whole number from {minimum} to {maximum}")
        return value
    return parse


def option_whole(name):
    """The argument type of dream option ``name``, within numdream.options.WHOLE_BOUNDS."""
    return whole(*WHOLE_BOUNDS[name])


def number(above=None, at_least=None, at_most=None):
    def parse(text):
        try:
            value = float(text)
        except ValueError:
            value = float("nan")
        valid = number_bound(value, above, at_least, at_most)
        if valid:
            raise argparse.ArgumentTypeError(f"{short(text)!r} is not {valid}")
        return value
    return parse


def short(text, limit=40):
    """A value as the message shows it: at most ``limit`` characters."""
    return text if len(text) <= limit else text[:limit - 3] + "..."


def layer_weight(text):
    """'mixed3' -> ('mixed3', 1.0); 'mixed5:1.5' -> ('mixed5', 1.5). Names may hold '/'."""
    name, sep, weight = text.rpartition(":")
    if not sep:
        return text, 1.0
    try:
        value = float(weight)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: weight {weight!r} is not a number "
                                         "(use NAME or NAME:WEIGHT)") from None
    if not name:
        raise argparse.ArgumentTypeError(f"{text!r} has no layer name (use NAME or NAME:WEIGHT)")
    if not (math.isfinite(value) and abs(value) <= WEIGHT_MAX):  # inf turns every gradient into NaN
        raise argparse.ArgumentTypeError(f"{short(text)!r}: weight {short(weight)!r} is not a number from "
                                         f"{-WEIGHT_MAX:g} to {WEIGHT_MAX:g} (use NAME or NAME:WEIGHT)")
    return name, value


def channel_list(text):
    """'12' -> [12]; '3,7,9' -> [3, 7, 9]."""
    try:
        channels = [int(part) for part in text.split(",")]
    except ValueError:
        channels = []
    if not channels or min(channels) < 0:
        raise argparse.ArgumentTypeError(f"{short(text)!r} is not a channel or comma-separated channels "
                                         "(whole numbers >= 0)")
    return channels


def neuron(text):
    """'CHANNEL' (centre of the grid) or 'CHANNEL:Y:X' (grid position) -> (c, y, x)."""
    parts = text.split(":")
    try:
        values = [int(p) for p in parts]
    except ValueError:
        values = []
    if len(values) not in (1, 3) or min(values) < 0:
        raise argparse.ArgumentTypeError(f"{short(text)!r} is not CHANNEL or CHANNEL:Y:X (whole numbers >= 0)")
    return (values[0], None, None) if len(values) == 1 else tuple(values)


def size(text):
    """'640x480' -> (640, 480) as (W, H)."""
    w, sep, h = text.lower().partition("x")
    try:
        value = (int(w), int(h))
    except ValueError:
        value = None
    if not sep or value is None or min(value) < 1:
        raise argparse.ArgumentTypeError(f"{short(text)!r} is not WIDTHxHEIGHT, e.g. 512x512")
    try:
        return noise_size(value)
    except NumdreamError as err:
        raise argparse.ArgumentTypeError(str(err)) from None


MAX_SEEDS = 1000  # dreams in one run of --seeds: each is a whole dream


def _number_range(part):
    """'0-2' -> (0, 2), '7' -> (7, 7), else None: one part of a seed or channel list."""
    first, dash, last = part.strip().partition("-")
    try:
        return int(first), int(last if dash else first)
    except ValueError:
        return None


def seed_list(text):
    """'0-3' -> [0, 1, 2, 3]; '1,5,9' -> [1, 5, 9]; '0-2,7' -> [0, 1, 2, 7] (in order, no repeats)."""
    low, high = WHOLE_BOUNDS["seed"]
    seeds = []
    for part in text.split(","):
        bounds = _number_range(part)
        if bounds is None:
            raise argparse.ArgumentTypeError(f"{short(text)!r} is not a list of seeds such as 0-3 or 1,5,9")
        start, stop = bounds
        if not low <= start <= stop <= high:
            raise argparse.ArgumentTypeError(f"{short(part)!r}: seeds are whole numbers from {low} to {high}, "
                                             "a range low-high with low <= high")
        if stop - start + len(seeds) >= MAX_SEEDS:
            raise argparse.ArgumentTypeError(f"{short(text)!r} is more than {MAX_SEEDS} seeds, each a whole dream")
        seeds += [s for s in range(start, stop + 1) if s not in seeds]
    return seeds


def side_or_size(text):
    """'224' -> (224, 224); '320x200' -> (320, 200), as (W, H)."""
    if text.strip().isdigit():
        side = int(text)
        if side < 1:
            raise argparse.ArgumentTypeError(f"{text!r} is not a size: give a side >= 1 (224) or WIDTHxHEIGHT")
        return side, side
    try:
        return size(text)
    except argparse.ArgumentTypeError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a size: give a side (224) or WIDTHxHEIGHT "
                                         "(320x200)") from None


MAX_CHANNELS = 65_536  # tiles in one atlas: more than any layer has, each a whole visualisation


def channel_ranges(text):
    """'0-63' -> [0, ..., 63]; '3,7,10-12' -> [3, 7, 10, 11, 12]; at most MAX_CHANNELS in all,
    counted before the list is made."""
    channels = []
    for part in text.split(","):
        first, last = _number_range(part) or (-1, -1)
        if first < 0 or last < first:
            raise argparse.ArgumentTypeError(f"{short(text)!r} is not a list of channels or ranges, e.g. "
                                             "0-63 or 3,7,10-12 (whole numbers >= 0, ranges low-high)")
        if len(channels) + last - first + 1 > MAX_CHANNELS:
            raise argparse.ArgumentTypeError(f"{short(text)!r} is more than {MAX_CHANNELS} channels, "
                                             "each a whole visualisation")
        channels.extend(range(first, last + 1))
    return channels
