"""A dream step's tiles side by side, one whole tile per core, instead of one after another with
every layer of each split across the cores.

A tile's network pass is independent of the others' (numdream.dream.objective_gradient sums
their values and writes their gradients into disjoint parts of one array). Split across two
cores, a pass of a dream's tile spends a fifth more core time than on one before the cores
even meet (each layer's pieces make as many NumPy calls on half the data; at 366x274 a pass
took 93 ms unsplit on one thread, 101 split in two on one thread, and 120 ms of CPU split on
two), and the cores wait at every layer's join. Whole tiles side by side make no more calls
than one core would and wait once per round: one step of the default dream's octaves took
0.81-0.95x as long (benchmarks/bench_tiles.py, benchmarks/README.md). The price is memory: one
tile's activations per core at once (numdream.estimate counts them: at_once).

Tiles that do not fill a round (the last of three on two cores; a step of one tile) run one
after another, split across the cores as before, and so do all tiles of the readable plan
(fuse=False keeps BLAS's own threads) and of an objective that says its calls may not overlap
(Objective.concurrent_tiles).
"""
from .threads import configured_workers, own_cores, run_pieces, workers


def _cores(cores=None):
    """The cores tiles may take: ``cores``, else threads.workers() inside own_cores(), else
    configured_workers() (what a dream about to start will have)."""
    if cores is not None:
        return cores
    return workers() if workers() > 1 else configured_workers()


def side_by_side(count, enabled=True, cores=None):
    """How many of ``count`` tiles run side by side: the largest multiple of the cores, or 0."""
    cores = _cores(cores)
    return count - count % cores if enabled and cores > 1 and count >= cores else 0


def at_once(count, enabled=True, cores=None):
    """How many of ``count`` tiles are in flight together at most: the cores, or 1."""
    return _cores(cores) if side_by_side(count, enabled, cores) else 1


def allowed(model, objective):
    """Whether ``objective``'s tiles may run side by side on ``model``: its fused plan (the
    readable one leaves BLAS its threads) and an objective that says its calls may overlap
    (Objective.concurrent_tiles; an object that does not say is taken not to)."""
    return bool(getattr(model, "fuse", False) and getattr(objective, "concurrent_tiles", False))


def run_tiles(job, count, xp_name="numpy", enabled=True):
    """job(i) for i in range(count): where ``enabled``, the first side_by_side(count) on the
    cores, one tile each (a job runs unsplit: inside a piece, threads.own_cores() splits
    nothing), then the rest in the calling thread, each split across the cores. Returns when
    all have run. A Ctrl-C waits for the tiles running to end (a tile's pass: about 0.1-0.5 s at
    512-px tiles), then no other starts."""
    if not enabled:  # as before: each pass enters its model's own cores, or leaves BLAS alone
        for i in range(count):
            job(i)
        return
    with own_cores(xp_name):
        together = side_by_side(count, cores=workers())
        run_pieces(lambda i=i: job(i) for i in range(together))
        for i in range(together, count):
            job(i)
