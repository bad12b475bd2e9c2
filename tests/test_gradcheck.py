"""numdream.gradcheck as a user feature: its error measure, its checks on a user's own ops, its
PyTorch comparison (and its absence); and the registry (numdream.opcases): its coverage of the
grid, and that it sits on top of gradcheck, not beside it in a circle.

torch is imported at the top on purpose: a missing torch is an error here, never a skip.
"""
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from numdream import featvis, gradcheck as gc
from numdream import NumdreamError, opcases, ops
from numdream.featvis import terms

ROOT = Path(__file__).resolve().parents[1]


def _square(x):
    return x * x, x


def _square_backward(dy, x):
    return 2 * x * dy


def _mul(a, b):
    return a * b, (a, b)


def test_rel_error_is_worst_element_over_largest_magnitude():
    assert gc.rel_error(np.array([1.0, -2.0]), np.array([1.0, -2.2])) == pytest.approx(0.2 / 2.2)
    assert gc.rel_error(np.zeros(3), np.zeros(3)) == 0.0
    a = np.ones(10000)
    b = a.copy()
    b[17] += 1e-3  # one wrong element is not averaged away...
    assert gc.rel_error(a, b) == pytest.approx(1e-3 / 1.001)
    assert gc.rel_l2_error(a, b) == pytest.approx(1e-5, rel=1e-3)  # ...as it is by the L2 version
    tiny = np.array([1.0, 1e-20])  # ...and a tiny entry cannot blow it up
    assert gc.rel_error(tiny, np.array([1.0, 2e-20])) == pytest.approx(1e-20)


def test_numerical_gradient_of_a_known_function_restores_x():
    x = np.linspace(-1, 2, 7)
    dy = np.arange(7.0)
    before = x.copy()
    grad = gc.numerical_gradient(lambda v: v ** 3, x, dy, eps=1e-5)
    np.testing.assert_allclose(grad, 3 * before ** 2 * dy, rtol=1e-8, atol=1e-9)
    np.testing.assert_array_equal(x, before)


def test_directional_derivative_of_a_known_function():
    x, v, dy = np.array([1.0, 2.0]), np.array([0.5, -1.0]), np.array([1.0, 3.0])
    numeric = gc.directional_derivative(lambda a: a ** 2, [x], [v], dy, eps=1e-5)
    assert numeric == pytest.approx(np.sum(2 * x * v * dy), rel=1e-9)


def test_check_op_passes_a_users_correct_op_and_leaves_inputs_alone():
    x = np.random.default_rng(0).standard_normal((3, 4))
    before = x.copy()
    result = gc.check_op(_square, _square_backward, [x], eps=1e-4)
    assert result.passed() and result.elementwise <= 1e-9 and result.directional <= 1e-9
    np.testing.assert_array_equal(x, before)


@pytest.mark.parametrize("elementwise", [True, False])
def test_check_op_catches_a_gradient_off_by_1e_5(elementwise):
    x = np.random.default_rng(0).standard_normal((3, 4))
    result = gc.check_op(_square, lambda dy, x: _square_backward(dy, x) * (1 + 1e-5), [x],
                         elementwise=elementwise)
    assert not result.passed()
    assert 5e-6 < result.error < 2e-5


def test_check_op_catches_lrn_without_its_scale_term():
    x = np.random.default_rng(0).standard_normal((1, 5, 3, 3))
    forward = lambda x: ops.lrn_forward(x, 5, alpha=1.0, beta=0.75, k=2.0)  # noqa: E731
    wrong = lambda dy, cache: dy * cache.scale ** -cache.beta  # noqa: E731  (the first term only)
    assert gc.check_op(forward, ops.lrn_backward, [x], eps=1e-5).passed()
    assert not gc.check_op(forward, wrong, [x], eps=1e-5).passed()


def test_check_op_several_inputs_and_wrt():
    rng = np.random.default_rng(1)
    a, b = rng.standard_normal(5), rng.standard_normal(5)
    both = gc.check_op(_mul, lambda dy, c: (dy * c[1], dy * c[0]), [a, b])
    only_b = gc.check_op(_mul, lambda dy, c: dy * c[0], [a, b], wrt=[1])
    swapped = gc.check_op(_mul, lambda dy, c: dy * c[1], [a, b], wrt=[1])
    assert both.passed() and only_b.passed() and not swapped.passed()


def test_check_op_rejects_a_gradient_of_the_wrong_shape():
    with pytest.raises(ValueError, match=r"shape \(4,\) for input 0 of shape \(3,\)"):
        gc.check_op(_square, lambda dy, x: np.zeros(4), [np.ones(3)])


def test_result_error_ignores_checks_not_run():
    assert gc.GradcheckResult(math.nan, 1e-9).error == 1e-9
    assert not gc.GradcheckResult(1e-3, math.nan).passed()


def test_compare_with_torch_passes_a_users_op_and_catches_a_wrong_one():
    x = np.random.default_rng(0).standard_normal((2, 3))
    good = gc.compare_with_torch(lambda x: (np.tanh(x), np.tanh(x)),
                                 lambda dy, y: dy * (1 - y * y), [x], torch.tanh)
    assert good.passed("float64") and good.error <= 1e-15
    wrong = gc.compare_with_torch(lambda x: (np.tanh(x), np.tanh(x)),
                                  lambda dy, y: dy * (1 - y), [x], torch.tanh)
    assert wrong.forward <= 1e-15 and wrong.backward > 0.1 and not wrong.passed("float64")


def _run(code):
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                          timeout=120)


def test_numdream_imports_without_torch_and_says_so():
    code = """
import sys
sys.modules["torch"] = None  # import torch now raises ImportError
import numdream, numdream.gradcheck as gc, numdream.opcases, numdream.ops.naive, numdream.cli.gradcheck
assert not gc.torch_available()
try:
    numdream.opcases.compare_case_with_torch(numdream.opcases.CASES[0])
except gc.TorchNotInstalled as err:
    print(err)
from numdream.cli import main
print("exit", main(["gradcheck", "--op", "relu"]))
"""
    done = _run(code)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].startswith("torch not installed")
    assert "relu" in done.stdout and done.stdout.count("torch not installed") >= 3
    assert lines[-1] == "exit 0"


def test_importing_gradcheck_does_not_import_torch():
    done = _run("import sys, numdream.gradcheck, numdream.opcases, numdream.cli.gradcheck; "
                "print('torch' in sys.modules)")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "False"


def test_gradcheck_knows_no_registry():
    """The machinery stands alone: the registry imports it, it never imports the registry back."""
    done = _run("import sys, numdream.gradcheck; "
                "print([m for m in ('numdream.opcases', 'numdream.ops.naive') if m in sys.modules])")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def _forwards(names):
    return {name[:-len("_forward")] for name in names if name.endswith("_forward")}


def test_registry_covers_every_op_and_every_featvis_pair():
    """Every op of numdream.ops has its entry in OPS; every forward/backward pair of feature
    visualisation (parametrisations, transformations, objective terms, the network's input map)
    has cases; every name listed has two configurations or more."""
    assert _forwards(ops.__all__) == set(opcases.OPS)
    featvis_pairs = _forwards(featvis.__all__) | _forwards(n for n in dir(terms) if not n.startswith("_"))
    featvis_pairs = {"pipeline" if name == "replay" else name for name in featvis_pairs}  # replays a pipeline
    assert featvis_pairs >= {"fourier", "decorrelate", "sigmoid", "image", "pad", "crop", "scale", "rotate",
                             "pipeline", "network_input", "channel", "neuron", "direction", "diversity"}
    assert set(opcases.NAMES) == set(opcases.OPS) | featvis_pairs | {"class_probability", "objective"}
    assert len(opcases.NAMES) == len(set(opcases.NAMES))
    assert all(len(opcases.cases(name)) >= 2 for name in opcases.NAMES)


def test_registry_covers_the_grid():
    by_op = {op: opcases.cases(op) for op in opcases.OPS}
    conv = by_op["conv2d"]
    assert {c.shapes[1][2:] for c in conv} >= {(1, 1), (3, 3), (5, 5), (7, 7), (1, 7), (7, 1)}
    grouped = [c for c in conv if c.kw["groups"] > 1]
    assert {c.kw["groups"] for c in grouped} >= {2, 3}
    assert {c.kw["stride"] for c in grouped} >= {(1, 1), (2, 2)}
    assert any(p[0] == p[1] > 0 and p[2] == p[3] for p in [c.kw["padding"] for c in grouped])
    assert any(p[0] != p[1] or p[2] != p[3] for p in [c.kw["padding"] for c in grouped])
    assert any(c.kw["groups"] == c.shapes[0][1] for c in grouped), "no depthwise convolution"
    strides = {c.kw["stride"] for op in ("conv2d", "max_pool2d", "avg_pool2d") for c in by_op[op]}
    assert {(1, 1), (2, 2)} <= strides
    for op in ("conv2d", "max_pool2d", "avg_pool2d"):
        paddings = [c.kw["padding"] for c in by_op[op]]
        assert any(not any(p) for p in paddings), op
        assert any(p[0] == p[1] > 0 for p in paddings), op
        assert any(p[0] != p[1] or p[2] != p[3] for p in paddings), f"{op}: no asymmetric padding"
        assert any(s[0] > 1 for s in [c.shapes[0] for c in by_op[op]]), f"{op}: no batch > 1"
        assert {c.shapes[0][2] % 2 for c in by_op[op]} == {0, 1}, f"{op}: odd and even sizes"
    for op in ("max_pool2d", "avg_pool2d"):
        assert any(c.kw["ceil_mode"] for c in by_op[op]), op
    assert {c.kw["count_include_pad"] for c in by_op["avg_pool2d"]} == {False, True}
    assert {c.kw["size"] % 2 for c in by_op["lrn"]} == {0, 1}
    assert all(c.distinct for c in by_op["max_pool2d"] + by_op["relu"])


def test_distinct_inputs_never_tie_and_stay_away_from_zero():
    (x,) = opcases.cases("max_pool2d")[0].inputs(seed=5)
    assert len(np.unique(x)) == x.size
    assert np.abs(x).min() == pytest.approx(0.05)


def test_unknown_op_names_the_valid_ones():
    with pytest.raises(NumdreamError, match="unknown op 'conv'; valid ops are conv2d, max_pool2d"):
        opcases.cases("conv")
