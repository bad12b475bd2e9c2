"""One DeepDream step (forward to mixed5 + input gradient) in numdream against PyTorch CPU.

    python benchmarks/bench_step.py [--repeats 5] [--sizes 299x299,512x512,1024x768]

Both engines use the same weights, the same input, the same thread count, and run
alternately in the same process. Prints medians, the ratio numdream/PyTorch, each engine's
achieved GFLOP/s and its share of this machine's float32 GEMM peak, and each engine's peak
memory for a step, measured in a fresh process (benchmarks/step_memory.py).
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time

import numpy

from common import conv_flops, gemm_peak, machine

import torch  # noqa: E402  (after common, which sets up sys.path)

from numdream.model import bundled_model_path, load_model  # noqa: E402
from numdream.modelfile import read_model  # noqa: E402
from torch_inception import TorchInception  # noqa: E402

UNTIL = ["mixed5"]


def time_pair(step_a, step_b, repeats):
    """Alternate a and b, ``repeats`` times each after a warm-up; return both medians."""
    step_a(), step_b()
    ta, tb = [], []
    for _ in range(repeats):
        for fn, times in ((step_a, ta), (step_b, tb)):
            start = time.perf_counter()
            fn()
            times.append(time.perf_counter() - start)
    return statistics.median(ta), statistics.median(tb)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--sizes", default="299x299,512x512,1024x768", help="WxH list")
    parser.add_argument("--no-memory", action="store_true", help="skip the memory measurement")
    args = parser.parse_args()
    threads = int(os.environ.get("OMP_NUM_THREADS", os.cpu_count()))
    torch.set_num_threads(threads)
    model = load_model()
    twin = TorchInception(read_model(bundled_model_path()))
    peak = gemm_peak()
    print(f"machine: {machine()}; threads: {threads}; torch {torch.__version__}")
    print(f"float32 GEMM peak (numpy 2048^2 matmul): {peak:.0f} GFLOP/s\n")
    print(f"{'size':>9}  {'GFLOP':>6}  {'numdream s':>10}  {'torch s':>8}  {'ratio':>5}  "
          f"{'numdream GF/s':>13}  {'torch GF/s':>10}")
    rng = numpy.random.default_rng(0)
    for text in args.sizes.split(","):
        w, h = (int(v) for v in text.split("x"))
        image = rng.integers(0, 256, (h, w, 3), dtype=numpy.uint8)
        x = model.preprocess(image)
        xt = torch.from_numpy(numpy.array(x))

        def ours():
            acts, tape = model.forward(x, UNTIL)
            return model.backward(acts, tape)  # L2 objective: the gradient is the activation itself

        t_ours, t_torch = time_pair(ours, lambda: twin.step(xt, UNTIL), args.repeats)
        flops = conv_flops(model, (h, w), UNTIL)
        print(f"{text:>9}  {flops / 1e9:6.1f}  {t_ours:10.3f}  {t_torch:8.3f}  {t_ours / t_torch:5.2f}  "
              f"{flops / t_ours / 1e9:6.0f} ({100 * flops / t_ours / 1e9 / peak:3.0f}%)  "
              f"{flops / t_torch / 1e9:4.0f} ({100 * flops / t_torch / 1e9 / peak:3.0f}%)")
    if not args.no_memory:
        print_memory(args.sizes.split(","))


def step_memory(engine, size):
    script = os.path.join(os.path.dirname(os.path.abspath(__file__)), "step_memory.py")
    out = subprocess.run([sys.executable, script, engine, size], capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])["step_mb"]


def print_memory(sizes):
    print("\npeak memory of stepping (RSS above libraries + weights + input, fresh process each):")
    print(f"{'size':>9}  {'numdream MB':>11}  {'torch MB':>8}")
    for size in sizes:
        print(f"{size:>9}  {step_memory('numdream', size):11.0f}  {step_memory('torch', size):8.0f}")


if __name__ == "__main__":
    main()
