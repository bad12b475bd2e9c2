"""Every feature-visualisation pair (parametrisations, transformations, the transform pipeline
with its draws fixed) against float64 central differences, on NumPy and on the CuPy stand-in,
against PyTorch autograd in float64 (and float32), and against its loop oracle where it has one."""
import numpy as np
import pytest

import fakecupy
from featvis_standin import fxp  # noqa: F401 (a fixture)
from numdream.backend import to_device, to_host
from numdream.featvis import naive
from numdream.featvis.cases import CASES, OPS, cases
from numdream.gradcheck import FD_TOL, check_op, compare_with_torch, rel_error


def check_case(case, seed=0, directions=3):
    inputs = [to_device(x) for x in case.inputs(seed)]
    return check_op(case.forward(), case.backward(), inputs, eps=case.eps, directions=directions, seed=seed)


def compare_case_with_torch(case, dtype="float64", seed=0):
    inputs = [to_device(x) for x in case.inputs(seed, dtype)]
    return compare_with_torch(case.forward(), case.backward(), inputs, case.torch_forward, seed=seed)

NAIVE_CASES = [c for c in CASES if c.naive_pair is not None]


def test_every_pair_has_cases_of_both_batch_sizes_and_odd_and_even_sizes():
    assert set(OPS) == {"fourier", "decorrelate", "sigmoid", "image", "pad", "crop", "scale",
                        "rotate", "pipeline"}
    for op in OPS:
        images = [c.image for c in cases(op)]
        assert {n for n, _, _, _ in images} == {1, 3}, op
        assert {h % 2 for _, _, h, _ in images} == {0, 1}, op
        assert {w % 2 for _, _, _, w in images} == {0, 1}, op


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_backward_matches_central_differences(case, fxp):
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
    y, cache = case.forward()(x)
    y_naive, cache_naive = case.forward(naive)(x)
    dy = np.random.default_rng(3).standard_normal(y.shape)
    assert rel_error(y, y_naive) <= 1e-12
    assert rel_error(case.backward()(dy, cache), case.backward(naive)(dy, cache_naive)) <= 1e-12


def test_a_pair_runs_on_the_standin_and_returns_device_arrays(fxp):
    for case in [cases("image")[0], cases("pipeline")[-1]]:
        (x,) = case.inputs()
        y, cache = case.forward()(to_device(x))
        dx = case.backward()(to_device(np.ones(y.shape)), cache)
        assert (fxp is fakecupy) == isinstance(dx, fakecupy.ndarray) == isinstance(y, fakecupy.ndarray)
        assert to_host(dx).shape == x.shape


def test_a_naive_pair_is_refused_where_there_is_none():
    with pytest.raises(ValueError, match="no pair"):
        cases("pad")[0].forward(naive)
