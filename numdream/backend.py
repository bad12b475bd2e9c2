"""The one module that knows about CuPy.

Ops never import numpy or cupy to decide where to compute: they ask
``get_array_module(x)`` for the module that owns their input (Chainer's idiom),
so the same code runs on the host and on a GPU.

Select the backend with ``NUMDREAM_BACKEND=numpy|cupy`` or ``numdream.use("cupy")``.
"""
import os
import sys

import numpy

from .errors import BackendError

BACKENDS = ("numpy", "cupy")
_active = None  # the array module that new arrays go to: numpy, or cupy after use("cupy")


def _load_cupy():
    """Import CuPy and check that it can see a GPU; raise BackendError otherwise."""
    try:
        import cupy  # noqa: the only cupy import in numdream
    except ImportError:
        raise BackendError(
            "backend 'cupy' needs CuPy, which is not installed: "
            "pip install 'numdream[gpu]', or use backend 'numpy'") from None
    try:
        count = cupy.cuda.runtime.getDeviceCount()
    except Exception as err:  # CUDARuntimeError when there is no driver
        raise BackendError(f"backend 'cupy' found no usable GPU ({err}); use backend 'numpy'") from None
    if count < 1:
        raise BackendError("backend 'cupy' found no GPU on this machine; use backend 'numpy'")
    return cupy


def use(name):
    """Make ``name`` ('numpy' or 'cupy') the backend for new arrays; return its array module."""
    global _active
    if name not in BACKENDS:
        raise BackendError(f"unknown backend {name!r}; valid backends are {', '.join(BACKENDS)}")
    _active = numpy if name == "numpy" else _load_cupy()
    return _active


def active():
    """The array module that new arrays go to (from NUMDREAM_BACKEND on first call)."""
    if _active is None:
        use(os.environ.get("NUMDREAM_BACKEND", "numpy") or "numpy")
    return _active


def get_array_module(*arrays):
    """numpy, or cupy if any of ``arrays`` is a CuPy array. Never imports CuPy itself."""
    cupy = sys.modules.get("cupy")
    if cupy is not None:
        for a in arrays:
            if isinstance(a, cupy.ndarray):
                return cupy
    return numpy


def to_device(x, dtype=None):
    """Copy a host array to the active backend (a no-op on numpy)."""
    xp = active()
    return xp.asarray(x, dtype=dtype)


def to_host(x):
    """Return ``x`` as a numpy array, copying it off the GPU if needed (for saving images)."""
    if get_array_module(x) is numpy:
        return numpy.asarray(x)
    return x.get()
