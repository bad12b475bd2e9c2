# %% [markdown]
# # 7. What does a neuron want?
#
# Notebook 5 asked a channel what it sees by gradient ascent on the pixels, from noise. The
# pictures were grey and grainy, and some channels never moved at all. This notebook starts
# there and adds, one at a time, the five tricks of feature visualisation (Olah, Mordvintsev and
# Schubert, "Feature Visualization", Distill 2017; the Lucid library):
#
# 1. a **pre-ReLU** objective, so that no channel is dead;
# 2. a **Fourier parametrisation** of the image, scaled like natural images' $1/f$ spectrum;
# 3. **decorrelated colour**;
# 4. **transformation robustness**: small random pads, shifts, scalings and rotations;
# 5. **Adam** instead of plain gradient ascent.
#
# Each is a forward/backward pair in `numdream.featvis`: its backward is derived in a few lines
# here, checked against central differences (and PyTorch autograd when it is installed), and its
# effect measured with three figures: the channel's mean activation on the final image, the same
# averaged over 8 random transformations (does the picture excite the channel robustly, or only
# through one exact arrangement of pixels?), and the share of the image's spectral power above
# 0.35 cycles per pixel (near-Nyquist noise). The images are small (128 x 128) and the runs short
# so that the notebook runs in about two minutes; `numdream visualize` makes the full-size ones.

# %%
import numpy as np
import matplotlib.pyplot as plt

import numdream
from numdream import featvis, opcases
from numdream.featvis import (STANDARD_TRANSFORMS, adam_init, adam_step, channel, image_backward, image_forward,
                              init_params, network_input_backward, network_input_forward, pipeline_backward,
                              pipeline_forward)
from numdream.gallery import contact_sheet
from numdream.gradcheck import FD_TOL, TORCH_TOL, directional_derivative, torch_available

plt.rcParams.update({"figure.dpi": 72, "axes.titlesize": 10})
model = numdream.load_model()             # the bundled InceptionV3 trunk
SIZE, STEPS, LAYER = (128, 128), 96, "mixed4"
LIVE, DEAD = 1, 4                         # channel 4 of mixed4 is 0 after its ReLU on a grey image


def show(images, titles, width=2.6):
    """uint8 (H, W, 3) images side by side."""
    fig, axes = plt.subplots(1, len(images), figsize=(width * len(images), width * 1.1))
    for ax, image, title in zip(np.atleast_1d(axes), images, titles):
        ax.imshow(image)
        ax.set_title(title)
        ax.axis("off")
    plt.tight_layout()
    plt.show()


def to_pixels(image):
    """(1, 3, H, W) in [0, 1] -> uint8 (H, W, 3)."""
    return featvis.render.to_pixels(image)[0]

# %% [markdown]
# ## The three figures
#
# The activation is always read **after** the ReLU, on the channel we asked for, whatever the
# objective was. The transformed version draws 8 random transformations from Lucid's standard set
# (the same 8 for every picture); the near-Nyquist share looks at the grey image's power spectrum.

# %%
def activation(pixels, index, draws=0):
    """Mean of channel ``index`` of LAYER on uint8 pixels, as they are or over ``draws`` transformations."""
    image = pixels.transpose(2, 0, 1)[None].astype(np.float32) / 255
    rng, values = np.random.default_rng(1234), []
    for _ in range(max(draws, 1)):
        seen = pipeline_forward(image, STANDARD_TRANSFORMS, rng)[0] if draws else image
        x, _ = network_input_forward(seen, model.mean, model.scale, model.channel_order)
        values.append(float(model.forward(x, [LAYER], keep_tape=False)[0][LAYER][0, index].mean()))
    return float(np.mean(values))


def near_nyquist(pixels, cutoff=0.35):
    grey = pixels.astype(np.float64).mean(axis=2)
    power = np.abs(np.fft.fft2(grey - grey.mean())) ** 2
    fy, fx = np.meshgrid(np.fft.fftfreq(grey.shape[0]), np.fft.fftfreq(grey.shape[1]), indexing="ij")
    return float(power[np.hypot(fy, fx) > cutoff].sum() / power.sum())


results = {}


def measure(name, pixels, index):
    results[name] = (activation(pixels, index), activation(pixels, index, draws=8), near_nyquist(pixels))
    print(f"{name:28s} activation {results[name][0]:7.3f}   under transformations {results[name][1]:7.3f}   "
          f"power above 0.35 c/px {results[name][2]:.2f}")

# %% [markdown]
# ## The loop, written out
#
# One function holds the whole method. Each line is a forward/backward pair of `numdream.featvis`
# or of the network; the backward runs the same stages in reverse, each through its own backward:
#
# params $\to$ image in $[0, 1]$ $\to$ transformed image $\to$ network input $\to$ activation
# $\to$ objective, then $\partial/\partial$ objective back to $\partial/\partial$ params.
#
# The optimiser is a choice. *Gradient ascent* is Google's DeepDream step: normalise the gradient
# by its mean magnitude and step by a fixed size. *Adam* comes last.

# %%
def climb(layer, index, param="pixel", decorrelate=False, transforms=(), optimiser="ascent", steps=STEPS,
          lr=0.05, seed=0, values=None):
    rng = np.random.default_rng(seed)
    params = init_params(SIZE, 1, param, rng=rng)        # a faint start around grey, seeded
    state = adam_init([params])
    objective = channel(layer, index)                    # the mean of one channel over all positions
    for _ in range(steps):
        image, image_cache = image_forward(params, SIZE, param, decorrelate)   # params -> [0, 1]
        seen, transform_cache = pipeline_forward(image, transforms, rng)      # random transformations
        x, input_cache = network_input_forward(seen, model.mean, model.scale, model.channel_order)
        acts, tape = model.forward(x, [layer])
        value, objective_cache = objective.forward(acts)
        dx = model.backward(objective.backward(objective_cache), tape)       # d value / d input
        dparams = image_backward(pipeline_backward(network_input_backward(dx, input_cache), transform_cache),
                                 image_cache)
        if values is not None:
            values.append(value)
        if optimiser == "adam":
            adam_step([params], [-dparams], state, lr=lr)                    # descend on minus the value
        else:
            params += lr * dparams / (np.abs(dparams).mean() + 1e-12)         # normalised gradient ascent
    return to_pixels(image_forward(params, SIZE, param, decorrelate)[0])

# %% [markdown]
# ## Pixels and plain ascent: noise, and a dead channel
#
# Start where notebook 5 stood: the image is the pixels (through a sigmoid, so they stay in
# $[0, 1]$), the objective is the channel's mean after its ReLU, and the step is normalised
# gradient ascent. Two channels of `mixed4`: channel 1, and channel 4.

# %%
live_values, dead_values = [], []
pixels_live = climb(LAYER, LIVE, values=live_values)
pixels_dead = climb(LAYER, DEAD, values=dead_values)
show([pixels_live, pixels_dead], [f"channel {LIVE}, pixels", f"channel {DEAD}, pixels"])
measure("pixels, ascent", pixels_live, LIVE)
print(f"channel {DEAD}: objective {dead_values[0]} at the first step, {dead_values[-1]} at the last")

# %% [markdown]
# Channel 1 climbs, but its picture is a fog of pixel-sized grain: the near-Nyquist share is
# large, and the activation under small transformations is a fraction of the activation as it is.
# The pattern works only pixel for pixel. Channel 4 did not move at all: its value is exactly 0.
#
# ## Trick 1: pre-ReLU
#
# The channel is $r = \max(z, 0)$ of the convolutions' output $z$, and the ReLU's backward is
#
# $$\frac{\partial L}{\partial z} = \frac{\partial L}{\partial r} \cdot [z > 0].$$
#
# On a nearly grey image channel 4's $z$ is negative at every position, so the mask is 0
# everywhere and no gradient reaches the pixels, ever. Maximising $z$ itself, the layer **before**
# its last ReLU (`mixed4:pre_relu`, the concatenation of the branches' convolutions), the gradient
# at the layer is $1/(hw)$ at every position of the channel, whatever its sign. The pair is the
# network's own backward, minus the last mask; check it along random directions against central
# differences, in float64, on a small input. The step is $10^{-7}$: the network has millions of
# ReLUs and max pools, and a step of $10^{-5}$ already carries a few of them across their kink,
# where the derivative jumps.

# %%
model64 = numdream.load_model(dtype=np.float64)
x = np.random.default_rng(0).uniform(-1, 1, (1, 3, 91, 91))
objective = channel("mixed4:pre_relu", DEAD)
acts, tape = model64.forward(x, ["mixed4:pre_relu"])
dx = model64.backward(objective.backward(objective.forward(acts)[1]), tape)
value_of = lambda x: np.array([objective.forward(model64.forward(x, ["mixed4:pre_relu"], keep_tape=False)[0])[0]])  # noqa: E731
for seed in range(2):
    v = np.random.default_rng(seed + 1).standard_normal(x.shape)
    numeric = directional_derivative(value_of, [x], [v], np.ones(1), eps=1e-7)
    analytic = float((dx * v).sum())
    print(f"direction {seed}: analytic {analytic:.10f}, central differences {numeric:.10f}, "
          f"relative error {abs(analytic - numeric) / abs(numeric):.1e} (tolerance {FD_TOL:g})")
del model64

# %%
pre_live = climb(f"{LAYER}:pre_relu", LIVE)
pre_dead = climb(f"{LAYER}:pre_relu", DEAD)
show([pre_live, pre_dead], [f"channel {LIVE}, pre-ReLU", f"channel {DEAD}, pre-ReLU"])
measure("+ pre-ReLU", pre_live, LIVE)
measure("+ pre-ReLU (channel 4)", pre_dead, DEAD)

# %% [markdown]
# Both channels move now; channel 4 shows a pattern at last. The grain is still there: that is the
# parametrisation's fault, not the objective's.
#
# ## Trick 2: the Fourier parametrisation
#
# In pixels, a gradient step is as rough as the gradient, and the gradient of a deep network is
# rough. Parametrise the image by its spectrum instead, each frequency $f$ scaled by
# $1/\max(f, 1/\max(H, W))$: a unit step of every coefficient is then an image with the $1/f$
# spectrum of natural photographs, and the optimiser moves low frequencies as easily as high ones.
#
# $x = \text{irfft2}(s \odot S)$ is linear in the coefficients $S = a + ib$, so the backward is its
# adjoint. `irfft2` reads a *half* spectrum: columns $1 \dots \lceil W/2 \rceil - 1$ stand for
# themselves and their mirror images (they count twice, $w_l = 2$), columns 0 and $W/2$ (when $W$
# is even) only once. Writing $x$ as a sum of cosines and sines and differentiating,
#
# $$\frac{\partial L}{\partial a_{kl}} = w_l\, s_{kl} \operatorname{Re} R_{kl}, \qquad
#   \frac{\partial L}{\partial b_{kl}} = w_l\, s_{kl} \operatorname{Im} R_{kl}, \qquad
#   R = \text{rfft2}\Big(\frac{\partial L}{\partial x}\Big) \text{ (orthonormal)}.$$
#
# The registry checks it over odd and even sizes, as `numdream gradcheck --op fourier` does:

# %%
def check(op):
    for case in opcases.cases(op):
        fd = opcases.check_case(case, directions=2).error
        versus = (f"{opcases.compare_case_with_torch(case).error:.1e} (tolerance {TORCH_TOL['float64']:g})"
                  if torch_available() else "torch not installed")
        print(f"{case.name:52s} central differences {fd:.1e}, autograd {versus}")


check("fourier")

# One thing changes with it: the size of a plain step. The gradient with respect to a coefficient
# is its scale times the image gradient's Fourier coefficient, and the step moves the image by the
# scale again: the lowest frequencies, scaled by up to $0.25 \cdot 128 = 32$ here, move up to $32^2$
# = 1024 times faster than they did in pixels, and the step that suited pixels (0.05) saturates the
# sigmoid within a few steps. The Fourier runs of plain ascent take a five times smaller step.

# %%
fourier = climb(f"{LAYER}:pre_relu", LIVE, param="fft", lr=0.01)
show([pre_live, fourier], ["pixels", "Fourier"])
measure("+ Fourier", fourier, LIVE)

# %% [markdown]
# The grain is gone: the power above 0.35 cycles per pixel drops more than tenfold, and
# structures span many pixels. The colours are odd, saturated primaries.
#
# ## Trick 3: decorrelated colour
#
# In natural images the three colour channels move together (most of the variance is
# brightness). Optimise three decorrelated channels $c$ and mix them into RGB with the square root
# of ImageNet's colour covariance, $\text{rgb} = M c$ at every pixel, so that every direction of
# colour moves at the same rate. A fixed linear map's backward is its transpose:
# $\partial L / \partial c = M^\top\, \partial L / \partial\,\text{rgb}$.

# %%
print(np.round(featvis.COLOR_MIX, 3))
check("decorrelate")

# %%
colour = climb(f"{LAYER}:pre_relu", LIVE, param="fft", decorrelate=True, lr=0.01)
show([fourier, colour], ["Fourier", "Fourier, decorrelated colour"])
measure("+ decorrelated colour", colour, LIVE)

# %% [markdown]
# ## Trick 4: transformation robustness
#
# Every step, the image goes through Lucid's standard transformations before the network: a grey
# border of 12 pixels, a random shift of up to 8, a random scaling by 0.9 to 1.1, a rotation by
# -10 to 10 degrees, another shift of up to 4. The pattern must excite the channel wherever and
# however big it lands. Each transformation is linear in the image, so each backward is the
# adjoint: crop for pad (and pad with zeros for crop), the transposed interpolation matrix for a
# scaling ($y = A_r x A_c^\top \Rightarrow \partial x = A_r^\top\, \partial y\, A_c$), and for a
# rotation every output pixel's gradient scattered back to the four pixels it read, with the
# bilinear weights it read them with. The draws are recorded, so the backward differentiates the
# very function that ran:

# %%
check("pipeline")

# %%
robust = climb(f"{LAYER}:pre_relu", LIVE, param="fft", decorrelate=True, transforms=STANDARD_TRANSFORMS, lr=0.01)
show([colour, robust], ["no transformations", "standard transformations"])
measure("+ transformations", robust, LIVE)

# %% [markdown]
# The activation under random transformations is now as high as the activation as it is: the
# picture excites the channel robustly, wherever and at whatever size its pattern lands.
#
# ## Trick 5: Adam
#
# Normalised ascent moves every parameter by one global factor of its gradient: the step had to be
# small enough for the lowest frequencies, so the fine ones, whose gradients are small, hardly move.
# Adam keeps a running mean $m$ of each parameter's gradient and of its square $v$ and steps by
# $\eta\, \hat m / (\sqrt{\hat v} + \epsilon)$: about $\eta$ for every parameter, whatever its scale,
# with no step size to tune per parametrisation. It is `featvis.adam_step`, five lines, checked
# against `torch.optim.Adam` in the tests.

# %%
adam_values, ascent_values = [], []
climb(f"{LAYER}:pre_relu", LIVE, param="fft", decorrelate=True, transforms=STANDARD_TRANSFORMS, lr=0.01,
      values=ascent_values)
adam = climb(f"{LAYER}:pre_relu", LIVE, param="fft", decorrelate=True, transforms=STANDARD_TRANSFORMS,
             optimiser="adam", values=adam_values)
fig, ax = plt.subplots(figsize=(6, 2.6))
ax.plot(ascent_values, label="normalised ascent, lr 0.01")
ax.plot(adam_values, label="Adam, lr 0.05")
ax.set(xlabel="step", ylabel="objective (pre-ReLU mean)")
ax.legend(fontsize=8)
plt.show()
show([pixels_live, robust, adam], ["where we started", "ascent, all tricks", "Adam, all tricks"])
measure("+ Adam", adam, LIVE)

# %% [markdown]
# Adam ends a little higher, and, more visibly, it moves the fine frequencies that the common
# step had to leave nearly still: the picture gets its fine structure back (the share above 0.35
# cycles per pixel rises again, to a fifth of the pixels' grain), and no step size had to be
# tuned for the parametrisation.
#
# ## All together
#
# The figures, trick by trick (channel 1; channel 4 only after pre-ReLU, where it came alive). As
# it is, the pixel-space picture has the highest activation, and under transformations the
# lowest: its pattern is a pixel-exact trick. Each trick gives up some of that and gains
# robustness; at the end the visualisation excites the channel as strongly after a random
# transformation as before it, about three times as strongly as the pixels did.

# %%
print(f"{'':28s} {'activation':>10s} {'transformed':>12s} {'> 0.35 c/px':>12s}")
for name, (act, act_tf, nyquist) in results.items():
    print(f"{name:28s} {act:10.3f} {act_tf:12.3f} {nyquist:12.2f}")

# %% [markdown]
# `numdream.visualize` is this loop with all five tricks (and batches, diversity, other objectives);
# with the same settings it makes the same pixels:

# %%
same = numdream.visualize(channel(f"{LAYER}:pre_relu", LIVE), size=SIZE[0], steps=STEPS, model=model,
                          progress=False)[0]
print("numdream.visualize gives the same pixels:", np.array_equal(same, adam))

# %% [markdown]
# ## An atlas of a layer
#
# One visualisation per channel, side by side: the first channels of `mixed4`, before their ReLUs.
# `numdream atlas --layer mixed4 --pre-relu --channels 0-63 -o sheet.png` makes the full-size one
# (resumable, and in parallel with `--workers`).

# %%
tiles = [numdream.visualize(channel(f"{LAYER}:pre_relu", c), size=SIZE[0], steps=STEPS, model=model,
                            progress=False)[0] for c in range(8)]
sheet = contact_sheet(tiles, [f"#{c} {LAYER}" for c in range(8)], columns=4)
plt.figure(figsize=(10, 5.5))
plt.imshow(sheet)
plt.axis("off")
plt.show()

# %% [markdown]
# Textures, fur, eye-like spots, stripes: what each unit of `mixed4` responds to, as much of it as
# fits in 128 pixels. More steps and larger images show more; `numdream visualize --batch 4
# --diversity 0.5` shows several facets of one channel at once.
