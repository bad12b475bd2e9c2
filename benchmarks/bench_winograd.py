"""Winograd against im2col (numdream.fast.conv) and PyTorch, layer by layer, on InceptionV3's shapes.

    python benchmarks/bench_winograd.py [--repeats 7] [--sizes 512x512,1024x768] [--kinds 3x3]

Takes every convolution of the bundled InceptionV3 (up to mixed5) of the chosen kinds with its
real input shape at each image size (from model.output_shapes), and times its forward pass and
its input gradient in every engine: the current im2col path, each Winograd tile size, and
PyTorch (F.conv2d, torch.nn.grad.conv2d_input), numdream's on its own threads as in the fused
plan (numdream/fast/threads.py). Same weights, same thread count; the engines run
alternately in the same process, after a warm-up, and each figure is a median. Weight transforms
are done once beforehand, as a plan would cache them. Prints, per layer, milliseconds and the
ratios to im2col and to PyTorch, and how many cores other processes kept busy meanwhile (the
machine may be shared: see --wait-idle and --cpu-time), then the totals and the GEMM peak.
"""
import argparse
import os
import resource
import statistics
import time

import numpy

from common import gemm_peak, machine, sizes_arg, wait_until_threads_rest

import torch  # noqa: E402  (after common, which sets up sys.path)
import torch.nn.functional as F  # noqa: E402

from numdream import load_model, nodes  # noqa: E402
from numdream.fast import conv as fast_conv  # noqa: E402
from numdream.fast import winograd  # noqa: E402
from numdream.fast.threads import own_cores  # noqa: E402
import polyphase  # noqa: E402  (benchmarks/polyphase.py, the stride-2 experiment)

UNTIL = ["mixed5"]


def _kernel_stride(node):
    return tuple(node.params["w"].shape[2:]), nodes.spatial_stride(node)


KINDS = {  # kind -> which conv2d nodes it takes
    "3x3": lambda node: _kernel_stride(node) == ((3, 3), 1),
    "1x7": lambda node: _kernel_stride(node) in (((1, 7), 1), ((7, 1), 1)),
    "5x5": lambda node: _kernel_stride(node) == ((5, 5), 1),
    "3x3s2": lambda node: _kernel_stride(node) == ((3, 3), 2),
}


def im2col_engine(stride=1):
    def make(w, b, padding):
        def forward(x):
            return fast_conv.conv2d_forward(x, w, b, (stride, stride), padding)

        def backward(dy, x_shape):
            return fast_conv.conv2d_backward_input(dy, x_shape, w, (stride, stride), padding)
        return forward, backward
    return make


def polyphase_engine(m):
    def make(w, b, padding):
        u = polyphase.transform_weights(w, m)

        def forward(x):
            return polyphase.conv2d_forward(x, u, b, padding, m)

        def backward(dy, x_shape):
            return polyphase.conv2d_backward_input(dy, x_shape, u, padding, m)
        return forward, backward
    return make


def winograd_engine(m):
    def make(w, b, padding):
        kernel = tuple(w.shape[2:])
        u = winograd.transform_weights(w, m)

        def forward(x):
            return winograd.conv2d_forward(x, u, b, padding, m, kernel)

        def backward(dy, x_shape):
            return winograd.conv2d_backward_input(dy, x_shape, u, padding, m, kernel)
        return forward, backward
    return make


def torch_engine(stride=1):
    def make(w, b, padding):
        wt, bt = torch.from_numpy(w), torch.from_numpy(b)
        t, bo, l, r = padding
        symmetric = t == bo and l == r

        def forward(x):
            if symmetric:
                return F.conv2d(x, wt, bt, stride=stride, padding=(t, l))
            return F.conv2d(F.pad(x, (l, r, t, bo)), wt, bt, stride=stride)

        def backward(dy, x_shape):
            if symmetric:
                return torch.nn.grad.conv2d_input(x_shape, wt, dy, stride=stride, padding=(t, l))
            h, w_ = x_shape[2:]
            dxpad = torch.nn.grad.conv2d_input((x_shape[0], x_shape[1], h + t + bo, w_ + l + r), wt, dy,
                                               stride=stride)
            return dxpad[:, :, t:t + h, l:l + w_]
        return forward, backward
    return make


ENGINES = {  # kind -> [(name, factory(w, b, padding) -> (forward, backward))], im2col first, torch last
    "3x3": [("im2col", im2col_engine()), ("F2x2", winograd_engine(2)), ("F4x4", winograd_engine(4)),
            ("F6x6", winograd_engine(6)), ("torch", torch_engine())],
    "1x7": [("im2col", im2col_engine()), ("F2", winograd_engine(2)), ("F4", winograd_engine(4)),
            ("F6", winograd_engine(6)), ("torch", torch_engine())],
    "5x5": [("im2col", im2col_engine()), ("F2x2", winograd_engine(2)), ("F4x4", winograd_engine(4)),
            ("torch", torch_engine())],
    "3x3s2": [("im2col", im2col_engine(2)), ("P3x3", polyphase_engine(3)), ("P4x4", polyphase_engine(4)),
              ("P5x5", polyphase_engine(5)), ("torch", torch_engine(2))],
}


def layer_cases(model, hw, kind):
    """(node, x shape, padding) of each convolution of ``kind`` at input size hw."""
    shapes = model.output_shapes(hw, UNTIL)
    cases = []
    for name in shapes:
        node = model.nodes[name]
        if node.op == "conv2d" and KINDS[kind](node):
            in_hw = shapes[node.inputs[0]]
            cases.append((node, (1, node.params["w"].shape[1]) + tuple(in_hw), nodes.window(node, in_hw)[2]))
    return cases


def time_alternating(calls, repeats, clock=time.perf_counter):
    """Median seconds of each (library, zero-argument call), run in turn ``repeats`` times.

    Where the library changes (numpy's OpenBLAS, torch's OpenMP), the loop waits until the
    other library's threads rest (common.wait_until_threads_rest, as bench_step.py does) and
    makes one untimed call first: each library's threads keep spinning for a while after a
    call, and they slowed the other library's calls for up to 0.1-0.2 s afterwards, by 2-30x on
    2 cores (measured with a 384^2 matmul and a 96-channel 61x61 conv2d); PyTorch's spun for up
    to a second (benchmarks/torch_spin.py). Without the wait the alternation would bill each
    engine for the other's spinning threads.
    """
    for _, call in calls:
        call()
    times = [[] for _ in calls]
    last = calls[-1][0]
    for _ in range(repeats):
        for (library, call), ts in zip(calls, times):
            if library != last:
                wait_until_threads_rest()
                call()
                last = library
            start = clock()
            call()
            ts.append(clock() - start)
    return [statistics.median(ts) for ts in times]


def busy_seconds():
    """CPU seconds used by every process on the machine since boot (Linux /proc/stat)."""
    with open("/proc/stat") as f:
        ticks = [int(v) for v in f.readline().split()[1:9]]
    return (sum(ticks) - ticks[3] - ticks[4]) / os.sysconf("SC_CLK_TCK")


def own_seconds():
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def others_cores(seconds):
    """Cores that other processes kept busy over the next ``seconds``."""
    busy, own = busy_seconds(), own_seconds()
    time.sleep(seconds)
    return max(0.0, (busy_seconds() - busy) - (own_seconds() - own)) / seconds


def wait_until_idle(limit, patience=1800):
    """Wait (up to ``patience`` s) until other processes use under ``limit`` cores for 3 s."""
    deadline = time.monotonic() + patience
    while others_cores(3.0) > limit and time.monotonic() < deadline:
        pass


def on_own_cores(call, *args):
    """numdream's engines run as the fused plan runs them, on numdream's threads (fast/threads.py;
    NUMDREAM_THREADS=1 for BLAS's own); torch's tensors pass through unsplit."""
    with own_cores("numpy" if isinstance(args[0], numpy.ndarray) else "torch"):
        return call(*args)


def bench_layer(node, x_shape, padding, engines, repeats, rng, clock):
    """{engine: (forward s, backward s)} for one layer."""
    w = node.params["w"]
    b = node.params.get("b")
    b = numpy.zeros(w.shape[0], w.dtype) if b is None else b
    x = rng.standard_normal(x_shape, dtype=numpy.float32)
    made = [(name, factory(w, b, padding)) for name, factory in engines]
    y = made[0][1][0](x)
    dy = rng.standard_normal(y.shape, dtype=numpy.float32)
    xt, dyt = torch.from_numpy(x), torch.from_numpy(dy)
    calls = []
    for name, (forward, backward) in made:
        library, ins = ("torch", (xt, dyt)) if name == "torch" else ("numpy", (x, dy))
        calls += [(library, lambda f=forward, a=ins[0]: on_own_cores(f, a)),
                  (library, lambda g=backward, a=ins[1]: on_own_cores(g, a, x_shape))]
    times = time_alternating(calls, repeats, clock)
    return {name: (times[2 * i], times[2 * i + 1]) for i, (name, _) in enumerate(made)}


def bench_kind(model, hw, kind, args, rng, clock):
    """[(node, x shape, {engine: (forward s, backward s), "others": cores})] for every layer of ``kind``.

    With --wait-idle, each layer waits for a quiet machine and is measured again (up to 5
    times) while other processes used more than that many cores during its measurement.
    """
    rows = []
    for node, x_shape, padding in layer_cases(model, hw, kind):
        for _ in range(5 if args.wait_idle is not None else 1):
            if args.wait_idle is not None:
                wait_until_idle(args.wait_idle)
            busy, own, start = busy_seconds(), own_seconds(), time.perf_counter()
            result = bench_layer(node, x_shape, padding, ENGINES[kind], args.repeats, rng, clock)
            result["others"] = max(0.0, (busy_seconds() - busy) - (own_seconds() - own)) / (time.perf_counter() - start)
            if args.wait_idle is None or result["others"] <= args.wait_idle:
                break
        rows.append((node, x_shape, result))
    return rows


def print_table(kind, size, rows, names):
    print(f"\n{kind} convolutions at {size} (ms; x im2col; x torch):")
    head = f"{'layer':<10} {'C->O':>8} {'input':>9} {'pass':>4}"
    for name in names:
        head += f" {name:>8}" + ("" if name in ("im2col", "torch") else f" {'xi2c':>5} {'xtch':>5}")
    print(head + "  others")
    totals = {name: [0.0, 0.0] for name in names}
    for node, x_shape, result in rows:
        o, c = node.params["w"].shape[:2]
        for p, label in enumerate(("fwd", "bwd")):
            line = f"{node.name if p == 0 else '':<10} {f'{c}->{o}' if p == 0 else '':>8} " \
                   f"{f'{x_shape[2]}x{x_shape[3]}' if p == 0 else '':>9} {label:>4}"
            for name in names:
                t = result[name][p]
                totals[name][p] += t
                line += f" {1e3 * t:8.2f}"
                if name not in ("im2col", "torch"):
                    line += f" {t / result['im2col'][p]:5.2f} {t / result['torch'][p]:5.2f}"
            print(line + (f"  {result['others']:6.2f}" if p == 0 else ""))
    print("totals:")
    for p, label in ((0, "fwd"), (1, "bwd"), (None, "both")):
        def tot(name):
            return sum(totals[name]) if p is None else totals[name][p]
        line = f"{'':<10} {'':>8} {'':>9} {label:>4}"
        for name in names:
            line += f" {1e3 * tot(name):8.1f}"
            if name not in ("im2col", "torch"):
                line += f" {tot(name) / tot('im2col'):5.2f} {tot(name) / tot('torch'):5.2f}"
        print(line)
    best = sum(min(result[name][p] for name in names if name != "torch") for _, _, result in rows for p in (0, 1))
    print(f"best numdream engine per layer and pass: {1e3 * best:.1f} ms = {best / sum(totals['im2col']):.2f}x "
          f"im2col, {best / sum(totals['torch']):.2f}x torch")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--sizes", type=sizes_arg, default="512x512,1024x768", help="WxH list")
    parser.add_argument("--kinds", default=",".join(KINDS), help=f"comma list of {', '.join(KINDS)}")
    parser.add_argument("--wait-idle", type=float, default=None, metavar="CORES",
                        help="before each layer, wait until other processes use under CORES cores, "
                        "and measure it again if they used more meanwhile (a shared machine; e.g. 0.3)")
    parser.add_argument("--cpu-time", action="store_true", help="time CPU seconds of this process "
                        "instead of wall time: immune to other processes' load, meaningful only "
                        "with OMP_NUM_THREADS=1 (with more, BLAS threads' spinning counts too)")
    args = parser.parse_args()
    threads = int(os.environ.get("OMP_NUM_THREADS", os.cpu_count()))
    clock = time.process_time if args.cpu_time else time.perf_counter
    torch.set_num_threads(threads)
    model = load_model()
    rng = numpy.random.default_rng(0)
    busy, own, start = busy_seconds(), own_seconds(), time.perf_counter()
    print(f"machine: {machine()}; threads: {threads}; torch {torch.__version__}; "
          f"clock: {'CPU time' if args.cpu_time else 'wall time'}")
    print(f"float32 GEMM peak (numpy 2048^2 matmul): {gemm_peak():.0f} GFLOP/s")
    for w, h in args.sizes:
        text = f"{w}x{h}"
        for kind in args.kinds.split(","):
            rows = bench_kind(model, (h, w), kind, args, rng, clock)
            print_table(kind, text, rows, [name for name, _ in ENGINES[kind]])
    wall = time.perf_counter() - start
    others = max(0.0, (busy_seconds() - busy) - (own_seconds() - own)) / wall
    print(f"\nGEMM peak again at the end: {gemm_peak():.0f} GFLOP/s; other processes kept "
          f"{others:.2f} cores busy on average during the {wall:.0f} s run")


if __name__ == "__main__":
    main()
