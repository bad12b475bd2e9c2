# %% [markdown]
# # 6. The same code on a GPU, with CuPy
#
# CuPy is a NumPy work-alike whose arrays live on an NVIDIA GPU: `cupy.zeros`, `@`, slicing,
# `cupy.maximum` and friends behave as in NumPy but run as CUDA kernels. numdream uses this to
# run one code base on both. Two rules make it work (Chainer's idiom):
#
# 1. **Ops never choose where to compute.** Each op asks its input which module owns it,
#    `xp = get_array_module(x)`, and then only calls `xp.something`. A NumPy input gives NumPy
#    arithmetic, a CuPy input gives GPU arithmetic, from the very same lines.
# 2. **One module knows about CuPy**: `numdream.backend`. `numdream.use("cupy")` makes new arrays
#    (the model's weights, preprocessed images) go to the GPU; `to_host` brings results back.
#
# This notebook runs everywhere. On a machine without a GPU (or without CuPy) it says so and
# skips the GPU cells; the CPU cells show the same API.

# %%
import time

import numpy as np
import matplotlib.pyplot as plt
from PIL import Image

import numdream
from numdream.backend import get_array_module, to_host
from numdream.errors import BackendError
from numdream.images import load_image, sample_path
from numdream.ops import conv2d_backward, conv2d_forward

try:
    numdream.use("cupy")
    gpu = True
    print("CuPy found a GPU: the GPU cells will run.")
except BackendError as err:
    gpu = False
    print(f"No GPU backend on this machine: {err}")
    print("The GPU cells below are skipped; everything else runs on NumPy.")
_ = numdream.use("numpy")  # start on the CPU either way

# %% [markdown]
# ## One op, either device
#
# A convolution on NumPy arrays, and the same call on CuPy arrays. Nothing in `conv2d_forward`
# mentions CuPy; it picked up `xp` from its input.

# %%
rng = np.random.default_rng(0)
x = rng.standard_normal((1, 16, 32, 32)).astype(np.float32)
w = rng.standard_normal((32, 16, 3, 3)).astype(np.float32)
y, cache = conv2d_forward(x, w, None, padding=1)
dx = conv2d_backward(np.ones_like(y), cache)
print("CPU:", get_array_module(x).__name__, y.shape, type(dx).__name__)

if gpu:
    import cupy
    y_gpu, cache_gpu = conv2d_forward(cupy.asarray(x), cupy.asarray(w), None, padding=1)
    dx_gpu = conv2d_backward(cupy.ones_like(y_gpu), cache_gpu)
    print("GPU:", get_array_module(y_gpu).__name__, y_gpu.shape, type(dx_gpu).__name__)
    print("largest difference from the CPU result:", float(abs(to_host(dx_gpu) - dx).max()))
else:
    print("GPU: skipped (no GPU)")

# %% [markdown]
# ## A whole dream, either device
#
# For a dream, choose the backend *before* loading the model, so its weights are copied to the
# device once. Then every call is the same: `numdream.dream` returns a uint8 image on the host
# whichever backend ran it. The function below is all the code there is; only its argument
# changes.

# %%
photo = np.asarray(Image.fromarray(load_image(sample_path("chelsea"))).resize((300, 200), Image.LANCZOS))


def dream_on(backend):
    numdream.use(backend)
    model = numdream.load_model()                       # weights go to the active backend
    weights = model.nodes["conv2d_1"].params["w"]
    print(f"{backend}: the weights live in {get_array_module(weights).__name__} arrays")
    start = time.perf_counter()
    image = numdream.dream(photo, model=model, layers="mixed3", octaves=3, steps=5, seed=0, progress=False)
    seconds = time.perf_counter() - start
    numdream.use("numpy")
    return image, seconds


on_cpu, cpu_seconds = dream_on("numpy")
print(f"numpy: {on_cpu.shape} {on_cpu.dtype} in {cpu_seconds:.1f} s")
if gpu:
    on_gpu, gpu_seconds = dream_on("cupy")
    print(f"cupy:  {on_gpu.shape} {on_gpu.dtype} in {gpu_seconds:.1f} s (including compiling kernels)")
    differ = np.abs(on_gpu.astype(int) - on_cpu).max()
    print(f"largest pixel difference between the two dreams: {differ}")
else:
    print("cupy:  skipped (no GPU)")

results = [(on_cpu, "numpy")] + ([(on_gpu, "cupy")] if gpu else [])
fig, axes = plt.subplots(1, len(results), figsize=(4.2 * len(results), 3), squeeze=False, dpi=72)
for ax, (image, backend) in zip(axes[0], results):
    ax.imshow(image)
    ax.set_title(f"numdream.dream on {backend}")
    ax.axis("off")
plt.show()

# %% [markdown]
# The two dreams agree up to rounding: float32 sums on a GPU add in a different order, and a
# dream amplifies whatever it is given, so a few pixels can end up a few levels apart.
#
# ## From the command line
#
# The CLI takes the same switch, and so does the environment, which is how to make an unchanged
# script use the GPU:
#
# ```bash
# pip install "numdream[gpu]"                # CuPy for CUDA 12
# numdream dream photo.jpg --backend cupy
# NUMDREAM_BACKEND=cupy python my_script.py   # numdream.backend reads it on first use
# ```
#
# Without a GPU, `--backend cupy` stops with one line saying why (the same message as at the top
# of this notebook) instead of a traceback. Large images are dreamt in tiles (`tile_size`,
# 512 pixels by default), which bounds the GPU memory a dream needs whatever the image size.
