"""numdream's own threads: the fast path splits each convolution into independent pieces and runs
them on the cores itself, with BLAS on one thread inside each piece.

Why not leave the threads to BLAS, as NumPy does? Two measurements (benchmarks/README.md):
- Everything around the GEMMs (im2col's copies, Winograd's tile gathers and transforms) ran on
  one core: a step got only 1.3x faster from a second core, PyTorch's 1.6-1.9x.
- A multi-threaded BLAS call waits for all its threads. Winograd makes ~43 calls per chunk of
  a layer; when other processes hold the cores, each wait can be a scheduler time slice, and a
  512x512 step went from 0.22 s to 5-30 s. Here a layer waits once, when its pieces join.
A piece is a chunk of output rows (of an im2col or Winograd convolution), a block of output
channels (a 1x1 convolution) or of input channels (a strided convolution's input gradient), so
no two threads write the same element. Each thread has its own scratch buffer
(fast/workspace.py). NumPy's copies, ufuncs and BLAS calls release the GIL.

``own_cores()`` is entered by Model.forward/backward around the fused plan; inside it, BLAS runs
one thread (threadpoolctl, the standard way to set it for OpenBLAS, MKL and BLIS builds) and is
restored afterwards. NUMDREAM_THREADS sets the workers (1: none, BLAS keeps its own threads, the
behaviour before this module); by default the BLAS threads the environment asks for
(OMP_NUM_THREADS, OPENBLAS_NUM_THREADS or MKL_NUM_THREADS), else the CPU count, at most
MAX_WORKERS. Only NumPy arrays are split (CuPy runs on the GPU).
"""
import contextlib
import os
import threading
from concurrent.futures import ThreadPoolExecutor

BLAS_THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
MAX_WORKERS = 8
_state = threading.local()  # .workers: inside own_cores(), the pieces' thread count
_shared = {}  # the BLAS controller and the executor, made at first use


def _forget_the_pool():
    """In a forked child (multiprocessing, a Dask worker) the parent's threads do not exist: work
    submitted to their executor would wait forever, so the child makes its own."""
    _shared.pop("pool", None)
    _shared.pop("pool_size", None)


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_the_pool)


def configured_workers(environ=os.environ):
    """The threads numdream uses for its pieces: NUMDREAM_THREADS, else the BLAS threads, else
    the CPU count (at most MAX_WORKERS)."""
    for name in ("NUMDREAM_THREADS",) + BLAS_THREAD_VARIABLES:
        value = environ.get(name, "").strip()
        if value.isdigit() and int(value) >= 1:
            return min(int(value), MAX_WORKERS)
    return max(1, min(os.cpu_count() or 1, MAX_WORKERS))


def _blas():
    """threadpoolctl's handle on the BLAS libraries NumPy loaded (None if it finds none)."""
    if "blas" not in _shared:
        from threadpoolctl import ThreadpoolController  # here: it scans the loaded libraries once
        blas = ThreadpoolController().select(user_api="blas")
        _shared["blas"] = blas if blas.lib_controllers else None
    return _shared["blas"]


@contextlib.contextmanager
def own_cores(xp_name="numpy"):
    """Within: pieces run on configured_workers() threads and BLAS on one. Re-entrant."""
    if getattr(_state, "workers", None) is not None or xp_name != "numpy":
        yield
        return
    workers = configured_workers()
    blas = _blas() if workers > 1 else None
    if blas is None:  # one worker, or no BLAS to hold at one thread: BLAS keeps its own threads
        yield
        return
    _state.workers = workers
    try:
        with blas.limit(limits=1):
            yield
    finally:
        _state.workers = None


def workers():
    """How many pieces a pass should be split into here: 1 outside own_cores()."""
    return getattr(_state, "workers", None) or 1


def run_pieces(jobs):
    """Run the callables ``jobs`` (no arguments) on the workers, each taking the next job left,
    the calling thread among them; return when all are done, raising the first exception."""
    jobs = list(jobs)
    count = min(workers(), len(jobs))
    if count <= 1:
        for job in jobs:
            job()
        return
    if _shared.get("pool_size", 0) < count - 1:
        _shared["pool"] = ThreadPoolExecutor(count - 1, thread_name_prefix="numdream")
        _shared["pool_size"] = count - 1
    left, lock = iter(jobs), threading.Lock()

    def runner():
        while True:
            with lock:
                job = next(left, None)
            if job is None:
                return
            job()

    futures = [_shared["pool"].submit(_in_piece, runner) for _ in range(count - 1)]
    errors = []
    try:
        _in_piece(runner)
    except BaseException as err:  # still wait for the others: they write into shared outputs
        errors.append(err)
    for future in futures:
        try:
            future.result()
        except BaseException as err:
            errors.append(err)
    if errors:
        raise errors[0]


def _in_piece(job):
    """A piece runs with workers() == 1, so whatever it calls does not split again."""
    saved = getattr(_state, "workers", None)
    _state.workers = None
    try:
        job()
    finally:
        _state.workers = saved


def split(count, pieces):
    """[(a, b)] ranges covering [0, count) in at most ``pieces`` near-equal parts."""
    pieces = max(1, min(pieces, count))
    edges = [count * i // pieces for i in range(pieces + 1)]
    return [(a, b) for a, b in zip(edges[:-1], edges[1:]) if b > a]
