"""The record of how a picture was made, kept inside it: built from a command's flags, turned
back into flags (``numdream dream --like``) and into words (``numdream info``).

    record = make_record(args, seed, model, model_path, source)   # a dict, JSON-able
    text = record_text(record)                                    # what save_image stores
    record = read_record("dream.png")                             # None if it holds none
    flags = record_flags(record, parser)                          # ['--octaves=4', '--layer=mixed3:1.0', ...]

A record holds every dream setting of the command line (defaults included, so a later numdream
with other defaults makes the same picture), the seed, the model's name and SHA-256, the file
names (as they were given, never made absolute) and SHA-256 of the input, the guide and the
mask, numdream's version and the backend. Turning it back into flags sends every value through
the command line's own argument types, so a damaged or hostile record is refused like a bad flag.
"""
import argparse
import json

from .. import __version__
from .. import backend
from ..errors import ImageError, NumdreamError
from ..fileio import file_digest, one_line
from ..imagemeta import read_settings_text
from . import args as types
from .dreamopts import objective_name

FORMAT = 1
# flags that are not dream settings: where things go, how loud, how many, and how to run
NOT_SETTINGS = {"input", "output", "quiet", "yes", "like", "seeds", "seed", "save_octaves", "every",
                "command", "run", "model", "backend"}
FILE_SETTINGS = ("guide", "mask")  # flags that name a file: recorded with its SHA-256
RECORD_LIMIT = 65_000  # characters of a record's text: it fits a JPEG comment


def make_record(a, seed, model, model_path, source, command="dream", objective=None):
    """The record (a dict) of a run of ``command`` with parsed flags ``a`` and ``seed``.
    objective: what the run maximised, in words, when the flags do not name it (visualize, atlas)."""
    settings = {dest: _plain(value) for dest, value in sorted(vars(a).items())
                if dest not in NOT_SETTINGS and value is not None and not callable(value)}
    layer = getattr(a, "layer", None)
    if hasattr(a, "objective"):  # a command with target flags: --layer NAME[:WEIGHT]
        layers = dict(layer) if layer else model.default_layers()
    elif isinstance(layer, str):  # visualize and atlas: one --layer
        layers = {layer: 1.0}
    else:  # the gallery: --layer NAME, one tile each
        layers = {name: 1.0 for name in layer or ()}
    record = {"numdream": __version__, "record": FORMAT, "command": command, "seed": seed,
              "model": {"name": model.name, "file": a.model, "sha256": file_digest(model_path)},
              "objective": objective or (objective_name(a) if hasattr(a, "objective") else "l2"),
              "layers": {name: float(weight) for name, weight in layers.items()},
              "settings": settings, "backend": backend.active().__name__,
              "files": {}}
    for dest in FILE_SETTINGS:
        if settings.get(dest) is not None:
            record["files"][dest] = {"name": settings[dest], "sha256": file_digest(settings[dest])}
    if isinstance(source, str):
        record["files"]["input"] = {"name": source, "sha256": file_digest(source)}
    elif source is not None:
        record["files"]["input"] = {"name": source[0], "sha256": source[1]}
    return record


def _plain(value):
    """A parsed flag value as JSON: tuples become lists."""
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def record_text(record, **extra):
    """The record as one line of ASCII JSON (with ``extra`` keys, e.g. octave=2)."""
    text = json.dumps({**record, **extra}, ensure_ascii=True, sort_keys=True, separators=(",", ":"))
    if len(text) > RECORD_LIMIT:
        raise NumdreamError(f"the settings record is {len(text):,} characters, more than the {RECORD_LIMIT:,} "
                            "an image keeps; shorten the file names given")
    return text


def read_record(path):
    """(format, record dict or None) of the image file at ``path``; a damaged record raises."""
    fmt, text = read_settings_text(path)
    if text is None or not text.lstrip().startswith("{"):
        return fmt, None
    try:
        record = json.loads(text)
    except (ValueError, RecursionError) as err:
        raise ImageError(f"the numdream settings in {str(path)!r} are damaged ({one_line(err, limit=80)})") from None
    if not isinstance(record, dict) or "numdream" not in record:
        return fmt, None
    shapes = {"settings": dict, "model": dict, "layers": dict, "files": dict, "command": str}
    wrong = [key for key, kind in shapes.items() if not isinstance(record.get(key, kind()), kind)]
    if "settings" not in record or wrong:
        raise ImageError(f"the numdream settings in {str(path)!r} are damaged "
                         f"({'no settings' if 'settings' not in record else wrong[0] + ' is not a ' + shapes[wrong[0]].__name__})")
    if not all(isinstance(entry, dict) for entry in record.get("files", {}).values()):
        raise ImageError(f"the numdream settings in {str(path)!r} are damaged (files)")
    return fmt, record


def record_flags(record, parser, skip=()):
    """Command-line flags (``--name=value``, or ``--name`` for a switch) that give ``parser`` the
    settings of ``record``, leaving out the dests in ``skip``; and the recorded names it does
    not know (from another numdream version). The values are parsed again by ``parser``."""
    actions = {action.dest: action for action in parser._actions if action.option_strings}
    flags, unknown = [], []
    for dest, value in sorted(record["settings"].items()):
        if dest in skip or dest in NOT_SETTINGS:
            continue
        action = actions.get(dest)
        if action is None:
            unknown.append(dest)
            continue
        flag = max(action.option_strings, key=len)
        if isinstance(action, argparse.BooleanOptionalAction):  # --keep-colors / --no-keep-colors
            if isinstance(value, bool):
                flags.append(action.option_strings[0] if value else action.option_strings[1])
            continue
        if action.nargs == 0:  # a switch: given when the recorded value is not its default
            if isinstance(value, bool) and value != action.default:
                flags.append(flag)
            continue
        values = value if isinstance(action, argparse._AppendAction) and isinstance(value, list) else [value]
        flags += [f"{flag}={flag_text(action.type, v)}" for v in values]
    return flags, unknown


def flag_text(kind, value):
    """A recorded value as the text its flag's argument type reads back."""
    if kind is types.layer_weight and isinstance(value, list) and len(value) == 2:
        return f"{value[0]}:{float(value[1])!r}"
    if kind is types.channel_list and isinstance(value, list):
        return ",".join(str(v) for v in value)
    if kind is types.neuron and isinstance(value, list):
        return ":".join(str(v) for v in value if v is not None)
    if kind is types.channel_ranges and isinstance(value, list):
        return ",".join(str(v) for v in value)
    if kind in (types.size, types.side_or_size) and isinstance(value, list) and len(value) == 2:
        return f"{value[0]}x{value[1]}"
    if isinstance(value, float):
        return repr(value)  # the shortest text that reads back as the same float
    if isinstance(value, (list, dict)):
        raise NumdreamError(f"a recorded value {one_line(json.dumps(value), limit=60)} is not one a flag takes")
    return str(value)
