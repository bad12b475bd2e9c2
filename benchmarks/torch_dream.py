"""numdream's dream loop (numdream/dream.py) written on PyTorch tensors, for a fair speed comparison
of whole dreams: the same algorithm on the same weights, written the way a PyTorch user writes
DeepDream, with autograd for the input gradient where numdream writes each backward pass out.

    preprocess -> for each octave (F.interpolate, corners aligned, as numdream.imageops.resize):
        for each step: torch.roll by a random jitter -> for each tile: forward to the target
        layers (TorchInception) -> weighted L2 -> autograd to the tile -> unroll
        -> (optionally smooth) -> normalise -> step -> clamp to the network's input range
    then carry the detail up to the next octave -> deprocess

Both engines do the same work: the options are checked and the octaves sized by numdream's own
plan_dream (once per dream, not per-step tensor work), the tiles split by its tile_bounds (integer
arithmetic), and the jitter drawn from the plan's numpy Generator, seeded as numdream.dream seeds
it and drawn in the same order, so each step rolls by the same shift. preprocess, deprocess and
the input range are numdream's too (once per dream); every per-step tensor operation is torch's. What
numdream does and this loop leaves out: the check that each step is finite (numdream's error
message for a dream gone black), the progress bar and the callback: they cost a pass over the
gradient at most, so leaving them out can only make PyTorch look faster.

Supported options: the L2 objective (numdream's default) on any weighted layers, normalize 'mean'
(the default) or 'std', smooth (off by default), tiles, jitter, octaves. tests/test_torch_dream.py
checks that it draws numdream's pixels in float64.
"""
import math

import numpy
import torch
import torch.nn.functional as F

from numdream.dreamplan import plan_dream, tile_bounds

NORMALIZATIONS = ("mean", "std")


def resize(x, hw):
    """(N, C, H, W) -> (N, C, *hw), bilinear with corner pixels on corner pixels (numdream's resize)."""
    if tuple(x.shape[2:]) == tuple(hw):
        return x
    return F.interpolate(x, size=hw, mode="bilinear", align_corners=True)


def gaussian_blur(x, sigma):
    """Separable Gaussian blur of (N, C, H, W), edges replicated, the taps of numdream's gaussian_blur."""
    radius = max(1, int(math.ceil(3 * sigma)))
    taps = torch.tensor([math.exp(-0.5 * (i / sigma) ** 2) for i in range(-radius, radius + 1)], dtype=x.dtype)
    taps = taps / taps.sum()
    c = x.shape[1]
    x = F.conv2d(F.pad(x, (0, 0, radius, radius), mode="replicate"), taps.reshape(1, 1, -1, 1).repeat(c, 1, 1, 1),
                 groups=c)
    return F.conv2d(F.pad(x, (radius, radius, 0, 0), mode="replicate"), taps.reshape(1, 1, 1, -1).repeat(c, 1, 1, 1),
                    groups=c)


def normalized(g, method, eps=1e-8):
    """g scaled so that a step of 1 moves pixels by about one unit: by its mean |g| or its std."""
    if method == "mean":
        return g / (g.abs().mean() + eps)
    return g / (g.std(correction=0) + eps)  # numpy's std, the population's


def tiled_gradient(twin, x, layers, tile_size):
    """d/dx of sum(weight * 0.5 * sum(act^2)) over the target layers, x (N, 3, H, W), tile by tile
    as numdream.dream.objective_gradient splits the image: each tile is its own forward and backward
    pass, a leaf tensor, so autograd writes only that tile's gradient (a slice of one big leaf would
    make every backward pass allocate and add a gradient of the whole image)."""
    h, w = x.shape[2:]
    tile = tile_size or max(h, w)
    grad = torch.empty_like(x)
    until = list(layers)
    for y0, y1 in tile_bounds(h, tile):
        for x0, x1 in tile_bounds(w, tile):
            piece = x[:, :, y0:y1, x0:x1].detach().requires_grad_(True)  # the input only: weights need no grad
            with torch.enable_grad():
                acts = twin.forward(piece, until)
                loss = sum(weight * 0.5 * (acts[name] * acts[name]).sum() for name, weight in layers.items())
                (grad[:, :, y0:y1, x0:x1],) = torch.autograd.grad(loss, piece)
    return grad


def torch_dream_input(twin, model, pixels, layers=None, **options):
    """The dreamed network input (1, 3, H, W), a tensor of twin.dtype, of uint8 ``pixels`` (H, W, 3).

    twin: a TorchInception of the model's weights. model: the numdream Model. layers and options
    as numdream.dream takes them (octaves, steps, step_size, jitter, normalize, smooth, tile_size,
    seed ...), checked and sized by numdream's plan_dream: the octave sizes, the jitter's cap and
    the seeded Generator are the ones numdream.dream would use.
    """
    plan = plan_dream(pixels, model, layers, "l2", progress=False, **options)
    opts = plan.opts
    if opts.normalize not in NORMALIZATIONS or opts.mask is not None or opts.keep_colors:
        raise ValueError(f"the PyTorch loop has normalize {' and '.join(NORMALIZATIONS)}, no mask and no "
                         f"keep_colors; got normalize {opts.normalize!r}")
    weights = plan.objective.layers  # {layer: weight} of the L2 objective
    gain = opts.step_size * model.scale  # step_size counts 0-255 pixel units
    full = torch.from_numpy(numpy.asarray(model.preprocess(plan.pixels))).to(twin.dtype)
    low, high = (torch.from_numpy(v).to(twin.dtype) for v in model.input_range())
    jitter, detail = opts.jitter, None
    with torch.no_grad():
        for hw in plan.sizes:
            base = resize(full, hw)
            x = base.clone() if detail is None else base + resize(detail, hw)
            for _ in range(opts.steps):
                # from a photo the jitter is the Generator's only draw: numdream's shifts, in its order
                oy, ox = (int(v) for v in plan.rng.integers(-jitter, jitter + 1, size=2)) if jitter else (0, 0)
                rolled = torch.roll(x, (oy, ox), dims=(2, 3))
                g = torch.roll(tiled_gradient(twin, rolled, weights, opts.tile_size), (-oy, -ox), dims=(2, 3))
                if opts.smooth > 0:  # smooth first, so the normalised step keeps its size in pixels
                    g = gaussian_blur(g, opts.smooth)
                x.add_(normalized(g, opts.normalize), alpha=gain)
                torch.clamp(x, low, high, out=x)
            detail = x - base
    return x


def torch_dream(twin, model, pixels, **options):
    """uint8 (H, W, 3): the dream of ``pixels`` (H, W, 3), deprocessed by numdream (torch_dream_input)."""
    return model.deprocess(torch_dream_input(twin, model, pixels, **options).numpy())
