"""A dream step's tiles side by side, one whole tile per core, instead of one after another with
every layer of each split across the cores.

A tile's network pass is independent of the others' (numdream.dream.objective_gradient sums
their values and writes their gradients into disjoint parts of one array). Split across two
cores, a pass of a dream's tile spends a fifth to two fifths more core time than on one (each
layer's pieces make as many NumPy calls on half the data, the cores trade the layer's rows, and
their Python takes turns at the GIL; benchmarks/thread_scaling.py), and the cores wait at every
layer's join. Whole tiles side by side make no more calls than one core would and wait once per
round: at 366x274, 59 against 70 ms a tile, at 512x384 101 against 113 ms (four tiles, two
threads; benchmarks/README.md). The price is memory: two tiles' activations at once.

Tiles that do not fill a round (the last of three on two cores; a step of one tile) run one
after another, split across the cores as before.
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


def run_tiles(job, count, xp_name="numpy", enabled=True):
    """job(i) for i in range(count): the first side_by_side(count) on the cores, one tile each
    (a job runs unsplit: inside a piece, threads.own_cores() splits nothing), the rest after
    them in the calling thread, each split across the cores. Returns when all have run."""
    with own_cores(xp_name):
        together = side_by_side(count, enabled, cores=workers())
        run_pieces(lambda i=i: job(i) for i in range(together))
        for i in range(together, count):
            job(i)
