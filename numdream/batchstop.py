"""How a batch stops on Ctrl-C: one line from numdream, none from its Dask workers.

A terminal sends Ctrl-C (SIGINT) to every process of the command, the local cluster's workers
included; each used to die of it with a traceback of its own (69 lines for a small batch), and
its nanny to restart it. So (numdream.batch.connect puts these together):
- dask_setup: every worker ignores SIGINT once it runs (the cluster preloads this module);
- workers_silent: workers start with their stderr on /dev/null, for what a worker says before
  dask_setup runs or as it is stopped by force (its failures still reach the user, as the task
  errors that the parent reports);
- interrupts_held: a Ctrl-C while the cluster starts is held until it has, so that no half-made
  cluster is left for Dask's exit hook to fail on;
- quiet_when_interrupted: on Ctrl-C the parent closes every worker at once (a running dream's
  output is written atomically, so none is left half-written under its name) with Dask's
  warnings about it kept off the terminal.
"""
import asyncio
import contextlib
import logging
import os
import signal
import sys
import threading

WORKER_STOP_WAIT = 0.5  # seconds a worker gets to stop after a Ctrl-C before its nanny kills it


def dask_setup(worker):
    """Run by Dask in every local worker process as it starts: ignore Ctrl-C (the parent stops
    the batch; a worker that died of it would be restarted by its nanny)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


@contextlib.contextmanager
def workers_silent():
    """Processes started in this block get /dev/null as stderr (they inherit the parent's fd 2)."""
    sys.stderr.flush()
    saved, silent = os.dup(2), os.open(os.devnull, os.O_WRONLY)
    os.dup2(silent, 2)
    try:
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(silent)


@contextlib.contextmanager
def interrupts_held(came):
    """Record a Ctrl-C in list ``came`` instead of raising it. Only the main thread can set a
    handler; elsewhere nothing is held."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, lambda signum, frame: came.append(signum))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


@contextlib.contextmanager
def quiet_when_interrupted():
    """Yields stop_workers(cluster), to call on Ctrl-C: close every nanny at once, its worker
    killed after WORKER_STOP_WAIT s, with Dask's loggers silenced until the block ends (after the
    cluster has closed); their levels are restored then."""
    loggers = [logging.getLogger(name) for name in ("distributed", "tornado", "asyncio")]
    levels = [logger.level for logger in loggers]

    def stop_workers(cluster):
        for logger in loggers:
            logger.setLevel(logging.CRITICAL + 1)
        nannies = list(getattr(cluster, "workers", {}).values())
        with contextlib.suppress(Exception):  # shutting down: whatever fails, the cluster closes next
            cluster.sync(_close_now, nannies)
    try:
        yield stop_workers
    finally:
        for logger, level in zip(loggers, levels):
            logger.setLevel(level)


async def _close_now(nannies):
    await asyncio.gather(*(nanny.close(timeout=WORKER_STOP_WAIT, reason="numdream-interrupted")
                           for nanny in nannies), return_exceptions=True)
