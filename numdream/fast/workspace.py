"""One reusable scratch buffer per array module and dtype.

im2col columns live only between their copy and the GEMM that reads them, so every
convolution can borrow the same buffer. Reusing it avoids fresh page-faulted allocations of
tens of megabytes at every layer of every step.
"""
_buffers = {}


def scratch(xp, shape, dtype):
    """An uninitialised array of ``shape``, a view of the shared buffer (valid until the next call)."""
    size = 1
    for n in shape:
        size *= int(n)
    key = (xp.__name__, str(dtype))
    buf = _buffers.get(key)
    if buf is None or buf.size < size:
        buf = _buffers[key] = xp.empty(size, dtype=dtype)
    return buf[:size].reshape(shape)

