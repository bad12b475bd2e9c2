"""Steadier video dreams (issue 15), a prototype: the two clips of video_clips.py dreamed three ways.

    python benchmarks/bench_video.py [--short] [--octaves 2] [--steps 4] [--later-steps 2] [--flow-blend 0.8]

    none, blend 0     every frame dreamed afresh from itself
    none, blend 0.5   numdream video's blend: frame t + 0.5 (dream t-1 - frame t-1), no motion
    dis, blend B      frame t + B * weight * (dream t-1 - frame t-1) warped along DIS's flow,
                      dreamed with --later-steps; a scene cut starts afresh with --steps

For each it prints the temporal instability (video_clips.temporal_instability: on the synthetic
clip along the true flow, on the real clip along DIS's flow and consistency weights, pairs across
detected cuts skipped; the same flows and weights for all three), the dream strength (L2 energy of
the target layers over the frame's, averaged over frames, as bench_dream.py measures a still) and
seconds per frame. It calls numdream.dream directly; `numdream video --flow` comes in round two.
"""
import argparse
import time

import numpy as np

from video_clips import real_clip, synthetic_clip, temporal_instability
from numdream import dream, evaluate, load_model
from numdream.flow import carry_dream, consistency_weight, estimate_flow, is_scene_cut
from numdream.video import blend_frames


def dream_clip(frames, model, flow, blend, opts, later_steps, seed=0):
    """Dream uint8 (T, H, W, 3) frames; returns (dreams, seconds per frame, frames that started afresh)."""
    dreams, fresh = [], []
    start_time = time.perf_counter()
    for t, frame in enumerate(frames):
        steps = opts["steps"]
        if t == 0:
            start, cut = frame, True
        elif flow:
            start, _, cut = carry_dream(frames[t - 1], dreams[-1], frame, blend)
            steps = opts["steps"] if cut else later_steps
        else:
            start, cut = blend_frames(frame, dreams[-1], blend), False
        if cut:
            fresh.append(t)
        dreams.append(dream(start, model=model, seed=seed, progress=False, **{**opts, "steps": steps}))
    return dreams, (time.perf_counter() - start_time) / len(frames), fresh


def measuring_flows(clip):
    """The flows and weights the instability is measured along, the same for every setting."""
    if clip.name == "synthetic":
        return clip.backward, None
    flows, weights = [], []
    for a, b in zip(clip.frames[:-1], clip.frames[1:]):
        fw, bw = estimate_flow(a, b), estimate_flow(b, a)
        weight = consistency_weight(fw, bw)
        cut = is_scene_cut(weight)
        flows.append(None if cut else bw)
        weights.append(None if cut else weight)
    return flows, weights


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--short", action="store_true", help="12-frame clips instead of 32")
    parser.add_argument("--octaves", type=int, default=2)
    parser.add_argument("--steps", type=int, default=4, help="steps of a fresh dream (default: 4)")
    parser.add_argument("--later-steps", type=int, default=2, help="steps of a carried dream (default: 2)")
    parser.add_argument("--flow-blend", type=float, default=0.8)
    parser.add_argument("--only", choices=("synthetic", "real"), help="one clip only")
    a = parser.parse_args()
    model = load_model()
    opts = dict(octaves=a.octaves, steps=a.steps)
    clips = ([synthetic_clip(frames=12), real_clip(frames=(7, 5))] if a.short else [synthetic_clip(), real_clip()])
    clips = [c for c in clips if a.only in (None, c.name)]
    settings = [("none, blend 0", False, 0.0), ("none, blend 0.5", False, 0.5),
                (f"dis, blend {a.flow_blend}", True, a.flow_blend)]
    print(f"dream: {opts}, carried frames {a.later_steps} steps; default layers")
    for clip in clips:
        flows, weights = measuring_flows(clip)
        energy0 = [evaluate(f, model=model) for f in clip.frames]
        print(f"\n{clip.name}: {len(clip.frames)} frames of {clip.frames.shape[2]}x{clip.frames.shape[1]}, "
              f"cuts at {clip.cuts}, measured along {'the true' if weights is None else 'DIS'} flow")
        print(f"{'setting':>18} {'instability':>11} {'strength':>9} {'s/frame':>8}  fresh dreams at")
        # The frames themselves, undreamed: the floor that warping (bilinear blur, codec noise) leaves.
        print(f"{'the clip itself':>18} {temporal_instability(clip.frames, flows, weights):11.2f}")
        afresh = None
        for name, flow, blend in settings:
            dreams, seconds, fresh = dream_clip(clip.frames, model, flow, blend, opts, a.later_steps)
            afresh = afresh or dreams  # blend 0: every frame dreamed afresh, to compare the cuts with
            strength = np.mean([evaluate(d, model=model) / e for d, e in zip(dreams, energy0)])
            same = all(np.array_equal(dreams[c], afresh[c]) for c in clip.cuts)
            print(f"{name:>18} {temporal_instability(dreams, flows, weights):11.2f} {strength:9.2f}x "
                  f"{seconds:7.1f}  {fresh}{'' if same else ' (a cut frame differs from its fresh dream)'}",
                  flush=True)


if __name__ == "__main__":
    main()
