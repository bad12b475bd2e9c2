"""Pictures of the flow method, to look at: the clips, flow fields and consistency masks.

    python benchmarks/flow_pictures.py OUT_FOLDER

writes
- clips.png: synthetic clip frames 0, 15, 31 (top); real clip frames 0, 19 and 20, the cut (bottom);
- flows.png: per row, a frame pair's true backward flow, DIS's and Farneback's (hue = direction,
  brightness = speed, 3 pixels a frame is white-bright) for the synthetic zoom and the rocket scene;
- masks.png: frame 1 of the moving square, then the consistency weight (white = 1) from DIS and
  from Farneback with the revealed strip outlined in red, then DIS's weight at the scene cut.
"""
import argparse
import os

import numpy as np
from PIL import Image

from video_clips import occlusion_pair, real_clip, synthetic_clip
from numdream.flow import consistency_weight, estimate_flow, require_cv2


def flow_to_rgb(flow, full_speed=3.0):
    """(H, W, 2) flow as uint8 (H, W, 3): hue the direction, value the speed (full at full_speed px)."""
    cv2 = require_cv2()
    speed, angle = cv2.cartToPolar(np.ascontiguousarray(flow[..., 0]), np.ascontiguousarray(flow[..., 1]))
    hsv = np.stack([angle * 90 / np.pi, np.full_like(speed, 255), np.clip(speed / full_speed, 0, 1) * 255], axis=2)
    return cv2.cvtColor(hsv.astype(np.uint8), cv2.COLOR_HSV2RGB)


def gray(weight):
    return np.repeat(np.rint(255 * weight).astype(np.uint8)[..., None], 3, axis=2)


def outline(picture, mask):
    """picture with the edge of ``mask`` drawn in red."""
    edge = mask & ~(np.roll(mask, 1, 0) & np.roll(mask, -1, 0) & np.roll(mask, 1, 1) & np.roll(mask, -1, 1))
    out = picture.copy()
    out[edge] = (255, 0, 0)
    return out


def save(path, rows, zoom=2):
    sheet = np.concatenate([np.concatenate(row, axis=1) for row in rows], axis=0)
    Image.fromarray(np.kron(sheet, np.ones((zoom, zoom, 1), np.uint8))).save(path)
    print("wrote", path)


def main(folder):
    os.makedirs(folder, exist_ok=True)
    synthetic, real = synthetic_clip(), real_clip()
    save(os.path.join(folder, "clips.png"), [[synthetic.frames[t] for t in (0, 15, 31)],
                                             [real.frames[t] for t in (0, 19, 20)]])
    rows = []
    for clip, t in ((synthetic, 15), (real, 25)):
        a, b = clip.frames[t], clip.frames[t + 1]
        rows.append([b, flow_to_rgb(clip.backward[t])] +
                    [flow_to_rgb(estimate_flow(b, a, method)) for method in ("dis", "farneback")])
    save(os.path.join(folder, "flows.png"), rows)
    frame0, frame1, revealed = occlusion_pair()
    masks = [frame1]
    for method in ("dis", "farneback"):
        weight = consistency_weight(estimate_flow(frame0, frame1, method), estimate_flow(frame1, frame0, method))
        masks.append(outline(gray(weight), revealed))
    cut = real.cuts[0]
    masks.append(gray(consistency_weight(estimate_flow(real.frames[cut - 1], real.frames[cut]),
                                         estimate_flow(real.frames[cut], real.frames[cut - 1]))))
    save(os.path.join(folder, "masks.png"), [masks])


if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("folder", help="where to write clips.png, flows.png and masks.png (made if missing)")
    main(p.parse_args().folder)
