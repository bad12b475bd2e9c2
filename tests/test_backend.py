"""numdream.backend: choosing NumPy or CuPy, and what happens when CuPy is missing or has no GPU."""
import sys

import numpy as np
import pytest

import fakecupy
import numdream
from numdream import backend
from numdream.errors import BackendError


@pytest.fixture(autouse=True)
def back_to_numpy(monkeypatch):
    monkeypatch.setattr(backend, "_active", backend._active)  # restored after each test
    yield
    numdream.use("numpy")


def test_cupy_not_installed(monkeypatch):
    monkeypatch.setitem(sys.modules, "cupy", None)  # import cupy now raises ImportError
    with pytest.raises(BackendError, match="needs CuPy, which is not installed.*use backend 'numpy'"):
        numdream.use("cupy")


@pytest.mark.parametrize("count, message", [(0, "found no GPU"), (RuntimeError("no driver"), "no driver")])
def test_cupy_without_a_gpu(monkeypatch, count, message):
    def get_device_count():
        if isinstance(count, Exception):
            raise count
        return count
    monkeypatch.setitem(sys.modules, "cupy", fakecupy)
    monkeypatch.setattr(fakecupy.cuda.runtime, "getDeviceCount", get_device_count)
    with pytest.raises(BackendError, match=message):
        numdream.use("cupy")


def test_unknown_backend_names_the_valid_ones():
    with pytest.raises(BackendError, match="unknown backend 'torch'; valid backends are numpy, cupy"):
        numdream.use("torch")


@pytest.mark.parametrize("value, expected", [("numpy", np), ("", np), ("cupy", fakecupy)])
def test_numdream_backend_variable_is_honoured(monkeypatch, value, expected):
    monkeypatch.setitem(sys.modules, "cupy", fakecupy)
    monkeypatch.setenv("NUMDREAM_BACKEND", value)
    monkeypatch.setattr(backend, "_active", None)
    assert backend.active() is expected
    assert backend.get_array_module(backend.to_device(np.zeros(2))) is expected


def test_bad_numdream_backend_variable(monkeypatch):
    monkeypatch.setenv("NUMDREAM_BACKEND", "gpu")
    monkeypatch.setattr(backend, "_active", None)
    with pytest.raises(BackendError, match="unknown backend 'gpu'"):
        backend.active()


def test_to_device_and_to_host_on_both_backends(xp):
    host = np.arange(6.0).reshape(2, 3)
    on_device = backend.to_device(host, dtype=np.float32)
    assert backend.get_array_module(on_device) is xp and on_device.dtype == np.float32
    back = backend.to_host(on_device)
    assert type(back) is np.ndarray
    np.testing.assert_array_equal(back, host)
    if xp is fakecupy:
        host[0, 0] = 99  # the device copy is separate from the host array
        assert backend.to_host(on_device)[0, 0] == 0


def test_get_array_module_never_imports_cupy(monkeypatch):
    monkeypatch.delitem(sys.modules, "cupy", raising=False)
    assert backend.get_array_module(np.zeros(1), 3.0) is np
    assert "cupy" not in sys.modules
