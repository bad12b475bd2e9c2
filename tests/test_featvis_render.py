"""The visualisation loop on the tiny model: one step's gradient, from the objective through the
network, the network's input map, the transformations and the parametrisation back to the
parameters, against float64 central differences and PyTorch autograd; seeded runs repeat bit for
bit; numdream.visualize's result, callbacks and one-line errors; the CuPy stand-in."""
import numpy as np
import pytest

import fakecupy
import numdream
from numdream.errors import NumdreamError
from numdream.featvis import (Jitter, Pad, RandomRotate, RandomScale, channel, class_logit, class_probability,
                              diversity, neuron, render_gradient, visualize)
from numdream.featvis.cases import _torch_image, _torch_replay
from numdream.featvis.param import init_params
from numdream.featvis.pipeline import pipeline_forward
from numdream.featvis.render import Settings, check_settings, render, seen_sizes
from numdream.gradcheck import directional_derivative, rel_error
from numdream.model import Model
from test_model_head import head_spec
from tiny_model import tiny_spec
from torch_reference import TorchTwin

SMALL = (Pad(2, 0.5), Jitter(2), RandomScale((0.9, 1.0, 1.1)), RandomRotate((-10, 0, 10)), Jitter(1))
HW = (21, 24)


@pytest.fixture(scope="module")
def tiny():
    return Model(tiny_spec(), np.float64)


def _value(model, objective, params, settings, seed):
    """The objective of one step as a function of the params, with that step's draws fixed by seed."""
    return render_gradient(model, objective, params, settings, np.random.default_rng(seed))[0]


@pytest.mark.parametrize("param, decorrelate, order", [("fft", True, "RGB"), ("pixel", False, "BGR"),
                                                       ("fft", False, "BGR")])
def test_one_step_gradient_matches_central_differences(param, decorrelate, order):
    model = Model(tiny_spec(channel_order=order), np.float64)
    objective = channel("mixed:pre_relu", 3) - 0.3 * neuron("top", 2) + 0.2 * diversity("mixed")
    settings = Settings(hw=HW, param=param, decorrelate=decorrelate, transforms=SMALL, batch=2)
    check_settings(settings, model, objective)
    params = init_params(HW, 2, param, sd=0.5, rng=np.random.default_rng(1), dtype=np.float64)
    _, dparams, _ = render_gradient(model, objective, params, settings, np.random.default_rng(5))
    rng = np.random.default_rng(2)
    for _ in range(3):
        v = rng.standard_normal(params.shape)
        numeric = directional_derivative(lambda p: np.array([_value(model, objective, p, settings, 5)]),
                                         [params], [v], np.ones(1), eps=1e-6)
        analytic = float((dparams * v).sum())
        assert abs(numeric - analytic) <= 1e-7 * max(abs(numeric), abs(analytic)), (numeric, analytic)


def test_one_step_gradient_matches_torch_autograd_through_the_network(tiny):
    torch = pytest.importorskip("torch")
    objective = channel("top", 1) + 0.5 * neuron("mixed", 3)
    settings = Settings(hw=HW, transforms=SMALL)
    params = init_params(HW, 1, "fft", sd=0.5, rng=np.random.default_rng(3), dtype=np.float64)
    value, dparams, _ = render_gradient(tiny, objective, params, settings, np.random.default_rng(4))
    _, cache = pipeline_forward(np.zeros((1, 3) + HW), SMALL, np.random.default_rng(4))  # the same draws

    p = torch.tensor(params, requires_grad=True)
    seen = _torch_replay(cache.steps, _torch_image(p, HW, "fft", True))
    x = (255 * seen - 127.5) / 127.5
    acts = TorchTwin(tiny_spec()).forward(x, ["top", "mixed"])
    h, w = acts["mixed"].shape[2:]
    loss = acts["top"][:, 1].mean() + 0.5 * acts["mixed"][0, 3, h // 2, w // 2]
    loss.backward()
    assert value == pytest.approx(loss.item(), rel=1e-12)
    assert rel_error(dparams, p.grad) <= 1e-10


def test_seeded_runs_are_bit_identical_and_seeds_differ():
    model = Model(tiny_spec())  # float32, as the CLI runs
    run = lambda seed: visualize("mixed:5", size=(24, 20), steps=6, transforms=SMALL, seed=seed,  # noqa: E731
                                 model=model, progress=False)
    a, b, c = run(3), run(3), run(4)
    assert a.dtype == np.uint8 and a.shape == (1, 20, 24, 3)
    assert np.array_equal(a, b) and not np.array_equal(a, c)


def test_the_loop_climbs_and_the_callback_sees_every_kth_step(tiny):
    seen = []
    objective = channel("mixed:pre_relu", 4)
    images = visualize(objective, size=24, steps=25, transforms=False, batch=2, seed=0, model=tiny,
                       progress=False, every=10, callback=lambda step, image: seen.append((step, image)))
    assert [s for s, _ in seen] == [0, 10, 20, 25]
    assert all(image.shape == (2, 24, 24, 3) and image.dtype == np.uint8 for _, image in seen)
    assert np.array_equal(seen[-1][1], images)

    def mean_activation(pixels):
        x = tiny.preprocess(pixels[0])
        return tiny.forward(x, ["mixed:pre_relu"], keep_tape=False)[0]["mixed:pre_relu"][0, 4].mean()
    assert mean_activation(images) > 2 * mean_activation(seen[0][1]) > 0.4


def test_seen_sizes_follow_the_transformations():
    assert seen_sizes((21, 24), ()) == [(21, 24)]
    assert seen_sizes((21, 24), SMALL) == [(20, 22), (22, 25), (24, 28)]  # (23, 26) scaled, less 1
    with pytest.raises(NumdreamError, match="a jitter of 30 pixels leaves nothing of a 25x28 image"):
        seen_sizes((21, 24), (Pad(2), Jitter(30)))


@pytest.mark.parametrize("options, message", [
    (dict(size=0), "height must be a whole number >= 1, got 0"),
    (dict(size=(20, 30.5)), "height must be a whole number >= 1, got 30.5"),
    (dict(size="big"), "size must be a whole number or"),
    (dict(size=5000), "too large: at most 16777216 pixels"),
    (dict(steps=-1), "steps must be a whole number >= 0"),
    (dict(batch=0), "batch must be a whole number >= 1"),
    (dict(lr=0), "learning rate must be a number > 0.0, got 0"),
    (dict(lr=float("nan")), "learning rate must be"),
    (dict(param="wavelet"), "unknown parametrisation 'wavelet'; valid ones are fft, pixel"),
    (dict(size=5, transforms=False), "input of 5x5 .* too small .* the minimum is 7x7"),
    (dict(every=0, callback=print), "every must be a whole number of steps >= 1"),
    (dict(callback=3, every=2), "callback must be callable"),
    (dict(seed=-1), "seed must be a whole number >= 0"),
    (dict(decay=-1), "the spectrum's decay must be a number >= 0.0, got -1"),
])
def test_bad_settings_are_one_line_errors(tiny, options, message):
    with pytest.raises(NumdreamError, match=message):
        visualize(channel("mixed", 1), **dict(dict(size=24, steps=1, model=tiny, progress=False), **options))


def test_runs_on_the_cupy_standin_and_agrees_with_numpy(cupy_standin):
    settings = Settings(hw=(20, 20), steps=4, transforms=SMALL, seed=1)
    objective = channel("mixed", 2) + 0.5 * neuron("top", 1)
    on_device = render(Model(tiny_spec(), np.float64), objective, settings, progress=False)
    numdream.use("numpy")
    on_host = render(Model(tiny_spec(), np.float64), objective, settings, progress=False)
    assert isinstance(on_device, fakecupy.ndarray) and isinstance(on_host, np.ndarray)
    assert rel_error(on_device.get(), on_host) <= 1e-13


def test_class_objectives_on_a_model_with_a_classifier_head():
    head = Model(head_spec())
    values = []
    visualize(class_probability("logits", 2), size=16, steps=8, transforms=SMALL, model=head, progress=False,
              values=values)
    assert values[-1] > values[0]
    fits = r"images of 15x15 to 19x19 \(HxW\), and input of 17x17 .*does not fit head"
    with pytest.raises(NumdreamError, match=fits):
        visualize(class_logit("grid_logits", 1), size=16, steps=1, transforms=SMALL, model=head, progress=False)
    assert visualize(class_logit("grid_logits", 1), size=12, steps=2, transforms=False, model=head,
                     progress=False).shape == (1, 12, 12, 3)  # this head reads 11x11 to 16x16 images only
