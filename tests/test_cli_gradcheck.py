"""``numdream gradcheck``: the table, the exit status, and one-line errors."""
import os
import subprocess
import sys
from pathlib import Path

from numdream import opcases
from numdream.cli import main

ROOT = Path(__file__).resolve().parents[1]


def _numdream(*args):
    env = dict(os.environ, PYTHONPATH=str(ROOT), NUMDREAM_BACKEND="numpy")
    return subprocess.run([sys.executable, "-m", "numdream", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=300)


def test_gradcheck_prints_the_table_and_passes():
    done = _numdream("gradcheck")
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].split() == ["op", "configuration", "finite", "diff.", "autograd", "result"]
    for case in opcases.CASES:
        assert any(line.startswith(case.op) and case.config in line and line.endswith("pass")
                   for line in lines), case.name
    assert f"{len(opcases.CASES)}/{len(opcases.CASES)} passed" in lines[-1]
    assert "torch not installed" not in done.stdout  # torch is a test dependency


def test_unknown_op_is_one_line_exit_2():
    done = _numdream("gradcheck", "--op", "convolution")
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr.splitlines() == [
        "numdream gradcheck: error: unknown op 'convolution'; valid ops are "
        "conv2d, max_pool2d, avg_pool2d, relu, concat, lrn, dense, softmax, " + ", ".join(opcases.NAMES[8:])]
    assert {"fourier", "rotate", "diversity", "objective"} <= set(opcases.NAMES[8:])


def test_a_wrong_backward_fails_the_run(monkeypatch, capsys):
    relu = opcases.OPS["relu"]
    broken = relu._replace(pair=relu.pair._replace(backward=lambda dy, cache: [dy * 1.001]))
    monkeypatch.setitem(opcases.OPS, "relu", broken)
    assert main(["gradcheck", "--op", "relu", "--no-torch"]) == 1
    out = capsys.readouterr().out
    assert out.count("FAIL") == len(opcases.cases("relu")) and "skipped" in out
    assert "0/2 passed" in out


def test_a_featvis_pair_alone(capsys):
    assert main(["gradcheck", "--op", "diversity", "--dtype", "float32"]) == 0
    out = capsys.readouterr().out
    assert out.count("diversity") == len(opcases.cases("diversity")) >= 2 and "FAIL" not in out


def test_float32_and_seed_options(capsys):
    assert main(["gradcheck", "--op", "lrn", "--dtype", "float32", "--seed", "7"]) == 0
    out = capsys.readouterr().out
    assert "autograd float32 1e-05" in out and out.count("pass") == len(opcases.cases("lrn")) + 1
