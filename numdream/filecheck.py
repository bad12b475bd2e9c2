"""Is this path a regular file numdream may open? One check for every file numdream reads.

A path can name a FIFO (opening it for reading blocks until a writer comes), a device
(/dev/zero reads forever, a tape rewinds), a directory, a socket, or a symlink loop. So
``open_regular`` looks before it opens, and opens without blocking:

    1. os.stat (follows symlinks): refuse anything but a regular file, with a line saying what it is;
    2. os.open with O_NONBLOCK (a FIFO swapped in after step 1 cannot block the open) and
       O_NOCTTY, then os.fstat on the descriptor: it must be that same regular file, or
       the path changed under us (a race) and it is refused too;
    3. return a binary file object on that descriptor, which h5py (fileobj driver),
       Pillow and plain reads accept, so nothing opens the path a second time.

The model reader uses it; image and guide loading can too (``error`` picks their class).
"""
import errno
import os
import stat

from .errors import NumdreamError

_KINDS = [(stat.S_ISDIR, "a directory"), (stat.S_ISFIFO, "a FIFO (named pipe)"),
          (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
          (stat.S_ISSOCK, "a socket")]
_OPEN_FLAGS = os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOCTTY", 0) | getattr(os, "O_CLOEXEC", 0)


def open_regular(path, error=NumdreamError, what="file"):
    """Open ``path`` for reading in binary mode if it is a regular file (symlinks followed).

    Returns a file object (the caller closes it, e.g. ``with open_regular(...) as f``).
    Raises ``error`` (a NumdreamError subclass) with one line '<path>: <what is wrong>' for a
    missing path, a directory, FIFO, device, socket, symlink loop or unreadable file, without
    ever blocking on the path.
    """
    path = os.fspath(path)
    try:
        before = os.stat(path)
    except OSError as err:
        raise error(f"{path}: {_os_problem(err, what)}") from None
    _refuse_non_regular(before, path, error, what)
    try:
        fd = os.open(path, _OPEN_FLAGS)
    except OSError as err:
        raise error(f"{path}: {_os_problem(err, what)}") from None
    try:
        now = os.fstat(fd)
        _refuse_non_regular(now, path, error, what)
        if (now.st_dev, now.st_ino) != (before.st_dev, before.st_ino):
            raise error(f"{path}: was replaced by another file while being opened; try again")
        os.set_blocking(fd, True)  # a regular file: blocking reads, as a normal open gives
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def _refuse_non_regular(st, path, error, what):
    if stat.S_ISREG(st.st_mode):
        return
    kind = next((text for test, text in _KINDS if test(st.st_mode)), "not a regular file")
    raise error(f"{path}: is {kind}, not a {what}")


def _os_problem(err, what):
    """The part of the line after '<path>: ' for an OSError of stat or open."""
    if err.errno in (errno.ENOENT, errno.ENOTDIR):
        return f"{what} not found"
    if err.errno == errno.ELOOP:
        return "too many levels of symbolic links (a symlink loop?)"
    if err.errno in (errno.EACCES, errno.EPERM):
        return f"permission denied: cannot read this {what}"
    return f"cannot open this {what} ({err.strerror or type(err).__name__})"
