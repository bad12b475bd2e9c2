"""A dream and a model pass on the CuPy stand-in: no NumPy call may touch a device array."""
import numpy as np

import fakecupy
from numdream.dream import dream
from numdream.model import Model, load_model
from tiny_model import tiny_spec

PHOTO = np.random.default_rng(5).integers(0, 256, (45, 52, 3), dtype=np.uint8)


def test_model_forward_backward_on_the_standin(cupy_standin):
    model = Model(tiny_spec(), dtype=np.float64)
    x = model.preprocess(PHOTO)
    assert isinstance(x, fakecupy.ndarray) and isinstance(model.nodes["conv1"].params["w"], fakecupy.ndarray)
    acts, tape = model.forward(x, ["mixed", "top"])
    dx = model.backward(acts, tape)
    assert isinstance(dx, fakecupy.ndarray) and dx.shape == x.shape


def test_standin_dream_matches_numpy_dream(cupy_standin):
    kwargs = dict(layers="mixed", octaves=2, steps=2, seed=3, progress=False, normalize="laplacian", smooth=1.0)
    on_device = dream(PHOTO, model=Model(tiny_spec()), **kwargs)
    assert isinstance(on_device, np.ndarray) and on_device.dtype == np.uint8  # deprocess copies to host
    import numdream
    numdream.use("numpy")
    on_host = dream(PHOTO, model=Model(tiny_spec()), **kwargs)
    np.testing.assert_array_equal(on_device, on_host)


def test_guide_channel_and_neuron_objectives_on_the_standin(cupy_standin):
    model = Model(tiny_spec())
    for objective, extra in [("guide", {"guide": PHOTO[::-1]}), ("channel", {"channels": [1, 2]}),
                             ("neuron", {"neuron": (0, None, None)}), ("mean", {})]:
        out = dream(PHOTO, model=model, layers="mixed", objective=objective, octaves=1, steps=1,
                    seed=0, progress=False, **extra)
        assert out.shape == PHOTO.shape


def test_real_model_smoke_dream_on_the_standin(cupy_standin):
    out = dream(PHOTO[:, :, :], model=load_model(), layers="mixed0", octaves=1, steps=1, seed=0, progress=False)
    assert out.shape == PHOTO.shape and (out != PHOTO).any()
