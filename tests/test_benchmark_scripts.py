"""Every benchmark script at least starts: its imports resolve and it prints its --help.

Benchmarks are run by hand, rarely, and take minutes to hours, so nothing else notices when a
refactoring moves a name they import (bench_visualize.py imported frame_path from numdream.movie
after it had moved to numdream.frames, and failed before printing a figure).
"""
import subprocess
import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"
SCRIPTS = sorted(BENCHMARKS.glob("bench_*.py"))


def test_there_are_benchmark_scripts():
    assert len(SCRIPTS) >= 5


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: p.name)
def test_benchmark_script_starts(script):
    done = subprocess.run([sys.executable, str(script), "--help"], cwd=BENCHMARKS.parent,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "usage:" in done.stdout
