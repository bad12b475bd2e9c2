"""A network-free look at the feature-visualisation machinery (issue 13, first half).

    python benchmarks/featvis_quicklook.py                  # 200 steps at 224x224, PNGs in /tmp
    python benchmarks/featvis_quicklook.py --steps 50 --objective photo --out somewhere/

Two dummy objectives that need no network, each climbed with Adam (lr 0.05) through Lucid's
standard transforms:
- gabor: the energy (mean squared response) of two colour Gabor filters through
  numdream.ops.conv2d, a red-cyan one at 30 degrees and a blue-yellow one at 120;
- photo: the correlation of the transformed image with the bundled photo of Chelsea under the
  same transformation (the recorded draw replayed on the photo), so the optimum is the photo and
  any error in a transform's backward pass would show as a blurred or shifted cat.
For each, three parametrisations (Fourier + decorrelated colour + sigmoid; pixels + sigmoid;
Fourier + decorrelated without the transforms); printed: the objective on the final image, the
share of its grey, mean-removed spectral power above 0.35 cycles per pixel (near-Nyquist noise, the
measure of the issue's section 7) and seconds per step. The PNGs are there to look at.
"""
import argparse
import math
import os
import time

import numpy as np
from PIL import Image

import common  # noqa: F401 (puts the repository on sys.path)
from numdream.featvis import (STANDARD_TRANSFORMS, adam_init, adam_step, image_backward, image_forward,
                              init_params, pipeline_backward, pipeline_forward, replay_forward)
from numdream.images import load_image, sample_path, save_image
from numdream.ops import conv2d_backward, conv2d_forward


def gabor_bank(size=13, wavelength=6.0, sigma=2.5):
    """(2, 3, size, size) float32: two oriented Gabor filters, each tuned to a colour opponency."""
    r = np.arange(size) - (size - 1) / 2
    y, x = np.meshgrid(r, r, indexing="ij")
    filters = []
    for degrees, colour in ((30, (1.0, -0.5, -0.5)), (120, (-0.5, -0.5, 1.0))):
        a = math.radians(degrees)
        u = x * math.cos(a) + y * math.sin(a)
        g = np.exp(-(x * x + y * y) / (2 * sigma ** 2)) * np.cos(2 * math.pi * u / wavelength)
        g -= g.mean()
        filters.append(np.array(colour)[:, None, None] * g / np.abs(g).sum())
    return np.stack(filters).astype(np.float32)


def gabor_objective(w):
    def objective(seen, steps):
        """L = mean of the squared responses to w of (seen - 0.5); returns L and dL/dseen."""
        r, cache = conv2d_forward(seen - 0.5, w, None)
        return float((r * r).mean()), conv2d_backward(2 * r / r.size, cache)
    return objective


def photo_objective(photo):
    def objective(seen, steps):
        """L = cosine of the mean-removed seen and photo, both under the same transforms."""
        target, _ = replay_forward(photo, steps)
        u, v = seen - seen.mean(), target - target.mean()
        nu, nv = np.sqrt((u * u).sum()), np.sqrt((v * v).sum())
        value = float((u * v).sum() / (nu * nv))
        du = v / (nu * nv) - value * u / (nu * nu)
        return value, du - du.mean()  # the mean removal's adjoint removes the mean again
    return objective


def chelsea(size):
    """The bundled photo, centre-cropped to a square and resized: (1, 3, size, size) in [0, 1]."""
    pixels = load_image(sample_path("chelsea"))
    h, w = pixels.shape[:2]
    s = min(h, w)
    square = Image.fromarray(pixels[(h - s) // 2:(h + s) // 2, (w - s) // 2:(w + s) // 2])
    return (np.asarray(square.resize((size, size), Image.BICUBIC), np.float32) / 255).transpose(2, 0, 1)[None]


def near_nyquist_share(image, cutoff=0.35):
    """Share of the grey (channel mean), mean-removed image's spectral power above ``cutoff``
    cycles per pixel. image: (3, H, W)."""
    grey = image.mean(axis=0)
    power = np.abs(np.fft.fft2(grey - grey.mean())) ** 2
    fy, fx = np.meshgrid(np.fft.fftfreq(grey.shape[0]), np.fft.fftfreq(grey.shape[1]), indexing="ij")
    return float(power[np.hypot(fy, fx) > cutoff].sum() / power.sum())


def visualise(objective, param, decorrelate, transforms, steps, size, seed):
    """Adam on the parametrisation; returns the final image (1, 3, H, W) and the seconds it took."""
    rng = np.random.default_rng(seed)
    params = init_params((size, size), param=param, rng=rng)
    state = adam_init([params])
    start = time.perf_counter()
    for _ in range(steps):
        image, image_cache = image_forward(params, (size, size), param, decorrelate)
        seen, transform_cache = pipeline_forward(image, transforms, rng)
        _, dseen = objective(seen, transform_cache.steps)
        dparams = image_backward(pipeline_backward(dseen, transform_cache), image_cache)
        adam_step([params], [-dparams], state)  # climb: descend on minus the gradient
    image, _ = image_forward(params, (size, size), param, decorrelate)
    return image, time.perf_counter() - start


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[1])
    p.add_argument("--steps", type=int, default=200)
    p.add_argument("--size", type=int, default=224)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--objective", choices=("gabor", "photo", "both"), default="both")
    p.add_argument("--out", default="/tmp", help="folder of the PNGs")
    args = p.parse_args()
    objectives = {"gabor": gabor_objective(gabor_bank()), "photo": photo_objective(chelsea(args.size))}
    names = list(objectives) if args.objective == "both" else [args.objective]
    runs = [("fft_decorrelated", "fft", True, STANDARD_TRANSFORMS),
            ("pixel", "pixel", False, STANDARD_TRANSFORMS),
            ("fft_decorrelated_no_transforms", "fft", True, ())]
    print(f"{args.steps} Adam steps at {args.size}x{args.size}, seed {args.seed}")
    print(f"{'objective':9s} {'parametrisation':32s} {'value':>8s} {'>0.35 c/px':>10s} {'s/step':>7s}")
    for name in names:
        objective = objectives[name]
        for label, param, decorrelate, transforms in runs:
            image, seconds = visualise(objective, param, decorrelate, transforms, args.steps, args.size,
                                       args.seed)
            value, _ = objective(image, ())
            print(f"{name:9s} {label:32s} {value:8.4f} {near_nyquist_share(image[0]):10.3f} "
                  f"{seconds / args.steps:7.3f}")
            pixels = np.clip(np.round(255 * image[0].transpose(1, 2, 0)), 0, 255).astype(np.uint8)
            save_image(os.path.join(args.out, f"featvis_{name}_{label}.png"), pixels)
    if "photo" in names:
        print(f"photo itself: >0.35 c/px {near_nyquist_share(chelsea(args.size)[0]):.3f}")


if __name__ == "__main__":
    main()
