"""Where a step's time goes, by kind of operation: numdream's fused plan step by step, PyTorch's
operators by torch.profiler. Used by bench_step.py; runnable alone:

    python benchmarks/step_profile.py [--size 512x512] [--repeats 5]

numdream: each step of the plan is timed around its forward and its backward (wall time, so a
step's own threads are inside its figure) and filed under its kind: the convolution's kernel,
stride and engine (a fused ReLU and, in the stem, the max pool it absorbs are part of it), the
1x1 GEMM groups with their ReLUs and average pools, the lone max pools, the concats. "between
steps" is the rest of the step: summing gradients where a tensor fans out, and the loop itself.
Effective GFLOP/s counts direct convolution's FLOPs, as bench_step.py does.

PyTorch: self CPU time per aten operator, which is how the profiler splits the work.
"""
import argparse
import collections
import time

import numpy

from common import conv_flops, machine, size_arg

from numdream.fast.plan import ConvStep, MaxPoolStep, PointwiseGroupStep  # noqa: E402
from numdream.nodes import spatial_stride  # noqa: E402


def kind_of(step):
    """A short name for what a plan step computes."""
    if isinstance(step, ConvStep):
        kh, kw = step.kernel
        kernel = "1x7/7x1" if (kh, kw) in ((1, 7), (7, 1)) else f"{kh}x{kw}"
        stride = spatial_stride(step.conv)
        engine = f"Winograd F({step.tile})" if step.tile else ("GEMM" if (kh, kw) == (1, 1) else "im2col")
        return f"{kernel}{' s' + str(stride) if stride != 1 else ''} {engine}{' + max pool' if step.pool else ''}"
    if isinstance(step, PointwiseGroupStep):
        return "1x1 GEMM groups"
    if isinstance(step, MaxPoolStep):
        return "max pool"
    return step.node.op


def step_flops(step, shapes):
    """Direct convolution FLOPs of a step, forward (the backward's input gradient: the same)."""
    convs = ([step.conv] if isinstance(step, ConvStep)
             else [conv for conv, _, _ in step.members] if isinstance(step, PointwiseGroupStep) else [])
    total = 0
    for conv in convs:
        o, c, kh, kw = conv.params["w"].shape
        oh, ow = shapes[conv.name]
        total += 2 * o * c * kh * kw * oh * ow
    return total


def profile_numdream(model, x, until, repeats):
    """(rows, total seconds): rows {kind: [forward s, backward s, FLOPs, steps]} per step, medians."""
    steps = model._plan(model._node_names(until))
    shapes = model.output_shapes(x.shape[2:], until)
    times = {id(s): [[], []] for s in steps}
    for step in steps:  # time each step through instance attributes, removed afterwards
        for i, name in enumerate(("forward", "backward")):
            def timed(*args, _fn=getattr(step, name), _into=times[id(step)][i]):
                start = time.perf_counter()
                out = _fn(*args)
                _into.append(time.perf_counter() - start)
                return out
            setattr(step, name, timed)
    totals = []
    try:
        for rep in range(repeats + 1):  # the first is a warm-up
            start = time.perf_counter()
            acts, tape = model.forward(x, until)
            model.backward(acts, tape)
            totals.append(time.perf_counter() - start)
            if rep == 0:
                for fwd, bwd in times.values():
                    fwd.clear()
                    bwd.clear()
    finally:
        for step in steps:
            del step.forward, step.backward
    rows = collections.OrderedDict()
    for step in steps:
        row = rows.setdefault(kind_of(step), [0.0, 0.0, 0, 0])
        fwd, bwd = times[id(step)]
        row[0] += float(numpy.median(fwd)) if fwd else 0.0
        row[1] += float(numpy.median(bwd)) if bwd else 0.0
        row[2] += step_flops(step, shapes)
        row[3] += 1
    return rows, float(numpy.median(totals[1:]))


def print_numdream(rows, total, size):
    print(f"\nwhere numdream's step goes at {size} (each plan step timed; fwd + bwd; "
          f"FLOPs of direct convolution, fwd + input gradient):")
    print(f"{'kind':32} {'steps':>5} {'fwd ms':>7} {'bwd ms':>7} {'share':>6} {'GFLOP':>6} {'eff. GF/s':>9}")
    for kind, (fwd, bwd, flops, count) in sorted(rows.items(), key=lambda kv: -(kv[1][0] + kv[1][1])):
        rate = f"{2 * flops / (fwd + bwd) / 1e9:9.0f}" if flops else f"{'':9}"
        print(f"{kind:32} {count:5} {1000 * fwd:7.1f} {1000 * bwd:7.1f} {100 * (fwd + bwd) / total:5.1f}% "
              f"{2 * flops / 1e9:6.2f} {rate}")
    inside = sum(f + b for f, b, _, _ in rows.values())
    print(f"{'between steps':32} {'':5} {'':7} {'':7} {100 * (total - inside) / total:5.1f}%")
    print(f"{'the whole step':32} {'':5} {'':7} {'':7} {'':6} {'':6} {'':9}  {1000 * total:.1f} ms")


def profile_torch(twin, xt, until, repeats, top=8):
    """[(aten operator, self CPU seconds per step)], the largest first, and the step's wall time."""
    import torch.profiler  # here: only this function needs it
    twin.step(xt, until)
    start = time.perf_counter()
    with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU]) as prof:
        for _ in range(repeats):
            twin.step(xt, until)
    wall = (time.perf_counter() - start) / repeats
    events = [(e.key, e.self_cpu_time_total / 1e6 / repeats) for e in prof.key_averages()]
    events.sort(key=lambda kv: -kv[1])
    return events[:top], sum(t for _, t in events), wall


def print_torch(events, busy, wall, size):
    print(f"\nwhere PyTorch's step goes at {size} (torch.profiler: self time per operator, "
          f"{1000 * busy:.1f} ms in all; a profiled step took {1000 * wall:.0f} ms):")
    for name, seconds in events:
        print(f"{name:40} {1000 * seconds:8.1f} ms  {100 * seconds / busy:5.1f}%")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=size_arg, default=(512, 512), help="WxH (default 512x512)")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    import torch
    from numdream.model import bundled_model_path, load_model
    from numdream.modelfile import read_model
    from torch_inception import TorchInception
    w, h = args.size
    model = load_model(winograd=True)
    x = model.preprocess(numpy.random.default_rng(0).integers(0, 256, (h, w, 3), dtype=numpy.uint8))
    print(f"machine: {machine()}; flops of the step: {conv_flops(model, (h, w), ['mixed5']) / 1e9:.1f} GFLOP")
    print_numdream(*profile_numdream(model, x, ["mixed5"], args.repeats), f"{w}x{h}")
    twin = TorchInception(read_model(bundled_model_path()))
    print_torch(*profile_torch(twin, torch.from_numpy(numpy.array(x)), ["mixed5"], args.repeats), f"{w}x{h}")


if __name__ == "__main__":
    main()
