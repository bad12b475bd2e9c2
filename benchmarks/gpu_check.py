"""One-shot check of the CuPy backend on a machine with a GPU: every op and fast-path kernel on
real CuPy arrays against NumPy (float64 and float32), the fused model, a seeded dream of the
bundled photo on both backends, and the time of a step on each.

    python benchmarks/gpu_check.py            # under 5 minutes on a GPU
    python benchmarks/gpu_check.py --quick    # small sizes, fewer repeats (what the tests run)

Prints one table and exits 0 only if everything agrees; 1 if something does not (the table
says what); 2, with the backend's one-line reason, without CuPy or without a GPU.

The fast path's CuPy needs are checked first, each against NumPy, because they are where CuPy
and NumPy could part: ``matmul(..., out=)`` into a non-contiguous slice (fast/conv.py writes
GEMM rows straight into y; CuPy supports out= but may compute into a temporary and copy,
which is correct, only slower), ``matmul`` of a stacked, transposed view (fast/winograd.py),
``copyto`` into strided views and from ``lib.stride_tricks.as_strided`` views whose tiles
overlap (Winograd's gathers), ``roll`` over two axes (the dream's jitter), ``einsum``
(Winograd's weights) and uint8 arithmetic (wraps modulo 256 in both; numdream converts to
float before arithmetic, so only the conversion must agree).
"""
import argparse
import statistics
import sys
import time

import numpy

import common  # noqa: F401  (puts the repository on sys.path)
from numdream import backend, dream, load_model, opcases  # noqa: E402
from numdream.errors import BackendError  # noqa: E402
from numdream.fast import conv as fast_conv  # noqa: E402
from numdream.fast import elementwise  # noqa: E402
from numdream.fast import pool as fast_pool  # noqa: E402
from numdream.fast import winograd  # noqa: E402
from numdream.gradcheck import rel_error, rel_l2_error  # noqa: E402
from numdream.images import load_image, sample_path  # noqa: E402

TOL = {"float64": 1e-10, "float32": 1e-5}  # relative error, device against host
UNTIL = ["mixed3", "mixed5"]
# A dream amplifies rounding differences step after step: on the CPU, two float32 dreams of the
# bundled photo with default settings that differ only in the order of the convolutions' sums
# (fused im2col against the readable ops) differ by 6.6 levels on average, 134 at most
# (benchmarks/winograd_dream.py); after one step, by at most 2 (Winograd against im2col).
# So the check is a one-step dream, where a GPU's float32 must agree within a few levels, and
# the default dream's difference is printed beside it, for information.
DREAM_CHECK = dict(octaves=1, steps=1)
DREAM_MEAN_LEVELS, DREAM_MAX_LEVELS = 0.05, 4


def api_checks(xp):
    """[(name, error)]: the CuPy calls the fast path relies on, against NumPy."""
    rng = numpy.random.default_rng(0)
    a, b = rng.standard_normal((2, 4, 6)), rng.standard_normal((2, 6, 9))
    out_h, out_d = numpy.zeros((2, 4, 12)), xp.zeros((2, 4, 12))
    numpy.matmul(a, b, out=out_h[:, :, 2:11])
    xp.matmul(xp.asarray(a), xp.asarray(b), out=out_d[:, :, 2:11])
    u, v = rng.standard_normal((5, 3, 4)), rng.standard_normal((5, 1, 3, 7))
    stacked_h = numpy.matmul(u.transpose(0, 2, 1)[:, None], v)
    stacked_d = xp.matmul(xp.asarray(u).transpose(0, 2, 1)[:, None], xp.asarray(v))
    img = rng.standard_normal((1, 3, 8, 9))
    strided_h, strided_d = numpy.zeros((3, 4, 9)), xp.zeros((3, 4, 9))
    numpy.copyto(strided_h, img[0, :, ::2])
    xp.copyto(strided_d, xp.asarray(img)[0, :, ::2])
    tiles = rng.standard_normal((3, 2, 4, 5, 11))  # Winograd's (a, N, O, tile rows, OW) into y's rows
    rows_h, rows_d = numpy.zeros((2, 4, 17, 11)), xp.zeros((2, 4, 17, 11))
    numpy.copyto(rows_h[:, :, 1:16].reshape(2, 4, 5, 3, 11), tiles.transpose(1, 2, 3, 0, 4))
    xp.copyto(rows_d[:, :, 1:16].reshape(2, 4, 5, 3, 11), xp.asarray(tiles).transpose(1, 2, 3, 0, 4))
    row = rng.standard_normal((2, 14))  # Winograd's column phases: 8-wide tiles every 6 columns
    s0, s1 = row.strides
    phases_h = numpy.lib.stride_tricks.as_strided(row, (8, 2, 2), (s1, s0, 6 * s1)).copy()
    row_d = xp.asarray(row)
    phases_d = xp.lib.stride_tricks.as_strided(row_d, (8, 2, 2), (row_d.strides[1], row_d.strides[0],
                                                                  6 * row_d.strides[1])).copy()
    g, w = rng.standard_normal((6, 3)), rng.standard_normal((2, 4, 3, 3))
    pixels = rng.integers(0, 256, (5, 7, 3), dtype=numpy.uint8)
    return [
        ("matmul(out=) into a non-contiguous slice", rel_error(out_d, out_h)),
        ("matmul of a stacked transposed view", rel_error(stacked_d, stacked_h)),
        ("copyto into a strided view", rel_error(strided_d, strided_h)),
        ("copyto of a transposed view into a reshaped slice", rel_error(rows_d, rows_h)),
        ("copy of an overlapping as_strided view", rel_error(phases_d, phases_h)),
        ("roll over two axes", rel_error(xp.roll(xp.asarray(img), (3, -2), axis=(2, 3)),
                                         numpy.roll(img, (3, -2), axis=(2, 3)))),
        ("einsum of Winograd's weights", rel_error(xp.einsum("ia,ocab,jb->ijoc", xp.asarray(g), xp.asarray(w), xp.asarray(g)),
                                                   numpy.einsum("ia,ocab,jb->ijoc", g, w, g))),
        ("uint8 arithmetic and conversion", rel_error((xp.asarray(pixels) + xp.asarray(pixels)).astype(xp.float32),
                                                      (pixels + pixels).astype(numpy.float32))),
    ]


def op_checks(xp, quick):
    """[(name, error, dtype)]: every op case of numdream.opcases, device against host."""
    rows = []
    seen = set()
    for case in opcases.CASES:
        if quick and case.op in seen:
            continue
        seen.add(case.op)
        for dtype in TOL:
            host = case.inputs(dtype=dtype)
            pair = case.pair()
            y_h, cache_h = pair.forward(*host)
            y_d, cache_d = pair.forward(*[xp.asarray(a) for a in host])
            dy = numpy.random.default_rng(1).standard_normal(y_h.shape).astype(dtype)
            worst = rel_error(y_d, y_h)
            for g_d, g_h in zip(pair.backward(xp.asarray(dy), cache_d), pair.backward(dy, cache_h)):
                if g_h is not None:
                    worst = max(worst, rel_error(g_d, g_h))
            rows.append((f"op {case.name}", worst, dtype))
    return rows


def kernel_checks(xp):
    """[(name, error, dtype)]: fast/conv.py and every Winograd kernel, forward and input gradient."""
    rows, rng = [], numpy.random.default_rng(2)
    shapes = [((3, 3), (1, 1, 1, 1)), ((5, 5), (2, 2, 2, 2)), ((1, 7), (0, 0, 3, 3)), ((7, 1), (3, 3, 0, 0))]
    for dtype in TOL:
        for kernel, padding in shapes:
            x, w = rng.standard_normal((2, 5, 19, 17)).astype(dtype), rng.standard_normal((6, 5) + kernel).astype(dtype)
            b = rng.standard_normal(6).astype(dtype)  # Winograd adds it at one tile position of M
            for m in sorted({2, 4, winograd.TILE_FOR_KERNEL[kernel]}):  # and the plan's own tile
                u = winograd.transform_weights(w, m)
                y_h = winograd.conv2d_forward(x, u, b, padding, m, kernel)
                y_d = winograd.conv2d_forward(xp.asarray(x), xp.asarray(u), xp.asarray(b), padding, m, kernel)
                dy = rng.standard_normal(y_h.shape).astype(dtype)
                dx_h = winograd.conv2d_backward_input(dy, x.shape, u, padding, m, kernel)
                dx_d = winograd.conv2d_backward_input(xp.asarray(dy), x.shape, xp.asarray(u), padding, m, kernel)
                rows.append((f"winograd F({m}) {kernel[0]}x{kernel[1]}", max(rel_error(y_d, y_h), rel_error(dx_d, dx_h)), dtype))
                # the ReLU in place on the output tiles (xp.maximum(out=) on scratch) and its
                # mask inside the chunks (multiply by a bool view of the mask, out= scratch)
                y_h = winograd.conv2d_forward(x, u, b, padding, m, kernel, relu=True)
                y_d = winograd.conv2d_forward(xp.asarray(x), xp.asarray(u), xp.asarray(b), padding, m, kernel, relu=True)
                dx_h = winograd.conv2d_backward_input(dy, x.shape, u, padding, m, kernel, relu_output=y_h)
                dx_d = winograd.conv2d_backward_input(xp.asarray(dy), x.shape, xp.asarray(u), padding, m, kernel,
                                                      relu_output=y_d)
                rows.append((f"winograd F({m}) {kernel[0]}x{kernel[1]} + ReLU",
                             max(rel_error(y_d, y_h), rel_error(dx_d, dx_h)), dtype))
            for stride in ((1, 1), (2, 2)):
                y_h = fast_conv.conv2d_forward(x, w, b, stride, padding, relu=True)
                y_d = fast_conv.conv2d_forward(xp.asarray(x), xp.asarray(w), xp.asarray(b), stride, padding, relu=True)
                dy = rng.standard_normal(y_h.shape).astype(dtype)
                dx_h = fast_conv.conv2d_backward_input(dy, x.shape, w, stride, padding)
                dx_d = fast_conv.conv2d_backward_input(xp.asarray(dy), x.shape, xp.asarray(w), stride, padding)
                rows.append((f"im2col {kernel[0]}x{kernel[1]} stride {stride[0]} + bias, ReLU",
                             max(rel_error(y_d, y_h), rel_error(dx_d, dx_h)), dtype))
        x, dy = (rng.standard_normal((2, 6, 9, 7)).astype(dtype) for _ in range(2))
        y_h = numpy.maximum(x, 0)
        cat_h, _ = elementwise.concat_forward_in_pieces([x, dy])
        cat_d, _ = elementwise.concat_forward_in_pieces([xp.asarray(x), xp.asarray(dy)])
        rows.append(("relu mask, concat (fast/elementwise.py)",
                     max(rel_error(cat_d, cat_h), rel_error(elementwise.relu_backward(xp.asarray(dy), xp.asarray(y_h)),
                                                            elementwise.relu_backward(dy, y_h))),
                     dtype))
        # the stem's max pool with the ReLU after it, forward and backward (fast/pool.py)
        p_h, cache_h = fast_pool.max_pool2d_forward(x, (3, 3), (2, 2), relu=True)
        p_d, cache_d = fast_pool.max_pool2d_forward(xp.asarray(x), (3, 3), (2, 2), relu=True)
        d = rng.standard_normal(p_h.shape).astype(dtype)
        rows.append(("max pool + ReLU (fast/pool.py)",
                     max(rel_error(p_d, p_h), rel_error(fast_pool.max_pool2d_backward(xp.asarray(d), cache_d, p_d),
                                                        fast_pool.max_pool2d_backward(d, cache_h, p_h))), dtype))
    return rows


def on(name, fn, *args, **kwargs):
    """fn(*args, **kwargs) with backend ``name`` active: where load_model and preprocess put arrays."""
    backend.use(name)
    return fn(*args, **kwargs)


def synchronize(xp):
    """Wait for the GPU (timings); the test stand-in computes synchronously and has no Device."""
    device = getattr(xp.cuda, "Device", None)
    if device is not None:
        device().synchronize()


def dream_difference(host, device, photo, options):
    """|numpy dream - cupy dream| of ``photo`` (seed 0) in pixel levels, int16 (H, W, 3)."""
    on_host = on("numpy", dream, photo, model=host, seed=0, progress=False, **options)
    on_device = backend.to_host(on("cupy", dream, photo, model=device, seed=0, progress=False, **options))
    return numpy.abs(on_host.astype(numpy.int16) - on_device.astype(numpy.int16))


def step(model, x):
    acts, tape = model.forward(x, UNTIL)
    return model.backward(dict(acts), tape)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small sizes and one case per op")
    args = parser.parse_args(argv)
    try:
        xp = backend.use("cupy")
    except BackendError as err:
        print(err)
        return 2
    try:
        return run(xp, args.quick)
    finally:
        backend.use("numpy")


def run(xp, quick):
    start = time.perf_counter()
    rows = [(name, err, "float64", err <= TOL["float64"]) for name, err in api_checks(xp)]
    rows += [(name, err, dtype, err <= TOL[dtype]) for name, err, dtype in op_checks(xp, quick) + kernel_checks(xp)]
    host, device = on("numpy", load_model, winograd=True), on("cupy", load_model, winograd=True)
    photo = load_image(sample_path())
    small = photo[::4, ::4] if quick else photo[::2, ::2]
    dx_h = on("numpy", lambda: step(host, host.preprocess(small)))
    dx_d = on("cupy", lambda: step(device, device.preprocess(small)))
    err = rel_l2_error(dx_d, dx_h)
    rows.append(("fused model step (forward + input gradient)", err, "float32", err <= TOL["float32"]))
    diff = dream_difference(host, device, photo, DREAM_CHECK)
    mean, worst = float(diff.mean()), int(diff.max())
    rows.append(("one-step dream of the photo, seed 0: mean |diff| levels", mean, "uint8",
                 mean <= DREAM_MEAN_LEVELS and worst <= DREAM_MAX_LEVELS))
    width = min(60, max(len(r[0]) for r in rows))
    print(f"{'check':<{width}}  {'dtype':>7}  {'error':>8}  ok")
    for name, err, dtype, ok in rows:
        print(f"{name[:width]:<{width}}  {dtype:>7}  {err:8.1e}  {'yes' if ok else 'NO'}")
    print(f"one-step dream |numpy - cupy| in pixel levels: mean {mean:.3f} (at most {DREAM_MEAN_LEVELS}), "
          f"max {worst} (at most {DREAM_MAX_LEVELS})")
    if not quick:
        full = dream_difference(host, device, photo, {})
        print(f"default dream (information, see DREAM_CHECK): mean {full.mean():.2f}, max {full.max()} levels")
    print(f"\n{'step time (forward to mixed5 + gradient)':<42}  {'numpy s':>8}  {'cupy s':>8}")
    for size in ((96, 96), (128, 128)) if quick else ((512, 512), (2048, 2048)):
        image = numpy.random.default_rng(0).integers(0, 256, size + (3,), dtype=numpy.uint8)
        times = []
        for name, model in (("numpy", host), ("cupy", device)):
            x = on(name, model.preprocess, image)
            step(model, x)  # warm-up: CuPy compiles its kernels on first use
            synchronize(xp)
            runs = []
            for _ in range(1 if quick else 3):
                t0 = time.perf_counter()
                step(model, x)
                synchronize(xp)
                runs.append(time.perf_counter() - t0)
            times.append(statistics.median(runs))
        print(f"{size[1]}x{size[0]:<{42 - len(str(size[1])) - 1}}  {times[0]:8.3f}  {times[1]:8.3f}")
    failed = [r[0] for r in rows if not r[3]]
    print(f"\n{len(rows) - len(failed)} of {len(rows)} checks agree; {time.perf_counter() - start:.0f} s")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
