"""Which optical flow, with which parameters: accuracy against the true flow, speed, and the
consistency of the pairs that a scene cut separates from those it does not.

    python benchmarks/bench_flow.py [--repeats 5]

For each clip of benchmarks/video_clips.py and each estimator setting it prints
- EPE: the mean end-point error |estimated - true| in pixels of the backward flows (frame t -> t-1,
  the flows that warp), on the pixels whose true position stays in the frame;
- ms/pair: the median time to estimate both flows of a pair (forward and backward), timed with the
  settings alternating in one process, so the machine's load falls on all alike;
- consistent: the fraction of pixels consistency_weight keeps, min-max over the pairs of one scene,
  and at the scene cut (what is_scene_cut's threshold must separate);
and, on a square of fur moving 6 pixels over the static photo (video_clips.occlusion_pair), the mean
weight of the background it reveals (which should be 0) and of the background away from it (1).
"""
import argparse
import statistics
import time

import numpy as np

from video_clips import occlusion_pair, real_clip, synthetic_clip, through_mp4
from numdream.flow import consistency_weight, estimate_flow

SETTINGS = [
    # finest_scale=None: the preset's own (2, 2, 1); numdream's default is 0, full resolution.
    ("dis ultrafast", "dis", dict(preset="ultrafast", finest_scale=None)),
    ("dis fast", "dis", dict(preset="fast", finest_scale=None)),
    ("dis medium", "dis", dict(preset="medium", finest_scale=None)),
    ("dis fast finest 0", "dis", dict(preset="fast", finest_scale=0)),
    ("dis medium finest 0", "dis", dict(preset="medium", finest_scale=0)),
    ("farneback", "farneback", dict()),
    ("farneback 5 lv w21 p7", "farneback", dict(levels=5, winsize=21, poly_n=7, poly_sigma=1.5)),
]


def pairs(clip):
    return [t for t, flow in enumerate(clip.backward) if flow is not None]


def estimate_all(clip, method, params):
    """Forward and backward flows of every pair (None across a cut), and the seconds it took per pair."""
    fw, bw, times = [], [], []
    for t in range(len(clip.frames) - 1):
        start = time.perf_counter()
        fw.append(estimate_flow(clip.frames[t], clip.frames[t + 1], method, **params))
        bw.append(estimate_flow(clip.frames[t + 1], clip.frames[t], method, **params))
        times.append(time.perf_counter() - start)
    return fw, bw, times


def end_point_error(clip, bw):
    errors = []
    for t in pairs(clip):
        true = clip.backward[t]
        h, w = true.shape[:2]
        ys, xs = np.mgrid[0:h, 0:w]
        inside = ((xs + true[..., 0] >= 0) & (xs + true[..., 0] <= w - 1) &
                  (ys + true[..., 1] >= 0) & (ys + true[..., 1] <= h - 1))
        errors.append(np.linalg.norm(bw[t] - true, axis=2)[inside].mean())
    return float(np.mean(errors))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=5)
    a = parser.parse_args()
    clips = [synthetic_clip(), real_clip()]
    clips.append(through_mp4(clips[1]))
    for clip in clips:
        print(f"\n{clip.name}: {len(clip.frames)} frames of {clip.frames.shape[2]}x{clip.frames.shape[1]}, "
              f"cuts at {clip.cuts}")
        times = {name: [] for name, _, _ in SETTINGS}
        results = {}
        for _ in range(a.repeats):
            for name, method, params in SETTINGS:  # alternate the settings, repetition by repetition
                fw, bw, seconds = estimate_all(clip, method, params)
                times[name].append(statistics.median(seconds))
                results[name] = fw, bw
        print(f"{'setting':>22} {'EPE px':>7} {'ms/pair':>8}  consistent: scene min-max   at the cut")
        for name, _, _ in SETTINGS:
            fw, bw = results[name]
            kept = [float(consistency_weight(f, b).mean()) for f, b in zip(fw, bw)]
            scene = [kept[t] for t in pairs(clip)]
            cut = " ".join(f"{kept[c - 1]:.3f}" for c in clip.cuts) or "-"
            print(f"{name:>22} {end_point_error(clip, bw):7.3f} {1000 * statistics.median(times[name]):8.1f}"
                  f"  {min(scene):.3f}-{max(scene):.3f}  {cut:>12}")

    frame0, frame1, revealed = occlusion_pair()
    away = np.ones_like(revealed)
    away[40:104, 50:150] = False  # the square, its path and a margin
    print("\nsquare of fur moving 6 px over the photo: mean weight of the background")
    print(f"{'setting':>22} {'revealed':>9} {'away':>6}")
    for name, method, params in SETTINGS:
        weight = consistency_weight(estimate_flow(frame0, frame1, method, **params),
                                    estimate_flow(frame1, frame0, method, **params))
        print(f"{name:>22} {weight[revealed].mean():9.3f} {weight[away].mean():6.3f}")


if __name__ == "__main__":
    main()
