# %% [markdown]
# # 3. Through a whole Inception network
#
# Notebooks 1 and 2 took single layers apart. A network is just those layers wired into a
# graph: the bundled InceptionV3 trunk has 115 nodes from `input_1` to `mixed5`.
# `Model.forward` runs the nodes in order and keeps each node's cache; `Model.backward` walks
# them in reverse and calls each node's backward. There is exactly one new idea at the level of
# the graph: **where a tensor fans out to several nodes, the gradients coming back from them add
# up**, because by the multivariate chain rule
#
# $$\frac{\partial L}{\partial t} = \sum_{k\,\in\,\text{readers of } t} \frac{\partial L}{\partial y_k}\,\frac{\partial y_k}{\partial t}.$$
#
# This notebook walks one Inception module forward and back by hand, checks the walk against
# `Model` and against finite differences, and then sets "gradient = 1" at a low and a high layer
# to see what the pixels receive.

# %%
from collections import Counter

import numpy as np
import matplotlib.pyplot as plt
from PIL import Image

import numdream
from numdream import nodes
from numdream.gradcheck import directional_derivative, rel_error
from numdream.images import load_image, sample_path

plt.rcParams.update({"figure.dpi": 72, "axes.titlesize": 10})
model = numdream.load_model()                       # float32, as dreams use it
model64 = numdream.load_model(dtype=np.float64)     # float64, for exact comparisons
photo = np.asarray(Image.fromarray(load_image(sample_path("chelsea"))).resize((300, 200), Image.LANCZOS))
print(Counter(node.op for node in model.spec.nodes))

# %% [markdown]
# ## One Inception module
#
# `mixed0` is the first module. It reads the stem's output `max_pooling2d_2` (192 channels at
# 1/8 of the image size) and concatenates four branches: a 1x1 convolution; 1x1 then 5x5;
# 1x1 then two 3x3; and a 3x3 average pool then 1x1. Every convolution is followed by a ReLU
# (the batch normalisation of Keras is folded into the convolution's weights and bias). We find
# the module's nodes from the graph itself: what `mixed0` needs, minus what its input needs
# (`model.needed` walks the graph back from its targets, the way `forward` decides what to run).

# %%
needed = model.needed
MODULE_INPUT, MODULE_OUTPUT = "max_pooling2d_2", "mixed0"
module = [name for name in needed([MODULE_OUTPUT]) if name not in needed([MODULE_INPUT])]
readers = [name for name in module if MODULE_INPUT in model.nodes[name].inputs]
print(f"{len(module)} nodes; {MODULE_INPUT} is read by {readers}")


def label(name):
    node = model.nodes[name]
    if node.op == "conv2d":
        o, c, kh, kw = node.params["w"].shape
        return f"conv {kh}x{kw}\n{c} → {o}"
    if node.op == "avg_pool2d":
        return "avg pool 3x3"
    return node.op


branches = []  # each branch from the module input down to the concat
for end in model.nodes[MODULE_OUTPUT].inputs:
    chain = [end]
    while model.nodes[chain[-1]].inputs != [MODULE_INPUT]:
        chain.append(model.nodes[chain[-1]].inputs[0])
    branches.append(chain[::-1])

depth = max(len(b) for b in branches) + 1
fig, ax = plt.subplots(figsize=(8, 4.8))
box = dict(boxstyle="round", fc="#eef3fb", ec="#4a6fa5")
ax.text(1.5, depth, f"{MODULE_INPUT}\n192 channels", ha="center", va="center", bbox=box)
ax.text(1.5, 0, f"{MODULE_OUTPUT}: concat\n{model.layers[MODULE_OUTPUT].channels} channels",
        ha="center", va="center", bbox=box)
for i, chain in enumerate(branches):
    above = (1.5, depth)
    for j, name in enumerate(chain):
        here = (i, depth - 1 - j)
        ax.annotate("", here, above, arrowprops=dict(arrowstyle="->", color="gray"))
        ax.text(*here, label(name), ha="center", va="center", fontsize=8,
                bbox=dict(boxstyle="round", fc="white", ec="gray"))
        above = here
    ax.annotate("", (1.5, 0), above, arrowprops=dict(arrowstyle="->", color="gray"))
ax.set(xlim=(-0.6, 3.6), ylim=(-0.6, depth + 0.6))
ax.axis("off")
plt.show()

# %% [markdown]
# ## Walking it forward and back by hand
#
# The executor's core fits in two short loops. Forward: run each node on the outputs of its
# inputs and keep its cache. Backward: visit the nodes in reverse; each node turns the gradient
# of its output into gradients of its inputs, and a gradient arriving at a tensor that already
# has one is **added** to it. We walk every node that `mixed0` needs, from the pixels, with the
# readable ops of `numdream.nodes`, and log what arrives at the module input. The dict of
# caches that the forward walk returns is the graph's tape: `Model.forward` hands back the same
# thing, `acts, tape = model.forward(x, until)`, and `model.backward(grads, tape)` consumes it.

# %%
def walk_forward(x, names):
    acts, caches = {"input_1": x}, {}
    for name in names[1:]:  # names[0] is the input node
        node = model.nodes[name]
        acts[name], caches[name] = nodes.forward(node, [acts[s] for s in node.inputs])
    return acts, caches


def walk_backward(grads, names, caches, watch=None):
    pending, arrivals = dict(grads), []
    for name in reversed(names[1:]):
        if name not in pending:
            continue
        node = model.nodes[name]
        for src, dx in zip(node.inputs, nodes.backward(node, pending.pop(name), caches[name])):
            if src == watch:
                arrivals.append((name, dx))
            pending[src] = pending[src] + dx if src in pending else dx  # fan-out: add up
    return pending, arrivals


names = needed([MODULE_OUTPUT])
x = model64.preprocess(photo)                       # (1, 3, 200, 300) float64
acts, caches = walk_forward(x, names)
for name in [MODULE_INPUT] + [b[-1] for b in branches] + [MODULE_OUTPUT]:
    print(f"{name:>16}: {acts[name].shape}")

# %% [markdown]
# As the gradient at the module's output we take the dream's: the L2 objective
# $L = \tfrac12\lVert a\rVert^2$ has $\partial L/\partial a = a$. Four gradients arrive at the
# module input, one per branch; the gradient of the module input is their sum.

# %%
dout = acts[MODULE_OUTPUT].copy()
pending, arrivals = walk_backward({MODULE_OUTPUT: dout}, names, caches, watch=MODULE_INPUT)
# pending holds the gradient at the pixels now; rebuild the one at the module input from arrivals
total = sum(dx for _, dx in arrivals)
for reader, dx in arrivals:
    print(f"from {reader:>19}: |gradient| = {np.linalg.norm(dx):8.1f}")
print(f"{'sum':>24}: |gradient| = {np.linalg.norm(total):8.1f}")

fig, axes = plt.subplots(1, 5, figsize=(13, 2.2))
for ax, (title, g) in zip(axes, [(f"from {r}", dx) for r, dx in arrivals] + [("sum", total)]):
    ax.imshow(np.linalg.norm(g[0], axis=0), cmap="magma")
    ax.set_title(title, fontsize=9)
    ax.axis("off")
plt.suptitle(f"gradient reaching {MODULE_INPUT} (norm over its 192 channels)", y=1.02)
plt.show()

# %% [markdown]
# Each branch asks for something different from the same tensor, with different strength; the
# pooled branch's request is blurred, because average pooling spreads each window's gradient
# evenly over the 3x3 inputs it read. The sum is what the stem below receives. Forget the `+`
# and the stem would learn (or dream) from one branch only.
#
# Now the checks. `Model.backward` must give the same gradient at the pixels as our walk (it
# runs the same ops, with sibling 1x1 convolutions fused into one GEMM, which adds their
# gradients in the same stroke). And a central difference along a random direction $v$ must
# agree with $\langle \nabla_x L, v \rangle$.

# %%
dx_walk = pending["input_1"]
acts64, tape = model64.forward(x, until=[MODULE_OUTPUT])
dx_model = model64.backward({MODULE_OUTPUT: acts64[MODULE_OUTPUT]}, tape)
print(f"walk vs Model.backward: rel_error = {rel_error(dx_walk, dx_model):.1e}")

v = np.random.default_rng(0).standard_normal(x.shape)
analytic = float((dx_walk * v).sum())
for eps in (1e-4, 1e-5, 1e-7):
    numeric = directional_derivative(lambda xs: walk_forward(xs, names)[0][MODULE_OUTPUT],
                                     [x], [v], dout, eps)
    print(f"eps = {eps:.0e}: numeric {numeric:10.4f}, analytic {analytic:10.4f}, "
          f"relative error {abs(numeric - analytic) / abs(analytic):.1e}")

# %% [markdown]
# With $\epsilon = 10^{-7}$ the two agree to about six digits. With larger $\epsilon$ they
# disagree by more than ten percent, and not because the backward pass is wrong: ReLU and max
# pooling have kinks, and a random step of size $10^{-4}$ across 60 000 pixels pushes some of
# the network's millions of pre-activations across zero (or changes which input wins a max),
# where the function is not linear. Float64 lets us take steps small enough to stay on one
# linear piece. (Here $L = \langle \text{mixed0}(x), d\rangle$ with $d$ held fixed, which is how
# `numdream.gradcheck` defines it.)
#
# ## "Gradient = 1 at the target layer"
#
# The simplest question we can ask the pixels: if every unit of a layer should grow, which way
# should each pixel move? That is the gradient of $L = \sum a$, so the gradient set at the
# layer is all ones (numdream's `Mean` objective does the same, scaled by $1/\text{size}$).
# We show it for a low layer (`activation_3`, after the first three convolutions) and a high
# one (`mixed5`, the last module of the trunk).

# %%
def ones_gradient(layer):
    x32 = model.preprocess(photo)
    acts, tape = model.forward(x32, until=[layer])
    return model.backward({layer: np.ones_like(acts[layer])}, tape)[0].transpose(1, 2, 0)  # (H, W, 3)


gray = photo.mean(axis=2) / 255
fig, axes = plt.subplots(2, 2, figsize=(9, 4.6))
for column, layer in enumerate(["activation_3", "mixed5"]):
    g = ones_gradient(layer)
    scale = np.percentile(np.abs(g), 99)
    axes[0, column].imshow(np.clip(0.5 + 0.5 * g / scale, 0, 1))  # grey = 0, colour = sign per channel
    axes[0, column].set_title(f"d(sum of {layer}) / d pixels")
    strength = np.abs(g).sum(axis=2)
    axes[1, column].imshow(gray, cmap="gray")
    axes[1, column].imshow(strength / np.percentile(strength, 99.5), cmap="magma", alpha=0.7, vmax=1)
    axes[1, column].set_title(f"|gradient| over the photo, {layer}")
    unseen_rows = int((strength[::-1].max(axis=1) == 0).argmin())
    unseen_cols = int((strength[:, ::-1].max(axis=0) == 0).argmin())
    print(f"{layer}: stride {model.layers[layer].stride}; the last {unseen_rows} rows and "
          f"{unseen_cols} columns get no gradient at all")
for ax in axes.ravel():
    ax.axis("off")
plt.tight_layout()
plt.show()

# %% [markdown]
# The low layer's gradient is fine-grained and covers the whole photo: each unit sees an 11x11
# patch, and it traces local structure, down to the outlines of the eyes and the nose. The
# high layer's gradient is coarse and uneven: its units see large patches through many ReLUs,
# and only some regions of this photo can raise them much, so the gradient gathers in blotches
# where textures excite mixed5 most. That is why a dream on mixed5 paints larger, more
# object-like shapes, and why they appear where they do.
#
# The last row or few along the bottom and right edges get nothing: the stem's strided, unpadded
# ('valid') convolutions and pools never read the last pixels when the size does not divide
# evenly, so no path leads back to them. (A dream still changes them, through jitter, which
# moves every pixel under the network's windows from time to time.)
