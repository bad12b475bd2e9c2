"""Stride-1 convolution by Winograd's minimal filtering: F(m x m, 3 x 3), m = 2, 4 or 6.

im2col + GEMM spends kh * kw multiplications per output and per (input, output) channel pair:
9 for a 3x3 kernel. F(m x m, 3 x 3) computes an m x m output tile from an n x n input tile
(n = m + 2) with n * n: 16 per 4 outputs for F(2x2, 3x3) (2.25x fewer), 36 per 16 for F(4x4,
3x3) (4x fewer), 64 per 36 for F(6x6, 3x3) (5.1x fewer). Per tile and channel pair they are
the elementwise product of the transformed kernel U = G g G^T and the transformed input tile
V = B^T d B; summed over the input channels, that is n * n independent GEMMs (O x C) @ (C x
tiles), one per position (i, j) in the tile, done here as one ``matmul`` over a stacked axis.
The output tile is A^T M A. numdream/fast/winograd_transforms.py has the matrices (Lavin &
Gray 2015), why they look as they do, and where the float32 error comes from.

Which tile: F(6x6, 3x3) (winograd_rule.py has the measured rule). Per output it moves 64 / 36
= 1.78 transformed values through its transforms and GEMMs, against 2.25 for F(4x4) and 4 for
F(2x2, 3x3), which is exact to float32 rounding but loses on every InceptionV3 layer; F(6x6)
beat F(4x4) by 4 % on the 3x3 layers at 512x512 and 12 % at 1024x768, for a float32 error
1.2-1.5x F(4x4)'s (larger transform coefficients: its points reach +-2 and +-1/2).

The GEMMs are the cheap part; the transforms' memory traffic decides whether this wins in
NumPy. Every transform here is a matmul with a small matrix over a whole stack of tiles, the
tile position being the outer axis: BT_w @ (nw, everything else) along the width, then
BT_h @ (nh, everything else) along the height. That is two BLAS passes over the tiles per
transform, multi-threaded, instead of one NumPy pass per nonzero coefficient (19 for F(4, 3)'s
B^T, 13 for its A^T: measured 2-3x slower, even with the shared even/odd halves of the +-p
rows). The width pass of the output transform runs transposed (M^T @ A_w) so that its result
has the tile's column innermost, which is the layout of y's rows: a chunk's whole tile rows
then go into y in one copy of contiguous rows, with no stride inside a row.

The input tiles overlap (n > m), so they are gathered instead of read in place (1.78 values
per pixel for F(6x6), 2.25 for F(4x4)). A chunk first copies the window of x it reads, with the
padding's zeros around it (one contiguous pass over its input, which InceptionV3's layers need
anyway, padded or with an overhanging last tile, but for conv2d_5's forward at 1024x768, where
only the last chunk reaches past x; one layout for every chunk lets its views be made once),
then each stage takes all its phases in one copy of an overlapping strided view (as_strided).
The work is done by tile rows in chunks whose arrays fit one reused scratch buffer of bounded
size (numdream/fast/workspace.py), as fast/conv.py does for im2col: no allocation per layer,
bounded memory at any image size, and arrays that stay close to the cache.

The routine serves any F(mh x mw, kh x kw) whose 1-D matrices exist (an axis with a 1-tap
kernel is not tiled), for the 1x7, 7x1 and 5x5 kernels too (see POINTS).

CuPy: the steps are ``copyto`` into strided views and from ``lib.stride_tricks.as_strided``
views whose tiles overlap, ``matmul(out=)`` into contiguous scratch
(cupy.matmul takes out=; an operand may be a transposed view) and one ``einsum`` for the
weights, all in CuPy. The fused plan (fast/plan.py) takes this path on CuPy too, by the same
rule; it was measured on the CPU only (on a GPU the separate passes may not pay, which
benchmarks/gpu_check.py is there to measure).

Threads: a chunk makes about 15 NumPy calls, five of them BLAS (the four transforms and one
batched GEMM); inside threads.own_cores() BLAS runs one thread and the chunks run side by side,
so a layer waits for its threads once (threads.py). Each call's return takes the GIL, so the
Python between the calls is kept short: the views a chunk works in are made once per chunk
shape (winograd_stages.py).
"""
import functools

from ..backend import get_array_module
from .conv import MIN_PIECE_FLOPS
from .threads import even_chunks, piece_count, run_pieces, split
from .winograd_rule import TILE_FOR_KERNEL, default_on, tile_for  # noqa: F401  (which layers, and when)
from .winograd_stages import ChunkShape, stages
from .winograd_transforms import backward_matrices, matrices

# Scratch elements per chunk of tile rows (tiles, transformed tiles, GEMM output, half-transformed
# output): 8 MB of float32 per thread, so that two threads' chunks stay inside this CPU's 32 MB
# L3. Whole two-thread steps, alternating (benchmarks/README.md, 2026-12-01, fifth session):
# against 16 MB, 8 MB took 4-6 % off at 512x512 and 1024x768 with OpenBLAS's AVX-512 kernels and
# 0-2 % with the AVX2 ones; 4 MB was level with 8 at 512x512 and 1-2 % slower at 1024x768, and
# 1-2 MB 10-20 % slower (more, smaller BLAS calls). F(4x4) at one thread had its best at 8-16 MB.
SCRATCH_ELEMENTS = 1 << 21


def tile_sizes(m, kernel):
    """Output tile (mh, mw) for ``m`` (int or pair) and kernel (kh, kw): no tiling along a 1-tap axis."""
    mh, mw = (m, m) if isinstance(m, int) else m
    kh, kw = kernel
    return (mh if kh > 1 else 1), (mw if kw > 1 else 1)


def transform_weights(w, m):
    """w: (O, C, kh, kw) -> U: (nh * nw, O, C), U[i * nw + j] = (G_h w G_w^T)[i, j], in w's dtype.

    Done once per model and dtype; computed in float64 so the only rounding is the final cast.
    m: output tile (int or (mh, mw)); n = m + k - 1 per axis.
    """
    xp = get_array_module(w)
    o, c, kh, kw = w.shape
    mh, mw = tile_sizes(m, (kh, kw))
    gh, gw = (xp.asarray(matrices(mm, k)[1]) for mm, k in ((mh, kh), (mw, kw)))
    u = xp.einsum("ia,ocab,jb->ijoc", gh, w.astype("float64"), gw)
    return xp.ascontiguousarray(u.reshape(gh.shape[0] * gw.shape[0], o, c).astype(w.dtype))


def conv2d_forward(x, U, b, padding, m, kernel=(3, 3), relu=False):
    """Same result as numdream.ops.conv2d_forward with stride 1 (up to rounding).

    x: (N, C, H, W); U: (nh * nw, O, C) from transform_weights(w, m); b: (O,) or None;
    padding: (top, bottom, left, right), negative values crop; m: the output tile of U;
    relu: return relu(y), applied as the tiles are copied into y (no pass of its own).
    Returns y: (N, O, OH, OW) with OH = H + top + bottom - kh + 1 (no cache: the input
    gradient needs only shapes and the transformed weights).
    """
    return _convolve(x, U, b, padding, tile_sizes(m, kernel), kernel, backward=False, relu=relu)


def conv2d_backward_input(dy, x_shape, U, padding, m, kernel=(3, 3), relu_output=None):
    """Same dx as numdream.ops.conv2d_backward for a stride-1 convolution (up to rounding).

    dy: (N, O, OH, OW); U: the forward's transformed weights, transform_weights(w, m);
    relu_output: y = relu(conv(x)) when a ReLU followed the convolution and dy is the gradient
    of its output: dy is masked first, dy * (y > 0) as numdream.ops.relu_backward, inside each
    chunk on the rows it reads. Returns dx: (N, C, H, W). dx[h] = sum_i dy[h + t - i] w[i]: a stride-1 correlation of dy
    with the flipped kernel, channels swapped, padded by kh - 1 - t above and kh - 1 - b below,
    so the forward routine serves. The flipped kernel's transformed weights are U's own,
    transposed, at permuted and rescaled positions (winograd_transforms.backward_matrices folds
    both into the transforms), so no second copy of the weights is made or kept.
    """
    kh, kw = kernel
    t, b, l, r = padding
    padding_back = (kh - 1 - t, kh - 1 - b, kw - 1 - l, kw - 1 - r)
    if relu_output is not None and relu_output.shape != dy.shape:
        raise ValueError(f"winograd: the ReLU's output has shape {tuple(relu_output.shape)}, "
                         f"dy {tuple(dy.shape)}: they must agree")
    dx = _convolve(dy, U.transpose(0, 2, 1), None, padding_back, tile_sizes(m, kernel), kernel, backward=True,
                   mask=relu_output)
    if dx.shape[1:] != tuple(x_shape[1:]):
        raise ValueError(f"winograd: dy of shape {tuple(dy.shape)} with padding {tuple(padding)} "
                         f"does not come from an input of shape {tuple(x_shape)}")
    return dx


def _convolve(x, U, b, padding, tile, kernel, backward, relu=False, mask=None):
    """conv2d_forward with U: (nh * nw, O, C), possibly a transposed view (backward=True); relu:
    y = max(y, 0); mask: x is read as x * (mask > 0), mask of x's shape."""
    xp = get_array_module(x)
    n, c, h, width = x.shape
    (kh, kw), (mh, mw) = kernel, tile
    at_h, bt_h, at_w, bt_w = _device_matrices(xp, x.dtype, (mh, mw), (kh, kw), backward)
    nh, nw = bt_h.shape[0], bt_w.shape[0]
    p, o, uc = U.shape
    if (p, uc) != (nh * nw, c):
        raise ValueError(f"winograd: weights of shape {tuple(U.shape)} do not fit F({mh}x{mw}, "
                         f"{kh}x{kw}) on {c} input channels (expected ({nh * nw}, O, {c}))")
    t, bo, l, r = padding
    oh, ow = h + t + bo - kh + 1, width + l + r - kw + 1
    if oh < 1 or ow < 1:
        raise ValueError(f"winograd: a {kh}x{kw} kernel does not fit an input of {h}x{width} "
                         f"with padding {tuple(padding)}")
    th = -(-oh // mh)  # tiles per column (the last may overhang)
    y = xp.empty((n, o, oh, ow), dtype=x.dtype)
    # chunks of tile rows that fit the scratch buffer, and at least one per worker: inside
    # threads.own_cores() the chunks run side by side, each on its thread's scratch
    pieces = piece_count(n * o * c * kh * kw * oh * ow, MIN_PIECE_FLOPS)
    mats = (at_h, bt_h, at_w, bt_w)
    # A kernel one column wide with no padding across (7x1) convolves each column of x on its
    # own: the threads then share the columns out, and row chunks come only from the scratch's
    # bound. Its few tile rows (5 at 30x30: F(6), 30 rows) split 3:2 between two threads; the
    # 30 columns split 15:15.
    by_columns = pieces > 1 and kw == 1 and l == r == 0 and th % pieces != 0
    columns = split(ow, pieces) if by_columns else [(0, ow)]
    jobs = []
    for c0, c1 in columns:
        per_row = (2 * p * c + p * o + mh * nw * o) * n * -(-(c1 - c0) // mw)  # scratch per tile row, see winograd_stages
        args = [a[..., c0:c1] if by_columns and a is not None else a for a in (x, y, mask)]
        jobs += [(rows, args) for rows in even_chunks(th, SCRATCH_ELEMENTS // per_row, 1 if by_columns else pieces)]
    run_pieces(lambda rows=rows, xs=xs: _chunk(xp, xs[0], U, b, xs[1], rows, (-t, -l), (mh, mw), mats, relu, xs[2])
               for rows, xs in jobs)
    return y


_device_cache = {}


def _device_matrices(xp, dtype, tile, kernel, backward):
    """(AT_h, BT_h, AT_w, BT_w) as ``xp`` arrays of ``dtype`` (made once per module and dtype)."""
    key = (xp.__name__, dtype, tile, kernel, backward)
    if key not in _device_cache:
        mats = []
        for m, k in zip(tile, kernel):
            at, _, bt = matrices(m, k)
            mats += backward_matrices(m, k) if backward else (at, bt)
        _device_cache[key] = tuple(xp.asarray(a, dtype=dtype) for a in mats)
    return _device_cache[key]


@functools.lru_cache(maxsize=None)
def _bias_position(tile, sizes):
    """The tile position p = i * nw + j where b added to M adds b to every output of the tile.

    Row a of A^T holds the a-th powers of the points, so its column for the point 1 is all ones
    (the column of a 1-tap axis' [[1]] too): M[i, j] + b becomes Y + b at every (a, c). One add
    over 1 / (nh * nw) of M, so that the copy into y is a plain copy, and one call for the whole
    chunk. sizes: (nh, nw), the transformed tile."""
    ones = []
    for m, n in zip(tile, sizes):
        at = matrices(m, n - m + 1)[0] if n > 1 else [[1]]
        ones.append(next(j for j in range(n) if all(float(row[j]) == 1 for row in at)))
    return ones[0] * sizes[1] + ones[1]


def _chunk(xp, x, U, b, y, tile_rows, origin, tile, mats, relu=False, mask=None):
    """Tile rows [r0, r1) of y (+ b, through max(., 0) if relu): gather the tiles of x (times
    mask > 0, if a mask is given), transform, GEMM, transform back into y."""
    (r0, r1), (row0, col0), (mh, mw), (at_h, bt_h, at_w, bt_w) = tile_rows, origin, tile, mats
    n, c, h, w = x.shape
    nh, nw = bt_h.shape[0], bt_w.shape[0]
    rows, tw = r1 - r0, -(-y.shape[3] // mw)
    rows_in, wide = rows * mh + nh - mh, tw * mw + nw - mw  # the input window the tiles read
    top = row0 + r0 * mh  # its first row in x (negative: padding); its first column is col0
    i0, j0 = min(rows_in, max(0, -top)), min(wide, max(0, -col0))  # the part of it inside x
    i1, j1 = max(i0, min(rows_in, h - top)), max(j0, min(wide, w - col0))
    oh, ow = y.shape[2:]
    whole = min(rows, (oh - r0 * mh) // mh)  # tile rows that lie whole inside y
    shape = ChunkShape(n, c, U.shape[1], nh, nw, mh, mw, rows, tw, i0, i1, j0, j1, whole, ow,
                       min(mh, oh - (r0 + whole) * mh) if whole < rows else 0)
    st = stages(xp, x.dtype, shape, _bias_position((mh, mw), (nh, nw)))

    # input transform, along the width then along the height: V = B^T d B. First the window of
    # x that the chunk's tiles read, with zeros where it lies outside x (the padding, an
    # overhanging last tile) and dy * (y > 0) for a ReLU's mask on the way back. From it, every
    # stage is one strided copy and one matmul: the nw column phases (stride mw) of all its
    # rows, BT_w along the width; then the rows of each tile (stride mh, overlapping views of
    # the same rows) and BT_h along the height.
    # Why whole stages: a chunk makes ~15 NumPy calls instead of 40-60 (a copy and up to four
    # zero fills per tile phase), and each call's return takes the GIL, which the other
    # thread's chunk may be holding. Short calls do not run faster on two threads at all
    # (benchmarks/thread_scaling.py: 256 KB copies, 0.96x), and the small layers' phases were
    # short (48 KB at 30x30). Measured: 0.94-0.97x the whole step at 512x512 and 1024x768,
    # alternating with the tree before (benchmarks/README.md, seventh session). For the same
    # reason the views of the scratch buffer are made once per chunk shape (winograd_stages.py):
    # the Python around the calls holds the GIL too.
    for region in st.zeros:
        region[...] = 0
    if st.inner is not None:
        rows_of_x = (slice(None), slice(None), slice(top + i0, top + i1), slice(col0 + j0, col0 + j1))
        if mask is None:
            xp.copyto(st.inner, x[rows_of_x])
        else:
            xp.multiply(x[rows_of_x], mask[rows_of_x] > 0, out=st.inner)
    if nw > 1:
        xp.copyto(st.cols, st.cols_of_window)
        xp.matmul(bt_w, st.cols_2d, out=st.half_2d)
    if nh > 1:
        xp.copyto(st.tiles, st.tiles_of_half)
        xp.matmul(bt_h, st.tiles_2d, out=st.v_2d)

    # one GEMM per tile position, all in one matmul: M[i, j] = U[i, j] @ V[i, j]
    xp.matmul(U[:, None], st.v, out=st.m)  # U may be a transposed view
    if b is not None:  # b at the tile position that A^T's column of ones spreads to every output
        xp.add(st.m_bias, b.reshape(1, -1, 1), out=st.m_bias)

    # output transform, along the height then along the width: Y = A^T M A. The width pass is
    # computed transposed, Y1[a]^T @ A_w, so that its output has the tile's column b innermost:
    # (N, O, tile rows, tiles, b) is the layout of y's rows, and each row of the tile is then one
    # copy of whole contiguous rows instead of mw copies with stride mw. (Width first, on the
    # larger array, measured the same.)
    if nh > 1:
        xp.matmul(at_h, st.m_2d, out=st.y_h)
    if nw > 1:
        xp.matmul(st.y_h_by_column, at_w.T, out=st.y_w)
    # into y, the tile rows that lie whole inside it in one copy: y's rows (N, O, tile rows, a, OW)
    # are the tiles (a, N, O, tile rows, OW) transposed. One call instead of mh adds of the bias:
    # on a 96-channel 31x43 layer they took 267 us of a 1.1 ms chunk, the copy takes 204 (one
    # thread). Then the rows of an overhanging last tile row.
    if relu:  # in place on the contiguous tiles: a ufunc from the transposed view into y ran
        xp.maximum(st.y_tiles, 0, out=st.y_tiles)  # 12-15 % slower than the copy, this adds 2-4 %
    if whole:
        xp.copyto(y[:, :, r0 * mh:(r0 + whole) * mh].reshape(y.shape[0], y.shape[1], whole, mh, ow), st.whole_rows)
    for a, row in enumerate(st.tail_rows):
        xp.copyto(y[:, :, (r0 + whole) * mh + a], row)
