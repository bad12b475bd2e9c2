"""Peak memory of one dream step, per engine, each in a fresh process.

    python benchmarks/step_memory.py numdream 512x512
    python benchmarks/step_memory.py torch 512x512
    python benchmarks/step_memory.py im2col 512x512    (numdream with every convolution on im2col)

Prints JSON: the resident memory before any step (libraries, weights and input loaded), the peak
over two steps, and their difference: what stepping costs, allocator caches and scratch
buffers included.
"""
import json
import os
import sys

import numpy

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:0] = [HERE, os.path.join(HERE, "..")]


def current_rss_mb():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2 ** 20


def peak_rss_mb():
    """VmHWM, this process's own high-water mark. (ru_maxrss would not do: Linux carries it over
    exec from the parent, so a child of a big benchmark process reports the parent's peak.)"""
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("VmHWM:")) / 1024


def main(engine, size):
    w, h = (int(v) for v in size.split("x"))
    image = numpy.random.default_rng(0).integers(0, 256, (h, w, 3), dtype=numpy.uint8)
    from numdream.model import bundled_model_path, load_model
    model = load_model(winograd=engine != "im2col")  # im2col: the fused plan before Winograd
    x = model.preprocess(image)
    if engine == "torch":
        import torch
        from numdream.modelfile import read_model
        from torch_inception import TorchInception
        torch.set_num_threads(os.cpu_count())
        twin, xt = TorchInception(read_model(bundled_model_path())), torch.from_numpy(numpy.array(x))
        del model

        def step():
            return twin.step(xt, ["mixed5"])
    else:

        def step():
            acts, tape = model.forward(x, ["mixed5"])
            return model.backward(acts, tape)
    before = current_rss_mb()
    step()
    step()
    peak = peak_rss_mb()
    print(json.dumps({"engine": engine, "size": size, "before_mb": round(before, 1),
                      "peak_mb": round(peak, 1), "step_mb": round(peak - before, 1)}))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
