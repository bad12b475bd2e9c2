"""Are the visualisations' pale, warm colours what the channels want, or a fault of the rendering?

    python benchmarks/featvis_colour.py mixed4_atlas_tiles/ --layer mixed4 --count 16

Reads the tiles of an atlas (`numdream atlas --layer mixed4 --pre-relu`, tile i = channel i) and,
for each, measures the channel's mean activation (after its ReLU, the image as it is) on the tile
and on recoloured copies: its mean colour moved to grey, saturation x1.5 and x0.5 (about each
pixel's grey), contrast x1.3 (about mid-grey), 0.1 darker. If the tint were a fault of the
parametrisation, some recolouring would excite the channel more; if every one excites it less,
the tint is part of what the optimisation found the channel to want.
"""
import argparse
import statistics

import numpy as np

from common import machine
from bench_visualize import mean_activation  # noqa: E402  (after common, which sets up sys.path)
from numdream.frames import frame_path  # noqa: E402
from numdream.images import load_image  # noqa: E402
from numdream.model import load_model  # noqa: E402


def recoloured(px):
    """{name: float image in [0, 1]} of the variants, px: (H, W, 3) in [0, 1]."""
    grey = px.mean(axis=2, keepdims=True)
    return {"as is": px,
            "mean to grey": px - px.mean(axis=(0, 1)) + 0.5,
            "saturation x1.5": grey + 1.5 * (px - grey),
            "saturation x0.5": grey + 0.5 * (px - grey),
            "contrast x1.3": 0.5 + 1.3 * (px - 0.5),
            "darker 0.1": px - 0.1}


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("tiles", help="an atlas work folder (tile i is channel i)")
    p.add_argument("--layer", default="mixed4")
    p.add_argument("--count", type=int, default=16, help="tiles 0 .. count-1")
    args = p.parse_args()
    model = load_model()
    print(f"machine: {machine()}; {args.layer} channels 0-{args.count - 1}, tiles of {args.tiles}")
    ratios, means = {}, []
    for index in range(args.count):
        px = load_image(frame_path(args.tiles, index)).astype(np.float64) / 255
        means.append(px.mean(axis=(0, 1)))
        acts = {}
        for name, image in recoloured(px).items():
            pixels = np.rint(255 * np.clip(image, 0, 1)).astype(np.uint8)
            acts[name] = mean_activation(model, pixels, args.layer, index)
        for name, act in acts.items():
            ratios.setdefault(name, []).append(act / acts["as is"])
        print(f"channel {index:3}: " + "  ".join(f"{k} {v:6.2f}" for k, v in acts.items()), flush=True)
    print(f"mean RGB of the tiles: {np.round(np.mean(means, axis=0), 2)}")
    print("median activation over the tile's own: "
          + ", ".join(f"{k} {statistics.median(v):.3f}" for k, v in ratios.items() if k != "as is")
          + f"; variants above the tile's own: {sum(r > 1 for k, v in ratios.items() if k != 'as is' for r in v)}"
          + f" of {sum(len(v) for k, v in ratios.items() if k != 'as is')}")


if __name__ == "__main__":
    main()
