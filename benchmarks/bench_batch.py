"""Batch scaling on Dask: the same 16 images dreamed by a LocalCluster of 1 and of 2 workers.

    python benchmarks/bench_batch.py                      # 1 worker x 2 BLAS threads, 2 x 1, 1 x 1
    python benchmarks/bench_batch.py --images 8 --steps 2
    python benchmarks/bench_batch.py --wait-idle          # on a shared machine: each run waits for quiet

The images are 256x256 crops of the two bundled photos; the dream is the default one (mixed3 +
mixed5, L2) cut down to 2 octaves x 3 steps. Each configuration dreams into a fresh folder through
numdream.batch.dream_folder, exactly what ``numdream batch`` runs, and the wall time includes
starting and stopping the cluster (also timed on its own). Each run also reports how many cores
other processes kept busy meanwhile, since two BLAS threads suffer badly from a shared core.
Prints figures; asserts nothing.
"""
import argparse
import os
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

from common import machine

from numdream.batch import connect, dream_folder
from numdream.images import load_image, sample_path, save_image

CONFIGS = [(1, 2), (2, 1), (1, 1)]  # (workers, BLAS threads per worker)
QUIET = 0.1  # cores used by other processes below which a run counts as undisturbed


def write_crops(folder, count, size=256):
    """``count`` size x size crops, alternating between the two samples, sliding across each."""
    photos = [load_image(sample_path(name)) for name in ("chelsea", "rocket")]
    for i in range(count):
        photo = photos[i % 2]
        h, w = photo.shape[:2]
        k, n = i // 2, (count + 1) // 2
        y = (h - size) * k // max(1, n - 1)
        x = (w - size) * (n - 1 - k) // max(1, n - 1)
        save_image(Path(folder) / f"crop_{i:02d}.png", photo[y:y + size, x:x + size].copy())


def busy_seconds():
    """CPU seconds used by every process on the machine since boot (Linux /proc/stat)."""
    with open("/proc/stat") as f:
        ticks = [int(v) for v in f.readline().split()[1:9]]
    return (sum(ticks) - ticks[3] - ticks[4]) / os.sysconf("SC_CLK_TCK")  # all but idle and iowait


def own_seconds():
    """CPU seconds used by this process and its finished children (the cluster's workers)."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def others_cores(seconds=5.0):
    """Cores that other processes kept busy over the next ``seconds``."""
    busy, own = busy_seconds(), own_seconds()
    time.sleep(seconds)
    return max(0.0, (busy_seconds() - busy) - (own_seconds() - own)) / seconds


def wait_until_idle(limit=QUIET, patience=900):
    """Wait (up to ``patience`` s) until other processes use under ``limit`` cores: the machine may be shared."""
    deadline = time.monotonic() + patience
    while others_cores() > limit and time.monotonic() < deadline:
        pass


def time_config(photos, out, workers, threads, options):
    """(seconds to start and stop the cluster alone, seconds of the whole batch, cores used by other
    processes meanwhile) for one run."""
    start = time.perf_counter()
    with connect(workers=workers, blas_threads=threads):
        pass
    overhead = time.perf_counter() - start
    busy, own = busy_seconds(), own_seconds()
    start = time.perf_counter()
    result = dream_folder(photos, out, workers=workers, blas_threads=threads, progress=False, **options)
    wall = time.perf_counter() - start
    others = max(0.0, (busy_seconds() - busy) - (own_seconds() - own)) / wall
    if result.failed or result.skipped:
        sys.exit(f"batch did not dream every image: failed {result.failed}, skipped {result.skipped}")
    return overhead, wall, others


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--images", type=int, default=16)
    parser.add_argument("--octaves", type=int, default=2)
    parser.add_argument("--steps", type=int, default=3)
    parser.add_argument("--rounds", type=int, default=3, help="runs of every configuration, interleaved")
    parser.add_argument("--wait-idle", action="store_true", help="before each run, wait until other "
                        "processes use under 0.1 core (for a shared machine)")
    args = parser.parse_args()
    options = dict(layers={"mixed3": 1.0, "mixed5": 1.0}, octaves=args.octaves, steps=args.steps, seed=0)
    print(f"machine: {machine()}")
    print(f"{args.images} images 256x256, mixed3+mixed5 L2, {args.octaves} octaves x {args.steps} steps, "
          f"{args.rounds} rounds\n")
    times = {config: [] for config in CONFIGS}
    print(f"{'round':>5}  {'workers':>7}  {'BLAS':>4}  {'startup+stop':>12}  {'batch':>7}  {'other load':>10}")
    with tempfile.TemporaryDirectory() as tmp:
        photos = Path(tmp) / "photos"
        photos.mkdir()
        write_crops(photos, args.images)
        for r in range(args.rounds):  # interleaved, so a busy spell on a shared machine hits every row
            for workers, threads in CONFIGS:
                if args.wait_idle:
                    wait_until_idle()
                out = Path(tmp) / f"out_{workers}x{threads}_{r}"
                overhead, wall, others = time_config(photos, out, workers, threads, options)
                times[(workers, threads)].append((overhead, wall, others))
                print(f"{r + 1:>5}  {workers:>7}  {threads:>4}  {overhead:>10.1f} s  {wall:>5.1f} s  "
                      f"{others:>6.2f} cores", flush=True)
    print(f"\nquiet runs only (other load < {QUIET} cores), or every run of a configuration that had none:")
    print(f"{'workers':>7}  {'BLAS':>4}  {'runs':>4}  {'startup+stop':>12}  {'batch (median)':>14}  "
          f"{'per image':>9}  {'speedup':>7}")
    summary = {}
    for config, runs in times.items():
        quiet = [run for run in runs if run[2] < QUIET]
        chosen = quiet or runs
        summary[config] = (len(quiet), len(runs), statistics.median(o for o, _, _ in chosen),
                           statistics.median(w for _, w, _ in chosen))
    base = summary[CONFIGS[0]][3]
    for (workers, threads), (quiet, count, overhead, wall) in summary.items():
        print(f"{workers:>7}  {threads:>4}  {quiet:>2}/{count}  {overhead:>10.1f} s  {wall:>12.1f} s  "
              f"{wall / args.images:>7.2f} s  {base / wall:>6.2f}x")
    print("\nspeedup: batch time of the first row / this row's; batch times include starting the cluster."
          "\nother load: cores kept busy by other processes during the run (0 on a quiet machine).")

if __name__ == "__main__":
    main()
