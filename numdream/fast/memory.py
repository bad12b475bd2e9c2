"""Keep freed memory for reuse instead of handing it back to the OS after every array.

glibc serves allocations above its mmap threshold (at most 32 MB) with fresh mmap() pages and
unmaps them on free, so every large activation of every step is page-faulted and zeroed by the
kernel again. A dream allocates the same sizes step after step; raising the threshold and the
trim threshold lets those blocks be reused from the heap. Measured by benchmarks/bench_step.py:
about 5-10% of a step at 512x512. A no-op where glibc's mallopt is not available.
"""
import ctypes
import ctypes.util

M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3
_done = False


def reuse_freed_memory(threshold=1 << 30):
    """Ask glibc to serve blocks up to ``threshold`` bytes from the reusable heap (once per process)."""
    global _done
    if _done:
        return True
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        ok = libc.mallopt(M_MMAP_THRESHOLD, threshold) == 1 and libc.mallopt(M_TRIM_THRESHOLD, 2 * threshold) == 1
    except (OSError, AttributeError):
        ok = False
    _done = ok
    return ok
