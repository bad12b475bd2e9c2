"""Every benchmark script with a command line at least starts: its imports resolve and it prints its --help.

Benchmarks are run by hand, rarely, and take minutes to hours, so nothing else notices when a
refactoring moves a name they import (bench_visualize.py imported frame_path from numdream.movie
after it had moved to numdream.frames, and failed before printing a figure).
"""
import subprocess
import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"
# the scripts with a command line (argparse and a main); helpers such as common.py are imported by them
SCRIPTS = sorted(p for p in BENCHMARKS.glob("*.py")
                 if "argparse" in p.read_text(encoding="utf-8") and "__main__" in p.read_text(encoding="utf-8"))


def test_there_are_benchmark_scripts():
    assert len(SCRIPTS) >= 15 and {p.name for p in SCRIPTS} >= {"bench_step.py", "step_profile.py"}


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: p.name)
def test_benchmark_script_starts(script):
    done = subprocess.run([sys.executable, str(script), "--help"], cwd=BENCHMARKS.parent,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "usage:" in done.stdout
