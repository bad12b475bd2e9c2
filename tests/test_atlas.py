"""``numdream atlas``: one visualisation per channel on a labelled sheet; an interrupted atlas
resumes with bit-identical tiles; other settings are refused; the tiles run on Dask too."""
import numpy as np
import pytest

from cli_helpers import assert_one_line_error, pixels, run_cli, snapshot, write_tiny_model
from numdream.errors import NumdreamError
from numdream.featvis import channel, visualize
from numdream.featvis.atlas import atlas_tiles
from numdream.gallery import contact_sheet
from numdream.model import Model
from numdream.frames import frame_path
from tiny_model import tiny_spec

OPTIONS = dict(size=(24, 20), steps=5, seed=3)


@pytest.fixture(scope="module")
def tiny():
    return Model(tiny_spec())


@pytest.fixture(scope="module")
def tiny_h5(tmp_path_factory):
    return write_tiny_model(tmp_path_factory.mktemp("model") / "tiny.h5")


def test_an_interrupted_atlas_closes_its_progress_bar_first(tiny, tmp_path, capsys):
    """Ctrl-C must not leave the bar open: closed later (when the traceback is freed), it printed
    itself again after the CLI's 'numdream: interrupted' line."""
    from tqdm import tqdm

    def stop(i):
        raise KeyboardInterrupt
    with pytest.raises(KeyboardInterrupt) as caught:  # kept: its traceback holds the bar, as the CLI's does
        atlas_tiles("mixed", range(3), tmp_path / "cut", model=tiny, progress=True, on_tile=stop, **OPTIONS)
    assert not [bar for bar in list(tqdm._instances) if bar.desc == "atlas"] and caught.traceback
    assert capsys.readouterr().err.endswith("\n")  # the bar's last line is finished before the next message


def test_tiles_are_the_visualisations_of_each_channel(tiny, tmp_path):
    tiles, labels = atlas_tiles("mixed:pre_relu", [4, 0, 9], tmp_path / "t", model=tiny, progress=False, **OPTIONS)
    assert labels == ["#4 mixed:pre_relu", "#0 mixed:pre_relu", "#9 mixed:pre_relu"]
    for tile, c in zip(tiles, [4, 0, 9]):
        expected = visualize(channel("mixed:pre_relu", c), model=tiny, progress=False, **OPTIONS)[0]
        assert np.array_equal(tile, expected)
    assert [p.name for p in sorted((tmp_path / "t").glob("frame_*.png"))] == [f"frame_{i:05d}.png" for i in range(3)]


def test_an_interrupted_atlas_resumes_with_bit_identical_tiles(tiny, tmp_path):
    whole, _ = atlas_tiles("mixed", range(5), tmp_path / "whole", model=tiny, progress=False, **OPTIONS)

    def stop_after_two(i):
        if i == 1:
            raise KeyboardInterrupt
    with pytest.raises(KeyboardInterrupt):
        atlas_tiles("mixed", range(5), tmp_path / "cut", model=tiny, progress=False, on_tile=stop_after_two, **OPTIONS)
    assert [p.name for p in sorted((tmp_path / "cut").glob("frame_*.png"))] == ["frame_00000.png", "frame_00001.png"]
    kept = snapshot(frame_path(tmp_path / "cut", 0))
    made = []
    resumed, _ = atlas_tiles("mixed", range(5), tmp_path / "cut", model=tiny, progress=False, on_tile=made.append,
                             **OPTIONS)
    assert made == [2, 3, 4]  # only the missing tiles were made
    assert snapshot(frame_path(tmp_path / "cut", 0)) == kept
    assert all(np.array_equal(a, b) for a, b in zip(whole, resumed))


def test_a_damaged_tile_is_made_again(tiny, tmp_path):
    atlas_tiles("mixed", [1, 2], tmp_path, model=tiny, progress=False, **OPTIONS)
    good = pixels(frame_path(tmp_path, 1))
    frame_path(tmp_path, 1).write_bytes(b"not a png")
    made = []
    atlas_tiles("mixed", [1, 2], tmp_path, model=tiny, progress=False, on_tile=made.append, **OPTIONS)
    assert made == [1] and np.array_equal(pixels(frame_path(tmp_path, 1)), good)


def test_other_settings_are_refused_even_when_the_first_tile_is_missing(tiny, tmp_path):
    atlas_tiles("mixed", [1, 2, 3], tmp_path, model=tiny, progress=False, **OPTIONS)
    frame_path(tmp_path, 0).unlink()  # a parallel run may stop with any tiles done
    with pytest.raises(NumdreamError, match=r"other settings \(steps: 5 then, 6 now\)"):
        atlas_tiles("mixed", [1, 2, 3], tmp_path, model=tiny, progress=False, **dict(OPTIONS, steps=6))
    with pytest.raises(NumdreamError, match="channel 16 does not exist in layer 'mixed'"):
        atlas_tiles("mixed", [1, 16], tmp_path / "new", model=tiny, progress=False, **OPTIONS)
    assert not (tmp_path / "new").exists()  # checked before the work folder is made


def test_cli_writes_the_labelled_sheet_and_a_rerun_reuses_the_tiles(tiny_h5, tmp_path, capsys):
    out = tmp_path / "sheet.png"
    argv = ["atlas", "--model", tiny_h5, "--layer", "mixed", "--pre-relu", "--channels", "0-2,7", "--size", "24",
            "--steps", "4", "--columns", "2", "-o", out, "-q"]
    code, _, err = run_cli(argv, capsys)
    assert (code, err) == (0, "")
    tiles, labels = atlas_tiles("mixed:pre_relu", [0, 1, 2, 7], tmp_path / "check", model=Model(tiny_spec()),
                                progress=False, size=24, steps=4, seed=0)
    assert np.array_equal(pixels(out), contact_sheet(tiles, labels, columns=2))
    tile = snapshot(frame_path(tmp_path / "sheet_tiles", 3))
    info = run_cli(["info", out], capsys)[1]  # the sheet keeps how it was made
    assert "with `numdream atlas`" in info and "channels=0,1,2,7" in info and "PHOTO" not in info
    assert run_cli(argv, capsys)[0] == 0
    assert snapshot(frame_path(tmp_path / "sheet_tiles", 3)) == tile


@pytest.mark.parametrize("flags, fragments", [
    (["--layer", "mixed", "--channels", "0-16"], ["channel 16 does not exist in layer 'mixed'"]),
    (["--layer", "mixed", "--steps", "0"], ["--steps 0 dreams nothing", "random start image"]),
    (["--layer", "mixed", "--channels", "0-15", "--size", "4000"], ["a contact sheet of 16 tiles of 4000x4000",
                                                                    "twice PIL.Image.MAX_IMAGE_PIXELS"]),
    (["--layer", "mixed", "--channels", "0-9999999999"], ["is more than 65536 channels"]),
    (["--layer", "top", "--pre-relu"], ["'top' has no pre-ReLU version"]),
    (["--layer", "nope"], ["unknown layer 'nope'"]),
])
def test_cli_bad_choices_are_one_line_errors(tiny_h5, tmp_path, capsys, monkeypatch, flags, fragments):
    monkeypatch.chdir(tmp_path)
    assert_one_line_error(*run_cli(["atlas", "--model", tiny_h5, "-q", *flags], capsys), "atlas", *fragments)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("text", ["5-2", "a-b", "-1", "1,,2"])
def test_cli_bad_channel_lists(tiny_h5, capsys, text):
    code, out, err = run_cli(["atlas", "--model", tiny_h5, "--layer", "mixed", "--channels", text], capsys)
    assert code == 2 and out == "" and f"{text!r} is not a list of channels" in err and len(err.splitlines()) == 1


@pytest.mark.slow
def test_tiles_on_a_local_dask_cluster_are_the_ones_made_here(tiny, tiny_h5, tmp_path):
    pytest.importorskip("dask.distributed")
    here, _ = atlas_tiles("mixed", [0, 3, 5], tmp_path / "here", model=tiny, progress=False, **OPTIONS)
    there, _ = atlas_tiles("mixed", [0, 3, 5], tmp_path / "there", model=tiny, model_path=tiny_h5, workers=2,
                           progress=False, **OPTIONS)
    assert all(np.array_equal(a, b) for a, b in zip(here, there))


def test_cli_names_the_channels_that_stayed_off(tiny_h5, tmp_path, capsys):
    code, _, err = run_cli(["atlas", "--model", tiny_h5, "--layer", "mixed", "--channels", "2-4", "--size", "24",
                            "--steps", "3", "-o", tmp_path / "s.png", "-q"], capsys)
    assert code == 0 and err.splitlines() == [
        "note: channel 3 stayed 0 at every step: off after the ReLU on the whole image, so no gradient reached the "
        "pixels; --pre-relu (mixed:pre_relu) reads them before the ReLU"]
