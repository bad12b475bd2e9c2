"""A long video dreamed on the Dask cluster of ``numdream batch``: one task per run of frames.

    runs = chunks(total, scene_cuts(job))        # videoplan, videoloop: cuts found from the input first
    dream_runs(job, runs, model_path, workers=2, progress=bar)

The frames of a run depend on each other and are dreamed in order by one task; runs that a scene
cut separates share nothing, so they go to the workers in parallel (longest first). Each task is
videoloop.dream_run, the very function a run in one process calls, so the frames are the same
(with the same number of BLAS threads per process: see videoloop). Tasks write their frames into
the frames folder, which the calling process holds locked; a worker needs to see its path, the
video's and the model's (with --scheduler: a shared file system).
"""
import os
import time

from .batch import blas_threads_for, connect, require_dask, worker_model
from .errors import NumdreamError
from .fileio import one_line
from .flow import set_flow_threads
from .frames import frame_path, remove_frame_temps
from .videoloop import dream_run

POLL_SECONDS = 1.0  # how often the progress line counts the frames on disk


def dream_runs(job, runs, model_path=None, backend_name=None, workers=None, scheduler=None, blas_threads=None,
               progress=None):
    """Dream each (first, stop) run of ``runs`` with dream_run on a Dask cluster (a LocalCluster of
    ``workers`` processes, or ``scheduler``); returns when all are done.

    model_path: a model file the workers can read (None: the bundled model). progress: a
    videoloop.FrameProgress, shown the number of frames on disk as they appear.
    Raises NumdreamError naming the run if a task fails; the frames made stay for a re-run.
    """
    distributed = require_dask()
    runs = sorted(runs, key=lambda run: run[0] - run[1])  # the longest first: it decides when all end
    local = None if scheduler else min(workers or os.cpu_count() or 1, len(runs))
    threads = None if scheduler else blas_threads or blas_threads_for(local)  # as connect gives BLAS
    try:
        with connect(local, scheduler, blas_threads) as client:
            futures = {client.submit(run_task, job, first, stop, model_path, backend_name, threads, pure=False,
                                     key=f"video-frames-{first}-{stop}"): (first, stop) for first, stop in runs}
            _wait(distributed, futures, job, progress)
    except KeyboardInterrupt:
        remove_frame_temps(job.folder)  # a worker stopped while saving a frame leaves its temp file
        raise


def _wait(distributed, futures, job, progress):
    """Wait for every future, showing the frames on disk; raise on the first that failed."""
    pending = dict(futures)
    total = len(job.sources)
    while pending:
        time.sleep(POLL_SECONDS)
        if progress is not None:
            progress.show(sum(frame_path(job.folder, t).is_file() for t in range(total)))
        for future in [f for f in pending if f.done()]:
            first, stop = pending.pop(future)
            error = one_line(future.exception(), with_type=True) if future.status == "error" else future.result()
            if error is not None:
                for other in pending:
                    other.cancel()
                raise NumdreamError(f"dreaming frames {first} to {stop - 1} failed: {error}")


def run_task(job, first, stop, model_path, backend_name, flow_threads):
    """One task, on a worker: dream_run(job, first, stop) with the worker's model.

    flow_threads: OpenCV threads for the flow (the worker's share of the cores), or None.
    returns: None when done, or the one-line message of a user error (returned, not raised, so
    the worker does not log it as a crash)."""
    try:
        if job.flow and flow_threads:
            set_flow_threads(flow_threads)
        dream_run(job, first, stop, worker_model(model_path, backend_name))
    except NumdreamError as err:
        return str(err)
    return None

