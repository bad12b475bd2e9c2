"""Window geometry: the padded size, im2col/col2im over row ranges, and the transposed convolution."""
import numpy as np
import pytest

from numdream import ops
from numdream.ops.geometry import col2im, im2col, out_size, pad_for_windows, padded_size


@pytest.mark.parametrize("hw,kernel,stride,padding,ceil", [
    ((7, 9), (3, 3), (2, 2), (1, 1, 1, 1), False), ((7, 7), (2, 2), (2, 2), (0, 0, 0, 0), True),
    ((8, 5), (3, 1), (2, 1), (0, 1, 0, 0), True), ((5, 6), (5, 5), (3, 3), (2, 2, 2, 2), False)])
def test_padded_size_holds_every_window_and_the_explicit_padding(hw, kernel, stride, padding, ceil):
    t, b, l, r = padding
    out_hw = (out_size(hw[0], kernel[0], stride[0], t, b, ceil), out_size(hw[1], kernel[1], stride[1], l, r, ceil))
    hp, wp = padded_size(hw, kernel, stride, padding, out_hw)
    assert hp >= hw[0] + t + b and wp >= hw[1] + l + r
    assert (out_hw[0] - 1) * stride[0] + kernel[0] <= hp and (out_hw[1] - 1) * stride[1] + kernel[1] <= wp
    assert pad_for_windows(np.ones((1, 1) + hw), kernel, stride, padding, out_hw).shape[2:] == (hp, wp)


@pytest.mark.parametrize("stride", [(1, 1), (2, 3)])
def test_im2col_and_col2im_by_row_ranges_equal_the_whole(stride):
    rng = np.random.default_rng(0)
    xpad = rng.standard_normal((2, 3, 13, 11))
    kernel = (3, 2)
    oh, ow = (13 - 3) // stride[0] + 1, (11 - 2) // stride[1] + 1
    whole = im2col(xpad, kernel, stride, (oh, ow))
    back = col2im(whole, xpad.shape[2:], stride)
    out = np.zeros_like(xpad)
    for r0, r1 in [(0, 1), (1, oh - 1), (oh - 1, oh)]:
        buffer = np.empty((2, 3) + kernel + (r1 - r0, ow))
        part = im2col(xpad, kernel, stride, (oh, ow), rows=(r0, r1), out=buffer)
        assert part is buffer
        np.testing.assert_array_equal(part, whole[..., r0:r1, :])
        assert col2im(part, xpad.shape[2:], stride, rows=(r0, r1), out=out) is out
    np.testing.assert_allclose(out, back, rtol=1e-15, atol=1e-15)


@pytest.mark.parametrize("x_hw,kernel,stride,padding", [
    ((9, 8), (3, 3), (2, 2), (1, 1, 1, 1)), ((10, 10), (5, 5), (2, 2), (2, 2, 2, 2)),
    ((7, 9), (1, 1), (1, 1), (0, 0, 0, 0)), ((8, 7), (1, 7), (1, 1), (0, 0, 3, 3)),
    ((6, 7), (3, 3), (2, 1), (0, 1, 1, 0))])
def test_conv2d_transpose_is_the_adjoint_of_conv2d(x_hw, kernel, stride, padding):
    """<conv(x), y> = <x, conv_T(y)> for every x and y: conv_T is the transpose of the linear map."""
    rng = np.random.default_rng(1)
    x = rng.standard_normal((2, 3) + x_hw)
    w = rng.standard_normal((4, 3) + kernel)
    y, _ = ops.conv2d_forward(x, w, None, stride, padding)
    v = rng.standard_normal(y.shape)
    back = ops.conv2d_transpose(v, w, stride, padding, x_hw)
    assert back.shape == x.shape and back.flags.c_contiguous
    assert float((y * v).sum()) == pytest.approx(float((x * back).sum()), rel=1e-12)
