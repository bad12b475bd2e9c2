"""``numdream dream --like DREAM.png PHOTO``: the settings recorded in DREAM.png, as flags, before
the ones on the command line, which win.

    argv = argv_like(parser, argv, args)   # ['dream', '--octaves=4', ..., 'PHOTO', '--like', 'DREAM.png']

A flag given on the command line replaces the recorded one of the same name, and within a
family of flags that only make sense together (the target: --objective, --channel, --neuron,
--guide, --guide-mode, --class-index; the start: a photo, --mask or --init noise --size), one given replaces all
recorded ones, so the result is what the user asked for, never a mix that is refused.
"""
import argparse
import sys

from ..errors import NumdreamError
from ..fileio import file_digest
from ..model import bundled_model_path
from .record import read_record, record_flags

FAMILIES = ({"objective", "channel", "neuron", "guide", "guide_mode", "class_index"}, {"input", "init", "size", "mask"},
            {"seed", "seeds"})


def argv_like(parser, argv, args):
    """The command line ``argv`` (whose parse is ``args``, with args.like set) with the settings of
    the image args.like inserted after the subcommand's name; notes on stderr what differs."""
    sub = _subparser(parser, args.command)
    _, record = read_record(args.like)
    if record is None:
        raise NumdreamError(f"--like {args.like!r}: the image holds no numdream settings (made by another "
                            "program, or saved without them)")
    at = argv.index(args.command) + 1
    given = _given(sub, argv[at:])
    skip = set(given)
    for family in FAMILIES:
        if family & given:
            skip |= family
    flags, unknown = record_flags(record, sub, skip)
    layers = record.get("layers")
    if "layer" not in skip and "layer" not in record.get("settings", {}) and isinstance(layers, dict):
        # the default layers, as they were: another numdream or model may default to others
        flags += [f"--layer={name}:{float(weight)!r}" for name, weight in layers.items()
                  if isinstance(name, str) and isinstance(weight, (int, float))]
    if "seed" not in skip and isinstance(record.get("seed"), int):
        flags.append(f"--seed={record['seed']}")
    model_file = record.get("model", {}).get("file")
    if "model" not in given and isinstance(model_file, str):
        flags.append(f"--model={model_file}")
    if unknown:
        print(f"numdream {args.command}: note: {args.like} was made with setting(s) {', '.join(unknown)}, "
              "which this numdream does not know; they are left out", file=sys.stderr)
    _check_model(args, record, given)
    return argv[:at] + flags + argv[at:]


def _subparser(parser, command):
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return action.choices[command]
    raise NumdreamError(f"no subcommand {command!r}")


def _given(sub, argv):
    """The dests that ``argv`` (a subcommand's arguments) sets itself: parsed with every default
    suppressed, so that only what is on the command line appears."""
    saved = [(action, action.default) for action in sub._actions]
    saved_defaults, sub._defaults = sub._defaults, {}
    try:
        for action in sub._actions:
            action.default = argparse.SUPPRESS
        namespace, _ = sub.parse_known_args(argv)
    finally:
        for action, default in saved:
            action.default = default
        sub._defaults = saved_defaults
    return set(vars(namespace))


def _check_model(args, record, given):
    """A note if the model this run will use is not the one that made the picture (by SHA-256)."""
    recorded = record.get("model", {})
    path = recorded.get("file")
    if "model" in given:
        path = args.model
    path = path if isinstance(path, str) else bundled_model_path()
    try:
        same = file_digest(path) == recorded.get("sha256")
    except OSError:
        return  # the run itself will say what is wrong with the path
    if not same:
        print(f"numdream {args.command}: note: the model {path} is not the one that made {args.like} "
              f"({recorded.get('name')!r}, sha256 {str(recorded.get('sha256'))[:12]}...); the dream will differ",
              file=sys.stderr)
