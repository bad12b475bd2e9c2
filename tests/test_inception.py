"""The bundled InceptionV3 trunk, whole, against a PyTorch twin built from the same HDF5 file,
and against float64 central differences.

The twin (tests/torch_reference.py) reads the same weights and lets autograd differentiate; the
numdream Model runs its hand-written forward and backward passes. Inputs are real photos and
random pixels at odd sizes, one and two images at a time.
"""
import numpy as np
import pytest
import torch
from PIL import Image

from numdream.errors import NumdreamError
from numdream.gradcheck import rel_error, rel_l2_error
from numdream.images import load_image, sample_path
from numdream.model import bundled_model_path, load_model
from numdream.modelfile import read_model
from torch_reference import TorchTwin

# one node of each kind, from the stem to the last module: relu, the two stem-to-module max
# pools, the avg pool of a module's pool branch, a conv inside a branch, and three concats
TARGETS = ["activation_3", "max_pooling2d_2", "average_pooling2d_2", "conv2d_29",
           "mixed0", "mixed3", "mixed5"]


@pytest.fixture(scope="module")
def model64():
    return load_model(dtype=np.float64)


@pytest.fixture(scope="module")
def model32():
    return load_model(dtype=np.float32)


def photo(name, hw):
    """A bundled sample photo as uint8 (H, W, 3) at hw: chelsea is cropped, rocket resized."""
    pixels = load_image(sample_path(name))
    if name == "chelsea":
        return pixels[:hw[0], :hw[1]]
    return np.asarray(Image.fromarray(pixels).resize(hw[::-1], Image.BILINEAR))


@pytest.fixture(scope="module")
def spec():
    """The bundled file read afresh for the twins (a Model moves its own spec's params)."""
    return read_model(bundled_model_path())


def autograd(spec, x, targets, dtype, grads=None):
    """The twin's activations at ``targets`` and, given grads {name: dL/dact}, dL/dx; float64 arrays."""
    twin = TorchTwin(spec, dtype)
    xt = torch.tensor(np.asarray(x), dtype=dtype, requires_grad=grads is not None)
    acts = twin.forward(xt, targets)
    if grads is not None:
        sum((acts[name] * torch.tensor(g, dtype=dtype)).sum() for name, g in grads.items()).backward()
    return ({name: a.detach().double().numpy() for name, a in acts.items()},
            None if grads is None else xt.grad.double().numpy())


def test_bundled_model_is_the_inception_v3_trunk():
    model = load_model()
    assert len(model.layer_names) == 115
    assert model.layer_names[:2] == ["input_1", "conv2d_1"] and model.layer_names[-1] == "mixed5"
    assert [n for n in model.layer_names if model.layers[n].op == "concat"] == [
        f"mixed{i}" for i in range(6)]
    assert (model.layer("mixed5").channels, model.layer("mixed5").stride) == (768, 16)
    assert (model.layer("mixed0").channels, model.layer("mixed3").channels) == (256, 768)
    # Keras' InceptionV3 at 299x299: mixed0 is 35x35, mixed3 and mixed5 are 17x17
    shapes = model.output_shapes((299, 299), ["mixed0", "mixed5"])
    assert (shapes["mixed0"], shapes["mixed5"]) == ((35, 35), (17, 17))
    assert model.dtype == np.float32
    x = model.preprocess(np.array([[[0, 255, 0], [255, 0, 128]]], dtype=np.uint8))
    np.testing.assert_allclose(x[0, :, 0, :], [[-1, 1], [1, -1], [-1, 128 / 127.5 - 1]], atol=1e-7)
    low, high = model.input_range()
    np.testing.assert_allclose(low.ravel(), -1)
    np.testing.assert_allclose(high.ravel(), 1)


def test_input_below_the_minimum_is_refused_with_the_minimum(model32):
    assert model32.min_input_size() == 43
    with pytest.raises(NumdreamError, match="minimum is 43x43"):
        model32.forward(np.zeros((1, 3, 42, 301), np.float32), ["mixed5"])
    acts, _ = model32.forward(np.zeros((1, 3, 43, 43), np.float32), ["mixed5"], keep_tape=False)
    assert acts["mixed5"].shape == (1, 768, 1, 1)


@pytest.mark.slow
def test_float64_activations_and_input_gradient_match_autograd(model64, spec):
    """A batch of two at 227x301 (HxW): Chelsea and random pixels; 7 targets differentiated at once."""
    rng = np.random.default_rng(0)
    cat = model64.preprocess(photo("chelsea", (227, 301)))
    x = np.concatenate([cat, rng.uniform(-1, 1, cat.shape)])
    acts, tape = model64.forward(x, TARGETS)
    grads = {name: rng.standard_normal(a.shape) for name, a in acts.items()}
    dx = model64.backward(grads, tape)
    ref_acts, ref_dx = autograd(spec, x, TARGETS, torch.float64, grads)
    assert acts["mixed5"].shape == (2, 768, 12, 17)
    for name in TARGETS:
        assert acts[name].shape == ref_acts[name].shape, name
        assert rel_error(acts[name], ref_acts[name]) <= 1e-9, name
    assert dx.shape == x.shape and dx.dtype == np.float64
    assert rel_error(dx, ref_dx) <= 1e-9


@pytest.mark.parametrize("source", ["rocket", "random"])
def test_float32_activations_match_autograd(model32, spec, source):
    """float32 at 301x227 (HxW). Only the activations: where ReLU and max-pool decisions flip on
    rounding, two correct float32 input gradients of a real photo differ by about 1e-3."""
    rng = np.random.default_rng(1)
    if source == "rocket":
        x = model32.preprocess(photo("rocket", (301, 227)))
    else:
        x = rng.uniform(-1, 1, (1, 3, 301, 227)).astype(np.float32)
    acts, _ = model32.forward(x, TARGETS, keep_tape=False)
    ref_acts, _ = autograd(spec, x, TARGETS, torch.float32)
    for name in TARGETS:
        assert acts[name].dtype == np.float32
        assert rel_l2_error(acts[name], ref_acts[name]) <= 1e-4, name


def test_batch_images_are_independent(model64):
    """N = 3 at the minimum size gives each image what it gets alone, forward and backward."""
    rng = np.random.default_rng(2)
    x = rng.uniform(-1, 1, (3, 3, 43, 45))
    dy = rng.standard_normal((3, 768, 1, 1))
    acts, tape = model64.forward(x, ["mixed5"])
    batch, dx = acts["mixed5"], model64.backward({"mixed5": dy}, tape)
    for i in range(3):
        alone, tape = model64.forward(x[i:i + 1], ["mixed5"])
        np.testing.assert_allclose(batch[i:i + 1], alone["mixed5"], rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(dx[i:i + 1], model64.backward({"mixed5": dy[i:i + 1]}, tape),
                                   rtol=1e-12, atol=1e-12)


def test_input_gradient_matches_central_differences_to_mixed5(model64):
    """float64 directional derivatives through the whole trunk at its smallest input (43x43).

    L(x) = <mixed5(x), dy>. The trunk is piecewise linear (conv, ReLU, max/avg pool, concat),
    so central differences have no truncation error: what is left is rounding, about
    1e-16 |L| / eps, and any ReLU or max-pool decision that flips within +-eps, which bends L.
    Measured for these three directions: eps = 1e-5 crosses such a kink in two of them
    (errors 1e-3 and 6e-4); eps = 1e-6 crosses none and gives at most 8.3e-9; eps = 1e-8 lets
    rounding grow to 6.5e-7. Hence eps = 1e-6 and a bound of 1e-6.
    """
    rng = np.random.default_rng(3)
    side = model64.min_input_size()
    x = rng.uniform(-1, 1, (1, 3, side, side))
    dy = rng.standard_normal((1, 768, 1, 1))
    _, tape = model64.forward(x, ["mixed5"])
    dx = model64.backward({"mixed5": dy}, tape)

    def loss(z):
        acts, _ = model64.forward(z, ["mixed5"], keep_tape=False)
        return float((acts["mixed5"] * dy).sum())

    eps = 1e-6
    for _ in range(3):
        v = rng.standard_normal(x.shape)
        numeric = (loss(x + eps * v) - loss(x - eps * v)) / (2 * eps)
        analytic = float((dx * v).sum())
        assert abs(numeric - analytic) / max(abs(numeric), abs(analytic)) <= 1e-6
