"""A stride-2 convolution as a stride-1 one on the four phases of its input, then Winograd.

A stride-2 convolution reads input row 2i + k for output row i. Split the input into its four
phases, x[c, 2i + pr, 2j + pc] -> x2[(pr, pc, c), i, j] ("space to depth", 4C channels of half
the size), and the kernel the same way, w[o, c, 2a + pr, 2b + pc] -> w2[o, (pr, pc, c), a, b]
(a 2x2 kernel for a 3x3 one, zero where 2a + pr or 2b + pc falls past the kernel): then

    y[o, i, j] = sum_{kh, kw, c} w[o, c, kh, kw] x[c, 2i + kh, 2j + kw]
               = sum_{a, b, (pr, pc, c)} w2[o, (pr, pc, c), a, b] x2[(pr, pc, c), i + a, j + b],

a stride-1 2x2 convolution of x2 with w2, which Winograd's F(m x m, 2 x 2) computes with
(m + 1)^2 multiplications per m x m outputs and 4C channels: 4 (m + 1)^2 / m^2 per output and
input channel instead of 9 (F(5x5, 2x2): 5.8, 1.6x fewer; the zero taps of w2 cost the rest).
The input gradient is the same stride-1 gradient through the same phases, put back in place.

An experiment, not part of numdream: measured by benchmarks/bench_winograd.py (--kinds 3x3s2)
on InceptionV3's three stride-2 3x3 convolutions, it is slower than im2col (see
benchmarks/README.md): the GEMMs per tile position are thin (30x30 outputs make 36 tiles of
5x5), the zero taps of w2 take back most of the saving, and the phases are one more copy.
"""
from numdream.backend import get_array_module
from numdream.fast import winograd


def phase_kernel(w):
    """w: (O, C, kh, kw) -> w2: (O, 4C, ceil(kh/2), ceil(kw/2)), channel (pr * 2 + pc) * C + c."""
    xp = get_array_module(w)
    o, c, kh, kw = w.shape
    w2 = xp.zeros((o, 2, 2, c, (kh + 1) // 2, (kw + 1) // 2), dtype=w.dtype)
    for pr in range(2):
        for pc in range(2):
            taps = w[:, :, pr::2, pc::2]  # kh = 2a + pr, kw = 2b + pc
            w2[:, pr, pc, :, :taps.shape[2], :taps.shape[3]] = taps
    return w2.reshape(o, 4 * c, (kh + 1) // 2, (kw + 1) // 2)


def transform_weights(w, m):
    """w: (O, C, 3, 3) stride 2 -> U of its phase kernel for F(m x m, 2 x 2)."""
    return winograd.transform_weights(phase_kernel(w), m)


def _phases(x, padding, out_hw, kernel):
    """x: (N, C, H, W) padded by ``padding`` (grown at the bottom/right to an even size that
    covers every window) -> x2: (N, 4C, Hp / 2, Wp / 2)."""
    xp = get_array_module(x)
    n, c, h, w = x.shape
    t, _, l, _ = padding
    hp, wp = 2 * (out_hw[0] + (kernel[0] + 1) // 2 - 1), 2 * (out_hw[1] + (kernel[1] + 1) // 2 - 1)
    x2 = xp.zeros((n, 2, 2, c, hp // 2, wp // 2), dtype=x.dtype)
    for pr in range(2):
        for pc in range(2):
            # padded row 2i + pr is input row 2i + pr - t
            i0, j0 = (t - pr + 1) // 2, (l - pc + 1) // 2
            rows = x[:, :, 2 * i0 + pr - t::2, 2 * j0 + pc - l::2][:, :, :hp // 2 - i0, :wp // 2 - j0]
            x2[:, pr, pc, :, i0:i0 + rows.shape[2], j0:j0 + rows.shape[3]] = rows
    return x2.reshape(n, 4 * c, hp // 2, wp // 2)


def conv2d_forward(x, U, b, padding, m, kernel=(3, 3)):
    """Same result as numdream.ops.conv2d_forward with stride 2 (up to rounding).

    x: (N, C, H, W); U: from transform_weights(w, m); padding: (top, bottom, left, right).
    Returns y: (N, O, OH, OW), OH = (H + top + bottom - kh) // 2 + 1.
    """
    h, w = x.shape[2:]
    t, bo, l, r = padding
    oh, ow = (h + t + bo - kernel[0]) // 2 + 1, (w + l + r - kernel[1]) // 2 + 1
    x2 = _phases(x, padding, (oh, ow), kernel)  # holds the padding: a 'valid' convolution follows
    return winograd.conv2d_forward(x2, U, b, (0, 0, 0, 0), m, ((kernel[0] + 1) // 2, (kernel[1] + 1) // 2))


def conv2d_backward_input(dy, x_shape, U, padding, m, kernel=(3, 3)):
    """Same dx as numdream.ops.conv2d_backward with stride 2. dy: (N, O, OH, OW) -> dx: (N, C, H, W)."""
    xp = get_array_module(dy)
    n, c, h, w = x_shape
    t, _, l, _ = padding
    oh, ow = dy.shape[2:]
    k2 = ((kernel[0] + 1) // 2, (kernel[1] + 1) // 2)
    h2, w2 = oh + k2[0] - 1, ow + k2[1] - 1
    dx2 = winograd.conv2d_backward_input(dy, (n, 4 * c, h2, w2), U, (0, 0, 0, 0), m, k2)
    dx2 = dx2.reshape(n, 2, 2, c, h2, w2)
    dx = xp.empty(x_shape, dtype=dy.dtype)
    for pr in range(2):
        for pc in range(2):
            i0, j0 = (t - pr + 1) // 2, (l - pc + 1) // 2
            dst = dx[:, :, 2 * i0 + pr - t::2, 2 * j0 + pc - l::2]
            src = dx2[:, pr, pc, :, i0:i0 + dst.shape[2], j0:j0 + dst.shape[3]]
            dst[:, :, :src.shape[2], :src.shape[3]] = src
            dst[:, :, src.shape[2]:] = 0
            dst[:, :, :src.shape[2], src.shape[3]:] = 0
    return dx
