"""The ``numdream`` command: one module per subcommand, each with ``add_parser`` and ``run``.

Every user-facing error (a NumdreamError) is printed as one line on stderr with exit code 2;
no traceback reaches the user.
"""
import argparse
import importlib
import os
import sys

from ..errors import NumdreamError

# subcommand name -> module under numdream.cli
SUBCOMMANDS = {
    "dream": "dream",
    "layers": "layers",
    "gradcheck": "gradcheck",
    "zoom": "zoom",
    "video": "video",
    "gallery": "gallery",
    "batch": "batch",
    "visualize": "visualize",
    "atlas": "atlas",
}


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        """argparse's own errors: one line, exit 2 (argparse prints usage first; we keep it short)."""
        self.exit(2, f"{self.prog}: error: {message}\n")


def build_parser():
    parser = _Parser(prog="numdream", description="DeepDream from scratch in NumPy.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True
    for name, module in SUBCOMMANDS.items():
        importlib.import_module(f"{__name__}.{module}").add_parser(sub)
    return parser


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.run(args) or 0
    except NumdreamError as err:
        print(f"numdream {args.command}: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("numdream: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # the reader left early (`numdream layers | head`): stop quietly
        _silence_stdout()
        return 141  # 128 + SIGPIPE, what a shell reports for a tool killed by the broken pipe


def _silence_stdout():
    """Point stdout at /dev/null, so the interpreter's last flush does not hit the pipe again."""
    try:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):  # stdout without a file descriptor (captured)
        pass


if __name__ == "__main__":
    sys.exit(main())
