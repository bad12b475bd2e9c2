"""One DeepDream step (forward to mixed5 + input gradient) in numdream against PyTorch CPU.

    python benchmarks/bench_step.py [--repeats 5] [--sizes 299x299,512x512,1024x768]

Both engines use the same weights, the same input, the same thread count, and run in turns
in the same process, with a third: numdream's fused plan with every convolution on im2col (the
plan before Winograd), to show what Winograd saves. Each turn waits until the other engines'
threads rest (PyTorch's OpenMP threads spin for up to a second after a call, on a core the next
engine needs), makes one untimed step, then times two back to back, as a dream runs them
(common.time_in_turns). Prints medians, the ratios
to PyTorch, each engine's achieved GFLOP/s (the FLOPs of direct convolution, so Winograd's
figure is an effective rate) and its share of this machine's float32 GEMM peak; then, per size,
where each engine's step goes by kind of operation, with numdream's effective GFLOP/s per kind
(benchmarks/step_profile.py); and each engine's peak memory for a step, measured in a fresh
process (benchmarks/step_memory.py).
"""
import argparse
import json
import os
import subprocess
import sys

import numpy

from common import conv_flops, gemm_peak, machine, sizes_arg, time_in_turns

import torch  # noqa: E402  (after common, which sets up sys.path)

from numdream.model import bundled_model_path, load_model  # noqa: E402
from numdream.modelfile import read_model  # noqa: E402
from step_profile import print_numdream, print_torch, profile_numdream, profile_torch  # noqa: E402
from torch_inception import TorchInception  # noqa: E402

UNTIL = ["mixed5"]


def im2col_model():
    """The fused plan with every convolution on im2col (the plan before Winograd)."""
    return load_model(winograd=False)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--sizes", type=sizes_arg, default="299x299,512x512,1024x768", help="WxH list")
    parser.add_argument("--no-memory", action="store_true", help="skip the memory measurement")
    parser.add_argument("--no-profile", action="store_true", help="skip the time per kind of operation")
    args = parser.parse_args()
    threads = int(os.environ.get("OMP_NUM_THREADS", os.cpu_count()))
    torch.set_num_threads(threads)
    model, plain = load_model(winograd=True), im2col_model()
    twin = TorchInception(read_model(bundled_model_path()))
    peak = gemm_peak()
    print(f"machine: {machine()}; threads: {threads}; torch {torch.__version__}")
    print(f"float32 GEMM peak (numpy 2048^2 matmul): {peak:.0f} GFLOP/s\n")
    print(f"{'size':>9}  {'GFLOP':>6}  {'numdream s':>10}  {'im2col s':>8}  {'torch s':>8}  {'ratio':>5}  "
          f"{'im2col ratio':>12}  {'numdream GF/s':>13}  {'torch GF/s':>10}")
    rng = numpy.random.default_rng(0)
    inputs = {}
    for w, h in args.sizes:
        text = f"{w}x{h}"
        image = rng.integers(0, 256, (h, w, 3), dtype=numpy.uint8)
        x = model.preprocess(image)
        xt = torch.from_numpy(numpy.array(x))
        inputs[text] = (x, xt)

        def step(m):
            acts, tape = m.forward(x, UNTIL)
            return m.backward(acts, tape)  # L2 objective: the gradient is the activation itself

        t_ours, t_plain, t_torch = time_in_turns(
            [lambda: step(model), lambda: step(plain), lambda: twin.step(xt, UNTIL)], args.repeats)
        flops = conv_flops(model, (h, w), UNTIL)
        print(f"{text:>9}  {flops / 1e9:6.1f}  {t_ours:10.3f}  {t_plain:8.3f}  {t_torch:8.3f}  "
              f"{t_ours / t_torch:5.2f}  {t_plain / t_torch:12.2f}  "
              f"{flops / t_ours / 1e9:6.0f} ({100 * flops / t_ours / 1e9 / peak:3.0f}%)  "
              f"{flops / t_torch / 1e9:4.0f} ({100 * flops / t_torch / 1e9 / peak:3.0f}%)")
    if not args.no_profile:
        for text, (x, xt) in inputs.items():
            print_numdream(*profile_numdream(model, x, UNTIL, args.repeats), text)
            print_torch(*profile_torch(twin, xt, UNTIL, args.repeats), text)
    if not args.no_memory:
        print_memory([f"{w}x{h}" for w, h in args.sizes])


def step_memory(engine, size):
    script = os.path.join(os.path.dirname(os.path.abspath(__file__)), "step_memory.py")
    out = subprocess.run([sys.executable, script, engine, size], capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])["step_mb"]


def print_memory(sizes):
    print("\npeak memory of stepping (RSS above libraries + weights + input, fresh process each):")
    print("(numdream's includes its plan, built in the first step: Winograd's transformed weights)")
    print(f"{'size':>9}  {'numdream MB':>11}  {'im2col MB':>9}  {'growth':>6}  {'torch MB':>8}")
    for size in sizes:
        ours, plain = step_memory("numdream", size), step_memory("im2col", size)
        print(f"{size:>9}  {ours:11.0f}  {plain:9.0f}  {100 * (ours / plain - 1):5.0f}%  "
              f"{step_memory('torch', size):8.0f}")


if __name__ == "__main__":
    main()
