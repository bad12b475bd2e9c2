"""argparse value types that reject bad values with a message naming the value and what is valid."""
import argparse
import math

from ..options import number_bound


def whole(minimum):
    def parse(text):
        try:
            value = int(text)
        except ValueError:
            value = None
        if value is None or value < minimum:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number >= {minimum}")
        return value
    return parse


def number(above=None, at_least=None):
    def parse(text):
        try:
            value = float(text)
        except ValueError:
            value = float("nan")
        valid = number_bound(value, above, at_least)
        if valid:
            raise argparse.ArgumentTypeError(f"{text!r} is not {valid}")
        return value
    return parse


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
    if not math.isfinite(value):  # an infinite weight turns every gradient into NaN
        raise argparse.ArgumentTypeError(f"{text!r}: weight {weight!r} is not a finite number "
                                         "(use NAME or NAME:WEIGHT)")
    return name, value


def channel_list(text):
    """'12' -> [12]; '3,7,9' -> [3, 7, 9]."""
    try:
        channels = [int(part) for part in text.split(",")]
    except ValueError:
        channels = []
    if not channels or min(channels) < 0:
        raise argparse.ArgumentTypeError(f"{text!r} is not a channel or comma-separated channels "
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
        raise argparse.ArgumentTypeError(f"{text!r} is not CHANNEL or CHANNEL:Y:X (whole numbers >= 0)")
    return (values[0], None, None) if len(values) == 1 else tuple(values)


def size(text):
    """'640x480' -> (640, 480) as (W, H)."""
    w, sep, h = text.lower().partition("x")
    try:
        value = (int(w), int(h))
    except ValueError:
        value = None
    if not sep or value is None or min(value) < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not WIDTHxHEIGHT, e.g. 512x512")
    return value
