"""When the fused plan convolves through Winograd (numdream/fast/winograd.py): which layers, by a
rule measured layer by layer, and whether at all, by how BLAS will run.
"""
import os

from ..errors import NumdreamError
from .threads import BLAS_THREAD_VARIABLES, blas_runs_one_thread, configured_workers, holds_blas

# The rule measured by benchmarks/bench_winograd.py (benchmarks/README.md): every stride-1
# convolution with one of these kernels, at every InceptionV3 shape at 512x512 and 1024x768,
# ran faster through Winograd with this output tile than through im2col, at one thread and at
# two; stride-2 (benchmarks/polyphase.py) and 1x1 convolutions did not, and stay on im2col.
# F(6x6) for 3x3: against F(4x4), the sum of the ten 3x3 layers at two threads took 96.0 against
# 100.4 ms at 512x512 and 208 against 237 ms at 1024x768 (fewer tiles: 1.78 transformed values
# per output instead of 2.25, and as many fewer GEMM products). The price: its U is 64 / 9 of
# w's size against 36 / 9 (9 MB more for InceptionV3, inside the 25 % a step's memory may grow)
# and its float32 error is 1.2-1.5x F(4x4)'s (tests/test_winograd.py), 5e-6 at most per layer.
# F(6, 7) for 1x7 and 7x1, likewise: against F(4, 7), the twelve such layers at two threads took
# 32.0 against 38.0 ms at 512x512 and 66.5 against 85.6 ms at 1024x768, faster on every layer and
# pass (12 transformed values per 6 outputs instead of 10 per 4), for a float32 error 1.3-1.7x
# F(4, 7)'s, 1e-5 at most per layer. F(6x6, 5x5) and F(8x8, 3x3), which need the points 3 and
# 1/3 in both dimensions, erred by 3.3e-5 and 3.7e-5 on random float32 layers: not taken.
TILE_FOR_KERNEL = {(3, 3): 6, (5, 5): 4, (1, 7): 6, (7, 1): 6}


def default_on(environ=os.environ):
    """Whether a model's fused plan uses Winograd when load_model is not told (winograd=None).

    NUMDREAM_WINOGRAD=1 or 0 decides. Otherwise yes wherever BLAS will not run multi-threaded
    calls: numdream's own threads hold it at one thread (threads.holds_blas), or the environment
    sets it to one. With multi-threaded BLAS (NUMDREAM_THREADS=1, or no BLAS threadpoolctl can
    reach) each of Winograd's 40-70 calls per chunk waits for all its threads, and on a busy
    machine a 512x512 step took 5-30 s instead of 0.22 s. With numdream's threads a layer waits
    once: 0.21 s against im2col's 0.30 s idle, 0.61 s against 0.90 s beside two busy processes
    (benchmarks/README.md).
    """
    chosen = environ.get("NUMDREAM_WINOGRAD", "").strip().lower()
    if chosen in ("1", "0", "on", "off", "yes", "no", "true", "false"):
        return chosen in ("1", "on", "yes", "true")
    if chosen:
        raise NumdreamError(f"NUMDREAM_WINOGRAD must be 1 or 0 (on/off, yes/no, true/false), got "
                            f"{environ['NUMDREAM_WINOGRAD']!r}")
    if any(environ.get(name, "").strip() == "1" for name in BLAS_THREAD_VARIABLES) or blas_runs_one_thread():
        return True
    return configured_workers(environ) > 1 and holds_blas()


def tile_for(kernel, stride, groups=1):
    """The output tile m the fast path should use for a conv2d, or None for im2col.

    kernel: (kh, kw); stride: (sh, sw); groups: Caffe's group count (grouped ones stay on im2col).
    """
    if tuple(stride) != (1, 1) or groups != 1:
        return None
    return TILE_FOR_KERNEL.get(tuple(kernel))
