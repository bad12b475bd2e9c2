"""Shared helpers of the benchmarks: timing, the GEMM peak, FLOP counts, peak memory."""
import argparse
import os
import statistics
import sys
import threading
import time

import numpy

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))


def median_time(fn, repeats, before=None):
    """Median wall time of fn() over ``repeats`` calls (after one warm-up call), each after an
    untimed before() if given."""
    fn()
    times = []
    for _ in range(repeats):
        if before is not None:
            before()
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def other_threads_cpu_seconds():
    """CPU seconds used so far by this process's threads other than the calling one (Linux's
    /proc/self/task; 0 elsewhere)."""
    me, total = str(threading.get_native_id()), 0
    try:
        tasks = os.listdir("/proc/self/task")
    except OSError:
        return 0.0
    for tid in tasks:
        if tid == me:
            continue
        try:
            with open(f"/proc/self/task/{tid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()  # after the thread's name, which may hold spaces
        except OSError:  # the thread ended meanwhile
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / os.sysconf("SC_CLK_TCK")


def wait_until_threads_rest(window=0.1, patience=5.0):
    """Wait until no other thread of this process used CPU for ``window`` s (at most ``patience`` s).

    PyTorch's OpenMP threads keep spinning after a call (libgomp's default wait policy), for up
    to about a second here: a numdream step at 366x274 took 67-69 ms alone, 72-74 ms right after
    each torch step (once 80), 87.5 ms for nine steps after a single one, and 68-71 ms after
    torch steps with OMP_WAIT_POLICY=PASSIVE (benchmarks/torch_spin.py). Timing one library
    while the other's idle threads hold a core bills it for them.
    """
    deadline = time.monotonic() + patience
    used = other_threads_cpu_seconds()
    while time.monotonic() < deadline:
        time.sleep(window)
        now = other_threads_cpu_seconds()
        if now == used:
            return True
        used = now
    return False


def time_in_turns(calls, repeats, per_turn=2):
    """Median seconds of each zero-argument call, taken in turns: ``repeats`` times, each call's
    turn waits until the other threads rest (wait_until_threads_rest), makes one untimed call
    (after a pause the cores are slow: a step 0.3 s after the last ran 24-37 % slower),
    then times ``per_turn`` calls back to back, as the steps of a dream run."""
    times = [[] for _ in calls]
    for _ in range(repeats):
        for call, ts in zip(calls, times):
            wait_until_threads_rest()
            call()
            for _ in range(per_turn):
                start = time.perf_counter()
                call()
                ts.append(time.perf_counter() - start)
    return [statistics.median(ts) for ts in times]


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


def sizes_arg(text, minimum=1):
    """argparse type for 'WxH,WxH,...' -> [(W, H), ...], each as size_arg checks it."""
    return [size_arg(part.strip(), minimum) for part in text.split(",")]
