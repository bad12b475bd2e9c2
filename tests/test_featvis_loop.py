"""The pieces together: a short visualisation loop (Fourier + decorrelated colour + sigmoid,
Lucid's standard transforms, Adam) follows the same loop written with PyTorch autograd and
torch.optim.Adam step for step, seeded runs repeat bit for bit, and an Adam step is smooth in the
Fourier parametrisation. The objective needs no network: the correlation of the transformed image
with a fixed smooth target under the same transformation (its optimum is the target)."""
import numpy as np
import pytest

from numdream.featvis import (STANDARD_TRANSFORMS, adam_init, adam_step, fourier_forward, image_backward,
                              image_forward, init_params, pipeline_backward, pipeline_forward,
                              replay_forward, spectrum_shape)
from numdream.featvis.cases import _torch_image, _torch_replay
from numdream.gradcheck import rel_error

SIZE = (28, 30)


def _target(seed=0):
    """A smooth colour pattern in [0, 1]: (1, 3, H, W)."""
    rng = np.random.default_rng(seed)
    y, x = np.meshgrid(np.linspace(0, 1, SIZE[0]), np.linspace(0, 1, SIZE[1]), indexing="ij")
    waves = [np.sin(2 * np.pi * (a * x + b * y) + c) for a, b, c in rng.uniform(0.5, 2.5, (3, 3))]
    return (0.5 + 0.4 * np.stack(waves))[None]


def _cosine(seen, target):
    """L = cos(seen - mean, target - mean) and dL/dseen."""
    u, v = seen - seen.mean(), target - target.mean()
    nu, nv = np.sqrt((u * u).sum()), np.sqrt((v * v).sum())
    value = (u * v).sum() / (nu * nv)
    du = v / (nu * nv) - value * u / (nu * nu)
    return value, du - du.mean()


def _numdream_run(param, steps, target, dtype=np.float64, record=None, transforms=STANDARD_TRANSFORMS):
    rng = np.random.default_rng(1)
    params = init_params(SIZE, param=param, rng=rng, dtype=dtype)
    state = adam_init([params])
    for _ in range(steps):
        image, image_cache = image_forward(params, SIZE, param)
        seen, cache = pipeline_forward(image, transforms, rng)
        if record is not None:
            record.append(cache.steps)
        _, dseen = _cosine(seen, replay_forward(target, cache.steps)[0])
        adam_step([params], [-image_backward(pipeline_backward(dseen, cache), image_cache)], state)
    return image_forward(params, SIZE, param)[0], params


def test_the_loop_follows_pytorch_autograd_and_adam_step_for_step():
    torch = pytest.importorskip("torch")
    target = _target()
    recorded = []
    image, _ = _numdream_run("fft", 25, target, record=recorded)
    params = torch.tensor(init_params(SIZE, param="fft", rng=np.random.default_rng(1), dtype=np.float64),
                          requires_grad=True)
    optimizer = torch.optim.Adam([params], lr=0.05)
    for steps in recorded:
        seen = _torch_replay(steps, _torch_image(params, SIZE, "fft", True))
        t = torch.from_numpy(replay_forward(target, steps)[0])
        u, v = seen - seen.mean(), t - t.mean()
        loss = -(u * v).sum() / (u.norm() * v.norm())
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    expected = _torch_image(params, SIZE, "fft", True).detach().numpy()
    assert rel_error(image, expected) <= 1e-9
    assert _cosine(image, target)[0] > 0.5  # it climbed: the start's cosine is 0


def test_seeded_runs_are_bit_identical_in_float32():
    target = _target()
    a, pa = _numdream_run("fft", 8, target, dtype=np.float32)
    b, pb = _numdream_run("fft", 8, target, dtype=np.float32)
    assert a.dtype == np.float32 and np.array_equal(pa, pb) and np.array_equal(a, b)


def _near_nyquist_share(image, cutoff=0.35):
    grey = image[0].mean(axis=0)
    power = np.abs(np.fft.fft2(grey - grey.mean())) ** 2
    fy, fx = np.meshgrid(np.fft.fftfreq(grey.shape[0]), np.fft.fftfreq(grey.shape[1]), indexing="ij")
    return power[np.hypot(fy, fx) > cutoff].sum() / power.sum()


def test_an_adam_sized_step_is_smooth_in_the_fourier_parametrisation_and_white_in_pixels():
    """Adam moves every parameter by about lr: in pixels that step is white noise, through the
    1/f spectrum scaling it is a smooth image, whose power near Nyquist is a small fraction."""
    size = (64, 64)
    signs = np.sign(np.random.default_rng(6).standard_normal((1, 3) + size))
    spectrum_signs = np.sign(np.random.default_rng(6).standard_normal(spectrum_shape(size)))
    fourier_step, _ = fourier_forward(0.05 * spectrum_signs, size)
    pixel_step = 0.05 * signs
    white = _near_nyquist_share(pixel_step)
    assert 0.55 < white < 0.68  # the area of the spectrum above 0.35 c/px: 1 - pi 0.35^2 = 0.62
    # 1/f amplitudes put power density 1/f on each annulus: ln(0.5/0.35) / ln(0.5 * 64) ~ 0.1 of it
    # above 0.35 c/px (plus the corners of the square spectrum)
    assert 0.05 < _near_nyquist_share(fourier_step) < 0.2 * white
