"""One reusable scratch buffer per array module, dtype and thread.

im2col columns and Winograd's tiles live only between their copy and the GEMM that reads
them, so every convolution can borrow the same buffer. Reusing it avoids fresh page-faulted
allocations of tens of megabytes at every layer of every step.

The buffer is made at least MIN_ELEMENTS long, the bound that fast/conv.py and
fast/winograd.py size their chunks by, and grows by doubling past it. Growing it to each new
largest request instead (3.88, 3.90, 3.92, 3.98 M elements, one layer after another) kept
every outgrown buffer's touched pages in the heap (fast/memory.py keeps freed memory for
reuse): 40 MB of a 299x299 step's peak. Pages of the buffer that no request reaches are
never touched, so a large first allocation costs no memory.
"""
import threading

MIN_ELEMENTS = 1 << 22  # the larger of fast/conv.CHUNK_ELEMENTS and fast/winograd.SCRATCH_ELEMENTS
# this thread's .buffers {(module, dtype): buffer} and .views {(module, dtype): {key: views of that
# buffer}}, freed with the thread
_local = threading.local()


def scratch(xp, shape, dtype):
    """An uninitialised array of ``shape``, a view of this thread's buffer (valid until its next call).

    One buffer per thread: the pieces of a convolution (fast/threads.py) fill theirs side by side.
    """
    size = 1
    for n in shape:
        size *= int(n)
    buffers = _local.__dict__.setdefault("buffers", {})
    key = (xp.__name__, dtype)  # a NumPy dtype hashes as its type (str(dtype) took 4 us a call)
    buf = buffers.get(key)
    if buf is None or buf.size < size:
        grown = max(size, MIN_ELEMENTS, 2 * buf.size if buf is not None else 0)
        # let the old buffer go before the new one is made, with every view its users kept of it
        buffers.pop(key, None)
        _local.__dict__.get("views", {}).get(key, {}).clear()
        buf = None  # its last reference here
        buf = buffers[key] = xp.empty(grown, dtype=dtype)
    return buf[:size].reshape(shape)


def scratch_views(xp, dtype):
    """A dict in which a user of this thread's buffer for (xp, dtype) keeps views of it, to make
    them once (fast/winograd_stages.py): emptied, and the views let go, when scratch() replaces
    the buffer, before the new one is allocated."""
    return _local.__dict__.setdefault("views", {}).setdefault((xp.__name__, dtype), {})
