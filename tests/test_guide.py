"""The guided dream: every matching rule's gradient (central differences and PyTorch, float64),
the guide shown at each octave's scale, the bounds on its memory, and --guide-mode."""
import tracemalloc

import numpy as np
import pytest

from cli_helpers import assert_one_line_error, pixels, run_cli, write_photo, write_tiny_model
from numdream import guide as guide_rules
from numdream.dream import dream, objective_gradient, octave_sizes
from numdream.errors import NumdreamError
from numdream.gradcheck import check_op, compare_with_torch, import_torch
from numdream.guide import MATCHES, MODES, best_matches, guide_stats, interior
from numdream.model import Model
from numdream.objectives import GUIDE_PIXELS, Guide
from numdream.options import DreamOptions
from tiny_model import tiny_spec

RNG = np.random.default_rng(16)
GUIDE = RNG.integers(0, 256, (41, 53, 3), dtype=np.uint8)


def _features(c=6, n=20):
    """Dream features (C, n) and a guide activation (C, 5, 7), ReLU-like (non-negative) and untied."""
    F = RNG.uniform(0.1, 2.0, (c, n))
    act = RNG.uniform(0.1, 2.0, (c, 5, 7))
    return F, act


@pytest.mark.parametrize("mode", MODES)
def test_each_rule_matches_central_differences(mode):
    F, act = _features()
    forward, backward = MATCHES[mode]
    stats = guide_stats(act, mode)
    result = check_op(lambda f: forward(f, stats), backward, [F])
    assert result.passed(), result


def _torch_twin(mode, stats):
    torch = import_torch()
    t = {k: torch.as_tensor(v) if isinstance(v, np.ndarray) else v for k, v in stats.items()}

    def forward(F):
        if mode == "gram":
            diff = F @ F.T / F.shape[1] - t["gram"]
            return -0.5 * (diff * diff).sum() / t["scale"]
        if mode == "mean":
            diff = F.mean(dim=1) - t["mean"]
            return -0.5 * (diff * diff).sum() / t["scale"]
        if mode == "nearest":
            unit = F / (F.norm(dim=0) + guide_rules.EPS)
            target = t["g"][:, (unit.T @ t["unit"]).argmax(dim=1)]
            return -0.5 * ((F - target) ** 2).sum() / (F.shape[1] * t["scale"])
        return (F * t["g"][:, (F.T @ t["g"]).argmax(dim=1)]).sum()
    return forward


@pytest.mark.parametrize("mode", MODES)
def test_each_rule_matches_pytorch_autograd(mode):
    pytest.importorskip("torch")
    F, act = _features()
    forward, backward = MATCHES[mode]
    stats = guide_stats(act, mode)
    result = compare_with_torch(lambda f: forward(f, stats), backward, [F], _torch_twin(mode, stats))
    assert result.passed(), result


def test_google_rule_is_googles_notebook():
    """value sum_p max_j <f_p, g_j> and gradient g_j*(p), over every guide position (border too)."""
    F, act = _features()
    g = act.reshape(act.shape[0], -1)
    value, cache = MATCHES["google"].forward(F, guide_stats(act, "google"))
    dots = F.T @ g
    assert value == pytest.approx(dots.max(axis=1).sum(), rel=1e-12)
    np.testing.assert_array_equal(MATCHES["google"].backward(1.0, cache), g[:, dots.argmax(axis=1)])


def test_the_other_rules_drop_the_guides_border_ring():
    act = np.arange(2 * 5 * 7, dtype=float).reshape(2, 5, 7)
    np.testing.assert_array_equal(interior(act), act[:, 1:4, 1:6].reshape(2, -1))
    small = act[:, :2, :]  # a grid of 2 rows has no interior: all of it is kept
    np.testing.assert_array_equal(interior(small), small.reshape(2, -1))
    assert guide_stats(act, "nearest")["g"].shape == (2, 15)
    assert guide_stats(act, "google")["g"].shape == (2, 35)


@pytest.mark.parametrize("mode", MODES)
def test_guide_objective_pixel_gradient_matches_central_differences(mode):
    """Through the tiny model, at two target layers, after the guide was reshown for an octave."""
    model = Model(tiny_spec(), dtype=np.float64)
    objective = Guide({"mixed": 1.0, "top": 0.5}, GUIDE, mode=mode)
    objective.prepare(model, (66, 74))
    objective.prepare_octave(model, (45, 50))
    x = RNG.uniform(-1, 1, (1, 3, 45, 50))
    _, grad = objective_gradient(model, x, objective)

    def value(z):
        return objective(model.forward(z, list(objective.layers), keep_tape=False)[0])[0]

    for _ in range(3):
        v = RNG.standard_normal(x.shape)
        numeric = (value(x + 1e-6 * v) - value(x - 1e-6 * v)) / 2e-6
        analytic = float((grad * v).sum())
        assert abs(numeric - analytic) <= 1e-7 * max(abs(numeric), abs(analytic), 1e-3)
    assert np.abs(grad).max() > 0


def _recording(model):
    """Wrap model.forward to record the (H, W) of every input it is given."""
    seen, forward = [], model.forward

    def record(x, until, keep_tape=True):
        seen.append(tuple(x.shape[2:]))
        return forward(x, until, keep_tape=keep_tape)
    model.forward = record
    return seen


def test_guide_is_shown_at_each_octaves_scale_except_by_googles_rule():
    model = Model(tiny_spec())
    seen = _recording(model)
    objective = Guide("mixed", np.zeros((200, 300, 3), np.uint8))
    objective.prepare(model, (400, 600))
    objective.prepare_octave(model, (200, 300))
    objective.prepare_octave(model, (200, 300))  # the same size again: nothing to recompute
    assert seen == [(200, 300), (100, 150)]
    seen.clear()
    google = Guide("mixed", np.zeros((200, 300, 3), np.uint8), mode="google")
    google.prepare(model, (400, 600))
    google.prepare_octave(model, (200, 300))
    assert seen == [(200, 300)]


def test_dream_reshows_the_guide_before_every_octave():
    calls = []

    class Recorded(Guide):
        def prepare_octave(self, model, hw):
            calls.append(hw)
            super().prepare_octave(model, hw)
            calls.append(self._shown_hw)

    model = Model(tiny_spec())
    dream(np.full((60, 80, 3), 128, np.uint8), model=model, objective=Recorded("mixed", np.zeros((60, 80, 3), np.uint8)),
          octaves=3, octave_scale=1.5, steps=1, jitter=0, seed=0, progress=False)
    octaves = octave_sizes((60, 80), 3, 1.5, model.min_input_size(["mixed"]))
    assert calls[::2] == octaves            # once before each octave, with its size
    assert calls[1::2] == octaves           # the guide, as large as the photo, shown at that size


def test_a_huge_guide_is_shown_at_no_more_than_its_pixel_budget():
    model = Model(tiny_spec())
    seen = _recording(model)
    big = np.zeros((3000, 4000, 3), np.uint8)
    Guide("mixed", big).prepare(model, (3000, 4000))
    assert seen and all(h * w <= GUIDE_PIXELS for h, w in seen)
    assert abs(seen[0][1] / seen[0][0] - 4 / 3) < 0.01  # its aspect kept
    seen.clear()
    Guide("mixed", big, pixels=5000).prepare(model, (30, 40))
    assert all(h * w <= 5000 for h, w in seen)


@pytest.mark.parametrize("hw", [(10, 10000), (9000, 12)])
def test_a_guide_that_is_a_thin_strip_is_cut_to_the_budget_around_its_centre(hw):
    model = Model(tiny_spec())
    seen = _recording(model)
    strip = np.zeros((*hw, 3), np.uint8)
    strip[tuple(n // 2 for n in hw)] = 255  # the centre survives the cut
    objective = Guide("mixed", strip, pixels=4096)
    objective.prepare(model, (300, 300))
    assert seen and all(h * w <= 4096 for h, w in seen), seen
    assert objective._base.max() > 0


def test_a_tiny_guide_is_raised_to_what_every_layer_needs():
    model = Model(tiny_spec())
    seen = _recording(model)
    objective = Guide({"mixed": 1.0, "top": 1.0}, np.zeros((5, 9, 3), np.uint8))
    objective.prepare(model, (200, 200))
    objective.prepare_octave(model, (20, 20))
    shapes = model.output_shapes(seen[-1], ["top"])
    assert min(shapes["top"]) >= 3  # an interior is left after the border ring goes


def test_the_guided_dream_is_tiled_like_the_other_objectives():
    model = Model(tiny_spec())
    objective = Guide("mixed", GUIDE)
    objective.prepare(model, (90, 130))
    seen = _recording(model)
    objective_gradient(model, np.zeros((1, 3, 90, 130), np.float32), objective, tile_size=40)
    assert len(seen) == 12 and max(max(hw) for hw in seen) <= 40


def test_matching_products_are_chunked():
    """Nearest-feature matching of 20,000 positions against 4,000 guide positions: the 80 million
    products would take 320 MB at once; in chunks the peak stays under 40 MB."""
    queries = RNG.standard_normal((8, 20000)).astype(np.float32)
    keys = RNG.standard_normal((8, 4000)).astype(np.float32)
    tracemalloc.start()
    best = best_matches(queries, keys)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 40e6
    np.testing.assert_array_equal(best[:500], (queries[:, :500].T @ keys).argmax(axis=1))


def test_chunk_size_does_not_change_the_matches(monkeypatch):
    queries, keys = RNG.standard_normal((5, 97)), RNG.standard_normal((5, 31))
    whole = best_matches(queries, keys)
    monkeypatch.setattr(guide_rules, "CHUNK_ELEMENTS", 40)  # one row and a bit per chunk
    np.testing.assert_array_equal(best_matches(queries, keys), whole)


def test_bad_modes_and_budgets_are_one_line_errors():
    with pytest.raises(NumdreamError, match="unknown guide mode 'style'; valid guide modes are gram, mean, nearest, google"):
        Guide("mixed", GUIDE, mode="style")
    with pytest.raises(NumdreamError, match="pixel budget must be a whole number >= 1, got 0"):
        Guide("mixed", GUIDE, pixels=0)
    with pytest.raises(NumdreamError, match="unknown guide_mode 'x'; valid: gram, mean, nearest, google"):
        DreamOptions.from_kwargs({"guide_mode": "x"})
    with pytest.raises(NumdreamError, match="needs prepare"):
        Guide("mixed", GUIDE)({"mixed": np.zeros((1, 16, 3, 3))})


@pytest.fixture(scope="module")
def tiny_h5(tmp_path_factory):
    return write_tiny_model(tmp_path_factory.mktemp("model") / "tiny.h5")


def test_cli_guide_modes_draw_different_dreams(capsys, tmp_path, tiny_h5):
    photo = write_photo(tmp_path / "photo.png", hw=(60, 80), seed=1)
    guide = write_photo(tmp_path / "guide.png", hw=(50, 70), seed=2)
    fast = ["--model", tiny_h5, "--layer", "mixed", "--octaves", "2", "--steps", "2", "--seed", "0", "-q"]
    outs = {}
    for mode in (None,) + MODES:
        out = tmp_path / f"{mode}.png"
        flags = [] if mode is None else ["--guide-mode", mode]
        assert run_cli(["dream", photo, "-o", out, "--guide", guide, *fast, *flags], capsys) == (0, "", "")
        outs[mode] = pixels(out)
    np.testing.assert_array_equal(outs[None], outs["gram"])  # gram is the default
    for a in MODES:
        for b in MODES:
            assert a == b or (outs[a] != outs[b]).any()


def test_cli_refuses_a_guide_mode_without_a_guide(capsys, tmp_path, tiny_h5):
    photo = write_photo(tmp_path / "photo.png")
    argv = ["dream", photo, "--model", tiny_h5, "--guide-mode", "google", "-o", tmp_path / "o.png"]
    assert_one_line_error(*run_cli(argv, capsys), "dream", "--guide-mode google is used only by "
                          "--objective guide", "objective is 'l2'")
    assert not (tmp_path / "o.png").exists()
