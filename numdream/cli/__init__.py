"""The ``numdream`` command: one module per subcommand, each with ``add_parser`` and ``run``.

Every error reaches the user as one line on stderr, caught here, at one boundary:
- a NumdreamError (a bad value, a bad file): its message, exit 2;
- an OSError that reaches the top (a full disk, a read-only or missing folder, a name too
  long): what happened and to which path, exit 2; MemoryError likewise;
- Ctrl-C: 'numdream: interrupted', exit 130 (a Ctrl-C while Python still imports numdream is
  caught by numdream_main, the console script's entry point);
- anything else is a bug in numdream: one line saying so, exit 1 (NUMDREAM_TRACEBACK=1 shows it).
"""
import argparse
import difflib
import importlib
import os
import re
import sys

from .. import __version__
from ..errors import NumdreamError
from ..fileio import one_line, os_error_text

MESSAGE_LIMIT = 1000  # characters of an error line: a path of 4096 bytes must not flood the terminal
# subcommand name -> module under numdream.cli
SUBCOMMANDS = {
    "dream": "dream",
    "layers": "layers",
    "gradcheck": "gradcheck",
    "zoom": "zoom",
    "video": "video",
    "gallery": "gallery",
    "batch": "batch",
    "info": "info",
    "visualize": "visualize",
    "atlas": "atlas",
}


class _Parser(argparse.ArgumentParser):
    commands = {}  # the top parser's: subcommand name -> its parser (build_parser)

    def error(self, message):
        """argparse's own errors: one line, exit 2 (argparse prints usage first; we keep it short),
        with the closest valid choice when a choice was mistyped."""
        found = re.search(r"invalid choice: '([^']*)' \(choose from (.*)\)", message)
        if found:
            choices = [c.strip(" '") for c in found.group(2).split(",")]
            message += _closest(found.group(1), choices)
        self.exit(2, f"{self.prog}: error: {message}\n")

    def parse_args(self, args=None, namespace=None):
        """parse_known_args, then one line for what was not recognised: the closest valid flag of
        the subcommand and a short usage line (argparse would only list the leftovers)."""
        parsed, extras = self.parse_known_args(args, namespace)
        if extras:
            command = self.commands.get(getattr(parsed, "command", None), self)
            command.error(_unrecognized(command, extras))
        return parsed


def _closest(word, candidates):
    match = difflib.get_close_matches(word, candidates, n=1, cutoff=0.6)
    return f"; did you mean {match[0]!r}?" if match else ""


def _unrecognized(parser, extras):
    """'unrecognized flag --octave; did you mean '--octaves'? usage: numdream dream [options] [input] ...'"""
    flags = [e.split("=", 1)[0] for e in extras if e.startswith("-")]
    what = (f"unrecognized flag {flags[0]}" + _closest(flags[0], list(parser._option_string_actions))
            if flags else f"unrecognized argument {extras[0]!r}")
    usage = " ".join([parser.prog, "[options]"] + [f"[{a.metavar or a.dest}]" if a.nargs == "?" else
                                                   str(a.metavar or a.dest) for a in parser._get_positional_actions()])
    return f"{what} (usage: {usage}; {parser.prog} --help lists every flag)"


def build_parser():
    parser = _Parser(prog="numdream", description="DeepDream from scratch in NumPy.")
    parser.add_argument("--version", action="version", version=f"numdream {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True
    for name, module in SUBCOMMANDS.items():
        importlib.import_module(f"{__name__}.{module}").add_parser(sub)
    parser.commands = sub.choices
    return parser


def main(argv=None):
    command = None
    try:
        argv = sys.argv[1:] if argv is None else [str(a) for a in argv]
        parser = build_parser()
        args = parser.parse_args(argv)
        command = args.command
        if getattr(args, "like", None) is not None:  # the settings of a picture, as flags before the user's
            from .like import argv_like  # here, not at the top: only --like needs it
            args = parser.parse_args(argv_like(parser, argv, args))
        return args.run(args) or 0
    except NumdreamError as err:
        return _fail(command, one_line(err, limit=MESSAGE_LIMIT), 2)
    except KeyboardInterrupt:
        print("numdream: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # the reader left early (`numdream layers | head`): stop quietly
        _silence_stdout()
        return 141  # 128 + SIGPIPE, what a shell reports for a tool killed by the broken pipe
    except OSError as err:
        return _fail(command, os_error_text(err), 2)
    except MemoryError:
        return _fail(command, "out of memory; try a smaller image or --tile-size", 2)
    except Exception as err:  # a bug: one line here too, the traceback on request
        if os.environ.get("NUMDREAM_TRACEBACK"):
            raise
        return _fail(command, f"internal error, a bug in numdream: {one_line(err, with_type=True)} "
                     "(run with NUMDREAM_TRACEBACK=1 to see where)", 1)


def _fail(command, text, status):
    print(f"numdream {command}: error: {text}" if command else f"numdream: error: {text}", file=sys.stderr)
    return status


def _silence_stdout():
    """Point stdout at /dev/null, so the interpreter's last flush does not hit the pipe again."""
    try:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):  # stdout without a file descriptor (captured)
        pass


if __name__ == "__main__":
    sys.exit(main())
