"""``numdream info IMAGE``: how a numdream picture was made, from the settings it holds."""
import json
import shlex

from ..errors import NumdreamError
from .record import read_record, record_flags


def add_parser(sub):
    p = sub.add_parser("info", help="how a picture was made (the settings numdream kept in it)",
                       description="Print the settings numdream recorded in an image it made: numdream's "
                       "version, the model and its SHA-256, the layers, the objective, every option and the "
                       "seed, and the command that dreams another photo the same way.")
    p.add_argument("image", metavar="IMAGE", help="a picture numdream wrote (.png, .jpg, .webp, .tif, .gif)")
    p.add_argument("--json", action="store_true", help="print the record as it is stored, as JSON")
    p.set_defaults(run=run)


def run(a):
    fmt, record = read_record(a.image)
    if record is None:
        where = ("the format has no place for them" if fmt == "BMP"
                 else "it was not made by numdream, or was saved again without them")
        raise NumdreamError(f"{a.image!r} holds no numdream settings ({where})")
    if a.json:
        print(json.dumps(record, indent=2, sort_keys=True))
        return 0
    for line in describe(record, a.image):
        print(line)
    return 0


PHOTO_COMMANDS = ("dream", "gallery")  # the commands whose input is a photo


def describe(record, name):
    """The record as lines for a person."""
    from . import build_parser  # here, not at the top: the parser imports this module
    commands = build_parser().commands
    parser = commands.get(record.get("command"), commands["dream"])
    flags, unknown = record_flags(record, parser)
    model = record.get("model", {})
    files = record.get("files", {})
    lines = [f"{name}: made by numdream {record.get('numdream')} with `numdream {record.get('command')}`"]
    model_file = model.get("file") or "the bundled file"
    lines.append(f"  model      {model.get('name')} ({model_file}, sha256 {model.get('sha256')})")
    layers = ", ".join(f"{n}:{_value(w)}" for n, w in record.get("layers", {}).items())
    lines.append(f"  layers     {layers}")
    lines.append(f"  objective  {record.get('objective')}")
    lines.append(f"  seed       {record.get('seed')}")
    for key in ("input", "guide", "mask"):
        if key in files:
            lines.append(f"  {key:<10} {files[key].get('name')} (sha256 {files[key].get('sha256')})")
    if "octave" in record:
        lines.append(f"  octave     {record['octave']} (an image after that octave)")
    settings = record.get("settings", {})
    lines.append("  settings   " + ", ".join(f"{k.replace('_', '-')} {_value(v)}" for k, v in sorted(settings.items())))
    lines.append(f"  backend    {record.get('backend')}")
    if unknown:
        lines.append(f"  (settings this numdream does not know: {', '.join(unknown)})")
    command = record.get("command", "dream")
    photo = ["PHOTO"] if command in PHOTO_COMMANDS else []  # visualize and atlas start from noise
    again = ["numdream", command] + photo + flags + [f"--seed={record.get('seed')}"]
    if command == "dream":  # --like is a flag of dream
        lines.append("the same settings on another photo: numdream dream --like " + shlex.quote(name) + " PHOTO")
    lines.append(("in full: " if photo else "again: ") + " ".join(shlex.quote(part) for part in again))
    return lines


def _value(value):
    if isinstance(value, list):
        return ",".join(_value(v) for v in value)
    return str(value)
