"""Whole dreams: wall time and peak memory (RSS), each run in a fresh process.

    python benchmarks/bench_dream.py            # README's default dream, and a 3840x2160 tiled dream
    python benchmarks/bench_dream.py --only 4k

README's dream is `numdream dream` on the bundled chelsea.png (451x300) with default settings.
The 4K run dreams one octave, one step on a 3840x2160 photo (chelsea scaled up) with 512-px
tiles: the tiling keeps peak memory bounded whatever the photo's size.
"""
import argparse
import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))

CHILD = r"""
import json, sys, time
sys.path.insert(0, {root!r})
import numpy
from PIL import Image
from numdream.dream import dream, evaluate
from numdream.images import load_image, sample_path
from numdream.model import load_model
case = {case!r}
image = load_image(sample_path("chelsea"))
if case == "4k":
    image = numpy.asarray(Image.fromarray(image).resize((3840, 2160), Image.BICUBIC))
    options = dict(octaves=1, steps=1)
else:
    options = {{}}
def hwm():  # VmHWM: ru_maxrss would carry the parent's peak over exec
    return next(int(l.split()[1]) for l in open("/proc/self/status") if l.startswith("VmHWM:")) / 1024
base = hwm()
model = load_model()
start = time.perf_counter()
out = dream(image, model=model, seed=0, progress=False, **options)
seconds = time.perf_counter() - start
peak = hwm()
energy = {{}}
if case == "readme":
    energy = dict(before=evaluate(image, model=model), after=evaluate(out, model=model))
print(json.dumps(dict(case=case, size=list(image.shape[:2]), seconds=seconds, peak_mb=peak,
                      import_mb=base, **energy)))
"""


def run(case):
    code = CHILD.format(root=os.path.join(HERE, ".."), case=case)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", choices=("readme", "4k"))
    args = parser.parse_args()
    from common import machine
    print(f"machine: {machine()}")
    for case in ([args.only] if args.only else ["readme", "4k"]):
        r = run(case)
        h, w = r["size"]
        line = f"{case:>6}: {w}x{h}  {r['seconds']:6.1f} s  peak RSS {r['peak_mb']:6.0f} MB"
        if "before" in r:
            line += (f"  L2 energy of mixed3+mixed5: {r['before']:.3g} -> {r['after']:.3g} "
                     f"({r['after'] / r['before']:.1f}x)")
        print(line, flush=True)


if __name__ == "__main__":
    main()
