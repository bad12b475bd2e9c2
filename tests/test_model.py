"""The graph executor on a tiny Inception-like model, against a PyTorch twin built from the same arrays."""
import numpy as np
import pytest
import torch

from numdream.errors import LayerError, NumdreamError
from numdream.model import Model
from tiny_model import tiny_spec
from torch_reference import TorchTwin


def rel(a, b):
    return np.linalg.norm(np.asarray(a) - np.asarray(b)) / np.linalg.norm(np.asarray(b))


@pytest.mark.parametrize("shape", [(1, 3, 31, 31), (2, 3, 37, 30), (3, 3, 7, 8)])
def test_forward_and_input_gradient_match_autograd(shape):
    rng = np.random.default_rng(sum(shape))
    model = Model(tiny_spec(), dtype=np.float64)
    until = ["norm1", "b3b", "mixed", "top"]
    x = rng.standard_normal(shape)
    acts, tape = model.forward(x, until)
    grads = {u: rng.standard_normal(acts[u].shape) for u in until}
    dx = model.backward(grads, tape)

    xt = torch.tensor(x, requires_grad=True)
    ref = TorchTwin(tiny_spec()).forward(xt, until)
    sum((ref[u] * torch.tensor(grads[u])).sum() for u in until).backward()
    for u in until:
        assert acts[u].shape == tuple(ref[u].shape)
        assert rel(acts[u], ref[u].detach()) <= 1e-12, u
    assert rel(dx, xt.grad) <= 1e-12


def test_fan_out_gradients_add_up():
    """norm1 feeds four branches: its gradient must be the sum of the four branch gradients."""
    rng = np.random.default_rng(3)
    model = Model(tiny_spec(), dtype=np.float64)
    x = rng.standard_normal((1, 3, 33, 33))
    acts, tape = model.forward(x, ["mixed"])
    dmixed = rng.standard_normal(acts["mixed"].shape)
    full = model.backward({"mixed": dmixed}, tape)
    parts = []
    for channels in [slice(0, 4), slice(4, 8), slice(8, 12), slice(12, 16)]:
        _, tape = model.forward(x, ["mixed"])
        only = np.zeros_like(dmixed)
        only[:, channels] = dmixed[:, channels]
        parts.append(model.backward({"mixed": only}, tape))
    assert all(np.abs(p).max() > 0 for p in parts)
    np.testing.assert_allclose(full, sum(parts), rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("fuse", [True, False])
def test_forward_runs_only_what_targets_need_and_backward_frees_the_tape(fuse):
    model = Model(tiny_spec(), dtype=np.float64, fuse=fuse)
    _, tape = model.forward(np.zeros((1, 3, 31, 31)), ["b2a"])
    ran = {name for step in tape.steps for name in step.outputs}
    assert "b2a" in ran and "b2b" not in ran and "mixed" not in ran
    assert len(tape.caches) == len(tape.steps)
    with pytest.raises(NumdreamError, match="did not reach 'mixed'"):
        model.backward({"mixed": np.ones((1, 16, 7, 7))}, tape)
    model.backward({"b2a": np.ones((1, 3, 7, 7))}, tape)
    assert tape.caches == []
    with pytest.raises(NumdreamError, match="already used by a backward pass"):
        model.backward({"b2a": np.ones((1, 3, 7, 7))}, tape)


def test_tapes_are_independent_and_belong_to_their_model():
    """Two forwards before their backwards (what an objective's prepare() used to break): each
    tape gives its own input's gradient, in any order; another model's tape is refused."""
    rng = np.random.default_rng(4)
    model = Model(tiny_spec(), dtype=np.float64)
    x1, x2 = rng.standard_normal((2, 1, 3, 31, 31))
    acts1, tape1 = model.forward(x1, ["mixed"])
    acts2, tape2 = model.forward(x2, ["mixed"])
    dx2 = model.backward({"mixed": acts2["mixed"]}, tape2)
    dx1 = model.backward({"mixed": acts1["mixed"]}, tape1)
    for x, dx in ((x1, dx1), (x2, dx2)):
        acts, tape = model.forward(x, ["mixed"])
        np.testing.assert_array_equal(model.backward({"mixed": acts["mixed"]}, tape), dx)
    assert np.abs(dx1 - dx2).max() > 0
    _, tape = Model(tiny_spec(), dtype=np.float64).forward(x1, ["mixed"])
    for wrong in (tape, None, {"mixed": 1}):
        with pytest.raises(NumdreamError, match="needs the tape that this model's forward"):
            model.backward({"mixed": acts1["mixed"]}, wrong)


def test_forward_without_a_tape_keeps_no_caches():
    model = Model(tiny_spec(), dtype=np.float64)
    x = np.random.default_rng(5).standard_normal((1, 3, 31, 31))
    acts, tape = model.forward(x, ["mixed", "top"], keep_tape=False)
    assert tape is None
    with_tape, _ = model.forward(x, ["mixed", "top"])
    for name in ("mixed", "top"):
        np.testing.assert_array_equal(acts[name], with_tape[name])


def test_gradient_at_a_layer_without_path_to_it_is_zero_where_not_connected():
    model = Model(tiny_spec(), dtype=np.float64)
    acts, tape = model.forward(np.random.default_rng(0).standard_normal((1, 3, 31, 31)), ["conv1"])
    dx = model.backward({"conv1": np.zeros_like(acts["conv1"])}, tape)
    assert dx.shape == (1, 3, 31, 31) and not dx.any()


def test_layer_info_channels_and_strides():
    model = Model(tiny_spec())
    assert (model.layer("mixed").channels, model.layer("mixed").stride) == (16, 4)
    assert (model.layer("top").channels, model.layer("top").stride) == (6, 8)
    assert model.layer("input").stride == 1


def test_unknown_layer_suggests_close_names():
    model = Model(tiny_spec())
    with pytest.raises(LayerError, match="did you mean mixed"):
        model.forward(np.zeros((1, 3, 31, 31), np.float32), ["mixd"])


def test_too_small_input_names_the_minimum():
    model = Model(tiny_spec())
    assert model.min_input_size() == 7
    assert model.min_input_size(["conv1"]) == 3
    with pytest.raises(NumdreamError, match="minimum is 7x7"):
        model.forward(np.zeros((1, 3, 6, 40), np.float32), ["top"])
    model.forward(np.zeros((1, 3, 3, 3), np.float32), ["conv1"])  # enough for the stem alone


@pytest.mark.parametrize("order", ["RGB", "BGR"])
def test_preprocess_deprocess_round_trip(order):
    model = Model(tiny_spec(channel_order=order))
    image = np.random.default_rng(0).integers(0, 256, (5, 7, 3), dtype=np.uint8)
    x = model.preprocess(image)
    assert x.shape == (1, 3, 5, 7) and x.dtype == np.float32
    expected = image[..., ::-1] if order == "BGR" else image
    np.testing.assert_allclose(x[0].transpose(1, 2, 0), expected / 127.5 - 1, atol=1e-6)
    np.testing.assert_array_equal(model.deprocess(x), image)
    low, high = model.input_range()
    assert low.shape == (1, 3, 1, 1) and np.allclose(low, -1) and np.allclose(high, 1)


def test_float32_model_keeps_float32():
    model = Model(tiny_spec())
    acts, tape = model.forward(np.ones((1, 3, 31, 31), np.float32), ["top"])
    assert acts["top"].dtype == np.float32
    assert model.backward({"top": np.ones_like(acts["top"])}, tape).dtype == np.float32


def test_default_layers_come_from_the_model_file(tmp_path):
    import h5py
    from numdream.model import load_model
    from numdream.modelfile import ModelFileError, write_model
    assert load_model().default_layers() == {"mixed3": 1.0, "mixed5": 1.0}  # the bundled file
    spec = tiny_spec()
    spec.dream_layers = {"top": 2.0, "mixed": 1.0}
    write_model(tmp_path / "t.h5", spec)
    assert load_model(tmp_path / "t.h5").default_layers() == {"top": 2.0, "mixed": 1.0}
    spec.dream_layers = {}
    write_model(tmp_path / "none.h5", spec)
    with pytest.raises(LayerError, match="names no default dream layers; choose target layers .* e.g. mixed"):
        load_model(tmp_path / "none.h5").default_layers()
    with h5py.File(tmp_path / "t.h5", "r+") as f:
        f.attrs["dream_layers"] = '{"mixed7": 1.0}'
    with pytest.raises(ModelFileError, match="dream_layers names unknown layer 'mixed7'"):
        load_model(tmp_path / "t.h5")
