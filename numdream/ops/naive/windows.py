"""Where the windows of a convolution or a pooling start, counted one by one.

The fast ops compute the number of windows with a formula (``numdream.ops.geometry.out_size``);
the oracles list the windows themselves, so the tests can check the formula against the list.
"""


def window_starts(size, k, stride, pad_before, pad_after, ceil_mode=False):
    """Where each window starts along one axis, in input coordinates (the first is -pad_before).

    Windows step by ``stride`` from the top/left edge of the padding. Floor mode keeps the
    windows that fit inside the padded input. Ceil mode (Caffe/PyTorch) adds one more window
    when the last one leaves pixels uncovered, but only if it starts inside the input or its
    top/left padding; a window starting in the bottom/right padding would see nothing new.
    """
    end = size + pad_after  # one past the last padded position
    starts, s = [], -pad_before
    while s + k <= end:
        starts.append(s)
        s += stride
    if not starts:
        raise ValueError(f"window {k} does not fit an input of {size} with padding "
                         f"({pad_before}, {pad_after})")
    if ceil_mode and starts[-1] + k < end and s < size:
        starts.append(s)
    return starts
