"""Adam: the same steps as torch.optim.Adam, in place, with its state explicit and reproducible."""
import numpy as np
import pytest

from numdream.backend import to_device, to_host
from numdream.featvis import adam_init, adam_step
from numdream.gradcheck import rel_error


def _quadratic_gradients(params, targets):
    """d/dp of 0.5 * sum((p - t)^2 * weight): gradients of very different scales per value."""
    return [(p - t) * np.arange(1, p.size + 1).reshape(p.shape) ** 2 for p, t in zip(params, targets)]


def test_steps_match_torch_optim_adam_in_float64():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    params = [rng.standard_normal((3, 4)), rng.standard_normal((2, 5, 2))]
    targets = [rng.standard_normal(p.shape) for p in params]
    tensors = [torch.tensor(p, requires_grad=True) for p in params]
    optimizer = torch.optim.Adam(tensors, lr=0.05, betas=(0.9, 0.999), eps=1e-8)
    state = adam_init(params)
    for _ in range(30):
        grads = _quadratic_gradients(params, targets)
        adam_step(params, grads, state)
        for t, g in zip(tensors, grads):
            t.grad = torch.from_numpy(g.copy())
        optimizer.step()
    assert state.t == 30
    for p, t in zip(params, tensors):
        assert rel_error(p, t.detach().numpy()) <= 1e-12


def test_updates_in_place_and_descends(xp):
    p = to_device(np.array([3.0, -2.0, 0.5]))
    original = p
    state = adam_init([p])
    for _ in range(300):
        adam_step([p], [2 * p], state, lr=0.05)  # minimise sum(p^2)
    assert p is original and state.m[0] is not p
    assert np.abs(to_host(p)).max() < 0.05


def test_first_step_moves_every_value_by_lr_whatever_its_gradient():
    """m_hat = g and v_hat = g^2 after one step: the step is lr * g / (|g| + eps), about lr."""
    p, g = np.zeros(4), np.array([1e-5, 1.0, -3.0, 1e4])
    adam_step([p], [g], adam_init([p]), lr=0.05)
    np.testing.assert_allclose(p, -0.05 * g / (np.abs(g) + 1e-8), rtol=1e-12)
    np.testing.assert_allclose(np.abs(p), 0.05, rtol=1e-3)


def test_two_runs_are_bit_identical_and_float32_stays_float32():
    def run():
        rng = np.random.default_rng(4)
        p = rng.standard_normal((2, 3, 5, 3, 2)).astype(np.float32)
        state = adam_init([p])
        for _ in range(20):
            adam_step([p], [np.sin(p) + rng.standard_normal(p.shape).astype(np.float32)], state)
        return p
    a, b = run(), run()
    assert a.dtype == np.float32 and np.array_equal(a, b)
