"""The CuPy stand-in (tests/fakecupy.py) with an ``fft`` namespace, for the feature-visualisation
tests: the Fourier parametrisation calls xp.fft, which real CuPy has (cupy.fft) and which the
stand-in's module namespace does not provide (it refuses NumPy submodules). Each function wraps
numpy.fft the way the stand-in wraps every NumPy function: device arrays in, device arrays out,
host arrays refused.
"""
import sys
import types

import numpy as np
import pytest

import fakecupy
import numdream

FFT_FUNCTIONS = ("fft", "ifft", "rfft", "irfft", "fft2", "ifft2", "rfft2", "irfft2")


def fft_namespace():
    return types.SimpleNamespace(**{name: fakecupy._device_call(getattr(np.fft, name))
                                    for name in FFT_FUNCTIONS})


@pytest.fixture(params=["numpy", "cupy-standin"])
def fxp(request, monkeypatch):
    """The array module under test, numpy or the stand-in with fft, made the active backend."""
    if request.param == "numpy":
        numdream.use("numpy")
        yield np
        return
    monkeypatch.setitem(sys.modules, "cupy", fakecupy)
    monkeypatch.setattr(fakecupy, "fft", fft_namespace(), raising=False)
    yield numdream.use("cupy")
    numdream.use("numpy")
