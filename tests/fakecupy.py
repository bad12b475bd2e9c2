"""A test-only stand-in for CuPy: device arrays that refuse to mix with NumPy.

Install it as ``sys.modules["cupy"]`` (the ``cupy_standin`` fixture in conftest.py does) and
``numdream.use("cupy")`` succeeds on a machine without a GPU. Its arrays wrap a NumPy array,
compute with NumPy underneath, and behave like CuPy where a stray ``np.`` call would bite:

- ``np.asarray(a)`` raises TypeError (``__array__`` refuses, as in CuPy): no silent copy to host.
- arithmetic mixing a device array with a NumPy array raises TypeError; Python and NumPy
  scalars (and 0-d NumPy arrays) are fine, as in CuPy.
- every ``np.`` function or ufunc called on a device array raises TypeError. This is stricter
  than CuPy, which dispatches some of them through ``__array_function__``: the stand-in exists
  to prove that ops compute with ``xp = get_array_module(x)``, never with ``np``.
- ``a.get()`` copies to a NumPy array; ``cuda.runtime.getDeviceCount()`` returns 1.
- ``fft`` is CuPy's FFT namespace (cupy.fft): numpy.fft's functions on device arrays.

The module namespace is the xp namespace: any NumPy function or ufunc (``zeros``, ``maximum``,
``concatenate``, ``take_along_axis``, ``tensordot`` ...) is delegated to NumPy with device
arrays unwrapped and results wrapped; a raw NumPy array argument is refused, except by
``asarray``/``array``, which copy host data to the "device" like CuPy does.
"""
import operator
import types

import numpy as _np

inf, nan, pi, newaxis = _np.inf, _np.nan, _np.pi, _np.newaxis


def _refuse(value):
    raise TypeError(f"fakecupy: unsupported type {type(value).__name__} mixed with device arrays "
                    "(a NumPy array reached a CuPy computation)")


def _unwrap(value):
    """Device arrays -> their NumPy data; containers recursively; host arrays refused."""
    if isinstance(value, ndarray):
        return value._a
    if isinstance(value, _np.ndarray):
        return value if value.ndim == 0 else _refuse(value)
    if isinstance(value, tuple) and hasattr(value, "_fields"):  # a namedtuple
        return type(value)(*(_unwrap(v) for v in value))
    if isinstance(value, (list, tuple)):
        return type(value)(_unwrap(v) for v in value)
    if isinstance(value, dict):
        return {k: _unwrap(v) for k, v in value.items()}
    return value


def _wrap(value):
    """NumPy results -> device arrays (scalar results become 0-d arrays, as in CuPy)."""
    if isinstance(value, (_np.ndarray, _np.generic)):
        return ndarray(_np.asarray(value))
    if isinstance(value, tuple):
        return tuple(_wrap(v) for v in value)
    if isinstance(value, list):
        return [_wrap(v) for v in value]
    return value


def _device_call(function):
    """A NumPy function or method that takes and returns device arrays."""
    def call(*args, **kwargs):
        return _wrap(function(*_unwrap(args), **_unwrap(kwargs)))
    call.__name__ = getattr(function, "__name__", "call")
    return call


def _binary(op, reflected=False):
    def method(self, other):
        other = _unwrap(other)
        return ndarray(_np.asarray(op(other, self._a) if reflected else op(self._a, other)))
    return method


def _inplace(op):
    def method(self, other):
        op(self._a, _unwrap(other))  # operator.iadd etc. on a NumPy array work in place
        return self
    return method


class ndarray:
    """A device array: NumPy data that only device code may touch."""

    __slots__ = ("_a",)
    __array_ufunc__ = None  # np.maximum(a, 0) raises; np.float64(2) * a defers to __rmul__
    __hash__ = None

    def __init__(self, data):
        if not isinstance(data, _np.ndarray):
            raise TypeError("fakecupy.ndarray wraps a numpy.ndarray; use fakecupy.asarray")
        self._a = data

    def __array__(self, *args, **kwargs):
        raise TypeError("Implicit conversion to a NumPy array is not allowed. "
                        "Please use `.get()` to construct a NumPy array explicitly.")

    def __array_function__(self, func, types, args, kwargs):
        raise TypeError(f"fakecupy: numpy.{func.__name__} called on a device array; "
                        "use xp = numdream.backend.get_array_module(x)")

    def get(self):
        """Copy to the host: a new numpy.ndarray."""
        return self._a.copy()

    def __getattr__(self, name):
        # shape, dtype, ndim, size, T, base, reshape, transpose, astype, copy, sum, argmax ...
        if name.startswith("_"):  # never expose __array_interface__ and friends
            raise AttributeError(name)
        value = getattr(self._a, name)
        return _device_call(value) if callable(value) else _wrap(value)

    def __getitem__(self, key):
        return ndarray(_np.asarray(self._a[_unwrap(key)]))

    def __setitem__(self, key, value):
        self._a[_unwrap(key)] = _unwrap(value)

    def __len__(self):
        return len(self._a)

    def __iter__(self):
        return (ndarray(_np.asarray(row)) for row in self._a)

    def __bool__(self):
        return bool(self._a)

    def __float__(self):
        return float(self._a)

    def __int__(self):
        return int(self._a)

    def __repr__(self):
        return f"fakecupy.{self._a!r}"

    def __neg__(self):
        return ndarray(-self._a)

    def __pos__(self):
        return ndarray(+self._a)

    def __abs__(self):
        return ndarray(abs(self._a))

    def __invert__(self):
        return ndarray(~self._a)

    __add__, __radd__ = _binary(operator.add), _binary(operator.add, True)
    __sub__, __rsub__ = _binary(operator.sub), _binary(operator.sub, True)
    __mul__, __rmul__ = _binary(operator.mul), _binary(operator.mul, True)
    __truediv__, __rtruediv__ = _binary(operator.truediv), _binary(operator.truediv, True)
    __floordiv__, __rfloordiv__ = _binary(operator.floordiv), _binary(operator.floordiv, True)
    __mod__, __rmod__ = _binary(operator.mod), _binary(operator.mod, True)
    __pow__, __rpow__ = _binary(operator.pow), _binary(operator.pow, True)
    __matmul__, __rmatmul__ = _binary(operator.matmul), _binary(operator.matmul, True)
    __and__, __rand__ = _binary(operator.and_), _binary(operator.and_, True)
    __or__, __ror__ = _binary(operator.or_), _binary(operator.or_, True)
    __xor__, __rxor__ = _binary(operator.xor), _binary(operator.xor, True)
    __eq__, __ne__ = _binary(operator.eq), _binary(operator.ne)
    __lt__, __le__ = _binary(operator.lt), _binary(operator.le)
    __gt__, __ge__ = _binary(operator.gt), _binary(operator.ge)
    __iadd__, __isub__ = _inplace(operator.iadd), _inplace(operator.isub)
    __imul__, __itruediv__ = _inplace(operator.imul), _inplace(operator.itruediv)
    __ipow__ = _inplace(operator.ipow)


def asarray(a, dtype=None):
    """Host or device data -> a device array (a host array is copied, like a transfer)."""
    if isinstance(a, ndarray):
        return ndarray(a._a.astype(dtype, copy=False) if dtype is not None else a._a)
    return ndarray(_np.array(a, dtype=dtype, copy=True))


def array(a, dtype=None, copy=True):
    """Like asarray, but copies device data too unless copy=False."""
    out = asarray(a, dtype)
    return ndarray(out._a.copy()) if copy and isinstance(a, ndarray) else out


def asnumpy(a):
    """Device (or host) data -> a numpy.ndarray on the host."""
    return a.get() if isinstance(a, ndarray) else _np.asarray(a)


def get_array_module(*arrays):
    return _module if any(isinstance(a, ndarray) for a in arrays) else _np


cuda = types.SimpleNamespace(runtime=types.SimpleNamespace(getDeviceCount=lambda: 1))
# cupy.fft: a module attribute, so the refusal of NumPy submodules below does not reach it
fft = types.SimpleNamespace(**{name: _device_call(getattr(_np.fft, name)) for name in
                               ("fft", "ifft", "rfft", "irfft", "fft2", "ifft2", "rfft2", "irfft2")})
# cupy.lib.stride_tricks.as_strided: views with overlapping strides (Winograd's tiles)
lib = types.SimpleNamespace(stride_tricks=types.SimpleNamespace(
    as_strided=_device_call(_np.lib.stride_tricks.as_strided)))


def __getattr__(name):
    """Every other NumPy function or ufunc, on device arrays; dtypes and constants as they are."""
    value = getattr(_np, name)
    if isinstance(value, types.ModuleType):
        raise AttributeError(f"fakecupy has no submodule {name!r}")
    if isinstance(value, type) or not callable(value):
        return value  # float32, float64, dtype ...: CuPy reuses NumPy's
    return _device_call(value)


import sys as _sys  # noqa: E402

_module = _sys.modules[__name__]
