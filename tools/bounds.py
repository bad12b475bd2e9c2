"""What every converter bounds, in one place: the files it reads, the sizes a file may declare,
the length of an error line, and the one boundary where a library's exception becomes the
converter's one-line error.

    with bounds.one_line_errors(source, CaffeError, "malformed Caffe net"):  # the entry point
        ...  # a ValueError, struct.error, RecursionError... raised in here becomes
             # CaffeError("<source>: malformed Caffe net (ValueError: ...)")

Caps, and why they are generous for real inputs:
  MAX_INPUT_BYTES = 2 GiB: protobuf itself refuses messages above 2 GiB (VGG-19's .caffemodel,
    the largest DeepDream net in use, is 548 MB); a .js or package.json file is far smaller.
  MAX_TENSOR_VALUES: the numdream model budget (numdream.modelcheck.MAX_PARAM_VALUES, 2**28).
  MAX_FILL_VALUES = 2**20: a TF constant may give one value (or none) for its whole shape;
    biases and small constants do, weights never. Above it, 40 bytes could ask for gigabytes.
"""
import contextlib
import os
import struct
import sys
import warnings

import numpy as np

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)  # numdream from this checkout, even when it is not installed

from numdream.fileio import one_line, open_regular_file  # noqa: E402
from numdream.modelcheck import MAX_PARAM_VALUES  # noqa: E402

MAX_INPUT_BYTES = 2 << 30
MAX_TENSOR_VALUES = MAX_PARAM_VALUES
MAX_FILL_VALUES = 1 << 20
MAX_NAMES_SHOWN = 5

# What the libraries raise on malformed input: numpy (ValueError, IndexError), struct.error,
# dict and list lookups (KeyError, IndexError, TypeError, AttributeError), arithmetic
# (ZeroDivisionError, OverflowError), deep nesting (RecursionError), text (UnicodeError).
LIBRARY_ERRORS = (ValueError, TypeError, KeyError, IndexError, AttributeError, ArithmeticError,
                  struct.error, RecursionError, MemoryError, UnicodeError)


@contextlib.contextmanager
def one_line_errors(source, error, problem="cannot convert it"):
    """Turn a library's exception inside the block into ``error``: one line naming ``source``,
    ``problem`` and the exception; the converter's own errors pass unchanged. Numpy's floating-point warnings are silenced:
    a non-finite result is refused by numdream's model checks with a line naming the node."""
    try:
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            yield
    except error:
        raise
    except LIBRARY_ERRORS as err:
        if isinstance(err, (MemoryError, RecursionError)):
            detail = "it declares more than fits in memory" if isinstance(err, MemoryError) else \
                "it nests too deeply"
        else:
            detail = one_line(err, limit=160) or "malformed input"
        raise error(f"{source}: {problem} ({type(err).__name__}: {detail})") from None


def read_input(path, error, what, limit=MAX_INPUT_BYTES):
    """The bytes of an input file: a regular file (no FIFO or device; numdream.fileio.open_regular_file) of at
    most ``limit`` bytes, checked before reading. Raises ``error``."""
    with open_regular_file(path, what, error, where=str(path)) as f:
        size = os.fstat(f.fileno()).st_size
        if size > limit:
            raise error(f"{path}: {size} bytes; a {what} is at most {limit} bytes")
        data = f.read(size + 1)  # read(n) allocates n bytes up front: ask for what is there
    if len(data) > size:
        raise error(f"{path}: grew while being read; try again once it is complete")
    return data


def names_line(names, limit=MAX_NAMES_SHOWN):
    """"'a', 'b', 'c' and 17 more": a list of names that keeps an error line short."""
    names = list(names)
    shown = ", ".join(short(n) for n in names[:limit])
    return shown + (f" and {len(names) - limit} more" if len(names) > limit else "") if names else "none"


def short(value, limit=60):
    """repr(value) cut to ``limit`` characters (repr also escapes control characters)."""
    text = repr(value)
    return text if len(text) <= limit else text[:limit - 3] + "..."

