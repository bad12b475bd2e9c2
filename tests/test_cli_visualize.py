"""``numdream visualize`` on the tiny model: the image, the batch, frames and a GIF of the
optimisation, pre-ReLU and diversity flags, and every bad option as one line with exit 2."""
import numpy as np
import pytest

from cli_helpers import assert_one_line_error, pixels, run_cli, snapshot, write_tiny_model
from numdream.featvis import channel, diversity, visualize
from numdream.gallery import contact_sheet
from numdream.model import Model
from numdream.cli import build_parser
from tiny_model import tiny_spec

QUICK = ["--size", "24", "--steps", "6", "-q"]


@pytest.fixture(scope="module")
def tiny_h5(tmp_path_factory):
    return write_tiny_model(tmp_path_factory.mktemp("model") / "tiny.h5")


def _visualize(objective, **options):
    return visualize(objective, model=Model(tiny_spec()), progress=False, **options)


def test_writes_the_visualisation_the_api_makes(tiny_h5, tmp_path, capsys):
    out = tmp_path / "v.png"
    code, _, err = run_cli(["visualize", "--model", tiny_h5, "--layer", "mixed", "--channel", "3", "--pre-relu",
                            "--seed", "5", "-o", out, *QUICK], capsys)
    assert (code, err) == (0, "")
    expected = _visualize(channel("mixed:pre_relu", 3), size=24, steps=6, seed=5)[0]
    assert np.array_equal(pixels(out), expected)


def test_a_batch_with_diversity_is_one_sheet_of_different_images(tiny_h5, tmp_path, capsys):
    out = tmp_path / "b.png"
    code, _, err = run_cli(["visualize", "--model", tiny_h5, "--layer", "mixed", "--channel", "2", "--batch", "3",
                            "--diversity", "0.5", "--seed", "1", "-o", out, *QUICK], capsys)
    assert (code, err) == (0, "")
    images = _visualize(channel("mixed", 2) + 0.5 * diversity("mixed"), size=24, steps=6, seed=1, batch=3)
    assert np.array_equal(pixels(out), contact_sheet(list(images), ["1/3", "2/3", "3/3"], columns=3))
    assert not np.array_equal(images[0], images[1])


def test_every_k_steps_writes_frames_and_a_gif(tiny_h5, tmp_path, capsys):
    pytest.importorskip("imageio")
    out, gif = tmp_path / "v.png", tmp_path / "opt.gif"
    code, _, err = run_cli(["visualize", "--model", tiny_h5, "--layer", "top", "--neuron", "1", "--every", "2",
                            "--gif", gif, "--seed", "0", "-o", out, *QUICK], capsys)
    assert (code, err) == (0, "")
    frames = sorted((tmp_path / "v_steps").glob("frame_*.png"))
    assert [f.name for f in frames] == [f"frame_{i:05d}.png" for i in range(4)]  # steps 0, 2, 4, 6
    assert (tmp_path / "v_steps" / "numdream-frames.json").is_file()  # numdream's folder, marked as such
    assert np.array_equal(pixels(frames[-1]), pixels(out)) and not np.array_equal(pixels(frames[0]), pixels(out))
    import imageio.v2 as imageio
    assert len(imageio.mimread(gif)) == 4


def test_an_interrupted_visualisation_closes_its_progress_bar(capsys):
    from tqdm import tqdm

    def stop(step, images):
        raise KeyboardInterrupt
    with pytest.raises(KeyboardInterrupt) as caught:  # kept: its traceback holds the bar, as the CLI's does
        visualize(channel("mixed", 1), model=Model(tiny_spec()), size=24, steps=6, every=1, callback=stop)
    assert not [bar for bar in list(tqdm._instances) if bar.desc == "visualising"] and caught.traceback


def test_the_same_command_run_again_replaces_its_own_frames(tiny_h5, tmp_path, capsys):
    """A visualisation does not resume: run again (a new seed, other --every), it starts over, and
    the frames of the run before, numdream's own, give way to the new ones instead of a refusal."""
    out = tmp_path / "v.png"
    for every, count in (("2", 4), ("3", 3)):  # steps 0, 2, 4, 6, then 0, 3, 6
        code, _, err = run_cli(["visualize", "--model", tiny_h5, "--layer", "top", "--neuron", "1", "--every", every,
                                "-o", out, *QUICK], capsys)
        assert (code, err) == (0, "")
        frames = sorted((tmp_path / "v_steps").glob("frame_*.png"))
        assert [f.name for f in frames] == [f"frame_{i:05d}.png" for i in range(count)]
        assert np.array_equal(pixels(frames[-1]), pixels(out))
    assert '"every": 3' in (tmp_path / "v_steps" / "numdream-frames.json").read_text()


def test_frames_another_command_made_are_refused_untouched(tiny_h5, tmp_path, capsys):
    tiles = tmp_path / "sheet_tiles"
    code, _, _ = run_cli(["atlas", "--model", tiny_h5, "--layer", "mixed", "--channels", "1", "--tiles", tiles,
                          "-o", tmp_path / "sheet.png", *QUICK], capsys)
    assert code == 0
    before = snapshot(tiles / "frame_00000.png")
    code, out, err = run_cli(["visualize", "--model", tiny_h5, "--layer", "mixed", "--channel", "1", "--every", "2",
                              "--frames", tiles, "-o", tmp_path / "v.png", *QUICK], capsys)
    assert_one_line_error(code, out, err, "visualize", "holds frames made with other settings")
    assert snapshot(tiles / "frame_00000.png") == before and not (tmp_path / "v.png").exists()


def test_default_output_name_never_overwrites(tiny_h5, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "mixed_pre_relu_4.png").write_bytes(b"mine")
    code, _, err = run_cli(["visualize", "--model", tiny_h5, "--layer", "mixed:pre_relu", "--channel", "4",
                            "--seed", "0", *QUICK], capsys)
    assert (code, err) == (0, "")
    assert (tmp_path / "mixed_pre_relu_4.png").read_bytes() == b"mine"
    assert pixels(tmp_path / "mixed_pre_relu_4_2.png").shape == (24, 24, 3)


def test_the_progress_bar_shows_the_objective(tiny_h5, tmp_path, capsys):
    code, _, err = run_cli(["visualize", "--model", tiny_h5, "--layer", "mixed", "--channel", "1", "--size", "24",
                            "--steps", "3", "--seed", "2", "-o", tmp_path / "v.png"], capsys)
    assert code == 0 and "objective=" in err and "seed 2" in err.splitlines()[-1]


@pytest.mark.parametrize("flags, fragments", [
    (["--layer", "mixd", "--channel", "1"], ["unknown layer 'mixd'", "did you mean mixed"]),
    (["--layer", "mixed", "--channel", "16"], ["channel 16 does not exist in layer 'mixed'", "0 to 15"]),
    (["--layer", "top", "--channel", "1", "--pre-relu"], ["'top' has no pre-ReLU version"]),
    (["--layer", "mixed", "--channel", "1", "--diversity", "1"], ["--diversity 1", "--batch 2 or more"]),
    (["--layer", "mixed", "--channel", "1", "--probability"], ["--probability applies to --class-index"]),
    (["--layer", "mixed", "--class-index", "1"], ["needs a classifier layer"]),
    (["--layer", "mixed", "--neuron", "1:9:9", "--size", "24"], ["position (9, 9) is outside layer 'mixed'"]),
    (["--layer", "mixed", "--channel", "1", "--size", "4", "--no-transforms"], ["too small", "minimum is 7x7"]),
    (["--layer", "mixed", "--channel", "1", "--gif", "x.gif"], ["give --every K"]),
    (["--layer", "mixed", "--channel", "1", "--every", "2", "--gif", "x.png"], ["must end in .gif"]),
    (["--layer", "mixed", "--channel", "1", "-o", "out.txt"], ["unsupported extension '.txt'"]),
    (["--layer", "mixed", "--channel", "1", "--steps", "0"], ["--steps 0 dreams nothing", "random start image"]),
])
def test_bad_choices_are_one_line_errors(tiny_h5, tmp_path, capsys, monkeypatch, flags, fragments):
    monkeypatch.chdir(tmp_path)
    code, out, err = run_cli(["visualize", "--model", tiny_h5, "-q", "--steps", "1", *flags], capsys)
    assert_one_line_error(code, out, err, "visualize", *fragments)
    assert list(tmp_path.iterdir()) == []  # nothing written


@pytest.mark.parametrize("flags, fragments", [
    (["--layer", "mixed"], ["one of the arguments --channel --neuron --class-index is required"]),
    (["--layer", "mixed", "--channel", "1", "--neuron", "2"], ["not allowed with argument"]),
    (["--layer", "mixed", "--channel", "1", "--size", "0"], ["'0' is not a size"]),
    (["--layer", "mixed", "--channel", "1", "--size", "20y"], ["'20y' is not a size"]),
    (["--layer", "mixed", "--channel", "1", "--lr", "-1"], ["'-1' is not a number > 0.0"]),
    (["--layer", "mixed", "--channel", "1", "--param", "dct"], ["invalid choice: 'dct'"]),
    (["--layer", "mixed", "--channel", "1", "--batch", "0"], ["'0' is not a whole number from 1"]),
    (["--layer", "mixed", "--channel", "1", "--every", "0"], ["'0' is not a whole number from 1"]),
])
def test_bad_values_are_one_line_errors(tiny_h5, tmp_path, capsys, flags, fragments):
    code, out, err = run_cli(["visualize", "--model", tiny_h5, "-q", *flags], capsys)
    assert code == 2 and out == "" and len(err.splitlines()) == 1 and "Traceback" not in err
    assert all(f in err for f in fragments), err


def test_a_frames_folder_that_holds_files_is_refused_untouched(tiny_h5, tmp_path, capsys):
    folder = tmp_path / "frames"
    folder.mkdir()
    (folder / "frame_00000.png").write_bytes(b"someone else's")
    before = snapshot(folder / "frame_00000.png")
    code, out, err = run_cli(["visualize", "--model", tiny_h5, "--layer", "mixed", "--channel", "1", "--every", "2",
                              "--frames", folder, "-o", tmp_path / "v.png", *QUICK], capsys)
    assert_one_line_error(code, out, err, "visualize", "frames folder", "numdream did not make it")
    assert snapshot(folder / "frame_00000.png") == before and not (tmp_path / "v.png").exists()


def test_a_channel_that_stays_off_gets_a_note_pointing_at_pre_relu(tiny_h5, tmp_path, capsys):
    """Channel 3 of the tiny model's mixed is off after its ReLU on every image this run draws."""
    argv = ["visualize", "--model", tiny_h5, "--layer", "mixed", "--channel", "3", "--seed", "0", *QUICK]
    code, _, err = run_cli([*argv, "-o", tmp_path / "a.png"], capsys)
    assert code == 0 and err.splitlines() == [
        "note: channel('mixed', 3) stayed 0 at every step: the unit is off after its ReLU on the whole image, so "
        "no gradient reached the pixels; mixed:pre_relu (--pre-relu) reads it before the ReLU"]
    code, _, err = run_cli([*argv, "--pre-relu", "-o", tmp_path / "b.png"], capsys)
    assert (code, err) == (0, "")
    assert not np.array_equal(pixels(tmp_path / "a.png"), pixels(tmp_path / "b.png"))


def test_a_class_probability_on_a_model_with_a_classifier_head(tmp_path, capsys):
    from numdream.featvis import class_probability
    from numdream.modelfile import write_model
    from test_model_head import head_spec
    write_model(tmp_path / "head.h5", head_spec())
    out = tmp_path / "c.png"
    code, _, err = run_cli(["visualize", "--model", tmp_path / "head.h5", "--layer", "logits", "--class-index", "2",
                            "--probability", "--size", "16", "--steps", "4", "--seed", "3", "-o", out, "-q"], capsys)
    assert (code, err) == (0, "")
    expected = visualize(class_probability("logits", 2), size=16, steps=4, seed=3, model=Model(head_spec()),
                         progress=False)[0]
    assert np.array_equal(pixels(out), expected)


def test_the_image_keeps_how_it_was_made_and_switches_replay_as_given(tiny_h5, tmp_path, capsys):
    out = tmp_path / "v.png"
    code, _, err = run_cli(["visualize", "--model", tiny_h5, "--layer", "mixed:pre_relu", "--channel", "3", "--no-transforms",
                            "--seed", "5", "-o", out, *QUICK], capsys)
    assert (code, err) == (0, "")
    info = run_cli(["info", out], capsys)[1]
    assert "with `numdream visualize`" in info and "channel('mixed:pre_relu', 3)" in info
    again = info.splitlines()[-1]
    assert again.startswith("again: numdream visualize ") and "PHOTO" not in again and "--like" not in info
    assert "--no-transforms" in again and "--no-decorrelate" not in again and "--seed=5" in again


def test_a_stopped_run_keeps_the_frames_of_an_earlier_one(tiny_h5, tmp_path, capsys, monkeypatch):
    argv = ["visualize", "--model", tiny_h5, "--layer", "mixed", "--channel", "1", "--every", "2", "--seed", "0",
            "-o", tmp_path / "v.png", *QUICK]
    assert run_cli(argv, capsys)[0] == 0
    before = snapshot(tmp_path / "v_steps" / "frame_00000.png")
    import numdream.cli.visualize as command

    def stopped(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(command, "visualize", stopped)
    with pytest.raises(KeyboardInterrupt):
        command.run(build_parser().parse_args([str(a) for a in argv]))
    assert snapshot(tmp_path / "v_steps" / "frame_00000.png") == before
