"""``numdream batch INPUT_DIR -o OUTPUT_DIR``: dream every image of a folder in parallel, on Dask."""
import sys
import time

from ..batch import dream_folder, require_dask
from ..errors import NumdreamError
from .dreamopts import add_cluster_options, add_dream_options, dream_kwargs, refuse_ignored_options, refuse_no_steps, use_backend


def add_parser(sub):
    p = sub.add_parser("batch", help="dream a folder of images in parallel (Dask)",
                       description=__doc__.split(":", 1)[1].strip() + " Each image is one task; finished "
                       "outputs are skipped on a re-run; failed images are listed at the end (exit 1). "
                       "Needs: pip install 'numdream[dask]'.")
    p.add_argument("input", metavar="INPUT_DIR", help="folder of images (.png, .jpg, ...; not its subfolders)")
    p.add_argument("-o", "--output", required=True, metavar="OUTPUT_DIR",
                   help="folder for the dreams, same file names (created if missing)")
    add_cluster_options(p, "worker processes of a local cluster (default: one per core)",
                        "INPUT_DIR, OUTPUT_DIR and --model paths")
    add_dream_options(p, noise=False, seed_help="seed of every image's dream (default: 0)")
    p.set_defaults(run=run, seed=0)


def run(a):
    refuse_ignored_options(a)
    refuse_no_steps(a)
    if a.scheduler and a.blas_threads:
        raise NumdreamError(f"--blas-threads {a.blas_threads} applies to a local cluster only; with "
                            "--scheduler, set OMP_NUM_THREADS/OPENBLAS_NUM_THREADS where the workers start")
    use_backend(a)
    require_dask()
    start = time.perf_counter()
    result = dream_folder(a.input, a.output, workers=a.workers, scheduler=a.scheduler, blas_threads=a.blas_threads,
                          model_path=a.model, backend_name=a.backend, progress=not a.quiet, **dream_kwargs(a, a.seed))
    for name, message in result.failed:
        print(f"numdream batch: failed: {name}: {message}", file=sys.stderr)
    if not a.quiet or result.failed:
        print(f"dreamed {len(result.dreamed)}, skipped {len(result.skipped)} already done, failed "
              f"{len(result.failed)} -> {a.output} (seed {a.seed}, {time.perf_counter() - start:.1f} s)",
              file=sys.stderr)
    return 1 if result.failed else 0
