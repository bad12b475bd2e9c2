# %% [markdown]
# # 2. The layers' backward passes
#
# An Inception network is built from five ops: convolution, ReLU, max pooling, average pooling
# and concatenation (GoogLeNet adds local response normalisation, LRN). In numdream each op is a
# pair of functions,
#
# ```python
# y, cache = op_forward(x, ...)      # the cache holds what backward needs
# dx = op_backward(dy, cache)        # dy = dL/dy  ->  dx = dL/dx
# ```
#
# and each has two versions: a loop version in `numdream.ops.naive` that computes one window at a
# time, as the op is written on paper, and the fast version in `numdream.ops` that the engine
# runs. For each op we look at *why* its backward is what it is, then check fast against naive
# and both against finite differences (`numdream.gradcheck`). The last section contrasts
# training with dreaming.

# %%
import time

import numpy as np
import matplotlib.pyplot as plt

from numdream import ops
from numdream.ops import naive
from numdream.ops.geometry import im2col
from numdream import opcases
from numdream.gradcheck import FD_TOL, TORCH_TOL, check_op, compare_with_torch, rel_error, torch_available

plt.rcParams.update({"figure.dpi": 72, "axes.titlesize": 10})
rng = np.random.default_rng(0)


def timed(f, *args, repeat=3):
    """(result of f(*args), best wall time in milliseconds over `repeat` runs)."""
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        result = f(*args)
        best = min(best, time.perf_counter() - start)
    return result, 1000 * best


def naive_vs_fast(name, forward_args, dy, fast, slow, **kw):
    """Run one op both ways: forward outputs and input gradients must agree; print timings."""
    (y_fast, cache_fast), t_fast = timed(lambda: fast[0](*forward_args, **kw))
    (y_slow, cache_slow), t_slow = timed(lambda: slow[0](*forward_args, **kw), repeat=1)
    dx_fast = fast[1](dy, cache_fast)
    dx_slow = slow[1](dy, cache_slow)
    print(f"{name}: forward rel_error {rel_error(y_fast, y_slow):.1e}, "
          f"backward rel_error {rel_error(dx_fast, dx_slow):.1e}; "
          f"forward {t_slow:.1f} ms naive, {t_fast:.2f} ms fast")

# %% [markdown]
# ## Convolution is a matrix product: im2col
#
# A convolution multiplies every $K \times K$ window of the input by the same weights. `im2col`
# copies each window into a column, so the whole convolution becomes one matrix product
# $Y = W_{\text{mat}} \cdot \text{cols}$, with $W_{\text{mat}}$ of shape $(O, C K^2)$. Here is a
# 4 x 4 image (values 0 to 15) and its columns for a 3 x 3 window: four windows, four columns.

# %%
x = np.arange(16.0).reshape(1, 1, 4, 4)                          # (N, C, H, W)
w = rng.standard_normal((2, 1, 3, 3))                            # (O, C, kh, kw)
cols = im2col(x, (3, 3), (1, 1), (2, 2)).reshape(9, 4)           # (C*kh*kw, OH*OW)
print(cols.astype(int))
y_gemm = (w.reshape(2, 9) @ cols).reshape(1, 2, 2, 2)
y, _ = ops.conv2d_forward(x, w, None)
print("conv2d_forward equals the matrix product:", np.allclose(y, y_gemm))

# %% [markdown]
# ## Why the backward of a convolution is a transposed convolution
#
# A convolution is linear in $x$, so it *is* some matrix: $y = M x$ with $x$ and $y$
# flattened. Its backward pass must then be $\partial L/\partial x = M^\top \partial L/\partial y$.
# We can see both matrices: apply `conv2d_forward` to every basis image $e_p$ to get the
# columns of $M$, and apply `conv2d_backward` to every basis gradient $e_q$ to get the columns of
# the backward's matrix. Take a 5 x 5 input, a 3 x 3 kernel, stride 2, padding 1 (a 3 x 3 output).

# %%
w1 = rng.standard_normal((1, 1, 3, 3))
_, cache = ops.conv2d_forward(np.zeros((1, 1, 5, 5)), w1, None, stride=2, padding=1)
M = np.stack([ops.conv2d_forward(e.reshape(1, 1, 5, 5), w1, None, stride=2, padding=1)[0].ravel()
              for e in np.eye(25)], axis=1)                                  # (9, 25)
B = np.stack([ops.conv2d_backward(e.reshape(1, 1, 3, 3), cache).ravel()
              for e in np.eye(9)], axis=1)                                   # (25, 9)
print("backward matrix == M transposed:", np.allclose(B, M.T))

fig, axes = plt.subplots(1, 2, figsize=(9, 3), gridspec_kw={"width_ratios": [25, 12]})
limit = np.abs(M).max()
axes[0].imshow(M, cmap="RdBu_r", vmin=-limit, vmax=limit)
axes[0].set_title("M: y = M x  (9 outputs x 25 pixels)")
axes[1].imshow(B, cmap="RdBu_r", vmin=-limit, vmax=limit)
axes[1].set_title("conv2d_backward (25 x 9)")
plt.tight_layout()
plt.show()

# %% [markdown]
# Each row of $M$ is the kernel laid over one window; each row of the backward matrix collects,
# for one pixel, the kernel weights of every window that read it. Read as an image operation,
# $M^\top$ is a **transposed convolution**: put each output gradient back on the stride grid
# (zeros in between), pad by $K - 1 - p$, and convolve with the kernel flipped in both axes and
# with its input and output channels swapped. That is how the gradient reaches the pixels, and
# it is the same thing as numdream's implementation, a GEMM with $W_{\text{mat}}^\top$ followed by
# `col2im`, which adds every column back into the window it came from.

# %%
x = rng.standard_normal((1, 3, 9, 9))
w = rng.standard_normal((4, 3, 3, 3))
y, cache = ops.conv2d_forward(x, w, None, stride=2, padding=1)          # (1, 4, 5, 5)
dy = rng.standard_normal(y.shape)
spread = np.zeros((1, 4, 9, 9))
spread[:, :, ::2, ::2] = dy                                             # back on the stride-2 grid
flipped = w[:, :, ::-1, ::-1].transpose(1, 0, 2, 3)                     # (C, O, kh, kw)
dx_transposed, _ = ops.conv2d_forward(spread, flipped, None, stride=1, padding=3 - 1 - 1)
print("conv2d_backward == transposed convolution:",
      rel_error(ops.conv2d_backward(dy, cache), dx_transposed))

# %% [markdown]
# Now the naive loop against the fast version, and a gradient check. `check_op` differentiates
# $L = \langle \text{forward}(x, w, b), dy \rangle$ in float64, element by element and along
# random directions, for every input the backward returns: with `weights=True`,
# `conv2d_backward` returns $(dx, dw, db)$.

# %%
x = rng.standard_normal((2, 3, 16, 16))
w = rng.standard_normal((8, 3, 3, 3))
b = rng.standard_normal(8)
y, _ = ops.conv2d_forward(x, w, b, stride=2, padding=1)
naive_vs_fast("conv2d 3x3/2", (x, w, b), rng.standard_normal(y.shape),
              (ops.conv2d_forward, ops.conv2d_backward), (naive.conv2d_forward, naive.conv2d_backward),
              stride=2, padding=1)
result = check_op(lambda x, w, b: ops.conv2d_forward(x, w, b, stride=2, padding=1),
                  lambda dy, cache: ops.conv2d_backward(dy, cache, weights=True),
                  [x[:1, :, :7, :7], w, b])
print(f"gradient check of dx, dw, db: element-wise {result.elementwise:.1e}, "
      f"directional {result.directional:.1e}, passed: {result.passed()}")

# %% [markdown]
# ## Max pooling routes the gradient to the winner
#
# $y = \max(x_1, \dots, x_n)$ over a window has $\partial y/\partial x_m = 1$ for the winner
# and $0$ for the rest, so backward hands each window's gradient to the one pixel that won it.
# When windows overlap (Inception's 3 x 3 pools with stride 2), a pixel can win two windows and
# then receives the sum. Below, every window gets $dy = 1$; the numbers are the input values,
# and the largest one sits where four 3 x 3 windows overlap.

# %%
x = rng.permutation(49).reshape(1, 1, 7, 7).astype(float)        # distinct values: no ties
x[0, 0, 2, 2] = 49                                               # the overall maximum
fig, axes = plt.subplots(1, 3, figsize=(10, 3.4))
axes[0].imshow(x[0, 0], cmap="Greys", alpha=0.4)
for (r, c), value in np.ndenumerate(x[0, 0]):
    axes[0].text(c, r, int(value), ha="center", va="center", color="tab:red")
axes[0].set_title("x")
for ax, (size, stride) in zip(axes[1:], [(2, 2), (3, 2)]):
    y, cache = ops.max_pool2d_forward(x, size, stride)
    dx = ops.max_pool2d_backward(np.ones_like(y), cache)
    ax.imshow(dx[0, 0], cmap="Blues", vmin=0, vmax=4)
    for (r, c), value in np.ndenumerate(dx[0, 0]):
        if value:
            ax.text(c, r, int(value), ha="center", va="center")
    ax.set_title(f"dx of a {size}x{size}/{stride} max pool, dy = 1")
for ax in axes:
    ax.set_xticks([])
    ax.set_yticks([])
plt.tight_layout()
plt.show()

# %% [markdown]
# With 2x2/2 windows every window sends its 1 to its largest pixel (the last row and column
# fall outside every window and get nothing). With 3x3/2 windows neighbours share a row or a
# column: the maximum wins all four windows around it and collects a 4, and pixels that win
# two windows collect a 2. The max is not
# differentiable where two inputs tie, so gradient checks use distinct inputs (a shuffled
# `arange`, as Chainer's tests do); numdream gives the whole gradient to the first maximum in
# row-major order.

# %%
x = (rng.permutation(2 * 3 * 15 * 15) / 100.0).reshape(2, 3, 15, 15)
y, _ = ops.max_pool2d_forward(x, 3, 2)
naive_vs_fast("max_pool2d 3x3/2", (x, 3, 2), rng.standard_normal(y.shape),
              (ops.max_pool2d_forward, ops.max_pool2d_backward),
              (naive.max_pool2d_forward, naive.max_pool2d_backward))
result = check_op(lambda x: ops.max_pool2d_forward(x, 3, 2), ops.max_pool2d_backward, [x], eps=1e-3)
print(f"gradient check: element-wise {result.elementwise:.1e}, passed: {result.passed()}")

# %% [markdown]
# ## Average pooling shares the gradient
#
# $y = \frac{1}{n}\sum_{m} x_m$ gives every pixel of a window $\partial y/\partial x_m = 1/n$, so
# backward spreads $dy/n$ evenly. Inception's average pools are 3 x 3 with stride 1 and
# TensorFlow's 'SAME' padding, and the divisor $n$ counts only real pixels
# (`count_include_pad=False`): a corner window holds 4 pixels, an edge window 6, an inner one 9.
# So with $dy = 1$ everywhere, an inner pixel collects $9 \times \frac19 = 1$. A corner pixel is
# read by only four windows and collects $\frac14 + \frac16 + \frac16 + \frac19 \approx 0.69$; the
# pixels just inside the border are read by nine windows, some of them small ones with bigger
# shares, and collect more than 1.

# %%
x = rng.standard_normal((1, 1, 6, 6))
padding = ops.same_padding((6, 6), 3, 1)
y, cache = ops.avg_pool2d_forward(x, 3, 1, padding, count_include_pad=False)
dx = ops.avg_pool2d_backward(np.ones_like(y), cache)
fig, ax = plt.subplots(figsize=(3.4, 3.2))
ax.imshow(dx[0, 0], cmap="Blues", vmin=0)
for (r, c), value in np.ndenumerate(dx[0, 0]):
    ax.text(c, r, f"{value:.2f}", ha="center", va="center", fontsize=8)
ax.set_title("dx of a 3x3/1 SAME avg pool, dy = 1")
ax.set_xticks([])
ax.set_yticks([])
plt.show()

x = rng.standard_normal((2, 3, 15, 15))
padding = ops.same_padding((15, 15), 3, 1)
y, _ = ops.avg_pool2d_forward(x, 3, 1, padding)
naive_vs_fast("avg_pool2d 3x3/1 same", (x, 3, 1, padding), rng.standard_normal(y.shape),
              (ops.avg_pool2d_forward, ops.avg_pool2d_backward),
              (naive.avg_pool2d_forward, naive.avg_pool2d_backward))
result = check_op(lambda x: ops.avg_pool2d_forward(x, 3, 1, padding), ops.avg_pool2d_backward, [x])
print(f"gradient check: element-wise {result.elementwise:.1e}, passed: {result.passed()}")

# %% [markdown]
# ## Concatenation splits the gradient
#
# An Inception module ends by stacking its branches along the channel axis. Each output channel
# is a copy of exactly one input channel, so the gradient of each branch is simply its slice of
# $dy$: `concat_backward` returns views into $dy$, no arithmetic at all. (The opposite case,
# one tensor read by several branches, *adds* gradients; notebook 3 shows it.)

# %%
pieces = [rng.standard_normal((1, c, 5, 5)) for c in (64, 64, 96, 32)]   # mixed0's branch widths
y, cache = ops.concat_forward(pieces)
dy = rng.standard_normal(y.shape)
dxs = ops.concat_backward(dy, cache)
print("y:", y.shape, "-> gradients:", [d.shape for d in dxs])
print("each gradient is its slice of dy:", all(np.shares_memory(d, dy) for d in dxs))
result = check_op(lambda *xs: ops.concat_forward(list(xs)), ops.concat_backward,
                  [p[:, :4] for p in pieces])
print(f"gradient check: element-wise {result.elementwise:.1e}, passed: {result.passed()}")

# %% [markdown]
# ## Local response normalisation
#
# GoogLeNet (not InceptionV3) divides each activation by a power of the energy of its
# neighbouring channels:
#
# $$s_c = k + \frac{\alpha}{n}\sum_{d \in \text{window}(c)} x_d^2, \qquad y_c = x_c\, s_c^{-\beta}.$$
#
# Now $y_c$ depends on every $x_d$ of its window, through $s_c$, so the backward has two terms:
#
# $$\frac{\partial L}{\partial x_d} = \frac{\partial L}{\partial y_d} s_d^{-\beta} \;-\; \frac{2\alpha\beta}{n}\, x_d \sum_{c\,:\,d \in \text{window}(c)} \frac{\partial L}{\partial y_c}\,\frac{y_c}{s_c}.$$
#
# The naive version loops over channels and adds term by term; the fast one computes the sum
# over windows as a sliding sum over channels. This op is smooth, so finite differences need a
# smaller step, and we also compare with PyTorch's `local_response_norm`.

# %%
x = rng.standard_normal((2, 16, 7, 7))
lrn = dict(size=5, alpha=1.0, beta=0.75, k=2.0)   # strong, so that the second term matters
y, _ = ops.lrn_forward(x, **lrn)
naive_vs_fast("lrn size 5", (x,), rng.standard_normal(y.shape),
              (ops.lrn_forward, ops.lrn_backward), (naive.lrn_forward, naive.lrn_backward), **lrn)
result = check_op(lambda x: ops.lrn_forward(x, **lrn), ops.lrn_backward, [x[:1, :, :3, :3]], eps=1e-5)
print(f"gradient check: element-wise {result.elementwise:.1e}, passed: {result.passed()}")
if torch_available():
    import torch.nn.functional as F
    versus = compare_with_torch(lambda x: ops.lrn_forward(x, **lrn), ops.lrn_backward, [x],
                                lambda t: F.local_response_norm(t, **lrn))
    print(f"PyTorch autograd: forward {versus.forward:.1e}, backward {versus.backward:.1e}")
else:
    print("torch not installed: pip install torch to compare with PyTorch autograd")

# %% [markdown]
# ## Every op, every configuration
#
# The checks above are single examples. `numdream.opcases.CASES` is a grid of every op over
# odd and even sizes, strides 1 to 3, symmetric and TensorFlow-asymmetric padding, ceil mode,
# 1 x 7 kernels, grouped and depthwise convolution and more; `numdream gradcheck` on the command
# line runs it. Here is the same from Python, with the worst error per op.

# %%
worst = {}
for case in opcases.CASES:
    fd = opcases.check_case(case, directions=1).error
    autograd = opcases.compare_case_with_torch(case).error if torch_available() else float("nan")
    count, fd_worst, torch_worst = worst.get(case.op, (0, 0.0, 0.0))
    worst[case.op] = (count + 1, max(fd_worst, fd), max(torch_worst, autograd))
print(f"{'op':<12}{'cases':>6}{'finite diff.':>14}{'autograd':>11}")
for op, (count, fd_worst, torch_worst) in worst.items():
    print(f"{op:<12}{count:>6}{fd_worst:>14.1e}{torch_worst:>11.1e}")
print(f"tolerances: finite differences {FD_TOL:g}, autograd (float64) {TORCH_TOL['float64']:g}")

# %% [markdown]
# ## Training against dreaming
#
# Everything above differentiates with respect to the *input*. Training needs the gradient with
# respect to the *weights*: $\partial L/\partial W$ tells how to change the filters to lower a
# loss on fixed images. DeepDream does the opposite: the weights are frozen and only
# $\partial L/\partial x$ is needed, to change the image to raise an activation.
# `conv2d_backward(dy, cache)` returns dx alone; `weights=True` also returns dw and db.
#
# Both directions in one small experiment. **Training**: learn a 5 x 5 filter from examples of
# what a hidden "true" filter (a vertical edge detector) outputs, by gradient descent on
# $L = \frac12\lVert w * x - y_{\text{target}}\rVert^2$ with dw. **Dreaming**: freeze the
# learnt filter and ascend $L = \frac12\lVert \text{ReLU}(w * x)\rVert^2$ on a flat grey image
# with dx.

# %%
true_w = np.zeros((1, 1, 5, 5))
true_w[0, 0, :, :2], true_w[0, 0, :, 3:] = -1.0, 1.0                # dark left, bright right
images = rng.standard_normal((16, 1, 24, 24))
targets, _ = ops.conv2d_forward(images, true_w, None, padding=2)

w = np.zeros_like(true_w)
losses = []
for step in range(30):                                              # training: x fixed, w moves
    y, cache = ops.conv2d_forward(images, w, None, padding=2)
    losses.append(0.5 * ((y - targets) ** 2).sum())
    _, dw, _ = ops.conv2d_backward(y - targets, cache, weights=True)
    w -= 1e-4 * dw

x = np.zeros((1, 1, 24, 24)) + 0.01 * rng.standard_normal((1, 1, 24, 24))
for step in range(30):                                              # dreaming: w fixed, x moves
    z, conv_cache = ops.conv2d_forward(x, w, None, padding=2)
    h, relu_cache = ops.relu_forward(z)
    dx = ops.conv2d_backward(ops.relu_backward(h, relu_cache), conv_cache)   # dL/dh = h
    x += 0.1 * dx / (np.abs(dx).mean() + 1e-8)

fig, axes = plt.subplots(1, 4, figsize=(12, 2.8))
axes[0].semilogy(losses)
axes[0].set(title="training loss", xlabel="step")
for ax, (title, image) in zip(axes[1:], [("true filter", true_w[0, 0]), ("learnt filter (dw)", w[0, 0]),
                                         ("dreamt image (dx)", x[0, 0])]):
    ax.imshow(image, cmap="gray")
    ax.set_title(title)
    ax.set_xticks([])
    ax.set_yticks([])
plt.tight_layout()
plt.show()
print("learnt filter vs true filter: rel_error =", rel_error(w, true_w))

# %% [markdown]
# Training recovered the filter; dreaming with it painted the filter's favourite pattern,
# vertical dark-to-bright edges, all over the image. The cost differs too: dw is a second GEMM
# over the same columns, which a dream never needs. Here is the time of both on a layer of the
# size of an Inception 3x3 convolution:

# %%
x = rng.standard_normal((1, 64, 35, 35)).astype(np.float32)
w = rng.standard_normal((96, 64, 3, 3)).astype(np.float32)
y, cache = ops.conv2d_forward(x, w, None, padding=1)
dy = rng.standard_normal(y.shape).astype(np.float32)
_, dreaming = timed(lambda: ops.conv2d_backward(dy, cache))
_, training = timed(lambda: ops.conv2d_backward(dy, cache, weights=True))
print(f"backward for dx only: {dreaming:.1f} ms; dx, dw and db: {training:.1f} ms")

# %% [markdown]
# ## A faster convolution: Winograd's minimal filtering
#
# im2col spends $k_h k_w$ multiplications per output pixel and per pair of channels: 9 for a 3x3
# kernel. They are already at the GEMM's speed, so a faster convolution has to do *fewer* of
# them. Take the 1-D case first: two outputs of a 3-tap correlation,
#
# $$y_0 = d_0 g_0 + d_1 g_1 + d_2 g_2, \qquad y_1 = d_1 g_0 + d_2 g_1 + d_3 g_2,$$
#
# six multiplications. Winograd's F(2, 3) needs four:
#
# $$m_1 = (d_0 - d_2)\, g_0, \quad m_2 = (d_1 + d_2)\, \tfrac{g_0 + g_1 + g_2}{2}, \quad
#   m_3 = (d_2 - d_1)\, \tfrac{g_0 - g_1 + g_2}{2}, \quad m_4 = (d_1 - d_3)\, g_2,$$
# $$y_0 = m_1 + m_2 + m_3, \qquad y_1 = m_2 - m_3 - m_4.$$
#
# Check $y_0$: $m_2 + m_3 = \tfrac{1}{2}[(d_1 + d_2)(g_0 + g_1 + g_2) + (d_2 - d_1)(g_0 - g_1 + g_2)]
# = d_1 g_1 + d_2 g_0 + d_2 g_2$, and $m_1$ adds $d_0 g_0 - d_2 g_0$. The sums on $g$ depend only
# on the weights: a network computes them once, so per tile only the four products remain. Where
# do they come from? A correlation is a polynomial product in disguise: evaluate at the points
# $0, 1, -1, \infty$, multiply there (one product per point), interpolate back (Toom-Cook).

# %%
d, g = rng.standard_normal(4), rng.standard_normal(3)
direct = np.array([d[0] * g[0] + d[1] * g[1] + d[2] * g[2], d[1] * g[0] + d[2] * g[1] + d[3] * g[2]])
m1, m4 = (d[0] - d[2]) * g[0], (d[1] - d[3]) * g[2]
m2, m3 = (d[1] + d[2]) * (g[0] + g[1] + g[2]) / 2, (d[2] - d[1]) * (g[0] - g[1] + g[2]) / 2
print("by hand, 4 products:", np.array([m1 + m2 + m3, m2 - m3 - m4]), " direct, 6:", direct)

# %% [markdown]
# In matrix form, $y = A^\top [(G g) \odot (B^\top d)]$: $B^\top$ transforms the input tile,
# $G$ the kernel, $A^\top$ brings the products back. `numdream.fast.winograd_transforms` builds
# these matrices exactly, in rational arithmetic, for any output size $m$ and kernel size $r$.
# In 2-D the same transforms nest, along the rows and along the columns:
# $Y = A^\top [(G g G^\top) \odot (B^\top d B)] A$. F(2x2, 3x3) computes a 2x2 output from a 4x4
# tile with 16 products instead of 36; F(4x4, 3x3), the example below, a 4x4 output from a 6x6
# tile with 36 instead of 144: 2.25 products per output instead of 9. numdream's fast path goes
# one size further, F(6x6, 3x3): 64 products for 36 outputs, 1.78 per output, measured the
# faster of the two on InceptionV3's layers for a slightly larger float32 error.

# %%
from numdream.fast import winograd
from numdream.fast import conv as fast_conv
from numdream.fast.winograd_transforms import matrices

for m in (2, 4, 6):
    at, gm, bt = matrices(m, 3)                                  # (m, n), (n, 3), (n, n), n = m + 2
    tile, kernel = rng.standard_normal((m + 2, m + 2)), rng.standard_normal((3, 3))
    y_tile = at @ ((gm @ kernel @ gm.T) * (bt @ tile @ bt.T)) @ at.T
    y_direct = ops.conv2d_forward(tile[None, None], kernel[None, None], None)[0][0, 0]
    print(f"F({m}x{m}, 3x3): {(m + 2) ** 2} products for {m * m} outputs instead of {9 * m * m}; "
          f"rel_error against conv2d_forward {rel_error(y_tile, y_direct):.1e}")

# %% [markdown]
# A whole convolution cuts the image into such tiles. The products of one tile position $(i, j)$,
# summed over the input channels, are a matrix product: $O \times C$ transformed weights times
# $C \times$ tiles transformed inputs. So the 36 positions of F(4x4) make 36 GEMMs, each with the
# GEMM's speed, and the transforms before and after are cheap passes over memory. Here it is on
# two real InceptionV3 layer shapes at 512x512, against numdream's im2col (`numdream.fast.conv`),
# with the error in float64 and float32. (If Winograd's times come out far above im2col's, other
# programs hold your cores: Winograd makes five BLAS calls per chunk where im2col makes one,
# and each multi-threaded call waits for all its threads; `OMP_NUM_THREADS=1` shows the
# arithmetic's own gain. benchmarks/README.md measures both.)

# %%
for name, (c, o, hw) in {"conv2d_2 (stem)": (32, 32, 255), "mixed 3x3": (64, 96, 61)}.items():
    x64, w64 = rng.standard_normal((1, c, hw, hw)), rng.standard_normal((o, c, 3, 3)) / np.sqrt(9 * c)
    reference, _ = ops.conv2d_forward(x64, w64, None, padding=1)
    for dtype in (np.float64, np.float32):
        x, w = x64.astype(dtype), w64.astype(dtype)
        u = winograd.transform_weights(w, 4)                     # once per model: (36, O, C)
        y_wino, t_wino = timed(lambda: winograd.conv2d_forward(x, u, None, (1, 1, 1, 1), 4))
        y_gemm, t_gemm = timed(lambda: fast_conv.conv2d_forward(x, w, None, (1, 1), (1, 1, 1, 1)))
        print(f"{name:16} {np.dtype(dtype).name}: Winograd {t_wino:6.1f} ms, im2col {t_gemm:6.1f} ms; "
              f"rel_error {rel_error(y_wino, reference):.1e} (im2col {rel_error(y_gemm, reference):.1e})")
    print(f"{'':16} multiplications: im2col {9 * o * c * hw * hw / 1e9:.2f} G, "
          f"Winograd {36 / 16 * o * c * hw * hw / 1e9:.2f} G (+ the transforms' additions)")

# %% [markdown]
# Four times fewer multiplications does not give four times the speed: the transforms read and
# write every tile several times, and the tiles overlap (a 6x6 tile for 4x4 outputs), so part of
# the gain goes to memory traffic. The float32 error is larger than im2col's too: F(4x4)'s
# matrices hold coefficients up to 8 and fractions like 1/24, which scale the rounding of the
# sums; F(2x2), whose coefficients are 0 and +-1, stays as accurate as im2col. The input
# gradient of a stride-1 convolution is itself a stride-1 convolution (flipped kernel, channels
# swapped), so the same routine serves the backward pass. `numdream.fast.plan` runs every
# stride-1 3x3, 5x5, 1x7 and 7x1 convolution of a dream this way (benchmarks/README.md has the
# measured rule and the step times).
