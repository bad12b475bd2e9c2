"""Do video dreams hold still? The two clips of video_clips.py dreamed three ways (issue 15).

    python benchmarks/bench_video.py [--short] [--octaves 4] [--steps 10] [--gif docs/video_flow.gif]
                                     [--pictures OUT_FOLDER]
    python benchmarks/bench_video.py --gif benchmarks/figures/video_flow.gif --gif-from OUT_FOLDER

    none, blend 0     every frame dreamed afresh from itself          (numdream video --flow none --blend 0)
    none, blend 0.5   the plain blend: (1 - 0.5) frame t + 0.5 dream t-1   (--flow none)
    dis, blend 0.9    numdream video's default: the dream's detail carried along DIS's flow,
                      carried frames dreamed with the default fewer steps; a scene cut afresh

Each frame goes through numdream.videoloop.dream_frame, the function `numdream video` runs; the
three settings alternate frame by frame in one process, so the machine's load falls on all alike.
For each clip and setting it prints:
- instability: video_clips.temporal_instability, the mean absolute difference (0-255) between each
  dreamed frame and the previous dreamed frame warped onto it, on consistent pixels: along the true
  flow on the synthetic clip, along DIS's flow and consistency weights on the real one (the same
  flows and weights for every setting; the pair across the cut is skipped). Two floors are printed
  with it: the clip itself (undreamed), and on the synthetic clip a dream that moves exactly with
  the scene (the photo dreamed once, then filmed by the clip's camera), which is what warping a
  dream's fine detail bilinearly costs the measure by itself;
- strength: the L2 energy of the target layers of each dreamed frame over its frame's (as
  bench_dream.py measures a still), the mean over frames, and relative to dreaming every frame afresh;
- s/frame: seconds per frame;
- at the cut: the mean absolute difference between the dream of the first frame after the cut and a
  fresh dream of that frame (0: no ghost of the scene before), and the frames that started afresh.
"""
import argparse
import os
import sys
import time

import numpy as np
from PIL import Image, ImageDraw

from video_clips import film, real_clip, synthetic_cameras, synthetic_clip, temporal_instability
from numdream import dream, evaluate, load_model
from numdream.flow import consistency_weight, estimate_flow, is_scene_cut
from numdream.images import load_image, sample_path
from numdream.video import DEFAULT_BLEND, DEFAULT_FLOW, carried_options
from numdream.videoloop import VideoJob, dream_frame

SETTINGS = [("none, blend 0", None, 0.0), ("none, blend 0.5", None, 0.5),
            (f"{DEFAULT_FLOW}, blend {DEFAULT_BLEND[True]:g}", DEFAULT_FLOW, DEFAULT_BLEND[True])]


def dream_settings(frames, model, options, seed=0):
    """Dream uint8 (T, H, W, 3) frames with every setting, alternating frame by frame.
    returns: {name: (dreams, seconds per frame)}."""
    jobs = {name: VideoJob("", "", tuple(range(len(frames))), blend, flow, {}, seed, options,
                           carried_options(options, flow)) for name, flow, blend in SETTINGS}
    dreams = {name: [] for name in jobs}
    seconds = dict.fromkeys(jobs, 0.0)
    for t, frame in enumerate(frames):
        for name, job in jobs.items():
            start = time.perf_counter()
            dreamed = dream_frame(job, model, t, 0, frame, frames[t - 1] if t else None,
                                  dreams[name][-1] if t else None)
            seconds[name] += time.perf_counter() - start
            dreams[name].append(dreamed)
        print(f"\r  frame {t + 1}/{len(frames)}", end="", file=sys.stderr, flush=True)
    print("\r", end="", file=sys.stderr)
    return {name: (dreams[name], seconds[name] / len(frames)) for name in jobs}


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


def moving_dream(clip, model, options, size, scale=1.6):
    """A dream that moves exactly with the synthetic clip's scene: the photo, shrunk by ``scale``
    (so that its pixels are about the frames'), dreamed once and filmed by the clip's camera."""
    photo = load_image(sample_path("chelsea"))
    small = Image.fromarray(photo).resize((round(photo.shape[1] / scale), round(photo.shape[0] / scale)), Image.LANCZOS)
    dreamed = dream(np.asarray(small), model=model, seed=0, progress=False, **options)
    cams = synthetic_cameras(photo.shape[:2], size, len(clip.frames))
    return film(dreamed, cams, size, scale=photo.shape[1] / dreamed.shape[1])


def report(clip, results, flows, weights, model, floors):
    energy = [evaluate(f, model=model) for f in clip.frames]
    print(f"{'setting':>22} {'instability':>11} {'strength':>9} {'vs afresh':>9} {'s/frame':>8}  "
          f"{'at the cut':>10}  fresh dreams at")
    for name, frames in floors:
        print(f"{name:>22} {temporal_instability(frames, flows, weights):11.2f}")
    afresh_name = SETTINGS[0][0]
    afresh = results[afresh_name][0]
    base = np.mean([evaluate(d, model=model) / e for d, e in zip(afresh, energy)])
    figures = {}
    for name, (dreams, seconds) in results.items():
        per_frame = [evaluate(d, model=model) / e for d, e in zip(dreams, energy)]
        strength = float(np.mean(per_frame))
        instability = temporal_instability(dreams, flows, weights)
        ghost = " ".join(f"{np.abs(dreams[c].astype(float) - afresh[c]).mean():.2f}" for c in clip.cuts) or "-"
        fresh = [t for t in range(len(dreams)) if np.array_equal(dreams[t], afresh[t])] if name != afresh_name else "all"
        print(f"{name:>22} {instability:11.2f} {strength:8.2f}x {strength / base:8.2f}x {seconds:8.2f}  "
              f"{ghost:>10}  {fresh}   (strength first/mid/last {per_frame[0]:.2f}/"
              f"{per_frame[len(per_frame) // 2]:.2f}/{per_frame[-1]:.2f})")
        figures[name] = instability, strength / base
    plain, flow = figures[SETTINGS[1][0]], figures[SETTINGS[2][0]]
    print(f"{'':>22} flow / blend-only instability {flow[0] / plain[0]:.2f} (target <= 0.5), "
          f"/ afresh {flow[0] / figures[afresh_name][0]:.2f}; strength {flow[1]:.2f} of afresh (target >= 0.8)")


def save_pictures(folder, clip, results, frames):
    """For looking at: per setting, a strip of consecutive dreamed frames (clip.name_setting.png),
    and every frame of every setting in clip.name_dreams.npz."""
    os.makedirs(folder, exist_ok=True)
    for name, (dreams, _) in results.items():
        strip = np.concatenate([dreams[t] for t in frames], axis=1)
        path = os.path.join(folder, f"{clip.name}_{name.replace(', ', '_').replace(' ', '')}.png")
        Image.fromarray(strip).save(path)
    Image.fromarray(np.concatenate([clip.frames[t] for t in frames], axis=1)).save(
        os.path.join(folder, f"{clip.name}_input.png"))
    # every dreamed frame too, so a GIF or another strip can be made later without dreaming again
    np.savez_compressed(os.path.join(folder, f"{clip.name}_dreams.npz"), input=clip.frames,
                        **{name.replace(", ", "_").replace(" ", ""): np.stack(d) for name, (d, _) in results.items()})


def write_gif(path, results, box, fps=8, colors=48):
    """The settings side by side, each cropped to box = (x, y, w, h), labelled, as a looping GIF
    of ``colors`` colours: one palette for every frame (taken from a frame of each scene), so the
    GIF is small and its colours do not flicker from frame to frame."""
    x, y, w, h = box
    label_h, gap = 12, 2
    names = list(results)
    count = len(results[names[0]][0])
    sheets = []
    for t in range(count):
        sheet = Image.new("RGB", (len(names) * (w + gap) - gap, h + label_h), "white")
        draw = ImageDraw.Draw(sheet)
        for i, name in enumerate(names):
            sheet.paste(Image.fromarray(results[name][0][t][y:y + h, x:x + w]), (i * (w + gap), label_h))
            draw.text((i * (w + gap) + 2, 0), name, fill="black")
        sheets.append(sheet)
    samples = np.concatenate([np.asarray(sheets[t]) for t in (count // 4, 3 * count // 4)], axis=0)
    palette = Image.fromarray(samples).quantize(colors=colors, method=Image.Quantize.MEDIANCUT)
    frames = [s.quantize(palette=palette, dither=Image.Dither.NONE) for s in sheets]
    frames[0].save(path, save_all=True, append_images=frames[1:], duration=round(1000 / fps), loop=0, optimize=True)
    print(f"wrote {path} ({os.path.getsize(path) / 1024:.0f} KB, {count} frames of {sheet.width}x{sheet.height})")


def gif_box(clip_frames):
    """The crop of the README's GIF: 96x72 at the centre of the frames."""
    h, w = clip_frames.shape[1:3]
    return w // 2 - 48, h // 2 - 36, 96, 72


def remake_gif(path, folder):
    """The GIF again from the real clip's dreams that --pictures kept in ``folder``, without dreaming."""
    kept = np.load(os.path.join(folder, "real_dreams.npz"))
    results = {name: (list(kept[name.replace(", ", "_").replace(" ", "")]), 0.0) for name, _, _ in SETTINGS}
    write_gif(path, results, gif_box(kept["input"]))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--short", action="store_true", help="12-frame clips instead of 32")
    parser.add_argument("--octaves", type=int, default=4, help="octaves of a fresh dream (default: 4, the CLI's)")
    parser.add_argument("--steps", type=int, default=10, help="steps per octave (default: 10, the CLI's)")
    parser.add_argument("--only", choices=("synthetic", "real"), help="one clip only")
    parser.add_argument("--gif", help="write the real clip's three dreams side by side as this GIF")
    parser.add_argument("--pictures", metavar="FOLDER", help="write strips of consecutive frames to look at")
    parser.add_argument("--gif-from", metavar="FOLDER", help="with --gif: make the GIF from the dreams an "
                        "earlier run's --pictures kept in FOLDER, without dreaming")
    a = parser.parse_args()
    if a.gif_from:
        return remake_gif(a.gif, a.gif_from) if a.gif else parser.error("--gif-from needs --gif")
    model = load_model()
    options = dict(octaves=a.octaves, steps=a.steps)
    clips = [synthetic_clip(frames=12), real_clip(frames=(7, 5))] if a.short else [synthetic_clip(), real_clip()]
    clips = [c for c in clips if a.only in (None, c.name)]
    print(f"dream: {options}, carried frames {carried_options(options, DEFAULT_FLOW)}; default layers")
    for clip in clips:
        h, w = clip.frames.shape[1:3]
        flows, weights = measuring_flows(clip)
        print(f"\n{clip.name}: {len(clip.frames)} frames of {w}x{h}, cuts at {clip.cuts}, measured along "
              f"{'the true' if weights is None else 'DIS'} flow")
        floors = [("the clip itself", clip.frames)]
        if clip.name == "synthetic":
            floors.append(("a dream moving along", moving_dream(clip, model, options, (w, h))))
        results = dream_settings(clip.frames, model, options)
        report(clip, results, flows, weights, model, floors)
        middle = len(clip.frames) // 2 if not clip.cuts else clip.cuts[0] - 2
        if a.pictures:
            save_pictures(a.pictures, clip, results, range(middle, middle + 4))
        if a.gif and clip.name == "real":
            write_gif(a.gif, results, gif_box(clip.frames))


if __name__ == "__main__":
    main()
