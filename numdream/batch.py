"""Dream every image of a folder in parallel on Dask: one task per image, on any cluster.

    result = dream_folder("photos/", "dreams/", workers=2, steps=5)          # a LocalCluster here
    result = dream_folder("photos/", "dreams/", scheduler="tcp://host:8786")  # an existing cluster

Each task loads the model itself (from a path every worker can read), dreams one image and
writes it atomically, so an output on disk is always finished. A re-run skips the outputs that
exist; a failed image is collected and reported at the end without stopping the others.

Dask is the optional ``dask`` extra, imported only here, by require_dask and connect.
"""
import contextlib
import functools
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path

from tqdm import tqdm

from . import backend, batchstop
from .dream import dream
from .errors import NumdreamError
from .fast.threads import BLAS_THREAD_VARIABLES
from .fileio import one_line, remove_temps_of, resolved
from .images import FORMATS, load_image, save_image
from .model import load_model
from .options import check_options

MALLOC_TRIM = "MALLOC_TRIM_THRESHOLD_"
CONNECT_TIMEOUT = "10s"  # how long to wait for --scheduler before giving up
WORKERS_PER_CORE = 4     # more worker processes than this only share the same cores


@dataclass
class BatchResult:
    """What a batch did: names dreamed now, names skipped as already done, (name, error) failures."""
    dreamed: list = field(default_factory=list)
    skipped: list = field(default_factory=list)
    failed: list = field(default_factory=list)


def require_dask():
    """The dask.distributed module, or one clear NumdreamError saying how to install it."""
    try:
        import dask.distributed as distributed  # here, not at the top: the optional dask extra
    except ImportError:
        raise NumdreamError("batches need Dask (dask.distributed), which is not installed; "
                            "run: pip install 'numdream[dask]'") from None
    return distributed


def todo_and_done(input_dir, output_dir):
    """(todo, skipped): todo lists (source, output) path pairs, skipped the outputs that exist.

    Images are the files of ``input_dir`` (not its subfolders) with an extension save_image can
    write (.png, .jpg, ...); each output keeps its input's name in ``output_dir``.
    """
    input_dir, output_dir = resolved(input_dir), resolved(output_dir)
    if not input_dir.is_dir():
        raise NumdreamError(f"input folder {str(input_dir)!r} does not exist or is not a folder")
    if output_dir == input_dir:
        raise NumdreamError(f"output folder {str(output_dir)!r} is the input folder; choose another "
                            "so no input is overwritten")
    sources = sorted(p for p in input_dir.iterdir()
                     if p.is_file() and not p.name.startswith(".") and p.suffix.lower() in FORMATS)
    if not sources:
        raise NumdreamError(f"no images in {str(input_dir)!r}; valid extensions are {', '.join(FORMATS)}")
    todo, skipped = [], []
    for source in sources:
        target = output_dir / source.name
        (skipped if target.exists() else todo).append((source, target))
    return todo, [target for _, target in skipped]


@functools.lru_cache(maxsize=2)
def worker_model(model_path, backend_name):
    """The model of this worker process, read once per process from ``model_path``."""
    if backend_name:
        backend.use(backend_name)
    return load_model(model_path)


def dream_file(source, output, model_path=None, backend_name=None, options=None):
    """One task: dream image file ``source`` into ``output`` (atomically). Runs on a worker.

    model_path: a model file the worker can read (None: the worker's bundled InceptionV3).
    options: dream() keyword arguments (targets and options).
    returns: None when done, or the one-line message of a user error (a corrupt image, say),
    which is returned rather than raised so the worker does not log it as a crash.
    """
    try:
        model = worker_model(model_path, backend_name)
        save_image(output, dream(str(source), model=model, progress=False, **(options or {})))
    except NumdreamError as err:
        return str(err)
    return None


def blas_threads_for(workers):
    """BLAS threads per worker: the cores shared out, one or two each."""
    return max(1, min(2, (os.cpu_count() or 1) // workers))


def check_workers(workers, blas_threads):
    """Refuse more local worker processes than WORKERS_PER_CORE a core, or more BLAS threads per
    worker than cores: each costs a process (or a thread) and its memory, for no speed."""
    cores = os.cpu_count() or 1
    for name, value, most in (("workers", workers, WORKERS_PER_CORE * cores), ("blas_threads", blas_threads, cores)):
        if value is not None and (isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= most):
            raise NumdreamError(f"{name} must be a whole number from 1 to {most} on this machine's {cores} "
                                f"cores, got {value!r}")


@contextlib.contextmanager
def connect(workers=None, scheduler=None, blas_threads=None):
    """A dask Client: to ``scheduler`` if given, else to a new LocalCluster of ``workers`` processes.

    A local cluster listens on loopback only; each worker process runs one task at a time with
    ``blas_threads`` BLAS threads (default: blas_threads_for(workers)) so the workers do not
    oversubscribe the cores. The cluster is shut down on exit.
    """
    distributed = require_dask()
    if scheduler:
        try:
            client = distributed.Client(scheduler, timeout=CONNECT_TIMEOUT)
        except (OSError, TimeoutError, ValueError) as err:
            raise NumdreamError(f"cannot connect to the Dask scheduler {scheduler!r}: {err}") from None
        with client:
            yield client
        return
    import dask  # the optional dask extra, as in require_dask (which has just succeeded)
    check_workers(workers, blas_threads)
    workers = workers or os.cpu_count() or 1
    threads = blas_threads or blas_threads_for(workers)
    spawn_env = {name: str(threads) for name in BLAS_THREAD_VARIABLES}
    saved = {name: os.environ.get(name) for name in [*spawn_env, MALLOC_TRIM]}
    # A nanny gives a worker its pre-spawn environment (where a value already in os.environ wins
    # over dask's config) just before spawning it, the only moment the worker's BLAS can still
    # see it; so os.environ holds our values while the cluster starts, then gets its own back.
    os.environ.update(spawn_env)
    # Dask's MALLOC_TRIM_THRESHOLD_ also freezes glibc's mmap threshold, so every large temporary
    # of a dream becomes a fresh mmap, zero-filled page by page: 7x the page faults and ~40 % more
    # time per image before the fused model set mallopt itself, and still so for code that does
    # not (benchmarks/README.md). The workers keep glibc's adaptive default.
    os.environ.pop(MALLOC_TRIM, None)
    came = []  # a Ctrl-C while the cluster starts, held back so that the start is not cut in half
    try:
        with dask.config.set({f"distributed.nanny.pre-spawn-environ.{MALLOC_TRIM}": None,
                              "distributed.worker.preload": [batchstop.__name__]}), \
                batchstop.workers_silent(), batchstop.interrupts_held(came):
            cluster = distributed.LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                                               host="127.0.0.1", dashboard_address=None)
    except (OSError, RuntimeError, TimeoutError) as err:
        if came:  # the workers died of the Ctrl-C as they started
            raise KeyboardInterrupt from None
        raise NumdreamError(f"cannot start a local Dask cluster of {workers} workers: {one_line(err)}") from None
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
    with batchstop.quiet_when_interrupted() as stop_workers, cluster, distributed.Client(cluster) as client:
        try:
            if came:
                raise KeyboardInterrupt
            yield client
        except KeyboardInterrupt:
            stop_workers(cluster)
            raise


def dream_folder(input_dir, output_dir, workers=None, scheduler=None, blas_threads=None, model_path=None,
                 backend_name=None, progress=True, **options):
    """Dream every image of ``input_dir`` into ``output_dir`` with the same options, on Dask.

    output_dir is created (one level) if missing. options: dream() keyword arguments.
    returns: BatchResult; failures are collected, never raised.
    """
    check_workers(workers, blas_threads)
    todo, skipped = todo_and_done(input_dir, output_dir)
    output_dir = Path(output_dir)
    if not output_dir.is_dir():
        if output_dir.exists() or not output_dir.parent.is_dir():
            raise NumdreamError(f"cannot make output folder {str(output_dir)!r}: "
                                + ("a file has that name" if output_dir.exists()
                                   else f"folder {str(output_dir.parent)!r} does not exist"))
        output_dir.mkdir()
    _check_options(model_path, options)
    result = BatchResult(skipped=[p.name for p in skipped])
    if not todo:
        return result
    # workers may run elsewhere, in another folder: give them absolute paths
    model_path = str(resolved(model_path)) if model_path else None
    if isinstance(options.get("guide"), (str, os.PathLike)):
        options = dict(options, guide=str(resolved(options["guide"])))
    distributed = require_dask()
    workers = min(workers or os.cpu_count() or 1, len(todo)) if not scheduler else None  # no idle processes
    bar = None
    try:
        with connect(workers, scheduler, blas_threads) as client:
            futures = {client.submit(dream_file, str(src), str(dst), model_path, backend_name, options,
                                     pure=False, key=f"dream-{src.name}-{i}"): src.name
                       for i, (src, dst) in enumerate(todo)}
            bar = tqdm(total=len(futures), desc="batch", unit="image", file=sys.stderr, disable=not progress)
            for future in distributed.as_completed(futures):
                name = futures[future]
                error = _describe_error(future.exception()) if future.status == "error" else future.result()
                if error is None:
                    result.dreamed.append(name)
                else:
                    result.failed.append((name, error))
                bar.update()
    except KeyboardInterrupt:
        for _, target in todo:  # a worker stopped while writing leaves its temp file
            remove_temps_of(target)
        raise
    finally:
        if bar is not None:
            bar.close()
    result.dreamed.sort()
    result.failed.sort()
    return result


def _check_options(model_path, options):
    """Fail once, here, on what would make every task fail: a bad model, layer, option or guide."""
    check_options(options)
    model = load_model(model_path)
    layers = options.get("layers") or {}
    for name in [layers] if isinstance(layers, str) else layers:
        model.layer(name)
    if options.get("guide") is not None:
        load_image(options["guide"])


def _describe_error(err):
    """One line for an exception a task raised (not a user error: a crash, a lost worker)."""
    return one_line(err, with_type=True)
