"""The fused plan routes stride-1 3x3, 5x5, 1x7 and 7x1 convolutions through Winograd
(numdream/fast/winograd.py), and a fused model still computes what fuse=False computes.

float64: forward and input gradient within 1e-10 of the readable ops (measured 1.2e-14).
float32, against the float64 readable ops, on the bundled photo at 160x128, mixed3 + mixed5:
relative L2 error at most FLOAT32_BOUND. Measured: Winograd 1.9e-6 (mixed3), 5.2e-6 (mixed5),
5.1e-6 (dx) with F(6x6) for the 3x3 layers and F(6) for the 1x7 and 7x1 ones (3.3e-6 and 4.9e-6
at mixed5 and dx with F(4) for those; 1.6e-6, 3.0e-6, 4.0e-6 with F(4x4) and F(4)); the same plan
on im2col 4.8e-7, 5.5e-7, 7.1e-7. The larger tiles' transform coefficients cost 4-7x im2col's
rounding error over the whole network (per layer, the bounds of tests/test_winograd.py), far
below a pixel level of the dream.
"""
import numpy as np
import pytest
from PIL import Image

from numdream import load_image, load_model
from numdream.fast import winograd, winograd_rule
from numdream.fast.plan import ConvStep
from numdream.gradcheck import rel_error, rel_l2_error
from numdream.images import sample_path
from numdream.nodes import spatial_stride

UNTIL = ["mixed3", "mixed5"]
FLOAT32_BOUND = 1e-5
WINOGRAD_KERNELS = {(3, 3), (5, 5), (1, 7), (7, 1)}


def _step(model, x):
    acts, tape = model.forward(x, UNTIL)
    return acts, model.backward(dict(acts), tape)  # L2 objective: dL/d(act) = act


def _photo():
    return np.asarray(Image.fromarray(load_image(sample_path())).resize((160, 128)))


@pytest.fixture(scope="module")
def fused32():
    return load_model(winograd=True)


def test_the_plan_records_winograd_for_stride_1_kernels_and_im2col_for_the_rest(fused32):
    convs = [s for s in fused32._plan(UNTIL) if isinstance(s, ConvStep)]
    routed = {}
    for step in convs:
        kernel, stride = step.kernel, spatial_stride(step.conv)
        expected = (4 if kernel == (5, 5) else 6) if kernel in WINOGRAD_KERNELS and stride == 1 else None
        assert step.tile == expected, (step.conv.name, kernel, stride)
        assert (step.u is None) == (expected is None)
        if step.tile is not None:  # an n x n input tile for an m x m output: n = m + k - 1
            nh, nw = ((expected + k - 1 if k > 1 else 1) for k in kernel)
            assert step.u.shape == (nh * nw,) + tuple(step.w.shape[:2]) and step.u.dtype == np.float32
            routed[kernel] = routed.get(kernel, 0) + 1
    assert routed == {(3, 3): 10, (5, 5): 3, (1, 7): 6, (7, 1): 6}  # every such layer up to mixed5
    assert any(s.tile is None and spatial_stride(s.conv) == 2 for s in convs)  # stride 2 stays on im2col


def test_winograd_runs_forward_and_input_gradient_of_the_routed_steps(fused32, monkeypatch):
    calls = []
    for name in ("conv2d_forward", "conv2d_backward_input"):
        real = getattr(winograd, name)
        monkeypatch.setattr(winograd, name, lambda *a, _real=real, _name=name, **k: calls.append(_name) or _real(*a, **k))
    routed = sum(1 for s in fused32._plan(UNTIL) if isinstance(s, ConvStep) and s.tile is not None)
    _step(fused32, fused32.preprocess(np.zeros((96, 96, 3), np.uint8)))
    assert calls.count("conv2d_forward") == routed and calls.count("conv2d_backward_input") == routed


def test_weights_are_transformed_once_per_model_and_shared_by_its_plans(monkeypatch):
    model, made = load_model(winograd=True), []
    real = winograd.transform_weights
    monkeypatch.setattr(winograd, "transform_weights", lambda w, m: made.append(w.shape) or real(w, m))
    a, b = model._plan(["mixed5"]), model._plan(["mixed3", "mixed5"])
    assert len(made) == 25  # the 25 routed layers, once, though two plans hold them
    ua = {s.conv.name: s.u for s in a if isinstance(s, ConvStep) and s.u is not None}
    assert all(s.u is ua[s.conv.name] for s in b if isinstance(s, ConvStep) and s.u is not None)


@pytest.mark.slow
def test_fused_float64_equals_the_readable_ops_within_1e10():
    fused, plain = load_model(dtype=np.float64, winograd=True), load_model(dtype=np.float64, fuse=False)
    x = fused.preprocess(_photo())
    (a, da), (b, db) = _step(fused, x), _step(plain, x)
    assert any(isinstance(s, ConvStep) and s.tile for s in fused._plan(UNTIL))
    for u in UNTIL:
        assert rel_error(a[u], b[u]) <= 1e-10
    assert rel_error(da, db) <= 1e-10


@pytest.mark.slow
def test_fused_float32_within_the_documented_bound(fused32):
    plain = load_model(dtype=np.float64, fuse=False)
    (a, da), (b, db) = _step(fused32, fused32.preprocess(_photo())), _step(plain, plain.preprocess(_photo()))
    assert da.dtype == np.float32
    for u in UNTIL:
        assert rel_l2_error(a[u], b[u]) <= FLOAT32_BOUND
    assert rel_l2_error(da, db) <= FLOAT32_BOUND


@pytest.mark.parametrize("environ, on", [
    ({}, True), ({"OMP_NUM_THREADS": "2"}, True), ({"OMP_NUM_THREADS": "1"}, True),  # numdream holds BLAS
    ({"NUMDREAM_THREADS": "1"}, False),                     # BLAS's own threads: a busy machine stalls it
    ({"NUMDREAM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}, True),  # ... unless BLAS runs one thread
    ({"NUMDREAM_WINOGRAD": "1", "NUMDREAM_THREADS": "1"}, True),
    ({"NUMDREAM_WINOGRAD": "off", "OMP_NUM_THREADS": "1"}, False), ({"NUMDREAM_WINOGRAD": " No "}, False),
])
def test_winograd_is_on_unless_blas_would_run_multi_threaded_calls(monkeypatch, environ, on):
    monkeypatch.setattr(winograd_rule, "blas_runs_one_thread", lambda: False)  # as on a 2-core machine
    assert winograd.default_on(environ) is on


@pytest.mark.parametrize("value", ["maybe", "2", "-1"])
def test_a_bad_numdream_winograd_is_one_line_naming_it(value):
    from numdream.errors import NumdreamError
    with pytest.raises(NumdreamError, match=f"NUMDREAM_WINOGRAD must be 1 or 0 .*got '{value}'"):
        winograd.default_on({"NUMDREAM_WINOGRAD": value})


def test_winograd_is_on_where_blas_already_runs_one_thread(monkeypatch):
    """A one-core machine: nothing to split, and no multi-threaded BLAS call to wait for."""
    monkeypatch.setattr(winograd_rule, "blas_runs_one_thread", lambda: True)
    assert winograd.default_on({"NUMDREAM_THREADS": "1"}) is True


def test_winograd_is_off_where_no_blas_can_be_held(monkeypatch):
    from numdream.fast import threads
    monkeypatch.setattr(threads, "_blas", lambda: None)
    monkeypatch.setattr(winograd_rule, "blas_runs_one_thread", threads.blas_runs_one_thread)
    assert winograd.default_on({}) is False and winograd.default_on({"OMP_NUM_THREADS": "1"}) is True


def test_load_model_takes_winograd_and_the_plan_follows(monkeypatch):
    monkeypatch.setenv("NUMDREAM_WINOGRAD", "0")
    assert load_model().winograd is False and load_model(winograd=True).winograd is True
    plain = load_model(winograd=False)
    assert all(s.tile is None for s in plain._plan(UNTIL) if isinstance(s, ConvStep))
