"""File safety, in one place: atomic writes, one-line error text, file digests.

    with atomic_write("dream.png") as tmp:    # a hidden temp file beside dream.png
        Image.fromarray(pixels).save(tmp)      # ... becomes dream.png only if this returns
    message = one_line(err)                    # an exception as one short line for a user
    digest = file_digest("clip.mp4", "sha1")   # hex digest of a file's bytes

Every numdream output (images, frames, movies, settings records, model files) is written with
``atomic_write``, so a file under its final name is always whole: a reader never sees half a
file, and a failed or interrupted write leaves the old file as it was.
"""
import contextlib
import hashlib
import os
import secrets
from pathlib import Path

ONE_LINE_LIMIT = 240  # characters: a message longer than this loses its middle
_TAIL = 80            # characters kept from the end of a cut message (ffmpeg puts its reason last)
_TEMP_TRIES = 100     # temp names to try before giving up (each is 48 random bits)


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
    finally:
        if tmp is not None:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
    _fsync_folder(path.parent)


def _create_temp(path):
    """Create an empty, unique temp file beside ``path`` (O_EXCL: never an existing file or link)."""
    # at most 100 bytes of the stem, so the temp name fits the 255-byte limit whenever the name does
    stem = path.stem.encode("utf-8", "surrogateescape")[:100].decode("utf-8", "ignore")
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


def file_digest(path, algorithm="sha256"):
    """Hex digest of the bytes of file ``path``, read in 1 MB blocks.

    algorithm: any name hashlib.new() knows ('sha256', 'sha1', ...). It identifies a file (a
    converter's source, a video to resume); it is not a signature.
    """
    digest = hashlib.new(algorithm)
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
