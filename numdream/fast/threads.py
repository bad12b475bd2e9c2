"""numdream's own threads: the fast path splits each convolution into independent pieces and runs
them on the cores itself, with BLAS on one thread inside each piece.

Why not leave the threads to BLAS, as NumPy does? Two measurements (benchmarks/README.md):
- Everything around the GEMMs (im2col's copies, Winograd's tile gathers and transforms, the
  pools) ran on one core: a 224x224 feature-visualisation step went from 66 to 56 ms with a
  second BLAS thread, PyTorch's from 77 to 49 ms (benchmarks/bench_visualize.py, 2 cores).
- A multi-threaded BLAS call waits for all its threads. Winograd made ~43 BLAS calls per chunk
  of a layer then (five now); when other processes hold the cores, each wait can be a scheduler
  time slice, and a 512x512 step went from 0.22 s to 5-30 s. Here a layer waits once, when its
  pieces join.
A piece is a chunk of output rows (of an im2col or Winograd convolution; of columns too, for a
7x1 one), a block of output channels (a 1x1 convolution), of input channels (a strided
convolution's input gradient; of dy's rows into a slab of its own where the channels are too
few) or of channels (a max pool, fast/pool.py), so no two threads write the same element. Each thread has its own scratch buffer
(fast/workspace.py). NumPy's copies, ufuncs and BLAS calls release the GIL.

``own_cores()`` is entered by Model.forward/backward around the fused plan; inside it, BLAS runs
one thread (threadpoolctl, the standard way to set it for OpenBLAS, MKL and BLIS builds) and is
restored afterwards. NUMDREAM_THREADS sets the workers (1: none, BLAS keeps its own threads, the
behaviour before this module); by default the BLAS threads the environment asks for
(OMP_NUM_THREADS, OPENBLAS_NUM_THREADS or MKL_NUM_THREADS), else the CPU count, at most
MAX_WORKERS. Only NumPy arrays are split (CuPy runs on the GPU).
"""
import contextlib
import contextvars
import functools
import os
import threading
from concurrent.futures import ThreadPoolExecutor

from ..errors import NumdreamError
from .memory import reuse_freed_memory

BLAS_THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
MAX_WORKERS = 8
_state = threading.local()  # .workers: inside own_cores(), the pieces' thread count
_shared = {}  # the BLAS controller and the executor, made at first use
_holder = {"thread": None}  # BLAS's thread limit is process-wide: one thread holds it at a time
_holder_lock = threading.Lock()


def _forget_the_pool():
    """In a forked child (multiprocessing, a Dask worker) the parent's threads do not exist: work
    submitted to their executor would wait forever, so the child makes its own; a parent thread
    that held BLAS holds nothing here, and a lock it held would never be released."""
    global _holder_lock
    _shared.pop("pool", None)
    _shared.pop("pool_size", None)
    _holder["thread"] = None
    _holder_lock = threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_the_pool)


def configured_workers(environ=os.environ):
    """The threads numdream uses for its pieces: NUMDREAM_THREADS, else the BLAS threads, else
    the CPU count (at most MAX_WORKERS)."""
    chosen = environ.get("NUMDREAM_THREADS", "").strip()
    if chosen and not (chosen.isdecimal() and int(chosen) >= 1):
        raise NumdreamError(f"NUMDREAM_THREADS must be a whole number of threads >= 1, got {chosen!r}")
    for name in ("NUMDREAM_THREADS",) + BLAS_THREAD_VARIABLES:  # BLAS's own variables: as they come
        value = environ.get(name, "").strip()
        if value.isdecimal() and int(value) >= 1:
            return min(int(value), MAX_WORKERS)
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()  # taskset, containers
    return max(1, min(cores or 1, MAX_WORKERS))


def _blas():
    """threadpoolctl's handle on the BLAS libraries NumPy loaded (None if it finds none)."""
    if "blas" not in _shared:
        from threadpoolctl import ThreadpoolController  # here: it scans the loaded libraries once
        blas = ThreadpoolController().select(user_api="blas")
        _shared["blas"] = blas if blas.lib_controllers else None
    return _shared["blas"]


def blas_runs_one_thread():
    """True if the BLAS that threadpoolctl reaches already runs one thread (a one-core machine,
    or BLAS's own variables set to 1)."""
    blas = _blas()
    return blas is not None and all(lib.num_threads == 1 for lib in blas.lib_controllers)


def holds_blas():
    """True if threadpoolctl reaches a BLAS, which own_cores() can then hold at one thread
    (fast/winograd.default_on asks)."""
    return _blas() is not None


@contextlib.contextmanager
def own_cores(xp_name="numpy"):
    """Within: pieces run on configured_workers() threads and BLAS on one. Re-entrant; inside a
    piece it does nothing (a piece does not split again).

    One thread at a time holds BLAS: threadpoolctl lets only the thread that set OpenBLAS's
    process-wide limit change it back, and two holders would each restore the other's value. A
    second user thread that runs a model meanwhile runs it unsplit, on whatever BLAS has (with
    MKL or an OpenMP build, whose limits are per thread, that is BLAS's own threads).
    """
    if getattr(_state, "workers", None) is not None or xp_name != "numpy":
        yield
        return
    workers = configured_workers()
    blas = _blas() if workers > 1 else None
    me = threading.current_thread()
    with _holder_lock:
        holder = _holder["thread"]
        # free, or left held by a thread that died or by this one (an interrupt between taking
        # and releasing it): a stale hold must not keep every later call unsplit
        mine = blas is not None and (holder is None or holder is me or not holder.is_alive())
        if mine:
            _holder["thread"] = me
    if not mine:  # one worker, no BLAS to hold, or another thread holds it: BLAS keeps its threads
        yield
        return
    try:
        _state.workers = workers
        with blas.limit(limits=1):
            yield
    finally:
        try:
            with _holder_lock:
                _holder["thread"] = None
        finally:
            _state.workers = None


def workers():
    """How many pieces a pass should be split into here: 1 outside own_cores() and in a piece."""
    return getattr(_state, "workers", None) or 1


def run_pieces(jobs):
    """Run the callables ``jobs`` (no arguments) on the workers, each taking the next job left,
    the calling thread among them; return when every job is done, raising the first exception
    (a pool runner that took no job may still be finishing; it touches nothing). After an
    exception (a Ctrl-C too) no further job starts; those running finish, since they write into
    arrays the caller owns."""
    jobs = list(jobs)
    count = min(workers(), len(jobs))
    if count <= 1:
        for job in jobs:
            job()
        return
    pool = _pool(workers() - 1)
    left, lock, failed = iter(jobs), threading.Lock(), []
    took = [False] * (count - 1)  # which pool runner took a job

    def runner(index=None):
        try:
            while True:
                with lock:
                    job = None if failed else next(left, None)
                    if job is not None and index is not None:
                        took[index] = True
                if job is None:
                    return
                job()
        except BaseException as err:  # a piece's error, or a Ctrl-C anywhere in here
            failed.append(err)
            raise

    # each pool thread runs in a copy of the caller's context: NumPy's errstate lives there (a
    # dream's non-finite step is reported in one line, not as a warning from every thread)
    futures = []
    try:
        for i in range(count - 1):  # inside the try: a runner may start while the rest are submitted
            futures.append(pool.submit(contextvars.copy_context().run, _in_piece, functools.partial(runner, i)))
        _in_piece(runner)
    except BaseException as err:
        if not any(err is seen for seen in failed):
            failed.append(err)
    # No job is left to take now (or one failed, and none starts). A pool runner that took none
    # writes nothing, so it is not waited for: a pool thread still waking up (50-300 us on this
    # VM, whose idle cores halt) would otherwise hold up a small pass that the caller did alone.
    try:
        with lock:
            busy = list(took)
        for future, took_one in zip(futures, busy):
            if not took_one:
                future.cancel()  # if it has not started, the pool thread skips it when it wakes
        waited = [future for future, took_one in zip(futures, busy) if took_one]
    except BaseException as err:  # a Ctrl-C just here: wait for every runner, as before
        failed.append(err)
        waited = [future for future in futures if not future.cancelled()]
    for future in waited:  # every piece must end before the caller reads what they write
        while True:
            try:
                future.result()
                break
            except BaseException as err:
                if not (future.done() and future.exception() is err):
                    failed.append(err)  # a Ctrl-C while waiting, not the piece's own error: no new
                if future.done():      # piece starts, and the ones running are waited for
                    break
    if failed:
        raise failed[0]


def _pool(size):
    """The shared executor, of at least ``size`` threads (made once per size asked, in a lock)."""
    with _holder_lock:
        if _shared.get("pool_size", 0) < size:
            reuse_freed_memory()  # one heap for the pool's threads too: it applies to threads made after it
            _shared["pool"] = ThreadPoolExecutor(size, thread_name_prefix="numdream", initializer=_worker_started)
            _shared["pool_size"] = size
        return _shared["pool"]


def _in_piece(job):
    """A piece runs with workers() == 1 (the sentinel 1, so own_cores() inside it does nothing):
    whatever it calls does not split again."""
    saved = getattr(_state, "workers", None)
    _state.workers = 1
    try:
        job()
    finally:
        _state.workers = saved


def _worker_started():
    """Each pool thread, once: where a BLAS's thread limit is per thread (MKL, OpenMP builds of
    OpenBLAS) the caller's limit does not reach this thread, so it is set to 1 here for good (the
    thread only ever runs pieces). A process-wide limit (pthreads OpenBLAS, as in NumPy's wheels)
    is the caller's to set and restore, and is left alone."""
    blas = _blas()
    for lib in blas.lib_controllers if blas is not None else []:
        if lib.internal_api == "mkl" or getattr(lib, "threading_layer", "") == "openmp":
            try:
                lib.set_num_threads(1)
            except Exception:  # noqa: BLE001 -- a slower piece, not a broken pool
                pass


def piece_count(work, per_piece):
    """How many pieces a pass of ``work`` units should be split into, each at least ``per_piece``
    (a hand-over between threads costs tens of microseconds): 1 outside own_cores()."""
    return max(1, min(workers(), work // per_piece))


def channel_blocks(x, min_elements):
    """[(c0, c1)]: blocks of the channels of x (N, C, ...), one per piece of at least
    ``min_elements`` elements (one block outside own_cores())."""
    return split(x.shape[1], piece_count(x.size, min_elements))


def split(count, pieces):
    """[(a, b)] ranges covering [0, count) in at most ``pieces`` near-equal parts."""
    pieces = max(1, min(pieces, count))
    edges = [count * i // pieces for i in range(pieces + 1)]
    return [(a, b) for a, b in zip(edges[:-1], edges[1:]) if b > a]


def even_chunks(count, most, pieces):
    """[(a, b)] ranges covering [0, count), each at most ``most`` long (at least 1), in a multiple
    of ``pieces`` near-equal parts (where count allows).

    The fewest chunks that fit would leave threads idle at the join: 21 tile rows in chunks of at
    most 3 are 7 chunks, 4 for one thread and 3 for the other, which then waits a seventh of the
    layer. 8 chunks of 2 or 3 rows finish together (benchmarks/README.md: 32 thread-ms idle per
    512x512 step before).
    """
    fewest = -(-count // max(1, most))
    return split(count, -(-fewest // pieces) * pieces)
