"""Shared by the CLI and runtime hostile-input tests (tests/test_hostile_files.py, ..._frames, _options,
_neuron, _signals): builders of hostile files and folders, a fingerprint of a folder tree, and the
contract every refusal must keep (tests/hostile.py is the model-file half's).

The contract, for each hostile case: a non-zero exit (2 for a user's error, 130 for Ctrl-C),
exactly one line on stderr, no "Traceback", nothing on stdout, every input and unrelated file
untouched (fingerprinted before and after), no partial output under a final name and no temp
file left behind.
"""
import hashlib
import os
import socket
import stat
import sys
from pathlib import Path

import numpy as np

from cli_helpers import ROOT, run_cli, write_photo, write_tiny_model  # noqa: F401 (re-exported)

DREAM = ["--layer", "mixed", "--octaves", "1", "--steps", "1", "--seed", "0", "-q"]


def write_clip(path, frames=4, hw=(48, 64)):
    """A small MP4 (H.264, 8 fps) of a random texture sliding right, 2 pixels a frame."""
    import imageio.v2 as imageio  # the video extra, which the test extra installs
    texture = np.random.default_rng(0).integers(0, 256, (*hw, 3)).astype(np.uint8)
    writer = imageio.get_writer(path, fps=8, codec="libx264", macro_block_size=1, pixelformat="yuv420p")
    for t in range(frames):
        writer.append_data(np.roll(texture, 2 * t, axis=1))
    writer.close()
    return Path(path)


def fingerprint(folder):
    """{relative path: what it is} for everything under ``folder`` (hidden files, links and
    special files included): a file by the SHA-256 of its bytes and its mtime, a link by its
    target, anything else by its kind. Two equal fingerprints mean nothing was touched."""
    folder = Path(folder)
    found = {}
    for root, dirs, files in os.walk(folder, followlinks=False):
        for name in dirs + files:
            path = Path(root) / name
            mode = os.lstat(path).st_mode
            key = str(path.relative_to(folder))
            if stat.S_ISLNK(mode):
                found[key] = ("link", os.readlink(path))
            elif stat.S_ISREG(mode):
                found[key] = ("file", hashlib.sha256(path.read_bytes()).hexdigest(), os.lstat(path).st_mtime_ns)
            else:
                found[key] = ("dir" if stat.S_ISDIR(mode) else "special", stat.S_IFMT(mode))
    return found


def assert_refused(code, out, err, *fragments, status=2):
    """The refusal contract on one run's (exit status, stdout, stderr); returns the error line."""
    lines = err.splitlines()
    assert code == status, err
    assert out == "", out
    assert len(lines) == 1, err
    assert "Traceback" not in err
    for fragment in fragments:
        assert fragment in lines[0], (fragment, lines[0])
    return lines[0]


def refused_in_process(argv, capsys, *fragments, status=2):
    """Run ``numdream ARGV`` in this process and check the refusal contract."""
    return assert_refused(*run_cli(argv, capsys), *fragments, status=status)


def exit_status(argv, capsys):
    """The exit status of ``numdream ARGV`` run in this process, which must print no traceback."""
    code, _, err = run_cli([str(a) for a in argv], capsys)
    assert "Traceback" not in err
    return code


# ---- hostile files: each builder makes ``path`` and returns what the message should say ---------

def make_fifo(path):
    os.mkfifo(path)
    return "FIFO"


def make_socket(path):
    server = socket.socket(socket.AF_UNIX)
    server.bind(str(path))
    server.close()  # the socket file stays
    return "socket"


def make_loop(path):
    os.symlink(path.name + ".other", path)
    os.symlink(path.name, path.with_name(path.name + ".other"))
    return "loop of symbolic links"


def make_dangling(path):
    os.symlink("nowhere.png", path)
    return "does not exist"


def make_folder(path):
    path.mkdir()
    return "directory"


def make_device(path):
    os.symlink("/dev/zero", path)  # a link to a device: it is the device that counts
    return "character device"


def make_link_to_folder(path):
    path.with_name("real_folder").mkdir()
    os.symlink("real_folder", path)
    return "directory"


NOT_REGULAR = {"fifo": make_fifo, "socket": make_socket, "link-loop": make_loop, "dangling-link": make_dangling,
               "folder": make_folder, "device": make_device, "link-to-folder": make_link_to_folder}


def python_running(script):
    """argv to run ``script`` with this interpreter, numdream from this checkout."""
    return [sys.executable, "-c", f"import sys; sys.path.insert(0, {str(ROOT)!r}); " + script]
