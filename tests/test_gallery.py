"""The layer gallery: sheet geometry and labels, one dream per layer, channels from noise, CLI."""
import numpy as np
import pytest

from numdream.cli import main
from numdream.dream import dream
from numdream.errors import LayerError, NumdreamError
from numdream.featvis import channel, visualize
from numdream.gallery import GAP, channel_tiles, contact_sheet, layer_tiles, sheet_layout
from numdream.images import load_image, sample_path, save_image
from numdream.model import Model
from numdream.modelfile import write_model
from tiny_model import tiny_spec

PHOTO = load_image(sample_path())[::6, ::6]  # (50, 76, 3)
DREAM = dict(octaves=2, steps=2)
TINY_LAYERS = ["norm1", "mixed", "top"]


@pytest.fixture(scope="module")
def tiny():
    return Model(tiny_spec())


@pytest.fixture(scope="module")
def tiny_h5(tmp_path_factory):
    path = tmp_path_factory.mktemp("model") / "tiny.h5"
    write_model(path, tiny_spec())
    return path


def _band(sheet, origin, tile_hw, band):
    y, x = origin
    return sheet[y + tile_hw[0]:y + tile_hw[0] + band, x:x + tile_hw[1]]


def test_sheet_puts_each_tile_in_its_cell_with_its_label_below():
    rng = np.random.default_rng(0)
    tiles = [rng.integers(0, 256, (30, 80, 3), dtype=np.uint8) for _ in range(5)]
    labels = ["original", "mixed0", "mixed1", "", "mixed0"]
    sheet = contact_sheet(tiles, labels, columns=3)
    (h, w), origins, band = sheet_layout(5, (30, 80), columns=3)
    assert sheet.shape == (h, w, 3) == (GAP + 2 * (30 + band + GAP), GAP + 3 * (80 + GAP), 3)
    assert origins[3] == (GAP + 30 + band + GAP, GAP)   # second row, first column
    for tile, origin in zip(tiles, origins):
        assert np.array_equal(sheet[origin[0]:origin[0] + 30, origin[1]:origin[1] + 80], tile)
    bands = [_band(sheet, o, (30, 80), band) for o in origins]
    assert all((b < 128).any() for i, b in enumerate(bands) if labels[i])   # text is drawn
    assert (bands[3] == 255).all()                                          # an empty label is blank
    assert np.array_equal(bands[1], bands[4]) and not np.array_equal(bands[1], bands[2])
    assert (sheet[:GAP] == 255).all() and (sheet[-1] == 255).all()          # white margins


def test_sheet_needs_one_label_per_tile():
    with pytest.raises(NumdreamError, match="one label per tile, got 2 tiles and 1 labels"):
        contact_sheet([PHOTO, PHOTO], ["a"])


def test_layer_tiles_are_the_photo_dreamed_at_each_layer(tiny):
    tiles, labels = layer_tiles(PHOTO, TINY_LAYERS, model=tiny, seed=4, progress=False, **DREAM)
    assert labels == ["original"] + TINY_LAYERS
    assert np.array_equal(tiles[0], PHOTO)
    assert all(t.shape == PHOTO.shape and t.dtype == np.uint8 for t in tiles)
    top = dream(PHOTO, model=tiny, layers="top", seed=4, progress=False, **DREAM)
    assert np.array_equal(tiles[3], top)
    for i in range(4):
        for j in range(i + 1, 4):
            assert not np.array_equal(tiles[i], tiles[j]), (labels[i], labels[j])


def test_an_unknown_layer_fails_before_any_dream(tiny):
    with pytest.raises(LayerError, match="unknown layer 'mixd'.*did you mean mixed"):
        layer_tiles(PHOTO, ["norm1", "mixd"], model=tiny, progress=False, **DREAM)


def test_channel_tiles_are_feature_visualisations_one_channel_each(tiny):
    tiles, labels = channel_tiles("mixed:pre_relu", 3, size=(40, 30), model=tiny, seed=1, progress=False, steps=4)
    assert labels == ["#0 mixed:pre_relu", "#1 mixed:pre_relu", "#2 mixed:pre_relu"]
    assert all(t.shape == (30, 40, 3) for t in tiles)
    expected = visualize(channel("mixed:pre_relu", 1), size=(40, 30), steps=4, seed=1, model=tiny, progress=False)
    assert np.array_equal(tiles[1], expected[0])
    assert not np.array_equal(tiles[0], tiles[1]) and not np.array_equal(tiles[1], tiles[2])
    with pytest.raises(NumdreamError, match="cannot show 17 channels of 'mixed': it has 16; valid counts are 1 .. 16"):
        channel_tiles("mixed", 17, model=tiny, progress=False)


def test_cli_writes_the_sheet(tmp_path, tiny_h5, capsys):
    photo, sheet = tmp_path / "photo.png", tmp_path / "sheet.png"
    save_image(photo, PHOTO)
    before = photo.read_bytes()
    code = main(["gallery", str(photo), "-o", str(sheet), "--model", str(tiny_h5), "--layer", "norm1",
                 "--layer", "top", "--columns", "3", "--octaves", "2", "--steps", "2", "-q"])
    assert code == 0, capsys.readouterr().err
    (h, w), _, _ = sheet_layout(3, PHOTO.shape[:2], columns=3)
    assert load_image(sheet).shape == (h, w, 3)
    assert photo.read_bytes() == before


def test_cli_channels_mode(tmp_path, tiny_h5, capsys):
    sheet = tmp_path / "channels.png"
    code = main(["gallery", "--channels", "4", "--layer", "mixed", "--size", "32x24", "-o", str(sheet),
                 "--model", str(tiny_h5), "--steps", "2", "--seed", "3", "-q"])
    assert code == 0, capsys.readouterr().err
    tiles, labels = channel_tiles("mixed", 4, size=(32, 24), model=Model(tiny_spec()), seed=3, progress=False, steps=2)
    assert np.array_equal(load_image(sheet), contact_sheet(tiles, labels))


@pytest.mark.parametrize("flags, message", [
    (["--layer", "mixd"], "unknown layer 'mixd'"),
    (["--channels", "2"], "give exactly one --layer (got 0)"),
    (["--channels", "2", "--layer", "top", "--layer", "mixed"], "give exactly one --layer (got 2)"),
    (["--channels", "99", "--layer", "top"], "cannot show 99 channels of 'top': it has 6"),
    (["--channels", "2", "--layer", "top", "--octaves", "2"], "--octaves applies to a photo's gallery"),
    (["--channels", "2", "--layer", "top", "--jitter", "3"], "--jitter applies to a photo's gallery"),
])
def test_cli_bad_choices_are_one_line_errors(tmp_path, tiny_h5, capsys, flags, message):
    code = main(["gallery", "-o", str(tmp_path / "s.png"), "--model", str(tiny_h5), "-q", *flags])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and message in err
    assert not (tmp_path / "s.png").exists()
