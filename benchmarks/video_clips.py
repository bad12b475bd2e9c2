"""The two test clips of the video benchmarks, with their true flow, and the flicker measure.

    synthetic_clip()   the bundled cat photo panned and zoomed slowly: the flow is known exactly
    film(picture, cams)  what that camera sees of another picture (a dream of the photo, say)
    real_clip()        a crop moving over the cat photo, then a scene cut to the rocket photo;
                       the crops move by whole pixels, so this flow is known too (but a benchmark
                       of "real" use measures with the estimated flow, as it would have to)
    temporal_instability(dreamed, flows, weights)     the flicker measure of issue 15

A clip's flows follow numdream/flow.py's conventions: backward[i] is the (H, W, 2) flow from frame
i+1 to frame i on frame i+1's grid (what warps frame i onto frame i+1), forward[i] the flow from
frame i to frame i+1 on frame i's grid; both are None across a scene cut.

    python benchmarks/video_clips.py OUT_FOLDER     writes both clips as MP4 and a few frames as PNG
"""
import os
import sys
from collections import namedtuple

import numpy as np
from PIL import Image
from scipy import ndimage

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

from numdream.flow import warp  # noqa: E402  (after the path line, so the checkout is imported)
from numdream.images import load_image, sample_path  # noqa: E402

Clip = namedtuple("Clip", "name frames forward backward cuts")
# frames: uint8 (T, H, W, 3); forward, backward: lists of T-1 flows (or None); cuts: the frames that
# start a new scene (frame 0 is not listed).


def _camera_positions(hw, center, scale):
    """Photo coordinates (x, y) seen by each output pixel of an (H, W) view centred on the photo
    point ``center`` (x, y), ``scale`` photo pixels per output pixel: two float64 (H, W) maps."""
    h, w = hw
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float64)
    return center[0] + scale * (xs - (w - 1) / 2), center[1] + scale * (ys - (h - 1) / 2)


def _camera_flow(hw, cam_from, cam_to):
    """True flow from view ``cam_from`` to view ``cam_to`` (each (center, scale)) on cam_from's grid:
    an output pixel p of cam_from sees the photo point q, which cam_to shows at p0 + (q - c) / s."""
    h, w = hw
    qx, qy = _camera_positions(hw, *cam_from)
    (cx, cy), s = cam_to
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float64)
    to_x = (w - 1) / 2 + (qx - cx) / s
    to_y = (h - 1) / 2 + (qy - cy) / s
    return np.stack([to_x - xs, to_y - ys], axis=2).astype(np.float32)


def synthetic_cameras(photo_hw, size=(192, 144), frames=32, pan=(1.2, -0.4), zoom=0.99):
    """The camera of synthetic_clip over a photo of photo_hw = (H, W): per frame (center, scale).

    size: (W, H) of the frames; frames: how many; pan: photo pixels the view centre moves per
    frame (x, y); zoom: factor on the photo pixels per output pixel each frame (< 1 zooms in).
    The view starts at 1.6 photo pixels per output pixel, centred on the photo.
    """
    w, h = size
    cams = [((photo_hw[1] / 2 + pan[0] * t, photo_hw[0] / 2 + pan[1] * t), 1.6 * zoom ** t) for t in range(frames)]
    for (cx, cy), s in cams:
        half_w, half_h = s * (w - 1) / 2, s * (h - 1) / 2
        if cx - half_w < 0 or cy - half_h < 0 or cx + half_w > photo_hw[1] - 1 or cy + half_h > photo_hw[0] - 1:
            raise ValueError("the camera leaves the photo; fewer frames, a smaller size or a slower pan")
    return cams


def film(picture, cams, size=(192, 144), scale=1.0):
    """The frames a camera sees of ``picture`` (uint8 (H, W, 3)), rendered with cubic splines and
    prefiltered against aliasing: uint8 (T, H, W, 3). cams: from synthetic_cameras, in the
    coordinates of a photo ``scale`` times the picture's size (a picture dreamed at a smaller size
    is filmed by the photo's camera)."""
    w, h = size
    # Against aliasing: blur by about half an output pixel (the view shrinks the photo ~1.2-1.6x).
    smooth = ndimage.gaussian_filter(picture.astype(np.float64), sigma=(0.6 / scale, 0.6 / scale, 0))
    rendered = []
    for cam in cams:
        xs, ys = _camera_positions((h, w), *cam)
        xs, ys = (xs + 0.5) / scale - 0.5, (ys + 0.5) / scale - 0.5  # pixel centres of the smaller picture
        channels = [ndimage.map_coordinates(smooth[:, :, c], [ys, xs], order=3, mode="nearest") for c in range(3)]
        rendered.append(np.clip(np.rint(np.stack(channels, axis=2)), 0, 255).astype(np.uint8))
    return np.stack(rendered)


def synthetic_clip(size=(192, 144), frames=32, pan=(1.2, -0.4), zoom=0.99):
    """The cat photo seen by a camera that pans and zooms in slowly (synthetic_cameras).

    returns: Clip; frames are rendered with cubic splines from the photo (film), and the flow
        between them is exact (the camera's, computed analytically).
    """
    w, h = size
    photo = load_image(sample_path("chelsea"))
    cams = synthetic_cameras(photo.shape[:2], size, frames, pan, zoom)
    forward = [_camera_flow((h, w), cams[t], cams[t + 1]) for t in range(frames - 1)]
    backward = [_camera_flow((h, w), cams[t + 1], cams[t]) for t in range(frames - 1)]
    return Clip("synthetic", film(photo, cams, size), forward, backward, [])


def _crop_path(frames, start, velocity, wobble, phase):
    """Whole-pixel crop offsets (x, y) of a hand-held-looking move: steady velocity plus a sway."""
    t = np.arange(frames)
    x = start[0] + velocity[0] * t + wobble * np.sin(t / 3.0 + phase)
    y = start[1] + velocity[1] * t + wobble * np.cos(t / 4.0 + phase)
    return np.rint(np.stack([x, y], axis=1)).astype(int)


def real_clip(size=(192, 144), frames=(20, 12)):
    """A crop moving over the cat photo for frames[0] frames, then a cut to the rocket photo
    (scaled to the cat photo's height) with another moving crop for frames[1] frames.

    returns: Clip with cuts == [frames[0]]; the true flow between two crops is the constant
        (offset[t+1] - offset[t]) backward, its opposite forward; None across the cut.
    """
    w, h = size
    cat = load_image(sample_path("chelsea"))
    rocket = Image.fromarray(load_image(sample_path("rocket")))
    rocket = np.asarray(rocket.resize((round(rocket.width * cat.shape[0] / rocket.height), cat.shape[0]),
                                      Image.LANCZOS))
    scenes = [(cat, _crop_path(frames[0], (40, 70), (3.0, -1.0), 4.0, 0.0)),
              (rocket, _crop_path(frames[1], (240, 60), (-2.5, 1.5), 3.0, 1.0))]
    clip, forward, backward = [], [], []
    for photo, offsets in scenes:
        if offsets.min() < 0 or np.any((offsets + (w, h)).max(axis=0) > (photo.shape[1], photo.shape[0])):
            raise ValueError("a crop leaves its photo; a smaller size or fewer frames")
        if clip:  # the cut: no flow relates the last frame of one scene to the first of the next
            forward.append(None)
            backward.append(None)
        clip += [photo[y:y + h, x:x + w] for x, y in offsets]
        for step in np.diff(offsets, axis=0):
            backward.append(np.broadcast_to(step.astype(np.float32), (h, w, 2)).copy())
            forward.append(-backward[-1])
    return Clip("real", np.stack(clip), forward, backward, [frames[0]])


def occlusion_pair(size=(192, 144), shift=6):
    """Two frames of a static cat-photo background with a square of fur (another part of the photo)
    moving ``shift`` pixels right over it: (frame0, frame1, revealed), revealed (H, W) bool the
    background frame 1 shows that frame 0 hid, where a consistency check must give weight 0."""
    w, h = size
    cat = load_image(sample_path("chelsea"))
    background, square = cat[60:60 + h, 40:40 + w], cat[200:248, 300:348]
    x, y = w // 2 - 24 - shift, h // 2 - 24
    frames = []
    for left in (x, x + shift):
        frame = background.copy()
        frame[y:y + 48, left:left + 48] = square
        frames.append(frame)
    revealed = np.zeros((h, w), bool)
    revealed[y:y + 48, x:x + shift] = True
    return frames[0], frames[1], revealed


def pair_instability(dreamed_prev, dreamed, flow_bw, weight=None):
    """(sum, count) of |dreamed - warp(dreamed_prev, flow_bw)|, averaged over the 3 channels and
    summed over the pixels with their weight (positions off the frame count 0).

    dreamed_prev, dreamed: uint8 (H, W, 3) dreams of frames t-1 and t; flow_bw: (H, W, 2), t -> t-1;
    weight: (H, W) in [0, 1] (default: 1 everywhere, for a true flow).
    """
    warped, outside = warp(dreamed_prev, flow_bw)
    trust = (np.ones(outside.shape, np.float32) if weight is None else weight) * ~outside
    diff = np.abs(dreamed.astype(np.float32) - warped).mean(axis=2)
    return float((trust * diff).sum()), float(trust.sum())


def temporal_instability(dreamed_frames, flows, weights=None):
    """Flicker of a dreamed clip: the mean absolute difference (0-255 units) between each dreamed
    frame and the previous dreamed frame warped onto it, on consistent pixels only. Lower is steadier.

    dreamed_frames: T uint8 (H, W, 3); flows: T-1 backward flows (flows[i]: frame i+1 -> i), None
    across a scene cut (the pair is skipped); weights: T-1 (H, W) consistency weights, or None for
    weight 1 (a true flow). Pixels count by their weight, so long as the flows and weights are the
    same, two dreamings of a clip are compared on the same pixels.
    """
    total = count = 0.0
    for i, flow in enumerate(flows):
        if flow is None:
            continue
        s, c = pair_instability(dreamed_frames[i], dreamed_frames[i + 1], flow, None if weights is None else weights[i])
        total += s
        count += c
    if count == 0:
        raise ValueError("no consistent pixel in any frame pair: nothing to measure")
    return total / count


def write_mp4(path, frames, fps=12):
    """Write uint8 (T, H, W, 3) frames as an H.264 MP4 (imageio-ffmpeg's own ffmpeg)."""
    import imageio.v2 as imageio  # the video extra; only this writer needs it
    writer = imageio.get_writer(path, fps=fps, codec="libx264", macro_block_size=1, pixelformat="yuv420p",
                                quality=9)
    try:
        for frame in frames:
            writer.append_data(frame)
    finally:
        writer.close()
    return path


def through_mp4(clip, fps=12):
    """The clip as a viewer would get it back from an H.264 MP4: the same frames with codec noise."""
    import tempfile
    import imageio.v2 as imageio  # the video extra
    with tempfile.TemporaryDirectory() as folder:
        path = write_mp4(os.path.join(folder, "clip.mp4"), clip.frames, fps)
        reader = imageio.get_reader(path)
        try:
            frames = np.stack([np.asarray(f)[:, :, :3] for f in reader])
        finally:
            reader.close()
    return clip._replace(name=clip.name + " (H.264)", frames=frames)


def main(folder):
    os.makedirs(folder, exist_ok=True)
    for clip in (synthetic_clip(), real_clip()):
        write_mp4(os.path.join(folder, f"{clip.name}.mp4"), clip.frames)
        for t in sorted({0, len(clip.frames) // 2, len(clip.frames) - 1, *clip.cuts, *[c - 1 for c in clip.cuts]}):
            Image.fromarray(clip.frames[t]).save(os.path.join(folder, f"{clip.name}_{t:02d}.png"))
        print(f"{clip.name}: {len(clip.frames)} frames of {clip.frames.shape[2]}x{clip.frames.shape[1]}, "
              f"cuts at {clip.cuts}, wrote {folder}/{clip.name}.mp4")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__.strip().splitlines()[-1].strip())
    main(sys.argv[1])
