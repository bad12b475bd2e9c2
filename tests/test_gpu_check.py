"""benchmarks/gpu_check.py: without CuPy it says why in one line and exits 2; on the CuPy
stand-in (tests/fakecupy.py) every check runs and agrees, so the script itself is exercised
before it meets a real GPU."""
import os
import subprocess
import sys

import pytest

import fakecupy

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
SCRIPT = os.path.join(ROOT, "benchmarks", "gpu_check.py")


def test_without_cupy_it_prints_the_backends_reason_and_exits_2():
    env = dict(os.environ, NUMDREAM_BACKEND="numpy")
    done = subprocess.run([sys.executable, SCRIPT, "--quick"], capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 2, done.stderr
    lines = done.stdout.strip().splitlines()
    assert len(lines) == 1 and "backend 'cupy' needs CuPy" in lines[0] and done.stderr == ""


@pytest.mark.slow
def test_on_the_standin_every_check_runs_and_agrees(monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "cupy", fakecupy)
    monkeypatch.syspath_prepend(os.path.join(ROOT, "benchmarks"))
    import gpu_check
    assert gpu_check.main(["--quick"]) == 0
    out = capsys.readouterr().out
    assert "matmul(out=) into a non-contiguous slice" in out and "winograd F(4) 7x1" in out
    assert "winograd F(6) 3x3" in out and "copyto of a transposed view" in out and "fast/elementwise.py" in out
    assert " NO" not in out and "checks agree" in out
    import numdream
    assert numdream.backend.active() is numdream.backend.numpy  # the check leaves numpy active
