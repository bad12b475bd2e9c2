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


def test_step_profile_files_every_step_and_leaves_the_plan_as_it_was(monkeypatch):
    """bench_step's time per kind: every plan step is timed once per pass under one kind, the FLOPs
    add up to the step's, and the timing wrappers are gone afterwards (the model still steps)."""
    import numpy as np
    from numdream.model import Model
    from tiny_model import tiny_spec
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    import step_profile
    from common import conv_flops
    model = Model(tiny_spec(), dtype=np.float64)
    x = np.random.default_rng(0).standard_normal((1, 3, 20, 24))
    steps = model._plan(model._node_names(["mixed"]))
    rows, total = step_profile.profile_numdream(model, x, ["mixed"], repeats=2)
    assert sum(count for _, _, _, count in rows.values()) == len(steps)
    assert {step_profile.kind_of(s) for s in steps} == set(rows)
    assert "1x1 GEMM groups" in rows and any(kind.startswith("3x3") for kind in rows)
    assert 2 * sum(flops for _, _, flops, _ in rows.values()) == conv_flops(model, (20, 24), ["mixed"])
    assert 0 < sum(f + b for f, b, _, _ in rows.values()) <= total
    assert all("forward" not in vars(s) and "backward" not in vars(s) for s in steps)
    acts, tape = model.forward(x, ["mixed"])
    assert model.backward(acts, tape).shape == x.shape


def test_thread_scaling_times_the_pieces_and_puts_run_pieces_back(monkeypatch):
    """thread_scaling.py's step figures: the pieces' own time is inside the step, and every module
    that runs pieces gets the real run_pieces back."""
    from numdream.fast import conv, elementwise, pointwise, pool, threads, winograd
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    monkeypatch.setenv("NUMDREAM_THREADS", "2")
    import thread_scaling
    monkeypatch.setattr(conv, "MIN_PIECE_FLOPS", 1)  # so that this small step splits too
    r = thread_scaling.step_in_pieces((96, 80), repeats=1)
    # both threads ran pieces, and were timed (the pool may be larger, made by an earlier test
    # with more workers: then two of its threads at a time, not always the same two)
    assert r["piece_threads"] >= 2
    assert 0 < r["inside"] <= r["wall"] and 0 < r["busy"] <= 2 * r["inside"] + 1e-3
    assert all(m.run_pieces is threads.run_pieces for m in (conv, elementwise, pointwise, pool, winograd))
    assert set(thread_scaling.piece_runners()) == {conv, elementwise, pointwise, pool, winograd}
    assert thread_scaling.copy_bandwidth(1 << 16, 2, seconds=0.01) > 0


def test_thread_scaling_puts_run_pieces_back_after_a_failed_step(monkeypatch):
    from numdream.fast import conv, elementwise, pointwise, pool, threads, winograd
    from numdream.model import Model
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    import thread_scaling

    def broken(*args, **kwargs):
        raise RuntimeError("a step that fails")
    monkeypatch.setattr(Model, "backward", broken)
    with pytest.raises(RuntimeError, match="a step that fails"):
        thread_scaling.step_in_pieces((96, 80), repeats=1)
    assert all(m.run_pieces is threads.run_pieces for m in (conv, elementwise, pointwise, pool, winograd))


def test_waiting_for_other_threads_to_rest_sees_a_spinning_thread(monkeypatch):
    """common.wait_until_threads_rest: True at once when the other threads sleep, False while one
    spins (as PyTorch's OpenMP threads do after a call), True again once it stops."""
    import threading
    import time
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    import common
    assert common.wait_until_threads_rest(window=0.05, patience=1.0)
    stop = threading.Event()

    def spin():
        while not stop.is_set():
            pass
    spinner = threading.Thread(target=spin)
    spinner.start()
    try:
        before = common.other_threads_cpu_seconds()
        time.sleep(0.15)
        assert common.other_threads_cpu_seconds() > before  # its CPU time is seen, the caller's is not
        assert not common.wait_until_threads_rest(window=0.05, patience=0.3)
    finally:
        stop.set()
        spinner.join()
    assert common.wait_until_threads_rest(window=0.05, patience=1.0)


def test_time_in_turns_makes_one_untimed_call_then_times_the_turn(monkeypatch):
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    import common
    monkeypatch.setattr(common, "wait_until_threads_rest", lambda: True)
    calls = []
    medians = common.time_in_turns([lambda: calls.append("a"), lambda: calls.append("b")], repeats=2, per_turn=3)
    assert calls == ["a"] * 4 + ["b"] * 4 + ["a"] * 4 + ["b"] * 4 and len(medians) == 2


@pytest.mark.parametrize("script", ["bench_step.py", "bench_winograd.py", "ab_trees.py", "bench_tiles.py"])
def test_a_size_list_that_is_not_wxh_is_refused_before_any_work(script):
    """The scripts that take --sizes share common.sizes_arg: a bad entry is named, in one line."""
    done = subprocess.run([sys.executable, str(BENCHMARKS / script), *(["."] if script == "ab_trees.py" else []),
                           "--sizes", "512x512,512x51a"], cwd=BENCHMARKS.parent, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 2 and "size '512x51a' is not WxH" in done.stderr.splitlines()[-1]


def test_sizes_arg_reads_a_list_and_checks_each_side(monkeypatch):
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    import argparse
    import common
    assert common.sizes_arg("512x512, 1024X768") == [(512, 512), (1024, 768)]
    with pytest.raises(argparse.ArgumentTypeError, match="'50x80': each side must be at least 75"):
        common.sizes_arg("100x100,50x80", minimum=75)


def test_pointwise_balance_times_every_block_of_every_group_and_puts_run_pieces_back(monkeypatch):
    """pointwise_balance.py: each of the five groups, both passes, one time per block per call."""
    from numdream.fast import pointwise, threads
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    monkeypatch.setenv("NUMDREAM_THREADS", "2")
    monkeypatch.setattr(pointwise, "MIN_PIECE_FLOPS", 1)  # so that this small step splits too
    import pointwise_balance
    times = pointwise_balance.block_times((96, 80), steps=2)
    assert len(times) == 10 and {d for _, d in times} == {"forward", "backward"}
    assert all(len(calls) == 2 and all(len(c) == 2 and min(c) > 0 for c in calls) for calls in times.values())
    assert pointwise.run_pieces is threads.run_pieces


def test_joins_times_every_call_of_run_pieces_and_puts_it_back(monkeypatch):
    """joins.py: each call is filed under the function that made it, with its wake-up and end gap."""
    from numdream.fast import conv, threads, winograd
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    monkeypatch.setenv("NUMDREAM_THREADS", "2")
    monkeypatch.setattr(conv, "MIN_PIECE_FLOPS", 1)  # so that this small step splits too
    import joins
    calls = joins.join_times((96, 80), steps=2)
    names = {name for name, *_ in calls}
    assert "winograd.py:_convolve" in names and "pointwise.py:forward" in names
    assert all(pieces >= 1 and wake >= 0 and gap >= 0 and 1 <= ran <= 2 for _, pieces, wake, gap, ran in calls)
    assert any(ran == 2 for *_, ran in calls)
    assert all(m.run_pieces is threads.run_pieces for m in (conv, winograd))


def test_scaling_vs_torch_times_four_engines_and_restores_the_thread_settings(monkeypatch):
    """scaling_vs_torch.py: one and two threads of each engine, with NUMDREAM_THREADS and
    PyTorch's thread count put back afterwards."""
    import os

    import torch
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    monkeypatch.setenv("NUMDREAM_THREADS", "2")
    import scaling_vs_torch
    before = torch.get_num_threads()
    times, steal = scaling_vs_torch.measure((96, 80), repeats=1)
    assert set(times) == {"nd1", "nd2", "t1", "t2"} and all(t > 0 for t in times.values())
    assert 0 <= steal <= 1
    assert torch.get_num_threads() == before and os.environ["NUMDREAM_THREADS"] == "2"


def test_ab_trees_compares_a_checkout_with_this_tree(monkeypatch):
    """ab_trees.py against this very checkout: the same arithmetic (dx identical) and a ratio."""
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    import ab_trees
    other = ab_trees.load_other(str(BENCHMARKS.parent))
    assert other.__name__ == "numdream_other.model"
    r = ab_trees.compare(other, (96, 80), rounds=2)
    assert r["max_dx_difference"] == 0.0 and r["ours"] > 0 and r["other"] > 0 and r["q1"] <= r["ratio"] <= r["q3"]
    with pytest.raises(SystemExit, match="holds no numdream package"):
        ab_trees.load_other(str(BENCHMARKS))


def test_ab_trees_loads_each_checkout_it_is_given(monkeypatch, tmp_path):
    """A second load_other is the second checkout's package, not the first one's again."""
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    import ab_trees
    first = ab_trees.load_other(str(BENCHMARKS.parent))
    other = tmp_path / "other"
    (other / "numdream").mkdir(parents=True)
    (other / "numdream" / "__init__.py").write_text("")
    (other / "numdream" / "model.py").write_text("MARK = 'the second checkout'\n")
    second = ab_trees.load_other(str(other))
    assert second is not first and second.MARK == "the second checkout"
