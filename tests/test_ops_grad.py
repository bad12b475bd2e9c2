"""Every op of numdream.ops: its backward pass against float64 central differences, over the registry's
grid (OP_CASES; feature visualisation's pairs are tests/test_featvis_grad.py's), on NumPy and on the CuPy stand-in. Element-wise and along random directions; conv2d includes
the weight and bias gradients (the registry calls it with weights=True)."""
import pytest

from numdream.gradcheck import FD_TOL
from numdream.opcases import OP_CASES as CASES, check_case


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_backward_matches_central_differences(case, xp):
    result = check_case(case, seed=0, directions=2)
    assert result.elementwise <= FD_TOL, f"{case.name}: element-wise {result}"
    assert result.directional <= FD_TOL, f"{case.name}: directional {result}"
