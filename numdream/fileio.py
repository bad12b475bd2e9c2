"""File safety, in one place: atomic writes, one-line error text, file digests, file kinds.

    with atomic_write("dream.png") as tmp:    # a hidden temp file beside dream.png
        Image.fromarray(pixels).save(tmp)      # ... becomes dream.png only if this returns
    message = one_line(err)                    # an exception as one short line for a user
    digest = file_digest("clip.mp4", "sha1")   # hex digest of a file's bytes
    check_regular_file("photo.jpg", "image")   # refuse a FIFO, a device, a folder, ... before opening
    text = os_error_text(err)                  # an OSError as 'PATH: the disk is full (ENOSPC)'

Every numdream output (images, frames, movies, settings records, model files) is written with
``atomic_write``, so a file under its final name is always whole: a reader never sees half a
file, and a failed or interrupted write leaves the old file as it was.
"""
import contextlib
import errno
import hashlib
import os
import re
import secrets
import stat
from pathlib import Path

from .errors import NumdreamError

ONE_LINE_LIMIT = 240  # characters: a message longer than this loses its middle
_TAIL = 80            # characters kept from the end of a cut message (ffmpeg puts its reason last)
_TEMP_TRIES = 100     # temp names to try before giving up (each is 48 random bits)
_TEMP_NAME = re.compile(r"\.(?P<stem>.*)\.[0-9a-f]{12}\.tmp(?P<suffix>\.[^.]*)?")  # see _create_temp


@contextlib.contextmanager
def atomic_write(path):
    """Yield the path (str) of a new temp file beside ``path``; when the block ends normally, the
    temp file is fsynced and renamed over ``path``, then the folder is fsynced where the OS allows.

    On any exception in the block (KeyboardInterrupt included), or if the fsync fails, the temp
    file is removed, ``path`` is left as it was, and the exception propagates.
    The temp file, ``.STEM.RANDOM.tmpSUFFIX``, is hidden from listings and globs and keeps the
    extension of ``path``, for writers that choose a format by extension (ffmpeg does).
    It is created by ``os.open(..., 0o666)``, so the kernel gives it the mode a normal ``open()``
    would (0o666 & ~umask, or the folder's default ACL): no umask is read or changed.

    A context manager rather than a ``write(tmp_path)`` callback so that the writing code stays
    inline at the call site, in the order it runs, with its local names and its own exceptions.
    """
    path = Path(path)
    tmp = _create_temp(path)
    try:
        yield tmp
        _fsync_file(tmp)
        os.replace(tmp, path)
        tmp = None
    except OSError as err:
        if err.errno is None or err.filename is not None:
            raise
        # a write through a file descriptor (a full disk, say) names no file: name the output
        raise OSError(err.errno, err.strerror, str(path)) from err
    finally:
        if tmp is not None:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
    _fsync_folder(path.parent)


def temp_target(name):
    """The file name whose atomic_write temp file is called ``name`` ('.frame_00003.1a2b3c4d5e6f.tmp.png'
    -> 'frame_00003.png'), or None if ``name`` is not such a temp name."""
    found = _TEMP_NAME.fullmatch(name)
    return found and found.group("stem") + (found.group("suffix") or "")


def remove_temps_of(path):
    """Remove the temp files that interrupted atomic writes of ``path`` left beside it (a process
    killed between creating its temp file and the rename cannot remove it itself).
    returns: the number removed."""
    path = Path(path)
    removed = 0
    with contextlib.suppress(OSError):
        for entry in os.scandir(path.parent):
            if temp_target(entry.name) == _temp_stem(path) + path.suffix and entry.is_file(follow_symlinks=False):
                with contextlib.suppress(OSError):
                    os.unlink(entry.path)
                    removed += 1
    return removed


def _temp_stem(path):
    # at most 100 bytes of the stem, so the temp name fits the 255-byte limit whenever the name does
    return path.stem.encode("utf-8", "surrogateescape")[:100].decode("utf-8", "ignore")


def _create_temp(path):
    """Create an empty, unique temp file beside ``path`` (O_EXCL: never an existing file or link)."""
    stem = _temp_stem(path)
    for _ in range(_TEMP_TRIES):
        tmp = path.with_name(f".{stem}.{secrets.token_hex(6)}.tmp{path.suffix}")
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
        except FileExistsError:
            continue
        os.close(fd)
        return str(tmp)
    raise FileExistsError(f"no free temp file name beside {str(path)!r} after {_TEMP_TRIES} tries")


def _fsync_file(name):
    """Flush the file's data to the disk, whoever wrote it (Pillow, h5py, an ffmpeg process)."""
    fd = os.open(name, os.O_RDWR | getattr(os, "O_BINARY", 0))  # Windows can only flush a writable fd
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_folder(folder):
    """Make the rename itself durable. Windows cannot open a folder, some file systems refuse to
    sync one: the file is in place by then either way, so that is not an error."""
    try:
        fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def one_line(err, with_type=False, limit=ONE_LINE_LIMIT):
    """An exception as one line for a user: its message with every run of whitespace (newlines
    included) made one space; the exception's type name when the message is empty, or in front
    (``'OSError: ...'``) with ``with_type``. A text longer than ``limit`` characters keeps its
    start and its end around ' ... ', so a huge message (a whole ffmpeg log) cannot flood the
    terminal and the reason at either end survives.
    """
    text = " ".join(str(err).split())
    name = type(err).__name__
    if not text:
        text = name
    elif with_type:
        text = f"{name}: {text}"
    if len(text) <= limit:
        return text
    tail = min(_TAIL, limit // 3)
    head = max(limit - tail - len(" ... "), 0)
    return text[:head].rstrip() + " ... " + text[-tail:].lstrip()


def file_digest(path, algorithm="sha256", what="file", error=NumdreamError):
    """Hex digest of the bytes of file ``path``, read in 1 MB blocks.

    algorithm: any name hashlib.new() knows ('sha256', 'sha1', ...). It identifies a file (a
    converter's source, a video to resume); it is not a signature. The file is opened with
    open_regular_file (never a FIFO or a device); what, error: as there.
    """
    digest = hashlib.new(algorithm)
    with open_regular_file(path, what, error, where=str(path)) as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


# ---- what a path is --------------------------------------------------------------------------------

_KINDS = ((stat.S_ISDIR, "a directory"), (stat.S_ISFIFO, "a FIFO (named pipe)"),
          (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
          (stat.S_ISSOCK, "a socket"))


def resolved(path):
    """Path(path) made absolute with its symbolic links followed, as Path.resolve() does, except
    that a loop of links is no error (the path is then only made absolute): a hostile path
    must not raise RuntimeError where only a comparison of paths was meant."""
    try:
        return Path(path).resolve()
    except (RuntimeError, OSError):
        return Path(os.path.abspath(path))


def file_kind(mode):
    """'a directory', 'a FIFO (named pipe)', 'a character device', ... for a stat st_mode."""
    for test, kind in _KINDS:
        if test(mode):
            return kind
    return "a regular file" if stat.S_ISREG(mode) else "not a regular file"


def check_regular_file(path, what, error=NumdreamError, where=None):
    """Refuse, before anything opens it, a ``path`` that is not an existing regular file.

    Opening a FIFO blocks until a writer comes, a device such as /dev/zero never ends, a
    directory or a socket cannot be read as a file: each is named in the message instead,
    e.g. "cannot read image 'x.png': it is a FIFO (named pipe), not a regular file".
    Symbolic links are followed (a link to a photo is fine); a loop of links or a link to
    nothing is named as such. Nothing is opened, so nothing can block.
    path: str or PathLike. what: the noun for the message ('image', 'guide image', 'video').
    error: the NumdreamError subclass to raise. where: the text before ': <reason>' (default
    "cannot read WHAT 'PATH'"; model files and converters put the path alone, as all their
    lines do). returns: Path(path).
    """
    path = Path(path)
    where = where if where is not None else f"cannot read {what} {str(path)!r}"
    try:
        mode = os.stat(path).st_mode
    except OSError as err:
        raise error(f"{where}: {_missing_reason(path, err)}") from None
    if not stat.S_ISREG(mode):
        raise error(f"{where}: it is {file_kind(mode)}, not a regular file") from None
    return path


def open_regular_file(path, what, error=NumdreamError, where=None):
    """check_regular_file, then open ``path`` for reading in binary mode without blocking
    (O_NONBLOCK: a path swapped for a FIFO in between cannot block the open), and check the open
    descriptor: it must be that same regular file (device and inode), or the path changed
    under us and it is refused. Blocking reads are then switched back on for the regular file.
    The file object is what h5py (its fileobj driver), Pillow and plain reads take, so nothing
    opens the path a second time. returns: a binary file object, to be closed by the caller."""
    path = check_regular_file(path, what, error, where)
    where = where if where is not None else f"cannot read {what} {str(path)!r}"
    before = os.stat(path)
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0)
                     | getattr(os, "O_BINARY", 0) | getattr(os, "O_CLOEXEC", 0))
    except OSError as err:
        raise error(f"{where}: {_missing_reason(path, err)}") from None
    try:
        now = os.fstat(fd)
        if not stat.S_ISREG(now.st_mode):
            raise error(f"{where}: it is {file_kind(now.st_mode)}, not a regular file")
        if (now.st_dev, now.st_ino) != (before.st_dev, before.st_ino):
            raise error(f"{where}: it was replaced by another file while being opened; try again")
        if hasattr(os, "set_blocking"):
            os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def read_bounded(stream, limit, what, error=NumdreamError):
    """All the bytes of binary ``stream`` (standard input, say), refused with one line past
    ``limit`` bytes: read a block at a time, so a stream that never ends cannot fill memory."""
    blocks, size = [], 0
    while True:
        block = stream.read(min(1 << 20, limit + 1 - size))
        if not block:
            break
        blocks.append(block)
        size += len(block)
        if size > limit:
            raise error(f"{what} holds more than {limit:,} bytes; give a file instead")
    return b"".join(blocks)


def _missing_reason(path, err):
    """Why os.stat(path) failed, in words: a dangling link and a link loop are told apart."""
    if err.errno == errno.ENOENT and os.path.islink(path):
        return f"it is a symbolic link to {os.readlink(path)!r}, which does not exist"
    if err.errno == errno.ENOENT:
        return "no such file"
    return os_reason(err)


# errno -> what it means for a user; the symbol follows in brackets so it can be looked up
_REASONS = {
    errno.ENOSPC: "the disk is full",
    errno.EDQUOT: "the disk quota is exceeded",
    errno.EROFS: "the file system is read-only",
    errno.EACCES: "permission denied",
    errno.EPERM: "operation not permitted",
    errno.ENAMETOOLONG: "the name is too long (most file systems allow 255 bytes per name)",
    errno.ELOOP: "it is a loop of symbolic links",
    errno.ENOTDIR: "a part of the path is a file, not a folder",
    errno.ENOENT: "no such file or folder",
    errno.EISDIR: "it is a directory",
    errno.EEXIST: "it already exists",
    errno.ENXIO: "no device or reader behind it (a socket or a FIFO?)",
    errno.EIO: "input/output error (a failing disk?)",
    errno.EMFILE: "too many open files",
    errno.ENOMEM: "out of memory",
}


def os_reason(err):
    """An OSError's cause in words, with its errno symbol: 'the disk is full (ENOSPC)'."""
    code = getattr(err, "errno", None)
    if code is None:
        return one_line(err)
    symbol = errno.errorcode.get(code, str(code))
    return f"{_REASONS.get(code, err.strerror or one_line(err))} ({symbol})"


def os_error_text(err):
    """An OSError as one line naming its path(s): "'out/x.png': the disk is full (ENOSPC)"."""
    names = [str(n) for n in (getattr(err, "filename", None), getattr(err, "filename2", None)) if n is not None]
    where = " -> ".join(repr(n) for n in names)
    return one_line(f"{where}: {os_reason(err)}" if where else os_reason(err))
