"""Shared by the hostile-input tests (test_hostile_models.py, test_convert_*.py): the contract a
refusal must keep, and the tools to check it.

    message = refused(lambda: read_model(path), ModelFileError, "external file")

runs the call with tracemalloc watching (numpy's arrays are traced), and asserts it raised
exactly that class with one line holding every fragment, without allocating more than
``limit_mb``. ``run_python`` runs code in a fresh interpreter with a timeout, for inputs that
could block a process for ever (a FIFO): a regression fails instead of hanging the suite.
``mutations`` yields seeded random byte edits of a valid input, for the fuzz tests.
"""
import contextlib
import os
import signal
import subprocess
import sys
import tracemalloc
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
TOOLS = ROOT / "tools"


def refused(call, error, *fragments, limit_mb=64):
    """Run call(); it must raise ``error`` (not a subclass of something else) with a one-line
    message holding each fragment, and allocate at most limit_mb on the way. Returns the message."""
    tracemalloc.start()
    try:
        with pytest.raises(Exception) as caught:
            call()
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert isinstance(caught.value, error), f"{type(caught.value).__name__}: {caught.value}"
    message = str(caught.value)
    assert "\n" not in message and "\r" not in message and len(message) < 600, message
    for fragment in fragments:
        assert fragment in message, (fragment, message)
    assert peak < limit_mb << 20, f"allocated {peak / 2**20:.0f} MB before refusing: {message}"
    return message


@contextlib.contextmanager
def deadline(seconds):
    """Fail the test if the block runs longer than ``seconds`` (SIGALRM, main thread): a loop
    that never ends becomes a failure instead of a hung suite."""
    def expired(signum, frame):
        pytest.fail(f"still running after {seconds} s (a hang?)")
    previous = signal.signal(signal.SIGALRM, expired)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def snapshot(folder):
    """{relative path: bytes} of every regular file under folder: what a refusal must not touch
    (nor add to: a partial output or a temp file would show up here)."""
    folder = Path(folder)
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file() and not p.is_symlink()}


def run_python(code, timeout=60):
    """Run ``code`` in a fresh interpreter (numdream and tools/ importable). Returns the
    CompletedProcess; a run that outlives ``timeout`` fails the test (it would have hung)."""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), str(TOOLS)]))
    try:
        return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                              timeout=timeout, env=env, cwd=ROOT)
    except subprocess.TimeoutExpired:
        pytest.fail(f"still running after {timeout} s (blocked?): {code}")


def run_tool(tool, *args, timeout=120):
    """``python tools/<tool> ARGS`` -> CompletedProcess; fails the test if it runs past timeout."""
    try:
        return subprocess.run([sys.executable, str(TOOLS / tool), *map(str, args)], capture_output=True,
                              text=True, timeout=timeout, cwd=ROOT)
    except subprocess.TimeoutExpired:
        pytest.fail(f"tools/{tool} {args} still running after {timeout} s")


def assert_cli_refused(done, tool_name, *fragments):
    """A converter's command line refused its input: exit 1, one stderr line, no traceback."""
    assert done.returncode == 1, (done.returncode, done.stderr)
    assert "Traceback" not in done.stderr and done.stdout == ""
    lines = done.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"{tool_name}: error: "), done.stderr
    for fragment in fragments:
        assert fragment in lines[0], (fragment, lines[0])
    return lines[0]


def mutations(data, count, seed):
    """``count`` seeded random edits of ``data`` (bytes): flipped bits, overwritten, inserted,
    deleted or duplicated runs, and truncations; a mix a broken download or an attacker makes."""
    rng = np.random.default_rng(seed)
    for _ in range(count):
        out = bytearray(data)
        for _ in range(int(rng.integers(1, 4))):
            kind = int(rng.integers(0, 6))
            at = int(rng.integers(0, max(len(out), 1)))
            run = int(rng.integers(1, 9))
            if kind == 0 and out:
                out[at] ^= 1 << int(rng.integers(0, 8))
            elif kind == 1:
                out[at:at + run] = rng.integers(0, 256, run, dtype=np.uint8).tobytes()
            elif kind == 2:
                runs = [b"\xff" * run, b"\x00" * run, b"\x80" * run,
                        rng.integers(0, 256, run, dtype=np.uint8).tobytes()]
                out[at:at] = runs[int(rng.integers(0, len(runs)))]
            elif kind == 3:
                del out[at:at + run]
            elif kind == 4:
                out[at:at] = out[max(0, at - 64):at]
            else:
                del out[at + 1:]
        yield bytes(out)
