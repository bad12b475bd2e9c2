"""Every op against its torch.nn.functional twin, forward and backward, over the registry's grid,
on NumPy and on the CuPy stand-in: float64 rel_error <= 1e-10, float32 rel_l2_error <= 1e-5.

torch is imported at the top on purpose: without it this module errors, and CI fails rather
than skipping the comparisons.
"""
import numpy as np
import pytest
import torch

from numdream.gradcheck import TORCH_TOL
from numdream.opcases import CASES, compare_case_with_torch


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_matches_pytorch_autograd(case, dtype, xp):
    result = compare_case_with_torch(case, dtype, seed=1)
    if dtype == "float64":
        assert result.forward <= TORCH_TOL["float64"], result
        assert result.backward <= TORCH_TOL["float64"], result
    else:
        assert result.forward_l2 <= TORCH_TOL["float32"], result
        assert result.backward_l2 <= TORCH_TOL["float32"], result


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_twin_output_shape_and_dtype(case):
    """The twin itself is sound: torch agrees with numdream on the output's shape."""
    inputs = case.inputs(seed=0, dtype="float32")
    y, _ = case.pair().forward(*inputs)
    y_torch = case.torch_forward(*(torch.from_numpy(x) for x in inputs))
    assert tuple(y_torch.shape) == y.shape
    assert y_torch.dtype == torch.float32 and y.dtype == np.float32
