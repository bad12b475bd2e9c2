"""Guided dreams: how close each guide mode brings a dream to its guide, against the unguided dream.

    python benchmarks/bench_guide.py                  # five photo/guide pairs, every mode
    python benchmarks/bench_guide.py --study          # the suspects, on the rocket guided by Chelsea
    python benchmarks/bench_guide.py --figure benchmarks/figures/guide.png   # README's picture
    python benchmarks/bench_guide.py --memory         # peak RSS, 16-megapixel photo and guide

What is measured. The features of a picture are the InceptionV3 ReLU outputs, F (C, n) at n
positions, of mixed3 and mixed5 (the dream's default target layers), mixed4 (between them, NOT
optimised: a check that the dream did not just learn the metric) and mixed1 (lower, not optimised
either). The dream and the guide are each seen whole at their own size. Three similarities:

- gram: cosine similarity of the Gram matrices F F^T / n (flattened) of dream and guide,
- mean: cosine similarity of the channel means (the mean of F over positions),
- like: the mean over the dream's positions of the best cosine similarity with any guide
  position (tutorial 05's "likeness").

distance = 1 - similarity. Each dream uses the default settings (4 octaves of 10 steps, step
1.5, jitter 32, 'mean' normalisation, seed 0) on the photo scaled to 300 pixels high; the guide
is given at its own size. The summary divides each mode's distance by the unguided dream's (the
same seed): the target is a ratio of at most 0.5. The 'gram' mode optimises the Gram matrices
of mixed3 and mixed5, so its gram columns there are its own objective; mixed4 and mixed1, and
the mean and like columns, were not optimised by any mode.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time

import numpy as np
from PIL import Image, ImageDraw

from common import machine
from numdream.dream import dream, objective_gradient
from numdream.guide import interior, resize_pixels
from numdream.images import DATA_DIR, load_image
from numdream.model import load_model
from numdream.objectives import L2, Guide

HERE = os.path.dirname(os.path.abspath(__file__))
PAIRS = [("rocket", "chelsea"), ("coffee", "chelsea"), ("astronaut", "chelsea"),
         ("chelsea", "rocket"), ("astronaut", "coffee")]
MODES = ["unguided", "google", "nearest", "mean", "gram"]
METRIC_LAYERS = ["mixed1", "mixed3", "mixed4", "mixed5"]
COLUMNS = [("gram", "mixed3"), ("gram", "mixed5"), ("gram", "mixed4"), ("gram", "mixed1"),
           ("mean", "mixed4"), ("mean", "mixed1"), ("like", "mixed4")]
HELD_OUT = {"mixed4", "mixed1"}
TARGETS = {"mixed3": 1.0, "mixed5": 1.0}


def sample(name):
    return load_image(next(DATA_DIR.glob(name + ".*")))


def scaled(image, height):
    h, w = image.shape[:2]
    return np.asarray(Image.fromarray(image).resize((round(w * height / h), height), Image.LANCZOS))


def features(model, image):
    acts, _ = model.forward(model.preprocess(image), METRIC_LAYERS, keep_tape=False)
    return {k: np.asarray(v[0], np.float64).reshape(v.shape[1], -1) for k, v in acts.items()}


def _cos(a, b):
    return float((a * b).sum() / np.sqrt((a * a).sum() * (b * b).sum()))


def distances(fa, fg):
    """{(similarity, layer): 1 - similarity} of features fa (the dream) against fg (the guide)."""
    out = {}
    for layer in METRIC_LAYERS:
        a, g = fa[layer], fg[layer]
        out["gram", layer] = 1 - _cos(a @ a.T / a.shape[1], g @ g.T / g.shape[1])
        out["mean", layer] = 1 - _cos(a.mean(axis=1), g.mean(axis=1))
        ua = a / (np.linalg.norm(a, axis=0) + 1e-8)
        ug = g / (np.linalg.norm(g, axis=0) + 1e-8)
        out["like", layer] = 1 - float((ua.T @ ug).max(axis=1).mean())
    return out


def guided(model, photo, guide, mode, layers=TARGETS, **options):
    settings = dict(seed=0, progress=False)
    settings.update(options)
    if mode == "unguided":
        return dream(photo, model=model, layers=layers, **settings)
    if not isinstance(mode, str):  # an objective of the study
        return dream(photo, model=model, objective=mode, **settings)
    return dream(photo, model=model, layers=layers, objective="guide", guide=guide, guide_mode=mode, **settings)


def header():
    cols = "".join(f"{s + ' ' + l[-1] + ('*' if l in HELD_OUT else ' '):>9}" for s, l in COLUMNS)
    return f"{'':<26}{cols}   seconds"


def row(title, dist, seconds=None):
    cells = "".join(f"{dist[c]:9.3f}" for c in COLUMNS)
    return f"{title:<26}{cells}" + (f"   {seconds:6.1f}" if seconds is not None else "")


def run_pairs(model, height):
    print("distance = 1 - similarity to the guide (* = a layer no mode optimises)")
    print(header())
    ratios = {mode: [] for mode in MODES[1:]}
    for photo_name, guide_name in PAIRS:
        photo, guide = scaled(sample(photo_name), height), sample(guide_name)
        fg = features(model, guide)
        print(f"{photo_name} guided by {guide_name} ({photo.shape[1]}x{photo.shape[0]})")
        base = None
        for mode in MODES:
            start = time.perf_counter()
            dist = distances(features(model, guided(model, photo, guide, mode)), fg)
            print(row("  " + mode, dist, time.perf_counter() - start), flush=True)
            if base is None:
                base = dist
            else:
                ratios[mode].append({c: dist[c] / base[c] for c in COLUMNS})
    print("guided distance / unguided distance, median over the pairs [worst pair]:")
    for mode, rs in ratios.items():
        med = {c: statistics.median(r[c] for r in rs) for c in COLUMNS}
        worst = {c: max(r[c] for r in rs) for c in COLUMNS}
        print(row("  " + mode, med) + "   [" + " ".join(f"{worst[c]:.2f}" for c in COLUMNS) + "]")


# ---- the study: why Google's rule is weak, and each suspect measured -------------------------

def pick_statistics(model, photo, guide, layer):
    """Where Google's rule and the cosine rule send the photo's positions at ``layer``."""
    acts, _ = model.forward(model.preprocess(guide), [layer], keep_tape=False)
    g_act = np.asarray(acts[layer][0], np.float64)
    _, gh, gw = g_act.shape
    g = g_act.reshape(g_act.shape[0], -1)
    acts, _ = model.forward(model.preprocess(photo), [layer], keep_tape=False)
    a = np.asarray(acts[layer][0], np.float64).reshape(g.shape[0], -1)
    rows, cols = np.divmod(np.arange(g.shape[1]), gw)
    border = (rows == 0) | (rows == gh - 1) | (cols == 0) | (cols == gw - 1)
    norms = np.linalg.norm(g, axis=0)
    ua, ug = a / (np.linalg.norm(a, axis=0) + 1e-8), g / (norms + 1e-8)
    lines = []
    for rule, best in (("google", (a.T @ g).argmax(axis=1)), ("cosine", (ua.T @ ug).argmax(axis=1))):
        counts = np.bincount(best, minlength=g.shape[1])
        lines.append(f"  {layer} {rule:>6} rule: {len(np.unique(best)):3d} distinct guide positions "
                     f"of {g.shape[1]} serve the photo's {a.shape[1]}; the busiest serves "
                     f"{counts.max() / a.shape[1]:.0%}; {border[best].mean():.0%} pull toward the guide's "
                     f"border ring ({border.mean():.0%} of its positions); picked norm / mean norm "
                     f"{norms[best].mean() / norms.mean():.2f}")
    return lines


def gradient_likeness(model, photo, guide):
    """Cosine similarity of each mode's pixel gradient with the unguided (L2) dream's, on the photo."""
    x = model.preprocess(photo)
    _, g_l2 = objective_gradient(model, x, L2(TARGETS))
    out = {}
    for mode in MODES[1:]:
        objective = Guide(TARGETS, guide, mode=mode)
        objective.prepare(model, photo.shape[:2])
        _, g = objective_gradient(model, x, objective)
        out[mode] = _cos(np.asarray(g, np.float64), np.asarray(g_l2, np.float64))
    return out


class GoogleInterior(Guide):
    """Google's rule with the guide's border ring dropped, as the other rules do (study only)."""

    def __init__(self, layers, image):
        super().__init__(layers, image, mode="google")

    def _show_guide(self, model, hw):
        acts, _ = model.forward(model.preprocess(resize_pixels(self._base, hw)), list(self.layers), keep_tape=False)
        self._stats = {name: {"g": interior(act[0])} for name, act in acts.items()}
        self._shown_hw = hw


class GramOwnScale(Guide):
    """The gram rule with the guide's features computed once at its own size (study only)."""

    def prepare_octave(self, model, hw):
        pass


class GramWithL2(Guide):
    """The gram rule's layer gradient blended with the image's own (L2) one, each scaled to unit
    mean magnitude: a weight between the guide's features and the image's (study only)."""

    def __init__(self, layers, image, weight):
        super().__init__(layers, image, mode="gram")
        self.weight = weight

    def layer_value(self, name, act):
        value, grad = super().layer_value(name, act)
        blend = (1 - self.weight) * grad / (np.abs(grad).mean() + 1e-12)
        return value, blend + self.weight * act / (np.abs(act).mean() + 1e-12)


def run_study(model, height):
    photo, guide = scaled(sample("rocket"), height), sample("chelsea")
    print(f"rocket ({photo.shape[1]}x{photo.shape[0]}) guided by chelsea ({guide.shape[1]}x{guide.shape[0]})")
    print("where each position of the photo is pulled:")
    for layer in ("mixed3", "mixed5"):
        print("\n".join(pick_statistics(model, photo, guide, layer)))
    print("cosine similarity of the pixel gradient with the unguided dream's, on the photo:")
    print("  " + "  ".join(f"{m} {v:.3f}" for m, v in gradient_likeness(model, photo, guide).items()))
    lower, higher, pre = ["mixed1", "mixed2"], ["mixed4", "mixed5"], ["mixed3:pre_relu", "mixed5:pre_relu"]
    cases = [
        ("unguided", "unguided", {}),
        ("google", "google", {}),
        ("google, border dropped", GoogleInterior(TARGETS, guide), {}),
        ("nearest (cosine)", "nearest", {}),
        ("gram, guide at own size", GramOwnScale(TARGETS, guide), {}),
        ("gram (default)", "gram", {}),
        ("gram + 0.3 of L2", GramWithL2(TARGETS, guide, 0.3), {}),
        ("gram + 0.5 of L2", GramWithL2(TARGETS, guide, 0.5), {}),
        ("gram, pre-ReLU layers", "gram", {"layers": pre}),
        ("unguided, mixed1+2", "unguided", {"layers": lower}),
        ("google, mixed1+2", "google", {"layers": lower}),
        ("gram, mixed1+2", "gram", {"layers": lower}),
        ("unguided, mixed4+5", "unguided", {"layers": higher}),
        ("google, mixed4+5", "google", {"layers": higher}),
        ("gram, mixed4+5", "gram", {"layers": higher}),
        ("unguided, laplacian", "unguided", {"normalize": "laplacian"}),
        ("gram, laplacian", "gram", {"normalize": "laplacian"}),
        ("unguided, 20 steps", "unguided", {"steps": 20}),
        ("gram, 20 steps", "gram", {"steps": 20}),
    ]
    fg = features(model, guide)
    print("each suspect as a dream (default settings unless named):")
    print(header())
    for title, mode, options in cases:
        start = time.perf_counter()
        out = guided(model, photo, guide, mode, **options)
        print(row(title, distances(features(model, out), fg), time.perf_counter() - start), flush=True)


# ---- README's figure ----------------------------------------------------------------------------

def run_figure(model, path, height, panel=225):
    """Rows: rocket and coffee guided by Chelsea. Columns: the photo (the guide inset in its
    corner), the unguided dream, Google's rule, gram, at the default settings and seed 0, and gram
    with 20 steps an octave. Dreamt ``height`` pixels high, shown ``panel`` pixels high."""
    columns = [("photo (guide inset)", None, {}), ("unguided dream", "unguided", {}),
               ("guided: Google's rule", "google", {}), ("guided: gram (default)", "gram", {}),
               ("gram, --steps 20", "gram", {"steps": 20})]
    guide = sample("chelsea")
    inset = Image.fromarray(scaled(guide, panel // 3))
    rows = []
    for photo_name in ("rocket", "coffee"):
        photo = scaled(sample(photo_name), height)
        images = [photo if mode is None else guided(model, photo, guide, mode, **options)
                  for _, mode, options in columns]
        images = [Image.fromarray(scaled(image, panel)) for image in images]
        images[0].paste(inset, (images[0].width - inset.width, 0))
        rows.append(images)
    gap, label = 4, 16
    width = sum(p.width for p in rows[0]) + gap * (len(rows[0]) - 1)
    sheet = Image.new("RGB", (width, len(rows) * (panel + label)), "white")
    draw = ImageDraw.Draw(sheet)
    for r, panels in enumerate(rows):
        x, y = 0, r * (panel + label)
        for (title, _, _), image in zip(columns, panels):
            draw.text((x + 3, y + 2), title, fill="black")
            sheet.paste(image, (x, y + label))
            x += image.width + gap
    # 256 colours, dithered: a third of the bytes, so the README stays light
    sheet.quantize(256, dither=Image.Dither.FLOYDSTEINBERG).save(path, optimize=True)
    print(f"wrote {path} ({sheet.width}x{sheet.height}, {os.path.getsize(path) // 1024} KB)")


# ---- memory: a 16-megapixel photo and guide, each case in a fresh process -------------------------

CHILD = r"""
import json, sys, time
sys.path.insert(0, {root!r})
import numpy
from PIL import Image
from numdream.dream import dream
from numdream.images import load_image, sample_path
side, mode = {side!r}, {mode!r}
image = numpy.asarray(Image.fromarray(load_image(sample_path("chelsea"))).resize((side, side), Image.BICUBIC))
def hwm():
    return next(int(l.split()[1]) for l in open("/proc/self/status") if l.startswith("VmHWM:")) / 1024
extra = {{}} if mode == "unguided" else dict(objective="guide", guide=image)
if mode not in ("unguided", "old"):
    extra["guide_mode"] = mode
start = time.perf_counter()
dream(image, seed=0, progress=False, octaves=1, steps=1, **extra)
print(json.dumps(dict(seconds=time.perf_counter() - start, peak_mb=hwm())))
"""


def run_memory(side, root):
    """Peak RSS of one step on a side x side photo guided by a side x side guide (512-px tiles)."""
    cases = ["unguided", "gram", "google"] + (["old"] if root else [])
    for mode in cases:
        code = CHILD.format(root=root or os.path.join(HERE, ".."), side=side, mode=mode)
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
        r = json.loads(out.stdout.strip().splitlines()[-1])
        name = f"{mode} ({root})" if mode == "old" else mode
        print(f"{side}x{side} photo and guide, {name:>10}: {r['seconds']:6.1f} s  peak RSS {r['peak_mb']:6.0f} MB",
              flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--study", action="store_true", help="the suspects, on one pair")
    parser.add_argument("--figure", metavar="PNG", help="write README's side-by-side picture")
    parser.add_argument("--memory", action="store_true", help="peak memory on a large photo and guide")
    parser.add_argument("--side", type=int, default=4000, help="photo and guide side for --memory")
    parser.add_argument("--old-root", help="with --memory: also run Google's rule from this checkout "
                        "(the code before the guide modes), as 'old'")
    parser.add_argument("--height", type=int, default=300, help="photos are scaled to this height")
    args = parser.parse_args()
    print(f"machine: {machine()}")
    if args.memory:
        return run_memory(args.side, args.old_root)
    model = load_model()
    if args.figure:
        return run_figure(model, args.figure, args.height)
    if args.study:
        return run_study(model, args.height)
    run_pairs(model, args.height)


if __name__ == "__main__":
    main()
