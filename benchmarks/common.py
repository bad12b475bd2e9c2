"""Shared helpers of the benchmarks: timing, the GEMM peak, FLOP counts, peak memory."""
import argparse
import os
import statistics
import sys
import time

import numpy

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))


def median_time(fn, repeats):
    """Median wall time of fn() over ``repeats`` calls (after one warm-up call)."""
    fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def gemm_peak(n=2048, repeats=5):
    """This machine's float32 GEMM throughput through numpy's BLAS, in GFLOP/s."""
    a = numpy.random.default_rng(0).standard_normal((n, n), dtype=numpy.float32)
    return 2 * n ** 3 / median_time(lambda: a @ a, repeats) / 1e9


def conv_flops(model, hw, until):
    """FLOPs of one step: forward convolutions to ``until`` plus their input-gradient GEMMs (2x)."""
    shapes = model.output_shapes(hw, until)
    total = 0
    for name, (oh, ow) in shapes.items():
        node = model.nodes[name]
        if node.op == "conv2d":
            o, c, kh, kw = node.params["w"].shape
            total += 2 * o * c * kh * kw * oh * ow
    return 2 * total


def machine():
    """One line naming the machine: CPU model, core count, BLAS threads."""
    model = "unknown CPU"
    try:
        with open("/proc/cpuinfo") as f:
            model = next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return f"{model}, {os.cpu_count()} cores, numpy {numpy.__version__} ({blas_kernels()})"


def blas_kernels():
    """numpy's BLAS and the kernel set it runs, e.g. 'OpenBLAS 0.3.31, Haswell kernels': an
    OpenBLAS on AVX2 kernels does half the float32 work per cycle of one on AVX-512 kernels
    (PyTorch's oneDNN picks its own), so GEMM-bound ratios depend on it."""
    from threadpoolctl import threadpool_info  # numdream's dependency; here so common stays light
    libs = [lib for lib in threadpool_info() if lib.get("user_api") == "blas"]
    if not libs:
        return "BLAS unknown"
    lib = libs[0]
    name = {"openblas": "OpenBLAS", "mkl": "MKL", "blis": "BLIS"}.get(lib.get("internal_api"), lib.get("internal_api"))
    text = f"{name} {lib.get('version')}"
    if lib.get("architecture"):
        text += f", {lib['architecture']} kernels"
    if os.environ.get("OPENBLAS_CORETYPE"):
        text += f" (OPENBLAS_CORETYPE={os.environ['OPENBLAS_CORETYPE']} in the environment)"
    return text


def size_arg(text, minimum=1):
    """argparse type for 'WxH' -> (W, H), each at least ``minimum`` pixels."""
    try:
        w, h = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"size {text!r} is not WxH, e.g. 1024x768") from None
    if w < minimum or h < minimum:
        raise argparse.ArgumentTypeError(f"size {text!r}: each side must be at least {minimum}")
    return w, h
