"""The entry point of the ``numdream`` console script, outside the numdream package on purpose.

Importing numdream (NumPy, SciPy, Pillow, h5py) takes about half a second, and a Ctrl-C in that
time must end like any other Ctrl-C, with one line and exit status 130, not a traceback from
deep inside an import. A console script imports its entry module before calling it, and
importing anything inside numdream runs numdream/__init__.py first; so the entry module is this
one, which imports nothing heavy, and imports numdream inside its try.
"""
import sys


def main():
    try:
        from numdream.cli import main as run  # here, not at the top: see above
    except KeyboardInterrupt:
        sys.stderr.write("numdream: interrupted\n")
        return 130
    return run()


if __name__ == "__main__":
    sys.exit(main())
