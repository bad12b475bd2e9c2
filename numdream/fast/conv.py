"""Convolution forward and input-gradient in row chunks that stay in the CPU cache.

The readable conv2d_forward builds the whole im2col matrix, (C*kh*kw, OH*OW), which for the
first InceptionV3 layers at 512 px is ~100 MB: written once, read once by the GEMM, from main
memory. Here the output rows are processed in chunks whose columns fit in a reused scratch
buffer of bounded size (no fresh allocation per layer, and a bounded footprint however large
the image), and the GEMM writes straight into its rows of the output.

The input gradient of a stride-1 convolution is itself a stride-1 convolution: of dy, padded
by kernel - 1 - padding on each side, with the kernel turned by 180 degrees and its in and out
channels swapped (flip_for_input_gradient). It runs through conv2d_forward: im2col's copies
instead of col2im's read-add-writes, no zeroed padded buffer to crop and copy afterwards
(the same arithmetic; on a 224x224 feature-visualisation step at two threads the time did not
move beyond noise, see benchmarks/README.md for the 512x512 step). Strided convolutions keep the
adjoint route: a chunk of dcols = W^T dy, then col2im of that chunk into the padded
gradient.

Inside threads.own_cores() the work runs in pieces on the cores (fast/threads.py says why):
the row chunks of an im2col convolution, blocks of output channels of a 1x1 one, blocks of input
channels of a strided one's input gradient (their col2im writes disjoint channels, where row
chunks would overlap), or, where the input channels do not divide evenly between the threads
(the first layer's 3), blocks of dy's rows, each piece but the first adding into a slab of its
own that is added into dx after the join. A pass smaller than MIN_PIECE_FLOPS stays whole: a
hand-over between threads costs tens of microseconds.
"""
from ..backend import get_array_module
from ..ops.geometry import col2im, crop, im2col, out_size, pad_for_windows, padded_size
from .threads import even_chunks, piece_count, run_pieces, split
from .workspace import scratch

# im2col elements per chunk: 16 MB of float32. Measured at 512x512 (a step, 2 cores): 0.87 s with
# 1 MB chunks, 0.60 s with 8 MB, 0.55-0.59 s from 16 MB up; bigger GEMMs win over cache locality
# here, and 16 MB still bounds the scratch buffer whatever the image size.
CHUNK_ELEMENTS = 1 << 22
MIN_PIECE_FLOPS = 1 << 23  # ~70 us of one core's GEMM: below that, splitting costs more than it gives


def _row_chunks(oh, c, kh, kw, ow, pieces=1):
    """(r0, r1) ranges of output rows whose im2col columns fit in CHUNK_ELEMENTS, a multiple of
    ``pieces`` of them where there are that many rows (threads.even_chunks)."""
    return even_chunks(oh, CHUNK_ELEMENTS // (c * kh * kw * ow), pieces)


def matmul_in_row_blocks(a, b, out, pieces):
    """out = a @ b, a block of a's rows per piece (the blocks write disjoint rows of out).
    a: (M, K), b: (N, K, P), out: (N, M, P); returns out. A 1x1 convolution's GEMM, and its
    input gradient's with a = W^T."""
    xp = get_array_module(out)
    run_pieces(lambda r0=r0, r1=r1: xp.matmul(a[r0:r1], b, out=out[:, r0:r1]) for r0, r1 in split(a.shape[0], pieces))
    return out


def _is_pointwise(kh, kw, sh, sw, padding):
    return (kh, kw, sh, sw) == (1, 1, 1, 1) and not any(padding)


def conv2d_forward(x, w, b, stride, padding, relu=False):
    """Same result as numdream.ops.conv2d_forward. x: (N, C, H, W), w: (O, C, kh, kw), b: (O,).

    stride: (sh, sw); padding: (top, bottom, left, right); relu: return relu(y). The bias and
    the ReLU are applied in each piece to the rows it has just computed, still in the cache.
    Returns y: (N, O, OH, OW) (no cache: the input gradient below needs only shapes and weights).
    """
    xp = get_array_module(x)
    n, c, h, width = x.shape
    o, _, kh, kw = w.shape
    (sh, sw), (t, bo, l, r) = stride, padding
    oh, ow = out_size(h, kh, sh, t, bo), out_size(width, kw, sw, l, r)
    w2 = w.reshape(o, c * kh * kw)
    y = xp.empty((n, o, oh * ow), dtype=x.dtype)
    pieces = piece_count(n * o * c * kh * kw * oh * ow, MIN_PIECE_FLOPS)
    bias = b.reshape(1, o, 1) if b is not None else None

    def epilogue(out, bias):  # out: (N, O', P) rows just computed, bias: (1, O', 1) or None
        if bias is not None:
            out += bias
        if relu:
            xp.maximum(out, 0, out=out)

    if _is_pointwise(kh, kw, sh, sw, padding):
        x2 = x.reshape(n, c, h * width)

        def channels(o0, o1):
            xp.matmul(w2[o0:o1], x2, out=y[:, o0:o1])
            epilogue(y[:, o0:o1], bias[:, o0:o1] if bias is not None else None)
        run_pieces(lambda o0=o0, o1=o1: channels(o0, o1) for o0, o1 in split(o, pieces))
    else:
        xpad = pad_for_windows(x, (kh, kw), (sh, sw), padding, (oh, ow))

        def rows(r0, r1):
            cols = scratch(xp, (n, c, kh, kw, r1 - r0, ow), x.dtype)
            im2col(xpad, (kh, kw), (sh, sw), (oh, ow), rows=(r0, r1), out=cols)
            xp.matmul(w2, cols.reshape(n, c * kh * kw, (r1 - r0) * ow), out=y[:, :, r0 * ow:r1 * ow])
            epilogue(y[:, :, r0 * ow:r1 * ow], bias)
        run_pieces(lambda r0=r0, r1=r1: rows(r0, r1) for r0, r1 in _row_chunks(oh, c, kh, kw, ow, pieces))
    return y.reshape(n, o, oh, ow)


def flip_for_input_gradient(w):
    """w: (O, C, kh, kw) -> (C, O, kh, kw), turned by 180 degrees: the kernel whose stride-1
    convolution of the suitably padded dy is a stride-1 convolution's input gradient."""
    return get_array_module(w).ascontiguousarray(w[:, :, ::-1, ::-1].transpose(1, 0, 2, 3))


def full_padding(kernel, stride, padding):
    """The padding of dy that makes the input gradient a convolution, or None (strided, or a
    padding wider than kernel - 1, which would need a crop)."""
    (kh, kw), (t, b, l, r) = kernel, padding
    full = (kh - 1 - t, kh - 1 - b, kw - 1 - l, kw - 1 - r)
    return full if tuple(stride) == (1, 1) and min(full) >= 0 else None


def conv2d_backward_input(dy, x_shape, w, stride, padding, w_flipped=None):
    """Same dx as numdream.ops.conv2d_backward. dy: (N, O, OH, OW) -> dx: (N, C, H, W).

    w_flipped: flip_for_input_gradient(w), when the caller keeps it (else made here for a
    stride-1 convolution).
    """
    xp = get_array_module(dy)
    n, c, h, width = x_shape
    o, _, kh, kw = w.shape
    oh, ow = dy.shape[2:]
    w2t = w.reshape(o, c * kh * kw).T
    dy2 = dy.reshape(n, o, oh * ow)
    pieces = piece_count(n * o * c * kh * kw * oh * ow, MIN_PIECE_FLOPS)
    if _is_pointwise(kh, kw, *stride, padding):
        dx = xp.empty((n, c, h * width), dtype=dy.dtype)
        return matmul_in_row_blocks(w2t, dy2, dx, pieces).reshape(n, c, h, width)
    full = full_padding((kh, kw), stride, padding)
    if full is not None:
        w_flipped = flip_for_input_gradient(w) if w_flipped is None else w_flipped
        return conv2d_forward(dy, w_flipped, None, (1, 1), full)
    dxpad = xp.zeros((n, c) + padded_size((h, width), (kh, kw), stride, padding, (oh, ow)), dtype=dy.dtype)
    k, sh = kh * kw, stride[0]

    def gradient(c0, c1, rows, out, base):
        """Channels [c0, c1) of dx from dy's rows [rows), added into out, whose row 0 is the
        padded row where the windows of dy's row ``base`` start."""
        for r0, r1 in _row_chunks(rows[1] - rows[0], c1 - c0, kh, kw, ow):
            r0, r1 = r0 + rows[0], r1 + rows[0]
            dcols = scratch(xp, (n, (c1 - c0) * k, (r1 - r0) * ow), dy.dtype)
            xp.matmul(w2t[c0 * k:c1 * k], dy2[:, :, r0 * ow:r1 * ow], out=dcols)
            col2im(dcols.reshape(n, c1 - c0, kh, kw, r1 - r0, ow), None, stride, rows=(r0 - base, r1 - base),
                   out=out[:, c0:c1])

    if c % pieces == 0 or c >= 8 * pieces:  # input channels [c0, c1) per piece: disjoint writes
        run_pieces(lambda c0=c0, c1=c1: gradient(c0, c1, (0, oh), dxpad, 0) for c0, c1 in split(c, pieces))
    else:
        # Too few channels to share out evenly (the first layer's 3: 1 and 2 per thread), so dy's
        # rows are shared out instead. Their windows overlap by kh - sh rows at each cut, so every
        # piece but the first adds into a zeroed slab of its own rows, added into dx after the join.
        blocks = split(oh, pieces)
        slabs = [dxpad] + [xp.zeros((n, c, (r1 - r0 - 1) * sh + kh) + dxpad.shape[3:], dtype=dy.dtype)
                           for r0, r1 in blocks[1:]]
        run_pieces(lambda rows=rows, slab=slab, i=i: gradient(0, c, rows, slab, rows[0] if i else 0)
                   for i, (rows, slab) in enumerate(zip(blocks, slabs)))
        for (r0, _), slab in zip(blocks[1:], slabs[1:]):
            dxpad[:, :, r0 * sh:r0 * sh + slab.shape[2]] += slab
    return crop(dxpad, padding, (h, width)).copy()
