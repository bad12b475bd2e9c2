"""The views of the scratch buffer that a Winograd chunk works in (fast/winograd.py, _chunk),
made once per chunk shape and thread.

Why keep them: the Python between a chunk's ~15 NumPy calls holds the GIL, and the other
thread's chunk, back from a call, waits for it (its core halts meanwhile on this VM, and waking
it costs 50-300 us). Making these ~40 views took 30 of the 53 us of Python that a one-tile layer
call made; with them kept, the call makes 22 (benchmarks/README.md, eighth session). They live
in workspace.scratch_views, which scratch() empties when it replaces the buffer: they never keep
an outgrown buffer alive.

The buffer holds four aligned regions, reused stage after stage (p = nh * nw tile positions;
q = N * C * rows * tw and qo = N * O * rows * tw elements per position, in and out):
- a: the input window (N, C, rows_in, wide); then half (nw, N, C, rows_in, tw), the width pass
  of the input transform, once the copy into cols has consumed the window; then V (p, N, C,
  rows * tw) once the copy into tiles has consumed half. Size p * q, the largest of the three.
  With one column phase (nw == 1, a 7x1 kernel) half is the window itself; with one row phase
  (nh == 1, 1x7) V is half itself.
- b: cols (nw, N, C, rows_in, tw), the window's column phases; then tiles (nh, nw, N, C, rows,
  tw), the rows of every tile. Size p * q.
- m: M (p, N, O, rows * tw), the GEMM's output; then Y_w (mh, qo, mw), the output transform's
  width pass, once the height pass has consumed M.
- r: Y_h (mh, nw * qo), the output transform's height pass; Y_w there instead where there is no
  height pass (nh == 1: M itself is the width pass's input, and a matmul whose output overlaps
  its input makes a temporary copy of the whole output).
"""
import collections
import math

from .workspace import scratch, scratch_views

# the input window's part inside x (rows i0:i1, columns j0:j1 of the window), and y's rows: the
# tile rows that lie whole inside it, its width, and the rows of a last partial tile row
ChunkShape = collections.namedtuple("ChunkShape", "n c o nh nw mh mw rows tw i0 i1 j0 j1 whole ow tail")
# None where a stage does not exist: cols* and half_2d with one column phase (nw == 1), tiles*,
# v_2d, y_h with one row phase (nh == 1), y_h_by_column and y_w with nw == 1
Stages = collections.namedtuple("Stages", [
    "zeros",           # the window's parts outside x, (N, C, ., .) each, in a
    "inner",           # the window's part inside x (N, C, i1 - i0, j1 - j0), in a; None if empty
    "cols", "cols_of_window",  # (nw, N, C, rows_in, tw) in b, and the window's phases as a strided view
    "cols_2d", "half_2d",      # BT_w's operand and output: (nw, N C rows_in tw) in b and in a
    "tiles", "tiles_of_half",  # (nh, nw, N, C, rows, tw) in b, and half's tile rows as a strided view
    "tiles_2d", "v_2d",        # BT_h's operand and output: (nh, nw q) in b and in a
    "v",               # the GEMM's operand V (p, N, C, rows * tw), in a
    "m", "m_bias",     # M (p, N, O, rows * tw) in m, and its tile position that the bias goes to
    "m_2d", "y_h",     # A^T_h's operand (nh, nw qo) in m and output (mh, nw qo) in r
    "y_h_by_column", "y_w",  # the width pass's operand (mh, qo, nw) and output (mh, qo, mw)
    "y_tiles",         # the output tiles, contiguous (the ReLU runs on them in place)
    "whole_rows",      # y's whole tile rows (N, O, whole, mh, ow), a transposed view of them
    "tail_rows",       # [(N, O, ow)] the rows of a last partial tile row
])
MOST_SHAPES = 512  # chunk shapes kept per thread and dtype (a step of InceptionV3 has about 60)
_ALIGN = 16  # every region starts on a 64-byte boundary (float32), for SIMD and BLAS


def stages(xp, dtype, shape, bias_at):
    """The Stages of a chunk of ChunkShape ``shape``, made at its first use on this thread.
    bias_at: the tile position whose M entries the bias goes to (winograd._bias_position)."""
    st = scratch_views(xp, dtype).get(shape)
    if st is None:
        st = make_stages(xp, dtype, shape, bias_at)  # may replace the buffer, and empty the dict
        views = scratch_views(xp, dtype)
        if len(views) >= MOST_SHAPES:
            views.clear()
        views[shape] = st
    return st


def make_stages(xp, dtype, shape, bias_at):
    """The Stages of ``shape``, views of this thread's scratch buffer (see the module)."""
    n, c, o, nh, nw, mh, mw, rows, tw, i0, i1, j0, j1, whole, ow, tail = shape
    p, rows_in, wide = nh * nw, rows * mh + nh - mh, tw * mw + nw - mw
    q, qo = n * c * rows * tw, n * o * rows * tw
    regions = carve(xp, dtype, {"a": (p * q,), "b": (p * q,), "m": (p, n, o, rows * tw), "r": (mh, nw, qo)})
    a, b, m, r = regions["a"], regions["b"], regions["m"], regions["r"]

    window = a[:n * c * rows_in * wide].reshape(n, c, rows_in, wide)
    zeros = [part for part in (window[:, :, :i0], window[:, :, i1:], window[:, :, i0:i1, :j0],
                               window[:, :, i0:i1, j1:]) if part.size]
    inner = window[:, :, i0:i1, j0:j1] if i1 > i0 and j1 > j0 else None
    cols = cols_of_window = cols_2d = half_2d = tiles = tiles_of_half = tiles_2d = v_2d = None
    if nw > 1:
        size = nw * n * c * rows_in * tw
        cols = b[:size].reshape(nw, n, c, rows_in, tw)
        ws = window.strides
        cols_of_window = as_strided(xp, window, cols.shape, (ws[3],) + ws[:3] + (mw * ws[3],))
        half = a[:size].reshape(cols.shape)
        cols_2d, half_2d = cols.reshape(nw, -1), half.reshape(nw, -1)
    else:  # one column phase: the window's rows themselves
        half = window[None]
    v = half
    if nh > 1:
        tiles = b[:p * q].reshape(nh, nw, n, c, rows, tw)
        hs = half.strides
        tiles_of_half = as_strided(xp, half, tiles.shape, (hs[3],) + hs[:3] + (mh * hs[3], hs[4]))
        v = a[:p * q]
        tiles_2d, v_2d = tiles.reshape(nh, nw * q), v.reshape(nh, nw * q)
    v = v.reshape(p, n, c, rows * tw)

    y_tiles = m_2d = m.reshape(nh, nw * qo)
    y_h = y_h_by_column = y_w = None
    if nh > 1:
        y_tiles = y_h = r.reshape(-1)[:mh * nw * qo].reshape(mh, nw * qo)
    if nw > 1:
        y_h_by_column = y_tiles.reshape(mh, nw, qo).transpose(0, 2, 1)
        y_tiles = y_w = (m if nh > 1 else r).reshape(-1)[:mh * qo * mw].reshape(mh, qo, mw)
    tiled = y_tiles.reshape(mh, n, o, rows, tw * mw)
    return Stages(zeros, inner, cols, cols_of_window, cols_2d, half_2d, tiles, tiles_of_half, tiles_2d, v_2d,
                  v, m, m[bias_at], m_2d, y_h, y_h_by_column, y_w, y_tiles,
                  tiled[:, :, :, :whole, :ow].transpose(1, 2, 3, 0, 4),
                  [tiled[k, :, :, whole, :ow] for k in range(tail)])


def as_strided(xp, a, shape, strides):
    """A view of a's memory with the given shape and byte strides (overlapping: tiles share rows).
    Not sliding_window_view, which checks the bounds itself: CuPy has it only from v13, and the
    gpu extra allows 12 (make_stages' views stay inside the window: tests/test_winograd.py)."""
    return xp.lib.stride_tricks.as_strided(a, shape=shape, strides=strides)


def carve(xp, dtype, shapes):
    """Views of this thread's scratch buffer, one per named shape, each starting aligned."""
    counts = {name: math.prod(shape) for name, shape in shapes.items()}
    spans = [-(-count // _ALIGN) * _ALIGN for count in counts.values()]  # each rounded up
    buf = scratch(xp, (sum(spans),), dtype)
    out, start = {}, 0
    for (name, count), span in zip(counts.items(), spans):
        out[name] = buf[start:start + count].reshape(shapes[name])
        start += span
    return out
