# %% [markdown]
# # 5. What each layer sees
#
# A dream amplifies whatever a layer already half-sees in the image, so dreaming is a way to
# *look at* a layer. This notebook dreams the same photo at every Inception module of the
# bundled trunk, visualises single channels from noise, guides a dream with a reference photo,
# and tries the dataset-bias story from the lecture on a sky and on a brown texture.
#
# Everything here is `numdream.dream` with different arguments; notebook 4 shows what it does
# inside. The images are small (300 x 200, and 240 x 160 for the grid of layers) and the grid and
# the bias dreams take 6 larger steps an octave instead of 10, so that the notebook runs in well
# under three minutes on two cores; the command-line tool does the same at full size.

# %%
import numpy as np
import matplotlib.pyplot as plt
from PIL import Image

import numdream
from numdream.images import load_image, sample_path
from numdream.imageops import gaussian_blur

plt.rcParams.update({"figure.dpi": 72, "axes.titlesize": 10})
model = numdream.load_model()
SIZE = (300, 200)  # (W, H)
chelsea = load_image(sample_path("chelsea"))
photo = np.asarray(Image.fromarray(chelsea).resize((240, 160), Image.LANCZOS))  # for the grid of layers
QUICK = dict(steps=6, step_size=3.5)  # the grid and the bias dreams: fewer, larger steps


def show(images, titles, columns=3, width=3.5):
    """uint8 (H, W, 3) images in a grid."""
    rows = -(-len(images) // columns)
    fig, axes = plt.subplots(rows, columns, figsize=(width * columns, width * 0.72 * rows), squeeze=False)
    for ax in axes.ravel():
        ax.axis("off")
    for ax, image, title in zip(axes.ravel(), images, titles):
        ax.imshow(image)
        ax.set_title(title)
    plt.tight_layout()
    plt.show()


def dream(image, layer, **options):
    """numdream.dream with this notebook's defaults: 4 octaves of 10 steps of 2.5 pixels, seed 0."""
    settings = dict(octaves=4, steps=10, step_size=2.5, seed=0, progress=False)
    settings.update(options)
    return numdream.dream(image, model=model, layers=layer, **settings)

# %% [markdown]
# ## The same photo, layer by layer
#
# The trunk has six Inception modules, `mixed0` to `mixed5`. Each concatenates parallel
# branches (1x1, 3x3, 5x5 or factorised 1x7 / 7x1 convolutions, and a pooling branch; `mixed3`
# also halves the grid), and each one sees a larger patch of the image, through more layers of
# processing, than the one before.

# %%
MODULES = ["mixed0", "mixed1", "mixed2", "mixed3", "mixed4", "mixed5"]
for name in MODULES:
    info = model.layers[name]
    print(f"{name}: {info.channels} channels, one position every {info.stride} pixels")
by_layer = [dream(photo, name, **QUICK) for name in MODULES]
show(by_layer, MODULES)

# %% [markdown]
# Read the grid like the network reads the photo. `mixed0` and `mixed1` paint wavy lines,
# meshes and maze-like textures: the statistics of small patches. By `mixed2` and `mixed3` the
# strokes curl into whorls and the first eyes; `mixed4` and `mixed5` fill the fur with eyes and
# eye-ringed, vaguely animal shapes. The bundled trunk stops at `mixed5`, roughly the middle of
# InceptionV3: whole dogs, buildings and the like live in the layers after it, which numdream
# does not ship, so expect parts (eyes, fur, whorls) rather than whole creatures.
#
# ## One channel, from noise
#
# Instead of a whole layer, maximise the mean of a single channel $k$:
# $L = \frac{1}{hw} \sum_{i,j} a_{k,ij}$, so the gradient set at the layer is $1/hw$ on channel
# $k$ and $0$ elsewhere. Starting from noise, the image becomes what that channel is looking
# for. Laplacian-pyramid normalisation (Google's `lap_normalize`) balances the step across
# scales, which matters when there is no photo to hold the picture together.

# %%
CHANNELS = [40, 260, 333, 600]
features = [dream(None, "mixed3", objective="channel", channels=[k], init="noise", size=(128, 128),
                  octaves=3, steps=20, normalize="laplacian", smooth=0.5)
            for k in CHANNELS]
show(features, [f"mixed3, channel {k}" for k in CHANNELS], columns=4, width=2.9)

# %% [markdown]
# Each channel draws one kind of thing all over the canvas: rows of scales, bands of fibres,
# coloured dots, diagonal folds. These are the building blocks that the whole-layer dreams
# above mix together.
#
# ## The dataset bias: skies and brown textures
#
# The lecture's story: dream on a sky and castles and pagodas grow on the horizon; dream on a
# brown texture and dogs appear. ImageNet has over a hundred dog breeds among its 1000 classes,
# and its buildings are photographed against the sky, so the network learnt the context along
# with the object, and a context alone is enough to make it see the object.
#
# We have no castle detector (those are higher up), but we can ask the same question of our
# trunk: give it an almost empty sky and an almost empty brown texture, and see what the same
# layer finds in each. Both canvases are generated here, so nothing in them suggests an object.

# %%
rng = np.random.default_rng(0)


def soft_noise(sigma, hw=(SIZE[1], SIZE[0])):
    """Gaussian noise blurred by sigma pixels, unit standard deviation, (H, W)."""
    n = gaussian_blur(rng.standard_normal((1, 1) + hw), sigma)[0, 0]
    return n / n.std()


height = np.linspace(0, 1, SIZE[1])[:, None, None]
sky = (1 - height) * np.array([70, 130, 210]) + height * np.array([190, 215, 240])  # blue to haze
clouds = np.clip(soft_noise(12) + 0.5 * soft_noise(4) - 0.6, 0, None)[..., None]
sky = np.clip(sky + 60 * clouds * (255 - sky) / 255, 0, 255).astype(np.uint8)
brown = np.array([120, 80, 45]) * (1 + 0.15 * soft_noise(3) + 0.1 * soft_noise(10))[..., None]
brown = np.clip(brown, 0, 255).astype(np.uint8)

canvases = {"sky": sky, "brown texture": brown}
bias = {(name, layer): dream(canvas, layer, **QUICK) for name, canvas in canvases.items()
        for layer in ("mixed4", "mixed5")}
show([sky, bias["sky", "mixed4"], bias["sky", "mixed5"],
      brown, bias["brown texture", "mixed4"], bias["brown texture", "mixed5"]],
     ["sky", "sky at mixed4", "sky at mixed5",
      "brown texture", "brown at mixed4", "brown at mixed5"])

# %% [markdown]
# Same layers, same settings, very different dreams. On the brown texture `mixed4` packs the
# canvas with eyes, and `mixed5` combs it into fur-like strands: the animal parts that brown,
# furry ImageNet photos taught the network to expect. The sky gets swirls, ripples and streaks
# with only a few eyes. That is the lecture's bias in miniature, at the level of parts. The
# castles themselves do not appear: they need the object-level layers beyond `mixed5`.
#
# ## A guided dream
#
# The talk's "cat" idea: instead of amplifying everything a layer sees, pull the dream toward
# what a reference image shows. Google's rule computes the guide's features
# $G = [g_1, \dots, g_m]$ at the layer once; then at every position $p$ of the dream it picks the
# guide feature with the largest dot product and pulls toward it:
#
# $$L_\text{Google} = \sum_p \max_j \langle a_p, g_j \rangle, \qquad \frac{\partial L}{\partial a_p} = g_{j^*(p)} .$$
#
# Raw dot products favour the guide vectors of largest norm, and the largest belong to the
# guide's border, where the convolutions' zero padding inflates the activations. Let us see
# where the rule sends the positions of our sky, guided by Chelsea's face.

# %%
rocket = load_image(sample_path("rocket"))
guides = {"Chelsea's face": chelsea[30:230, 100:400], "lattice tower": rocket[0:300, 0:100]}


def mixed3(picture):
    """The mixed3 activation of a picture, (C, h, w)."""
    acts, _ = model.forward(model.preprocess(picture), until=["mixed3"], keep_tape=False)
    return acts["mixed3"][0]


g = mixed3(guides["Chelsea's face"])
a = mixed3(sky).reshape(g.shape[0], -1)
picks = (a.T @ g.reshape(g.shape[0], -1)).argmax(axis=1)
rows, cols = np.divmod(picks, g.shape[2])
on_border = (rows == 0) | (rows == g.shape[1] - 1) | (cols == 0) | (cols == g.shape[2] - 1)
print(f"{len(np.unique(picks))} of the guide's {g.shape[1] * g.shape[2]} positions serve all "
      f"{a.shape[1]} positions of the sky; {on_border.mean():.0%} of those pull toward its border ring")

# %% [markdown]
# So Google's rule adds almost the same vector everywhere, most of it from the guide's edges,
# on top of what the layer already amplifies: the guided dream stays close to the free one.
#
# numdream's default guide (`guide_mode="gram"`) matches the guide's *style statistics*
# instead, as neural style transfer does: the Gram matrix $\Gamma(F) = F F^\top / n$ of the
# feature vectors says which features occur and which occur together, wherever they are.
#
# $$L_\text{gram} = -\frac{1}{2}\, \frac{\lVert \Gamma(A) - \Gamma(G) \rVert^2}{\lVert \Gamma(G) \rVert^2},
# \qquad \frac{\partial L}{\partial A} = -\frac{2}{n}\, \frac{(\Gamma(A) - \Gamma(G))\, A}{\lVert \Gamma(G) \rVert^2} .$$
#
# It drops the guide's border ring, and shows the guide to the network at each octave at the
# scale the image has there. We dream on the sky freely, then with each guide by both rules.

# %%
free = dream(sky, "mixed3")
guided = {(name, mode): dream(sky, "mixed3", objective="guide", guide=image, guide_mode=mode)
          for name, image in guides.items() for mode in ("google", "gram")}

fig, axes = plt.subplots(1, 2, figsize=(4.2, 2.2), gridspec_kw={"width_ratios": [3, 1]})
for ax, (name, image) in zip(axes, guides.items()):
    ax.imshow(image)
    ax.set_title(f"guide: {name}", fontsize=9)
    ax.axis("off")
plt.show()
show([free, guided["Chelsea's face", "google"], guided["Chelsea's face", "gram"],
      free, guided["lattice tower", "google"], guided["lattice tower", "gram"]],
     ["sky at mixed3, free", "Chelsea, Google's rule", "Chelsea, gram (default)",
      "sky at mixed3, free", "tower, Google's rule", "tower, gram (default)"])

# %% [markdown]
# Google's rule leaves the free dream's swirls and eye-rings nearly as they were (the tower
# straightens a few of them). The Gram match repaints the sky: for the cat, fine fur-like
# strokes and a few dark, almond-shaped eyes; for the tower, a lattice of straight struts. Same
# layer, same canvas, same steps; only the gradient set at the layer changed.
#
# The eye is easily fooled, so let us measure, with two figures that neither rule optimises
# directly. *Likeness*: for every position of a dream, the cosine similarity of its mixed3
# feature vector with the best-matching position of a guide, averaged (1: every part of the
# dream looks, to mixed3, exactly like some part of the guide). *Gram similarity at mixed4*: the
# cosine similarity of the Gram matrices one module above the layer that was dreamed.

# %%
def likeness(image, guide):
    """Mean over the image's positions of the best cosine similarity with any guide position."""
    unit = []
    for picture in (image, guide):
        a = mixed3(picture)
        f = a.reshape(a.shape[0], -1)
        unit.append(f / (np.linalg.norm(f, axis=0) + 1e-8))
    return float((unit[0].T @ unit[1]).max(axis=1).mean())


def gram_similarity(image, guide, layer="mixed4"):
    """Cosine similarity of the Gram matrices F F^T / n of two pictures at ``layer``."""
    grams = []
    for picture in (image, guide):
        acts, _ = model.forward(model.preprocess(picture), until=[layer], keep_tape=False)
        f = acts[layer][0].reshape(acts[layer].shape[1], -1)
        grams.append(f @ f.T / f.shape[1])
    return float((grams[0] * grams[1]).sum() / np.sqrt((grams[0] ** 2).sum() * (grams[1] ** 2).sum()))


dreams = {"free dream": free, **{f"{name}, {mode}": image for (name, mode), image in guided.items()}}
print(f"{'':>24}" + "".join(f"{'like ' + name:>21}{'gram4 ' + name:>21}" for name in guides))
for title, image in dreams.items():
    print(f"{title:>24}" + "".join(f"{likeness(image, g):>21.3f}{gram_similarity(image, g):>21.3f}"
                                    for g in guides.values()))

# %% [markdown]
# By Google's rule each dream moves only a little toward its guide (the likeness to Chelsea
# rises from 0.61 to 0.64); by the Gram match it moves several times as far (to 0.76), and
# further still on the Gram similarity one module up, which the dream never saw (0.23 to 0.75).
# Each moves toward the other guide too, but much less than toward its own: the match is to
# this guide, not to "any photo". `benchmarks/bench_guide.py` measures the
# same on five photo/guide pairs, and its `--study` looks at each suspect in turn (layers,
# matching, scales, the weight of the image's own features). On the command line:
# `numdream dream photo.jpg --guide chelsea.png` (`--guide-mode google` for Google's rule).
