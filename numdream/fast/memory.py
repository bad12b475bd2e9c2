"""Keep freed memory for reuse instead of handing it back to the OS after every array.

glibc serves allocations above its mmap threshold (at most 32 MB) with fresh mmap() pages and
unmaps them on free, so every large activation of every step is page-faulted and zeroed by the
kernel again. A dream allocates the same sizes step after step; raising the threshold and the
trim threshold lets those blocks be reused from the heap. Measured by benchmarks/bench_step.py:
about 5-10% of a step at 512x512. A no-op where glibc's mallopt is not available.

One heap for all threads (M_ARENA_MAX 1): glibc gives each new thread its own arena, and each
arena keeps its own freed blocks, so the pieces that numdream's worker thread allocates
(fast/threads.py: pooled outputs, Winograd's outputs) were cached twice, once per arena: a
512x512 step's peak was 162 MB with two arenas against 143 MB with one (the plan on im2col: 145
against 125; benchmarks/step_memory.py), at the same speed (a step makes a few hundred large
allocations, so the shared arena's lock is never contended for long). It applies to the threads
made after this call, numdream's included.
"""
import ctypes
import ctypes.util

M_TRIM_THRESHOLD, M_MMAP_THRESHOLD, M_ARENA_MAX = -1, -3, -8
_done = False


def reuse_freed_memory(threshold=1 << 30):
    """Ask glibc to serve blocks up to ``threshold`` bytes from the reusable heap (once per process)."""
    global _done
    if _done:
        return True
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        ok = (libc.mallopt(M_MMAP_THRESHOLD, threshold) == 1 and libc.mallopt(M_TRIM_THRESHOLD, 2 * threshold) == 1
              and libc.mallopt(M_ARENA_MAX, 1) == 1)
    except (OSError, AttributeError):
        ok = False
    _done = ok
    return ok
