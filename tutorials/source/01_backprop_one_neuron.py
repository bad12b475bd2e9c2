# %% [markdown]
# # 1. Backprop to the input, one neuron
#
# Training moves the weights to lower a loss. DeepDream keeps the weights and moves the
# *pixels*, to raise what some neurons compute. Everything rests on one quantity: the gradient
# of a neuron with respect to the input image. This notebook computes it for the smallest
# network that has one: a single convolution followed by a ReLU.
#
# $$z = w * x + b, \qquad h = \max(z, 0).$$
#
# We pick one neuron $h_{kij}$ (channel $k$, row $i$, column $j$), write the chain rule for
# $\partial h_{kij} / \partial x$, compute it with numdream's `conv2d_backward`, check it against
# finite differences and PyTorch autograd, and look at it: it is the neuron's receptive field.

# %%
import numpy as np
import matplotlib.pyplot as plt
from matplotlib.patches import Rectangle

import numdream
from numdream.gradcheck import numerical_gradient, rel_error, torch_available
from numdream.images import load_image, sample_path
from numdream.ops import conv2d_backward, conv2d_forward, relu_backward, relu_forward

plt.rcParams.update({"figure.dpi": 72, "axes.titlesize": 10})
chelsea = load_image(sample_path("chelsea"))          # (300, 451, 3) uint8
eye = chelsea[90:130, 153:193].mean(axis=2) / 255     # a 40 x 40 grey crop around a pupil
x = (eye - eye.mean())[None, None]                    # (N, C, H, W) = (1, 1, 40, 40), zero mean
SIZE = x.shape[2]
print("x:", x.shape)

# %% [markdown]
# ## A convolution with four hand-made filters
#
# Instead of random weights we build four 9x9 edge detectors (a sine wave under a Gaussian
# window, an odd Gabor filter) at 0°, 45°, 90° and 135°, so that we know what each channel
# looks for. 'Same' padding of 4 pixels keeps the output 40 x 40. (The image has zero mean, so
# the zero padding looks like mid-grey rather than a black frame with strong edges.)

# %%
K, PAD = 9, 4
v, u = np.meshgrid(np.arange(K) - K // 2, np.arange(K) - K // 2)  # u: rows, v: columns
ANGLES = [0, 45, 90, 135]
w = np.zeros((len(ANGLES), 1, K, K))                                # (O, C, kh, kw)
for k, degrees in enumerate(ANGLES):
    t = np.deg2rad(degrees)
    across = v * np.cos(t) + u * np.sin(t)                          # distance across the edge
    w[k, 0] = np.exp(-(u ** 2 + v ** 2) / 8.0) * np.sin(2 * np.pi * across / 8)
    w[k, 0] -= w[k, 0].mean()
b = np.full(len(ANGLES), -0.1)                                      # a small threshold

z, conv_cache = conv2d_forward(x, w, b, stride=1, padding=PAD)      # (1, 4, 40, 40)
h, relu_cache = relu_forward(z)

fig, axes = plt.subplots(2, 5, figsize=(11, 4.4))
axes[0, 0].imshow(eye, cmap="gray")
axes[0, 0].set_title("x")
axes[1, 0].axis("off")
for k in range(len(ANGLES)):
    axes[0, k + 1].imshow(w[k, 0], cmap="RdBu_r", vmin=-1, vmax=1)
    axes[0, k + 1].set_title(f"filter {k} ({ANGLES[k]}°)")
    axes[1, k + 1].imshow(h[0, k], cmap="magma")
    axes[1, k + 1].set_title(f"h, channel {k}")
for ax in axes.ravel():
    ax.set_xticks([])
    ax.set_yticks([])
plt.tight_layout()
plt.show()

# %% [markdown]
# Filter 0 is negative on the left and positive on the right, so channel 0 lights up on
# vertical edges where the image brightens to the right, around the pupil and the highlight;
# the other channels do the same at their angle. Most units are 0, switched off by the ReLU.
#
# ## The chain rule for one neuron
#
# Written out for one output unit, the convolution (a cross-correlation, as in every deep
# learning framework) with padding $p$ is
#
# $$z_{kij} = b_k + \sum_{c}\sum_{u=0}^{K-1}\sum_{v=0}^{K-1} w_{kcuv}\, x_{c,\,i+u-p,\,j+v-p}, \qquad h_{kij} = \max(z_{kij}, 0).$$
#
# By the chain rule, for any pixel $x_{cmn}$,
#
# $$\frac{\partial h_{kij}}{\partial x_{cmn}} = \underbrace{\mathbf{1}[z_{kij} > 0]}_{\partial h/\partial z}\cdot\underbrace{w_{k,c,\,m-i+p,\,n-j+p}}_{\partial z/\partial x}$$
#
# when $(m - i + p,\ n - j + p)$ falls inside the $K \times K$ filter, and $0$ otherwise. So the
# gradient of an active neuron is *its filter, pasted at the window it reads*, and the gradient
# of an inactive neuron is zero everywhere.
#
# numdream computes the same thing with the backward functions. Seed the output with a one-hot
# gradient $\partial h_{kij}/\partial h = e_{kij}$, pass it back through the ReLU, then through
# the convolution:

# %%
k = 0
inner = h[0, k, PAD:-PAD, PAD:-PAD]                          # units whose window lies inside the image
i, j = np.array(np.unravel_index(inner.argmax(), inner.shape)) + PAD   # the most active of them
dh = np.zeros_like(h)
dh[0, k, i, j] = 1.0                                        # d h_kij / d h: one-hot
dz = relu_backward(dh, relu_cache)                          # times 1[z > 0]
dx = conv2d_backward(dz, conv_cache)                        # (1, 1, 40, 40): d h_kij / d x
print(f"neuron h[{k}, {i}, {j}] = {h[0, k, i, j]:.3f}; nonzero pixels in its gradient: {np.count_nonzero(dx)}")

# the formula above, written directly: the filter pasted at the window the neuron reads
formula = np.zeros((SIZE + 2 * PAD, SIZE + 2 * PAD))
formula[i:i + K, j:j + K] = w[k, 0]                          # padded coordinates: m + p = i + u
formula = formula[PAD:-PAD, PAD:-PAD]
print("conv2d_backward vs the formula: rel_error =", rel_error(dx[0, 0], formula))

# %% [markdown]
# ## Two independent checks
#
# **Finite differences.** Nudge each pixel by $\pm\epsilon$ and watch the neuron:
# $\partial h_{kij}/\partial x_{cmn} \approx \big(h_{kij}(x + \epsilon e_{cmn}) - h_{kij}(x - \epsilon e_{cmn})\big)/2\epsilon$.
# `numdream.gradcheck.numerical_gradient` does this for $L = \langle f(x), d \rangle$; with
# $d$ one-hot at our neuron, $L = h_{kij}$. It costs two forward passes per pixel.
#
# **PyTorch autograd.** The same network written with `torch.nn.functional`, differentiated by
# PyTorch's own machinery, shares no code with numdream.

# %%
def network(x):
    return relu_forward(conv2d_forward(x, w, b, stride=1, padding=PAD)[0])[0]


numeric = numerical_gradient(network, x.copy(), dh, eps=1e-6)
print("finite differences: rel_error =", rel_error(dx, numeric))

if torch_available():
    import torch
    import torch.nn.functional as F
    xt = torch.tensor(x, requires_grad=True)
    ht = F.relu(F.conv2d(xt, torch.tensor(w), torch.tensor(b), padding=PAD))
    ht[0, k, i, j].backward()
    print("PyTorch autograd:   rel_error =", rel_error(dx, xt.grad.numpy()))
else:
    print("torch not installed: pip install torch to compare with PyTorch autograd")

# %% [markdown]
# ## The gradient is the receptive field
#
# Plotted as an image, $\partial h_{kij}/\partial x$ is zero everywhere except in the 9 x 9
# window the neuron reads, and inside it is the filter: the pattern of pixel changes that would
# raise this neuron fastest. Gradient ascent on the pixels would paint exactly that, which is the
# germ of DeepDream. A neuron whose ReLU is off gets no gradient at all.

# %%
off_i, off_j = np.argwhere(z[0, k] < 0)[len(np.argwhere(z[0, k] < 0)) // 2]   # an inactive unit
dh_off = np.zeros_like(h)
dh_off[0, k, off_i, off_j] = 1.0
dx_off = conv2d_backward(relu_backward(dh_off, relu_cache), conv_cache)

fig, axes = plt.subplots(1, 3, figsize=(10, 3.4))
axes[0].imshow(eye, cmap="gray")
for (ci, cj), color in [((i, j), "lime"), ((off_i, off_j), "red")]:
    axes[0].add_patch(Rectangle((cj - PAD - 0.5, ci - PAD - 0.5), K, K, fill=False, color=color, lw=2))
    axes[0].plot(cj, ci, "+", color=color, ms=10)
axes[0].set_title("the two neurons' windows")
limit = np.abs(dx).max()
axes[1].imshow(dx[0, 0], cmap="RdBu_r", vmin=-limit, vmax=limit)
axes[1].set_title(f"∂h[{k},{i},{j}] / ∂x  (active)")
axes[2].imshow(dx_off[0, 0], cmap="RdBu_r", vmin=-limit, vmax=limit)
axes[2].set_title(f"∂h[{k},{off_i},{off_j}] / ∂x  (z < 0): all zero")
for ax in axes:
    ax.set_xticks([])
    ax.set_yticks([])
plt.tight_layout()
plt.show()
print("nonzero pixels in the inactive neuron's gradient:", np.count_nonzero(dx_off))

# %% [markdown]
# ## Deeper neurons see more
#
# Stack layers and the window grows: a neuron two 3x3 convolutions up reads a 5x5 patch, and
# every stride or pool multiplies the growth. The same one-hot trick through the real InceptionV3
# trunk (`Model.backward` chains every layer's backward for us) shows how far each layer's
# neurons see. For each layer we take the most active channel at the centre of a 160 x 160 crop
# and measure the box of pixels whose gradient is not zero.

# %%
model = numdream.load_model(dtype=np.float64)
crop = chelsea[40:200, 90:250]                                       # 160 x 160, the eye near the centre
xc = model.preprocess(crop)
LAYERS = ["activation_1", "activation_3", "activation_5", "mixed0", "mixed2"]
fig, axes = plt.subplots(1, len(LAYERS) + 1, figsize=(13, 2.6))
axes[0].imshow(crop)
axes[0].set_title("input (160 x 160)")
for ax, layer in zip(axes[1:], LAYERS):
    acts, tape = model.forward(xc, until=[layer])                   # the tape: what backward needs
    a = acts[layer]                                                  # (1, C, h, w)
    ci, cj = a.shape[2] // 2, a.shape[3] // 2
    channel = a[0, :, ci, cj].argmax()                               # active, so the ReLU lets it through
    seed = np.zeros_like(a)
    seed[0, channel, ci, cj] = 1.0
    g = np.abs(model.backward({layer: seed}, tape)[0]).sum(axis=0)   # (160, 160)
    rows, cols = np.nonzero(g)
    height, width = rows.max() - rows.min() + 1, cols.max() - cols.min() + 1
    ax.imshow(np.sqrt(g / g.max()), cmap="magma")
    ax.set_title(f"{layer}: {height}x{width}")
for ax in axes:
    ax.set_xticks([])
    ax.set_yticks([])
plt.tight_layout()
plt.show()

# %% [markdown]
# The window grows from 3 x 3 after the first convolution to 95 x 95 pixels by `mixed2`, and
# inside it the gradient is far from uniform: the centre pixels, which reach the neuron along
# many more paths, matter most. Dreaming with a layer means ascending this gradient for *all*
# its neurons at once, which is what notebooks 3 and 4 do.
