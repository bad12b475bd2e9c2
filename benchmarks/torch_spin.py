"""Why bench_step.py lets PyTorch's threads rest before it times numdream: one numdream step, alone
in a process, right after PyTorch steps, and after pauses.

    python benchmarks/torch_spin.py [--size 366x274] [--steps 9]

Each line is the median of --steps numdream steps (forward to mixed5 + input gradient), all in
one process except the last, which runs the same in a child process with OMP_WAIT_POLICY=PASSIVE
(libgomp reads it once, at start): there PyTorch's OpenMP threads sleep as soon as a call ends
instead of spinning on a core for up to a second. The pauses show why each turn of
common.time_in_turns makes one untimed step first: a step that starts after the cores idled
runs slower, with no other thread in the way.
"""
import argparse
import os
import subprocess
import sys
import time

import numpy

from common import machine, median_time, size_arg

import torch  # noqa: E402  (after common, which sets up sys.path)

from numdream.model import bundled_model_path, load_model  # noqa: E402
from numdream.modelfile import read_model  # noqa: E402
from torch_inception import TorchInception  # noqa: E402


def median_ms(step, steps, before=None):
    return 1000 * median_time(step, steps, before)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=lambda text: size_arg(text, minimum=75), default=(366, 274),
                        help="WxH of the step (default 366x274, a dream's tile)")
    parser.add_argument("--steps", type=int, default=9)
    parser.add_argument("--only-after-torch", action="store_true", help=argparse.SUPPRESS)  # the child's part
    args = parser.parse_args()
    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", os.cpu_count())))
    model = load_model()
    w, h = args.size
    x = model.preprocess(numpy.random.default_rng(0).integers(0, 256, (h, w, 3), dtype=numpy.uint8))
    twin = TorchInception(read_model(bundled_model_path()))
    xt = torch.from_numpy(numpy.array(x))

    def step():
        acts, tape = model.forward(x, ["mixed5"])
        model.backward(acts, tape)

    def torch_step():
        twin.step(xt, ["mixed5"])
    step()
    if args.only_after_torch:
        print(f"{median_ms(step, args.steps, torch_step):.1f}")
        return
    print(f"machine: {machine()}; a numdream step at {w}x{h}, median of {args.steps} (ms):")
    print(f"  alone in the process (torch imported, never run)   {median_ms(step, args.steps):6.1f}")
    print(f"  right after a torch step, each                     {median_ms(step, args.steps, torch_step):6.1f}")
    torch_step()
    print(f"  after one torch step, {args.steps} in a row                  {median_ms(step, args.steps):6.1f}")
    for pause in (0.01, 0.05, 0.3):
        print(f"  after a {pause:4.2f} s sleep, each                       "
              f"{median_ms(step, args.steps, lambda: time.sleep(pause)):6.1f}")
    child = subprocess.run([sys.executable, __file__, "--size", f"{w}x{h}", "--steps", str(args.steps),
                            "--only-after-torch"], env=dict(os.environ, OMP_WAIT_POLICY="PASSIVE"),
                           capture_output=True, text=True, check=True)
    print(f"  right after a torch step, OMP_WAIT_POLICY=PASSIVE  {float(child.stdout.split()[-1]):6.1f}")


if __name__ == "__main__":
    main()
