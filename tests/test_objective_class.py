"""The class objective (class visualisation): its gradient, the image sizes a classifier head
accepts, the octaves the engine keeps for it, and `numdream dream --class-index N`."""
import numpy as np
import pytest

from cli_helpers import assert_one_line_error, run_cli
from numdream.dream import dream, evaluate, objective_gradient
from numdream.errors import LayerError, NumdreamError
from numdream.model import Model
from numdream.modelfile import write_model
from numdream.objectives import Class, fitting_sides, make_objective
from test_model_head import head_spec

RNG = np.random.default_rng(11)


def _model(dtype=np.float64):
    return Model(head_spec(), dtype=dtype)


@pytest.mark.parametrize("layer, hw", [("grid_logits", (12, 12)), ("logits", (17, 23))])
def test_class_gradient_matches_central_differences(layer, hw):
    model = _model()
    objective = Class(layer, 2)
    objective.prepare(model, hw)
    x = RNG.uniform(-100, 100, (1, 3) + hw)
    value, grad = objective_gradient(model, x, objective, tile_size=8)  # whole image: tiles ignored
    assert value == pytest.approx(model.forward(x, [layer], keep_tape=False)[0][layer][0, 2, 0, 0], rel=1e-12)
    for _ in range(3):
        v = RNG.standard_normal(x.shape)
        plus = objective(model.forward(x + 1e-4 * v, [layer], keep_tape=False)[0])[0]
        minus = objective(model.forward(x - 1e-4 * v, [layer], keep_tape=False)[0])[0]
        numeric, analytic = (plus - minus) / 2e-4, float((grad * v).sum())
        assert abs(numeric - analytic) <= 1e-7 * max(abs(numeric), abs(analytic))
    assert np.abs(grad).max() > 0


def test_the_sizes_a_fixed_head_accepts():
    model = _model()
    assert fitting_sides(model, "grid_logits") == (11, 16)
    with pytest.raises(NumdreamError) as err:
        Class("grid_logits", 0).prepare(model, (30, 40))
    message = str(err.value)
    assert "input of 30x40 (HxW) does not fit head: dense layer 'grid_logits' reads 32 values" in message
    assert "squares from 11x11 to 16x16 do; resize the photo, or start from noise (--init noise --size 16x16)" in message


def test_class_needs_a_classifier_layer_and_a_class_it_scores():
    model = _model()
    with pytest.raises(LayerError, match="needs a classifier layer \\(a dense node\\), but 'mixed' is a "
                       "concat; the classifiers of head are logits, grid_logits"):
        Class("mixed", 0).prepare(model, (12, 12))
    with pytest.raises(LayerError, match="class 5 does not exist in layer 'logits', which scores classes 0 to 4"):
        Class("logits", 5).prepare(model, (12, 12))
    with pytest.raises(NumdreamError, match="needs a class index"):
        make_objective("class", "logits")
    with pytest.raises(NumdreamError, match="class_index must be a whole number from 0 to 2147483647, got -1"):
        dream(np.zeros((12, 12, 3), np.uint8), model=model, layers="logits", objective="class", class_index=-1)


def test_a_fixed_head_dreams_one_octave_at_its_own_size_and_raises_the_score():
    model = _model(np.float32)
    image = RNG.integers(0, 256, (12, 12, 3), dtype=np.uint8)
    seen = []
    out = dream(image, model=model, layers="grid_logits", objective="class", class_index=1, octaves=3,
                steps=5, seed=0, progress=False, callback=lambda octave, step, img: seen.append(img.shape))
    assert seen == [(12, 12, 3)] * 5  # 12 / 1.4 = 9 is too small for the head: one octave
    before, after = (evaluate(img, Class("grid_logits", 1), model=model) for img in (image, out))
    assert after > before + 1


def test_a_global_pool_head_keeps_every_octave():
    model = _model(np.float32)
    sizes = []
    dream(RNG.integers(0, 256, (30, 44, 3), dtype=np.uint8), model=model, layers="logits",
          objective="class", class_index=3, octaves=3, steps=1, seed=0, progress=False,
          callback=lambda octave, step, img: sizes.append(img.shape[:2]))
    assert sizes == [(15, 22), (21, 31), (30, 44)]


def test_cli_class_index(tmp_path, capsys):
    path = tmp_path / "head.h5"
    write_model(path, head_spec())
    out = tmp_path / "class.png"
    code, _, err = run_cli(["dream", "--model", path, "--init", "noise", "--size", "12x12", "--layer",
                            "grid_logits", "--class-index", "2", "--steps", "2", "-o", out, "-q", "--seed", "0"], capsys)
    assert code == 0, err
    assert out.exists()
    code, stdout, err = run_cli(["dream", "--model", path, "--init", "noise", "--size", "20x20", "--layer",
                                 "grid_logits", "--class-index", "2", "-o", out, "-q"], capsys)
    assert_one_line_error(code, stdout, err, "dream", "does not fit head", "squares from 11x11 to 16x16")
    code, stdout, err = run_cli(["dream", "--model", path, "--objective", "l2", "--class-index", "2",
                                 "--init", "noise", "-o", out, "-q"], capsys)
    assert_one_line_error(code, stdout, err, "dream", "--class-index 2 is used only by --objective class")
