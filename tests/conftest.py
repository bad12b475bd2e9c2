"""Shared fixtures: run op tests on NumPy and on a CuPy stand-in (tests/fakecupy.py)."""
import sys

import numpy as np
import pytest

import fakecupy
import numdream

BACKENDS = ["numpy", "cupy-standin"]


@pytest.fixture
def cupy_standin(monkeypatch):
    """The fake CuPy installed as ``cupy`` and made the active backend; numpy again afterwards."""
    monkeypatch.setitem(sys.modules, "cupy", fakecupy)
    yield numdream.use("cupy")
    numdream.use("numpy")


@pytest.fixture(params=BACKENDS)
def xp(request):
    """The array module of the backend under test: numpy, or the CuPy stand-in (active)."""
    if request.param == "numpy":
        numdream.use("numpy")
        return np
    return request.getfixturevalue("cupy_standin")
