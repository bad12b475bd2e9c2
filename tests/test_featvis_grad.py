"""Every feature-visualisation pair (parametrisations, transformations, the transform pipeline
with its draws fixed) against float64 central differences, on NumPy and on the CuPy stand-in,
against PyTorch autograd in float64 (and float32), and against its loop oracle where it has one."""
import numpy as np
import pytest

import fakecupy
from numdream.backend import to_device, to_host
from numdream.featvis.cases import CASES, OPS, cases
from numdream.gradcheck import FD_TOL, rel_error
from numdream.opcases import check_case, compare_case_with_torch

NAIVE_CASES = [c for c in CASES if c.oracle is not None]


def test_every_pair_has_cases_of_both_batch_sizes_and_odd_and_even_sizes():
    assert set(OPS) == {"fourier", "decorrelate", "sigmoid", "image", "pad", "crop", "scale",
                        "rotate", "pipeline"}
    for op in OPS:
        images = [c.image for c in cases(op)]
        assert {n for n, _, _, _ in images} == {1, 3}, op
        assert {h % 2 for _, _, h, _ in images} == {0, 1}, op
        assert {w % 2 for _, _, _, w in images} == {0, 1}, op


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_backward_matches_central_differences(case, xp):
    result = check_case(case, seed=0, directions=2)
    assert result.elementwise <= FD_TOL, f"{case.name}: {result}"
    assert result.directional <= FD_TOL, f"{case.name}: {result}"


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_forward_and_backward_match_torch_autograd(case, dtype):
    result = compare_case_with_torch(case, dtype, seed=1)
    assert result.passed(dtype), f"{case.name} {dtype}: {result}"


@pytest.mark.parametrize("case", NAIVE_CASES, ids=lambda c: c.name)
def test_fast_pair_matches_its_loop_oracle(case):
    (x,) = case.inputs(seed=2)
    fast, oracle = case.pair(), case.pair(oracle=True)
    y, cache = fast.forward(x)
    y_naive, cache_naive = oracle.forward(x)
    dy = np.random.default_rng(3).standard_normal(y.shape)
    assert rel_error(y, y_naive) <= 1e-12
    assert rel_error(fast.backward(dy, cache), oracle.backward(dy, cache_naive)) <= 1e-12


def test_a_pair_runs_on_the_standin_and_returns_device_arrays(xp):
    for case in [cases("image")[0], cases("pipeline")[-1]]:
        (x,) = case.inputs()
        forward, backward = case.pair()
        y, cache = forward(to_device(x))
        dx = backward(to_device(np.ones(y.shape)), cache)
        assert (xp is fakecupy) == isinstance(dx, fakecupy.ndarray) == isinstance(y, fakecupy.ndarray)
        assert to_host(dx).shape == x.shape


def test_a_naive_pair_is_refused_where_there_is_none():
    with pytest.raises(ValueError, match="pad .* has no loop oracle"):
        cases("pad")[0].pair(oracle=True)
