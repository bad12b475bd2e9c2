# %% [markdown]
# # 4. Dreaming from scratch
#
# DeepDream is gradient *ascent* on the pixels. Pick a layer $\ell$ with activation
# $a = a_\ell(x)$ and make it louder: maximise
#
# $$L(x) = \tfrac12 \lVert a_\ell(x) \rVert^2, \qquad \frac{\partial L}{\partial a} = a .$$
#
# So the gradient we set at the layer is the activation itself, `Model.backward` carries it to
# the pixels, and we step uphill: $x \leftarrow x + \eta\, \nabla_x L$. That is the whole idea.
# This notebook writes the loop by hand with `Model.forward` / `Model.backward`, then adds the
# four tricks that turn noise-like patterns into dreams, one at a time, with pictures of why each
# one matters. At the end, `numdream.dream` with the same options gives the same pixels.

# %%
import numpy as np
import matplotlib.pyplot as plt
from PIL import Image

import numdream
from numdream.images import load_image, sample_path
from numdream.imageops import gaussian_blur, resize

plt.rcParams.update({"figure.dpi": 72, "axes.titlesize": 10})
model = numdream.load_model()  # the bundled InceptionV3 trunk, input_1 ... mixed5
photo = np.asarray(Image.fromarray(load_image(sample_path("chelsea"))).resize((300, 200), Image.LANCZOS))
LAYER = "mixed3"


def show(images, titles, width=3.4, zoomed=False):
    """uint8 (H, W, 3) images side by side; zoomed crops keep their pixels square."""
    fig, axes = plt.subplots(1, len(images), figsize=(width * len(images), width * 0.7))
    for ax, image, title in zip(np.atleast_1d(axes), images, titles):
        ax.imshow(image, interpolation="nearest" if zoomed else "antialiased")
        ax.set_title(title)
        ax.axis("off")
    plt.tight_layout()
    plt.show()

# %% [markdown]
# ## The bare loop
#
# A dozen lines: preprocess, then forward to the layer (which also returns the *tape*, the
# caches backward needs, as every op returns its cache), set $\partial L/\partial a = a$,
# backward to the pixels through that tape, step, and keep the pixels inside $[0, 255]$. We
# also record how far each step moves the pixels on average, in 0–255 units.

# %%
def ascend(pixels, layer, steps, lr):
    x = model.preprocess(pixels)                    # (1, 3, H, W), pixels mapped to [-1, 1]
    low, high = model.input_range()                 # the network inputs of pixels 0 and 255
    moves = []
    for _ in range(steps):
        acts, tape = model.forward(x, until=[layer])  # a: (1, C, h, w); tape: what backward needs
        g = model.backward({layer: acts[layer]}, tape)  # dL/dx for L = ½‖a‖², since dL/da = a
        step = lr * g
        x += step
        np.clip(x, low, high, out=x)
        moves.append(float(np.abs(step).mean() / model.scale))  # in 0-255 pixel units
    return model.deprocess(x), moves


timid, timid_moves = ascend(photo, LAYER, steps=20, lr=1e-3)
wild, wild_moves = ascend(photo, LAYER, steps=20, lr=1e-2)
_, mixed5_moves = ascend(photo, "mixed5", steps=20, lr=1e-3)
show([photo, timid, wild], ["photo", "lr = 0.001", "lr = 0.01"])

# %% [markdown]
# It dreams: eyes and curls appear. But how big is a step? Look at the mean move per step.

# %%
fig, ax = plt.subplots(figsize=(6, 2.6))
ax.plot(timid_moves, label=f"{LAYER}, lr = 0.001")
ax.plot(wild_moves, label=f"{LAYER}, lr = 0.01")
ax.plot(mixed5_moves, label="mixed5, lr = 0.001")
ax.set(xlabel="step", ylabel="mean |step| (pixel units)", yscale="log")
ax.legend(fontsize=8)
plt.show()

# %% [markdown]
# The size of a step is an accident. Because $\partial L/\partial a = a$, the gradient grows as
# the dream raises the activations, so a fixed $\eta$ accelerates by itself; it also differs
# from layer to layer and image to image. One learning rate is too timid at the start and too
# wild later, and the wild run above has burnt the photo into coloured noise.
#
# ## Trick 1: normalise the gradient
#
# Divide the gradient by its mean absolute value, then step by a size $s$ given in pixel units:
#
# $$x \leftarrow x + s \cdot \text{scale} \cdot \frac{g}{\operatorname{mean}|g| + \epsilon}.$$
#
# Every step now moves the pixels by $s$ on average, whatever the layer, the image or the step.
# Here is the full loop, with the other tricks already written in but switched off by default.
# It is about thirty lines.

# %%
def my_dream(pixels, layer, steps=10, step_size=1.5, jitter=0, octaves=1, octave_scale=1.4,
             smooth=0.0, seed=0):
    rng = np.random.default_rng(seed)
    full = model.preprocess(pixels)
    low, high = model.input_range()
    h, w = full.shape[2:]
    sizes = [(round(h / octave_scale ** i), round(w / octave_scale ** i))
             for i in reversed(range(octaves))]        # smallest octave first
    detail = None
    for hw in sizes:
        base = resize(full, hw)                        # the photo at this octave's size
        x = base + (resize(detail, hw) if detail is not None else 0)
        for _ in range(steps):
            oy, ox = (int(v) for v in rng.integers(-jitter, jitter + 1, size=2)) if jitter else (0, 0)
            rolled = np.roll(x, (oy, ox), axis=(2, 3))  # jitter: shift the image ...
            acts, tape = model.forward(rolled, until=[layer])
            g = model.backward({layer: acts[layer]}, tape)
            g = np.roll(g, (-oy, -ox), axis=(2, 3))     # ... and shift the gradient back
            if smooth > 0:
                g = gaussian_blur(g, smooth)           # smoothing: blur the gradient
            g = g / (np.abs(g).mean() + 1e-8)          # normalisation: mean |g| = 1
            x += step_size * model.scale * g           # step_size in 0-255 pixel units
            np.clip(x, low, high, out=x)
        detail = x - base                              # what this octave dreamed, carried up
    return model.deprocess(x)


plain = my_dream(photo, LAYER, steps=20)
show([wild, plain], ["lr = 0.01", "normalised, step 1.5 px"])

# %% [markdown]
# The normalised dream is as strong as we asked for, not more, and `step_size` means the same
# thing on every layer. From here on every run makes 20 steps of 1.5 pixels.
#
# ## Trick 2: jitter
#
# Before each step, roll the image by a random shift of up to `jitter` pixels, and roll the
# gradient back afterwards. A pattern now has to excite the layer wherever the grid of strided
# convolutions and pools happens to fall, so the ascent cannot exploit one fixed alignment with
# pixel-sized noise. To see the effect, measure *where in frequency* the dream put its
# changes: the power spectrum of (dream − photo), averaged over rings of equal frequency.

# %%
def spectrum(image):
    """Radially averaged power of (image - photo): frequencies in cycles per pixel, powers."""
    change = image.astype(float).mean(axis=2) - photo.astype(float).mean(axis=2)
    power = np.abs(np.fft.fft2(change - change.mean())) ** 2
    fy, fx = np.meshgrid(np.fft.fftfreq(change.shape[0]), np.fft.fftfreq(change.shape[1]), indexing="ij")
    edges = np.linspace(0, 0.5, 21)
    ring = np.digitize(np.hypot(fy, fx), edges)
    return edges[1:], np.array([power[ring == i].mean() for i in range(1, len(edges))])


def plot_spectra(images, labels):
    fig, ax = plt.subplots(figsize=(6, 2.6))
    for image, label in zip(images, labels):
        ax.semilogy(*spectrum(image), label=label)
    ax.set(xlabel="frequency (cycles per pixel)", ylabel="power of the change")
    ax.legend(fontsize=8)
    plt.show()


jittered = my_dream(photo, LAYER, steps=20, jitter=32)
crop = (slice(20, 90), slice(160, 260))  # a 70 x 100 pixel patch of the forehead
show([plain[crop], jittered[crop]], ["no jitter (zoomed)", "jitter 32 (zoomed)"], zoomed=True)
plot_spectra([plain, jittered], ["no jitter", "jitter 32"])

# %% [markdown]
# Without jitter, the change keeps much of its power up to the finest grain the pixels can
# hold (0.5 cycles per pixel: a pixel-sized checkerboard); with jitter the power above 0.4
# cycles per pixel falls by a factor of two to three, and the patterns look cleaner. (On a
# photo the difference is modest; it is larger when the image is tiled, where jitter also hides
# the tile seams, and when dreaming from noise.)
#
# ## Trick 3: octaves
#
# A neuron of mixed3 sees a patch of fixed size in pixels, so on one image size the dream paints
# patterns of one size. Octaves dream first on a small copy of the image, where that patch
# covers a larger part of the scene, then scale up by 1.4 and continue. Only the *detail* that
# was dreamed is carried up; it is added to the photo resized to the next size, so the photo
# stays sharp.

# %%
one_scale = my_dream(photo, LAYER, steps=40, jitter=32)
four_octaves = my_dream(photo, LAYER, steps=10, jitter=32, octaves=4)
show([one_scale, four_octaves], ["1 octave x 40 steps", "4 octaves x 10 steps"])

# %% [markdown]
# Same number of steps, same layer: with octaves the eyes and whorls grow larger and fewer,
# and the fine grain that covers the one-octave dream is gone. The small octaves are cheap,
# too: the smallest has $1.4^6 \approx 7.5$ times fewer pixels than the photo.
#
# ## Trick 4: smoothing
#
# Finally, blur the gradient with a small Gaussian (sigma in pixels) before normalising it. The
# blur is a low-pass filter: it removes the pixel-level grain from each step, while the
# normalisation keeps the step's size.

# %%
smoothed = my_dream(photo, LAYER, steps=10, jitter=32, octaves=4, smooth=1.0)
show([four_octaves[crop], smoothed[crop]], ["no smoothing (zoomed)", "smooth 1.0 (zoomed)"], zoomed=True)
plot_spectra([four_octaves, smoothed], ["no smoothing", "smooth 1.0"])

# %% [markdown]
# Above about 0.35 cycles per pixel the smoothed dream's change is ten to twenty times weaker:
# the grain is gone, and the step's fixed size now goes into the larger shapes.
#
# ## The same thing, with numdream
#
# `numdream.dream` runs this very loop (read `numdream/dream.py`, top to bottom), plus what a
# real tool needs: tiling for large images, other objectives (channels, neurons, guides),
# Laplacian-pyramid normalisation, progress bars, callbacks, and the CuPy backend. With the same
# options, one tile covering the image and the same seed, it returns the same pixels as ours.

# %%
options = dict(steps=10, jitter=32, octaves=4, smooth=1.0, seed=0)
theirs = numdream.dream(photo, model=model, layers=LAYER, tile_size=0, progress=False, **options)
ours = my_dream(photo, LAYER, **options)
print("pixels that differ:", int((theirs != ours).any(axis=2).sum()), "of", ours.shape[0] * ours.shape[1])
assert np.array_equal(theirs, ours), "numdream.dream and the loop above no longer agree"
show([theirs], ["numdream.dream(photo, layers='mixed3', ...)"], width=4.6)
