"""Shared by the CLI tests: run ``numdream`` in-process or as a subprocess, write small inputs,
and check the one-line error contract (one line on stderr, exit 2, no traceback)."""
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
from PIL import Image

from numdream.cli import main
from numdream.modelfile import write_model
from tiny_model import tiny_spec

ROOT = Path(__file__).resolve().parents[1]


def run_cli(argv, capsys):
    """``numdream ARGV`` in-process -> (exit code, stdout, stderr). argparse errors exit via SystemExit."""
    try:
        code = main([str(a) for a in argv])
    except SystemExit as done:
        code = done.code
    out, err = capsys.readouterr()
    return code, out, err


def subprocess_env():
    """The environment for ``python -m numdream`` from this checkout, on the NumPy backend."""
    return dict(os.environ, PYTHONPATH=str(ROOT), NUMDREAM_BACKEND="numpy")


def run_subprocess(argv, cwd=ROOT):
    """``python -m numdream ARGV`` in a fresh interpreter -> CompletedProcess (text)."""
    return subprocess.run([sys.executable, "-m", "numdream", *map(str, argv)], cwd=cwd,
                          env=subprocess_env(), capture_output=True, text=True, timeout=300)


def assert_one_line_error(code, out, err, command, *fragments):
    """Exit 2, nothing on stdout, exactly one stderr line 'numdream COMMAND: error: ...' holding
    every fragment (command None: 'numdream: error: ...', argparse's top-level errors)."""
    lines = err.splitlines()
    assert code == 2, err
    assert out == ""
    assert len(lines) == 1, err
    assert lines[0].startswith(f"numdream {command}: error: " if command else "numdream: error: "), lines[0]
    assert "Traceback" not in err
    for fragment in fragments:
        assert fragment in lines[0], (fragment, lines[0])
    return lines[0]


def write_tiny_model(path):
    """The tiny Inception-like model of tests/tiny_model.py as an HDF5 file (min input 7 px)."""
    write_model(path, tiny_spec())
    return Path(path)


def write_photo(path, hw=(45, 61), seed=0):
    """A smooth random colour picture (uint8 (H, W, 3)) saved at ``path``; returns the path."""
    rng = np.random.default_rng(seed)
    small = rng.integers(0, 256, (hw[0] // 8 + 2, hw[1] // 8 + 2, 3), dtype=np.uint8)
    Image.fromarray(small).resize(hw[::-1], Image.BICUBIC).save(path)
    return Path(path)


def pixels(path):
    """The pixels of an image file as an int array (H, W, 3)."""
    with Image.open(path) as im:
        return np.asarray(im.convert("RGB")).astype(int)


def snapshot(path):
    """(bytes, mtime_ns) of a file, to prove a run left it untouched."""
    path = Path(path)
    return path.read_bytes(), path.stat().st_mtime_ns
