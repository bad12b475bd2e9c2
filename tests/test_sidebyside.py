"""Independent convolutions of a module share a join (numdream/fast/sidebyside.py): which steps
pair, that a pair computes what its members compute one after the other, in one join."""
import numpy as np
import pytest
from PIL import Image

from numdream import load_image, load_model
from numdream.fast import sidebyside, threads
from numdream.fast.sidebyside import SideBySideStep, flatten, interleave, pair_independent
from numdream.images import sample_path

UNTIL = ["mixed3", "mixed5"]


@pytest.fixture(scope="module")
def model64():
    return load_model(dtype=np.float64, winograd=True)


def _x(model):
    photo = np.asarray(Image.fromarray(load_image(sample_path())).resize((160, 128)))
    return model.preprocess(photo)


def test_the_pairs_are_a_modules_independent_branch_convolutions(model64):
    pairs = [s for s in model64._plan(UNTIL) if isinstance(s, SideBySideStep)]
    names = [(s.first.conv.name, s.second.conv.name) for s in pairs]
    # mixed0-2: the double 3x3 branch's first 3x3 beside the 5x5; mixed4-5: the 1x7s, then the 7x1s
    assert names == [("conv2d_10", "conv2d_8"), ("conv2d_17", "conv2d_15"), ("conv2d_24", "conv2d_22"),
                     ("conv2d_37", "conv2d_33"), ("conv2d_38", "conv2d_34"),
                     ("conv2d_47", "conv2d_43"), ("conv2d_48", "conv2d_44")]
    for s in pairs:
        assert not set(s.first.outputs) & set(s.second.inputs) and not set(s.second.outputs) & set(s.first.inputs)
        assert s.inputs == s.first.inputs + s.second.inputs and s.outputs == s.first.outputs + s.second.outputs
    plan = model64._plan(UNTIL)
    assert len(flatten(plan)) == len(plan) + len(pairs)


class _Step:
    def __init__(self, inputs, outputs, work):
        self.inputs, self.outputs, self.w = inputs, outputs, work


def test_pairing_needs_independence_and_similar_work():
    a, b = _Step(["x"], ["a"], 100), _Step(["x"], ["b"], 150)
    reads_a, heavy, alone = _Step(["a"], ["c"], 100), _Step(["x"], ["d"], 151), _Step(["x"], ["e"], None)
    work = lambda s: s.w  # noqa: E731
    assert [type(s) for s in pair_independent([a, b], work)] == [SideBySideStep]
    assert pair_independent([a, reads_a], work) == [a, reads_a]  # reads the other's output
    assert pair_independent([reads_a, a], work) == [reads_a, a]  # its output is read by the other
    assert pair_independent([a, heavy], work) == [a, heavy]  # 1.51x the work
    assert pair_independent([a, alone], work) == [a, alone]  # not a convolution that may pair
    three = pair_independent([a, b, heavy], work)  # left to right: a and b pair, heavy stays
    assert isinstance(three[0], SideBySideStep) and three[1] is heavy


def test_interleave_alternates_then_appends_the_rest():
    assert interleave([1, 2, 3], ["a"]) == [1, "a", 2, 3]
    assert interleave([], ["a", "b"]) == ["a", "b"]


@pytest.mark.parametrize("workers", ["1", "2", "3"])
def test_a_pair_computes_what_its_members_compute_in_turn(model64, monkeypatch, workers):
    """float64, the whole plan with its pairs against the same steps one after the other; each
    pair's pieces, both members', in one call of run_pieces per pass."""
    monkeypatch.setenv("NUMDREAM_THREADS", workers)
    x = _x(model64)
    calls = []
    real = sidebyside.run_pieces

    def counting(jobs):
        jobs = list(jobs)
        calls.append(len(jobs))
        return real(jobs)

    monkeypatch.setattr(sidebyside, "run_pieces", counting)
    acts, tape = model64.forward(x, UNTIL)
    dx = model64.backward(dict(acts), tape)
    pairs = sum(isinstance(s, SideBySideStep) for s in model64._plan(UNTIL))
    assert len(calls) == 2 * pairs  # forward and backward of each pair
    assert all(n >= 2 for n in calls)  # both members' pieces
    # on threads, the larger layers (mixed0-2's 3x3 at this size) split too
    assert any(n > 2 for n in calls) == (workers != "1")
    key = next(k for k in model64._plans if k[0] == tuple(sorted(UNTIL)))
    plan = model64._plans[key]
    try:
        model64._plans[key] = flatten(plan)
        acts_flat, tape_flat = model64.forward(x, UNTIL)
        dx_flat = model64.backward(dict(acts_flat), tape_flat)
    finally:
        model64._plans[key] = plan
    for name in UNTIL:
        np.testing.assert_allclose(acts[name], acts_flat[name], rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(dx, dx_flat, rtol=1e-12, atol=1e-12 * np.abs(dx_flat).max())


class _Double:
    """y = 2x in two pieces (halves), a step with the interface a pair needs."""

    def __init__(self, src, dst):
        self.inputs, self.outputs = [src], [dst]

    def _halves(self, a, out):
        k = len(a) // 2
        return [lambda: np.multiply(a[:k], 2, out=out[:k]), lambda: np.multiply(a[k:], 2, out=out[k:])]

    def forward_pieces(self, xs):
        y = np.empty_like(xs[0])
        return [y], None, self._halves(xs[0], y)

    def backward_pieces(self, dys, cache):
        dx = np.empty_like(dys[0])
        return [dx], self._halves(dys[0], dx)


def test_a_member_no_gradient_reached_is_skipped(monkeypatch):
    monkeypatch.setenv("NUMDREAM_THREADS", "2")
    pair = SideBySideStep(_Double("x", "a"), _Double("y", "b"))
    with threads.own_cores():
        ys, cache = pair.forward([np.ones(4), np.full(4, 5.0)])
        dxs = pair.backward([None, np.ones(4)], cache)
    np.testing.assert_array_equal(ys[0], 2.0)
    np.testing.assert_array_equal(ys[1], 10.0)
    assert dxs[0] is None and np.array_equal(dxs[1], [2.0] * 4)


def test_a_gradient_that_reaches_one_branch_only(model64):
    """A target inside a module: the backward reaches only one member of a pair (the 5x5's
    output feeds nothing the objective reads), and the model skips the other."""
    x = _x(model64)
    until = ["conv2d_10", "conv2d_8"]  # mixed0's first 3x3 of the double branch, and the 5x5
    assert any(isinstance(s, SideBySideStep) and s.first.conv.name == "conv2d_10"
               for s in model64._plan(model64._node_names(until)))
    acts, tape = model64.forward(x, until)
    dx = model64.backward({"conv2d_10": acts["conv2d_10"]}, tape)
    plain = load_model(dtype=np.float64, fuse=False)
    acts_p, tape_p = plain.forward(x, until)
    dx_p = plain.backward({"conv2d_10": acts_p["conv2d_10"]}, tape_p)
    np.testing.assert_allclose(dx, dx_p, rtol=1e-10, atol=1e-10 * np.abs(dx_p).max())
