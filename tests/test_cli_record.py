"""What ``numdream dream`` says and keeps: every default in --help, --version, the closest flag to
a mistyped one, the settings record in every output format (``numdream info``, ``--like``), the
estimate before the first step and the budget past which a run is asked for or refused."""
import argparse
import json

import numpy as np
import pytest
from PIL import Image

import numdream
from cli_helpers import assert_one_line_error, pixels, run_cli, snapshot, write_photo, write_tiny_model
from hostile_cli import fingerprint
from numdream import estimate
from numdream.cli import build_parser
from numdream.cli import dream as dream_command

FAST = ["--layer", "mixed", "--octaves", "2", "--steps", "2", "--seed", "4"]


@pytest.fixture(scope="module")
def tiny_h5(tmp_path_factory):
    return write_tiny_model(tmp_path_factory.mktemp("model") / "tiny.h5")


@pytest.fixture
def photo(tmp_path):
    return write_photo(tmp_path / "photo.png")


def dream(capsys, *argv):
    code, out, err = run_cli(["dream", *argv], capsys)
    assert code == 0, err
    return err


# ---- help, version, mistyped flags -----------------------------------------------------------------

@pytest.mark.parametrize("command", ["dream", "zoom", "video", "gallery", "batch"])
def test_help_shows_every_default(command):
    parser = build_parser().commands[command]
    for action in parser._actions:
        shown = action.default not in (None, False, argparse.SUPPRESS) or action.dest == "size"
        if shown and action.nargs != 0 and action.dest not in ("help", "run"):
            assert "default" in (action.help or ""), f"{command} {action.option_strings}: {action.help!r}"
    text = " ".join(parser.format_help().split())
    for words in ("(default: 4)", "(default: 1.4)", "(default: 1.5)", "(default: 32)", "(default: mean)",
                  "(default: 512)"):
        assert words in text, words


def test_noise_size_default_is_in_the_help():
    assert "image size for --init noise (default: 512x512)" in build_parser().commands["dream"].format_help()


def test_version(capsys):
    code, out, err = run_cli(["--version"], capsys)
    assert (code, out.strip(), err) == (0, f"numdream {numdream.__version__}", "")


@pytest.mark.parametrize("argv, words", [
    (["dream", "--octavs", "3"], ["unrecognized flag --octavs; did you mean '--octaves'?",
                                  "usage: numdream dream [options] [input]", "--help lists every flag"]),
    (["dream", "--keep-colours"], ["did you mean '--keep-colors'?"]),
    (["zoom", "-o", "f", "--zom=0.1"], ["unrecognized flag --zom; did you mean '--zoom'?"]),
])
def test_an_unknown_flag_names_the_closest_one_and_the_usage(capsys, argv, words):
    assert_one_line_error(*run_cli(argv, capsys), argv[0], *words)


def test_an_unknown_command_names_the_closest_one(capsys):
    assert_one_line_error(*run_cli(["drem"], capsys), None, "invalid choice: 'drem'", "did you mean 'dream'?")


def test_steps_0_is_refused_where_the_output_is_a_dream(capsys, tmp_path, photo, tiny_h5):
    for command in (["dream", photo, "-o", tmp_path / "out.png"], ["gallery", photo, "-o", tmp_path / "s.png"]):
        line = assert_one_line_error(*run_cli([*command, "--model", tiny_h5, "--steps", "0"], capsys),
                                     command[0], "--steps 0 dreams nothing", "--steps 1 or more")
        assert "photo itself" in line
    assert sorted(p.name for p in tmp_path.iterdir()) == ["photo.png"]


# ---- the settings record ------------------------------------------------------------------------------

@pytest.mark.parametrize("ext", [".png", ".jpg", ".webp", ".tif", ".gif"])
def test_the_settings_round_trip_through_every_format(capsys, tmp_path, photo, tiny_h5, ext):
    out = tmp_path / f"out{ext}"
    dream(capsys, photo, "-o", out, "--model", tiny_h5, *FAST, "--step-size", "2.25", "--keep-colors", "-q")
    code, text, err = run_cli(["info", out, "--json"], capsys)
    assert code == 0, err
    record = json.loads(text)
    assert record["numdream"] == numdream.__version__ and record["seed"] == 4
    assert record["model"]["name"] == "tiny" and len(record["model"]["sha256"]) == 64
    assert record["layers"] == {"mixed": 1.0} and record["objective"] == "l2"
    assert record["settings"]["step_size"] == 2.25 and record["settings"]["keep_colors"] is True
    assert record["settings"]["jitter"] == 32  # a default is recorded too
    assert record["files"]["input"]["name"] == str(photo)
    code, text, _ = run_cli(["info", out], capsys)
    assert "seed       4" in text and "numdream dream --like" in text and "--step-size=2.25" in text


def test_like_dreams_the_same_picture_and_given_flags_win(capsys, tmp_path, photo, tiny_h5):
    first = tmp_path / "first.png"
    dream(capsys, photo, "-o", first, "--model", tiny_h5, *FAST, "--jitter", "5", "--normalize", "std", "-q")
    dream(capsys, "--like", first, photo, "-o", tmp_path / "again.png", "-q")
    np.testing.assert_array_equal(pixels(first), pixels(tmp_path / "again.png"))
    dream(capsys, "--like", first, photo, "-o", tmp_path / "more.png", "--steps", "3", "-q")
    more = json.loads(run_cli(["info", tmp_path / "more.png", "--json"], capsys)[1])
    assert more["settings"]["steps"] == 3 and more["settings"]["jitter"] == 5 and more["seed"] == 4
    assert more["settings"]["normalize"] == "std"
    assert (pixels(first) != pixels(tmp_path / "more.png")).any()
    other = write_photo(tmp_path / "other.png", hw=(40, 50), seed=8)
    dream(capsys, "--like", first, other, "-o", tmp_path / "other_dream.png", "--channel", "2", "-q")
    done = json.loads(run_cli(["info", tmp_path / "other_dream.png", "--json"], capsys)[1])
    assert done["objective"] == "channel" and done["settings"]["channel"] == [2]


def test_like_keeps_the_guide_mode_and_a_new_guide_starts_from_the_default(capsys, tmp_path, photo, tiny_h5):
    guide = write_photo(tmp_path / "guide.png", hw=(30, 30), seed=3)
    first = tmp_path / "google.png"
    dream(capsys, photo, "-o", first, "--model", tiny_h5, *FAST, "--guide", guide, "--guide-mode", "google", "-q")
    dream(capsys, "--like", first, photo, "-o", tmp_path / "again.png", "-q")
    np.testing.assert_array_equal(pixels(first), pixels(tmp_path / "again.png"))
    again = json.loads(run_cli(["info", tmp_path / "again.png", "--json"], capsys)[1])
    assert again["settings"]["guide_mode"] == "google"
    other = write_photo(tmp_path / "other_guide.png", hw=(30, 30), seed=9)
    dream(capsys, "--like", first, photo, "-o", tmp_path / "new.png", "--guide", other, "-q")
    new = json.loads(run_cli(["info", tmp_path / "new.png", "--json"], capsys)[1])
    assert new["settings"]["guide_mode"] == "gram"  # the target family was replaced whole, and the mode used kept


def test_like_on_another_photo_drops_the_mask_and_a_no_flag_turns_a_recorded_switch_off(capsys, tmp_path, photo,
                                                                                         tiny_h5):
    mask = tmp_path / "mask.png"
    Image.fromarray(np.full((45, 61), 255, np.uint8)).save(mask)
    first = tmp_path / "first.png"
    dream(capsys, photo, "-o", first, "--model", tiny_h5, *FAST, "--mask", mask, "--keep-colors", "-q")
    other = write_photo(tmp_path / "other.png", hw=(30, 70), seed=8)  # another shape: the mask cannot fit it
    dream(capsys, "--like", first, other, "-o", tmp_path / "o.png", "--no-keep-colors", "-q")
    done = json.loads(run_cli(["info", tmp_path / "o.png", "--json"], capsys)[1])
    assert "mask" not in done["settings"] and done["settings"]["keep_colors"] is False
    assert done["layers"] == {"mixed": 1.0}


def test_like_replays_the_default_layers_it_recorded(capsys, tmp_path, photo, tiny_h5):
    first = tmp_path / "first.png"
    dream(capsys, photo, "-o", first, "--model", tiny_h5, "--octaves", "1", "--steps", "1", "--seed", "1", "-q")
    recorded = json.loads(run_cli(["info", first, "--json"], capsys)[1])
    assert "layer" not in recorded["settings"]  # the model's default layers, not given
    dream(capsys, "--like", first, photo, "-o", tmp_path / "again.png", "-q")
    again = json.loads(run_cli(["info", tmp_path / "again.png", "--json"], capsys)[1])
    assert again["settings"]["layer"] == [[name, weight] for name, weight in recorded["layers"].items()]
    np.testing.assert_array_equal(pixels(first), pixels(tmp_path / "again.png"))


def test_quiet_loses_nothing_the_seed_is_in_the_file(capsys, tmp_path, photo, tiny_h5):
    out = tmp_path / "q.png"
    code, stdout, err = run_cli(["dream", photo, "-o", out, "--model", tiny_h5, "--layer", "mixed",
                                 "--octaves", "1", "--steps", "1", "-q"], capsys)
    assert (code, stdout, err) == (0, "", "")
    seed = json.loads(run_cli(["info", out, "--json"], capsys)[1])["seed"]
    dream(capsys, "--like", out, photo, "-o", tmp_path / "r.png", "-q")
    np.testing.assert_array_equal(pixels(out), pixels(tmp_path / "r.png"))
    assert isinstance(seed, int)


def _rewrite_record(path, change):
    with Image.open(path) as im:
        record = json.loads(im.text["numdream"])
        pixels_ = np.asarray(im)
    change(record)
    from PIL import PngImagePlugin
    info = PngImagePlugin.PngInfo()
    info.add_itxt("numdream", json.dumps(record))
    Image.fromarray(pixels_).save(path, pnginfo=info)


@pytest.mark.parametrize("change, words", [
    (lambda r: r["settings"].update(steps=10 ** 30), ["--steps", "from 0 to 100000"]),
    (lambda r: r["settings"].update(octave_scale="nan"), ["--octave-scale", "> 1.0"]),
    (lambda r: r["settings"].update(layer=[["mixed", 1e300]]), ["not a number from -1e+06 to 1e+06"]),
    (lambda r: r["settings"].update(normalize="evil"), ["--normalize", "invalid choice"]),
    (lambda r: r.update(settings="none"), ["damaged"]),
])
def test_a_hostile_record_is_refused_like_a_bad_flag(capsys, tmp_path, photo, tiny_h5, change, words):
    liked = tmp_path / "liked.png"
    dream(capsys, photo, "-o", liked, "--model", tiny_h5, *FAST, "-q")
    _rewrite_record(liked, change)
    before = fingerprint(tmp_path)
    code, out, err = run_cli(["dream", "--like", liked, photo, "-o", tmp_path / "x.png"], capsys)
    assert code == 2 and out == "" and len(err.splitlines()) == 1 and "Traceback" not in err, err
    assert all(w in err for w in words), err
    assert fingerprint(tmp_path) == before


def test_a_gallery_keeps_its_settings_too(capsys, tmp_path, photo, tiny_h5):
    sheet = tmp_path / "sheet.png"
    code, _, err = run_cli(["gallery", photo, "-o", sheet, "--layer", "mixed", "--layer", "top", "--model", tiny_h5,
                            "--octaves", "1", "--steps", "2", "-q"], capsys)
    assert code == 0, err
    record = json.loads(run_cli(["info", sheet, "--json"], capsys)[1])
    assert record["command"] == "gallery" and record["settings"]["layer"] == ["mixed", "top"]
    assert record["settings"]["steps"] == 2 and record["seed"] == 0
    assert "--layer=mixed --layer=top" in run_cli(["info", sheet], capsys)[1]


@pytest.mark.parametrize("change", [lambda r: r.update(layers=[1, 2]), lambda r: r.update(files={"input": 3}),
                                    lambda r: r.update(command=7)])
def test_info_of_a_damaged_record_is_one_line(capsys, tmp_path, photo, tiny_h5, change):
    liked = tmp_path / "liked.png"
    dream(capsys, photo, "-o", liked, "--model", tiny_h5, *FAST, "-q")
    _rewrite_record(liked, change)
    assert_one_line_error(*run_cli(["info", liked], capsys), "info", "are damaged")


def test_like_without_a_record_and_info_of_a_foreign_image_are_one_line(capsys, tmp_path, photo):
    assert_one_line_error(*run_cli(["dream", "--like", photo, photo, "-o", tmp_path / "x.png"], capsys),
                          "dream", "holds no numdream settings")
    assert_one_line_error(*run_cli(["info", photo], capsys), "info", "holds no numdream settings")
    Image.open(photo).save(tmp_path / "p.bmp")
    assert_one_line_error(*run_cli(["info", tmp_path / "p.bmp"], capsys), "info", "no place for them")


def test_like_notes_a_different_model(capsys, tmp_path, photo, tiny_h5):
    liked = tmp_path / "liked.png"
    dream(capsys, photo, "-o", liked, "--model", tiny_h5, *FAST, "-q")
    _rewrite_record(liked, lambda r: r["model"].update(sha256="0" * 64))
    err = dream(capsys, "--like", liked, photo, "-o", tmp_path / "x.png", "-q")
    assert "note: the model" in err and "the dream will differ" in err


# ---- the estimate and the budget ----------------------------------------------------------------------

def test_the_estimate_comes_before_the_first_step(capsys, tmp_path, photo, tiny_h5):
    err = dream(capsys, photo, "-o", tmp_path / "out.png", "--model", tiny_h5, *FAST)
    first = err.splitlines()[0]
    assert first.startswith("estimate: about ") and "GB of memory at most (2 octaves x 2 steps, " in first
    assert "us a pixel" in first


def test_a_run_past_the_budget_is_refused_without_a_terminal(capsys, tmp_path, photo, tiny_h5, monkeypatch):
    monkeypatch.setattr(estimate, "TIME_BUDGET", 1e-9)
    monkeypatch.setattr(estimate.over_budget, "__defaults__", (1, None, 1e-9))
    before = fingerprint(tmp_path)
    line = assert_one_line_error(*run_cli(["dream", photo, "-o", tmp_path / "out.png", "--model", tiny_h5, *FAST],
                                          capsys), "dream", "this run would take about", "longer than 0 s",
                                 "run it with --yes, or make it smaller with --max-size ")
    assert fingerprint(tmp_path) == before and "2 octaves x 2 steps" in line
    dream(capsys, photo, "-o", tmp_path / "out.png", "--model", tiny_h5, *FAST, "--yes", "-q")
    assert (tmp_path / "out.png").is_file()


@pytest.mark.parametrize("answer, runs", [("y\n", True), ("n\n", False), ("", False)])
def test_on_a_terminal_a_run_past_the_budget_is_asked_for(capsys, tmp_path, photo, tiny_h5, monkeypatch,
                                                          answer, runs):
    monkeypatch.setattr(estimate.over_budget, "__defaults__", (1, None, 1e-9))
    monkeypatch.setattr(estimate, "_interactive", lambda: True)
    asked = []

    def ask(prompt):
        asked.append(prompt)
        if not answer:
            raise EOFError
        return answer
    monkeypatch.setattr(estimate.confirm, "__defaults__", (1, False, None, ask))
    code, out, err = run_cli(["dream", photo, "-o", tmp_path / "out.png", "--model", tiny_h5, *FAST, "-q"], capsys)
    assert asked == ["Start it anyway? [y/N] "] and out == ""
    assert (code == 0) == runs and (tmp_path / "out.png").exists() == runs
    if not runs:
        assert "not started; run it with --yes" in err.splitlines()[-1]


def test_memory_past_half_the_free_memory_is_a_reason():
    e = estimate.Estimate(seconds=10, peak_bytes=6e9, rate=1e-6, sizes=[(100, 100)], steps=10, tiles=1)
    assert estimate.over_budget(e, available=10e9) == ["more than half of the 10 GB of memory free now"]
    assert estimate.over_budget(e, available=20e9) == []
    assert estimate.over_budget(e, runs=1000, available=20e9) == ["longer than 30.0 min"]
    assert 50 <= estimate.smaller_size(e, available=10e9) <= 90


def test_the_estimate_of_a_real_dream_is_in_the_right_range():
    """The bundled model on the bundled photo: the calibrated time is within a factor of three
    of the real run's, whatever the machine's load (both are measured now); memory too."""
    from numdream.dream import run_dream
    from numdream.dreamplan import plan_dream
    model = numdream.load_model()
    plan = plan_dream(numdream.load_image(dream_command.sample_path()), model, octaves=2, steps=2, seed=0,
                      progress=False)
    guess = estimate.estimate_dream(plan)
    import time
    start = time.perf_counter()
    run_dream(plan)
    seconds = time.perf_counter() - start
    assert seconds / 3 < guess.seconds < seconds * 3, (guess.seconds, seconds)
    assert 0.02e9 < guess.peak_bytes < 2e9


# ---- outputs: alpha, gray, seeds, octaves, GIFs, pipes --------------------------------------------------

def _rgba_photo(path):
    rgb = pixels(write_photo(path.with_suffix(".tmp.png"))).astype(np.uint8)
    alpha = np.tile(np.linspace(0, 255, rgb.shape[1]).astype(np.uint8), (rgb.shape[0], 1))
    alpha[:5] = 255
    Image.fromarray(np.dstack([rgb, alpha])).save(path)
    path.with_suffix(".tmp.png").unlink()
    return alpha


@pytest.mark.parametrize("ext, mode", [(".png", "RGBA"), (".webp", "RGBA"), (".tif", "RGBA"), (".jpg", "RGB")])
def test_an_rgba_photo_keeps_its_alpha(capsys, tmp_path, tiny_h5, ext, mode):
    alpha = _rgba_photo(tmp_path / "rgba.png")
    out = tmp_path / f"out{ext}"
    dream(capsys, tmp_path / "rgba.png", "-o", out, "--model", tiny_h5, *FAST, "-q")
    with Image.open(out) as im:
        assert im.mode == mode
        if mode == "RGBA":
            np.testing.assert_array_equal(np.asarray(im)[:, :, 3], alpha)
        else:  # JPEG: composited over white, so the transparent left edge is near white
            assert np.asarray(im)[10:, :2].mean() > 240


def test_gray_writes_a_gray_dream_and_a_gray_photo_is_told(capsys, tmp_path, tiny_h5):
    gray = pixels(write_photo(tmp_path / "c.png"))[:, :, 0].astype(np.uint8)
    Image.fromarray(gray).save(tmp_path / "gray.png")
    err = dream(capsys, tmp_path / "gray.png", "-o", tmp_path / "colour.png", "--model", tiny_h5, *FAST)
    assert "note: the photo is gray, the dream is in colour (--gray keeps it gray)" in err
    dream(capsys, tmp_path / "gray.png", "-o", tmp_path / "g.png", "--model", tiny_h5, *FAST, "--gray", "-q")
    with Image.open(tmp_path / "g.png") as im:
        assert im.mode == "L" and np.abs(np.asarray(im).astype(int) - gray).mean() > 2


def test_seeds_make_one_dream_each_with_one_model_load(capsys, tmp_path, photo, tiny_h5, monkeypatch):
    loads = []
    real = dream_command.load_model
    monkeypatch.setattr(dream_command, "load_model", lambda *a: loads.append(a) or real(*a))
    flags = [f for f in FAST if f not in ("--seed", "4")]
    err = dream(capsys, photo, "-o", tmp_path / "d.png", "--model", tiny_h5, *flags, "--seeds", "0-1,7")
    names = ["d_seed0.png", "d_seed1.png", "d_seed7.png"]
    assert len(loads) == 1 and [n for n in names if (tmp_path / n).is_file()] == names
    assert "3 dreams" in err.splitlines()[0]
    images = [pixels(tmp_path / n) for n in names]
    assert (images[0] != images[1]).any() and (images[1] != images[2]).any()
    for name, seed in zip(names, (0, 1, 7)):
        assert json.loads(run_cli(["info", tmp_path / name, "--json"], capsys)[1])["seed"] == seed
    dream(capsys, photo, "-o", tmp_path / "one.png", "--model", tiny_h5, *flags, "--seed", "7", "-q")
    np.testing.assert_array_equal(pixels(tmp_path / "one.png"), images[2])


@pytest.mark.parametrize("flags, words", [
    (["--seeds", "0-5000"], ["more than 1000 seeds"]),
    (["--seeds", "3-1"], ["low <= high"]),
    (["--seeds", "a"], ["not a list of seeds"]),
    (["--seeds", "0-1", "--seed", "3"], ["--seed 3 and --seeds"]),
    (["--every", "2"], ["--every 2", "-o NAME.gif"]),
    (["--every", "0", "-o", "x.gif"], ["from 1 to 100000"]),
    (["--max-size", "99999999999"], ["from 1 to 65535"]),
    (["-o", "-", "--seeds", "1,2"], ["-o - writes one picture"]),
    (["--save-octaves", "photo.png"], ["is not a folder"]),
    (["--save-octaves", "no/such"], ["folder 'no' does not exist"]),
    (["--mask", "photo.png", "--init", "noise"], ["mask 'photo.png' is 61x45 and the image 512x512"]),
    (["--keep-colors", "--init", "noise", "-o", "n.png"], ["--keep-colors is used only with a photo"]),
])
def test_new_flags_refuse_bad_values_in_one_line(capsys, tmp_path, photo, tiny_h5, monkeypatch, flags, words):
    monkeypatch.chdir(tmp_path)
    before = fingerprint(tmp_path)
    argv = ["dream", *([] if "--init" in flags else ["photo.png"]), "--model", tiny_h5, *FAST[:-2], *flags]
    if "-o" not in flags:
        argv += ["-o", "out.png"]
    assert_one_line_error(*run_cli(argv, capsys), "dream", *words)
    assert fingerprint(tmp_path) == before


def test_save_octaves_writes_the_picture_after_each_octave(capsys, tmp_path, photo, tiny_h5):
    dream(capsys, photo, "-o", tmp_path / "d.png", "--model", tiny_h5, *FAST, "--octaves", "3",
          "--save-octaves", tmp_path / "oct", "-q")
    files = sorted((tmp_path / "oct").iterdir())
    assert [f.name for f in files] == ["d_octave1.png", "d_octave2.png", "d_octave3.png"]
    sizes = [Image.open(f).size for f in files]
    assert sizes[0] < sizes[1] < sizes[2] == (61, 45)
    np.testing.assert_array_equal(pixels(files[-1]), pixels(tmp_path / "d.png"))
    assert json.loads(run_cli(["info", files[0], "--json"], capsys)[1])["octave"] == 1


def test_save_octaves_replaces_its_own_octaves_and_never_a_file_it_did_not_write(capsys, tmp_path, photo, tiny_h5):
    argv = [photo, "-o", tmp_path / "d.png", "--model", tiny_h5, *FAST, "--save-octaves", tmp_path / "oct", "-q"]
    dream(capsys, *argv)
    dream(capsys, *argv)  # a rerun replaces the octaves numdream wrote
    (tmp_path / "oct" / "d_octave2.png").write_bytes(b"mine")
    before = fingerprint(tmp_path)
    code, out, err = run_cli(["dream", *argv], capsys)
    assert_one_line_error(code, out, err, "dream", "d_octave2.png", "numdream did not write it")
    assert fingerprint(tmp_path) == before


def test_a_run_refused_before_its_first_step_leaves_no_octave_folder(capsys, tmp_path, photo, tiny_h5):
    code, out, err = run_cli(["dream", photo, "-o", tmp_path / "d.png", "--model", tiny_h5, *FAST, "--layer", "nope",
                              "--save-octaves", tmp_path / "oct", "-q"], capsys)
    assert code == 2 and not (tmp_path / "oct").exists()


def test_a_gif_output_is_a_movie_of_the_steps(capsys, tmp_path, photo, tiny_h5):
    dream(capsys, photo, "-o", tmp_path / "d.gif", "--model", tiny_h5, *FAST, "--octaves", "3", "--steps", "3",
          "--every", "2", "-q")
    with Image.open(tmp_path / "d.gif") as gif:
        assert gif.n_frames == 1 + 4 + 1 and gif.size == (61, 45)  # the start, steps 2, 4, 6, 8 and the last
        first = np.asarray(gif.convert("RGB")).astype(int)
        gif.seek(gif.n_frames - 1)
        last = np.asarray(gif.convert("RGB")).astype(int)
    # the first frame is the undreamed photo and the last one the dream, each through a GIF's palette
    Image.open(photo).save(tmp_path / "photo.gif")
    np.testing.assert_allclose(first, pixels(tmp_path / "photo.gif"), atol=40)
    assert np.abs(first - pixels(tmp_path / "photo.gif")).mean() < 1
    assert np.abs(last - pixels(tmp_path / "photo.gif")).mean() > 3


def test_stdin_to_stdout_is_a_png_and_nothing_else(tmp_path, photo, tiny_h5):
    import subprocess
    import sys
    from cli_helpers import subprocess_env
    argv = [sys.executable, "-m", "numdream", "dream", "-", "-o", "-", "--model", str(tiny_h5), *FAST]
    done = subprocess.run(argv, input=photo.read_bytes(), capture_output=True, env=subprocess_env(), timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(b"\x89PNG\r\n\x1a\n")
    (tmp_path / "piped.png").write_bytes(done.stdout)
    assert b"wrote standard output (PNG, 61x45, seed 4" in done.stderr
    again = tmp_path / "file.png"
    subprocess.run([*argv[:4], str(photo), "-o", str(again), *argv[7:]], check=True, env=subprocess_env(),
                   capture_output=True, timeout=300)
    np.testing.assert_array_equal(pixels(tmp_path / "piped.png"), pixels(again))
    no_name = subprocess.run(argv[:5] + argv[7:], input=photo.read_bytes(), capture_output=True,
                             env=subprocess_env(), timeout=300)
    assert no_name.returncode == 2 and b"standard input has no name" in no_name.stderr and not no_name.stdout
    garbage = subprocess.run(argv, input=b"not an image", capture_output=True, env=subprocess_env(), timeout=300)
    assert garbage.returncode == 2 and b"cannot read image 'standard input'" in garbage.stderr
    assert garbage.stdout == b""


def test_mask_keep_colors_and_max_size_reach_the_engine(capsys, tmp_path, photo, tiny_h5):
    mask = np.zeros((45, 61), np.uint8)
    mask[:, :30] = 255
    Image.fromarray(mask).save(tmp_path / "mask.png")
    dream(capsys, photo, "-o", tmp_path / "m.png", "--model", tiny_h5, *FAST, "--mask", tmp_path / "mask.png", "-q")
    out, original = pixels(tmp_path / "m.png"), pixels(photo)
    np.testing.assert_array_equal(out[:, 30:], original[:, 30:])
    assert np.abs(out[:, :30] - original[:, :30]).mean() > 2
    dream(capsys, photo, "-o", tmp_path / "s.png", "--model", tiny_h5, *FAST, "--max-size", "40", "-q")
    assert Image.open(tmp_path / "s.png").size == (40, 30)
    before = snapshot(tmp_path / "mask.png")
    assert_one_line_error(*run_cli(["dream", photo, "-o", tmp_path / "mask.png", "--mask", tmp_path / "mask.png",
                                    "--model", tiny_h5, *FAST], capsys), "dream", "is the input image")
    assert snapshot(tmp_path / "mask.png") == before


def test_standard_input_is_read_within_a_bound(capsys, tmp_path, tiny_h5, monkeypatch):
    import io
    from numdream.errors import ImageError
    from numdream.fileio import read_bounded
    assert read_bounded(io.BytesIO(b"x" * 10), 10, "standard input") == b"x" * 10
    with pytest.raises(ImageError, match="standard input holds more than 10 bytes; give a file instead"):
        read_bounded(io.BytesIO(b"x" * 11), 10, "standard input", ImageError)
    monkeypatch.setattr(dream_command, "STDIN_LIMIT", 100)

    class Stdin:
        buffer = io.BytesIO(b"\x89PNG" + b"\0" * 200)
    monkeypatch.setattr("sys.stdin", Stdin)
    assert_one_line_error(*run_cli(["dream", "-", "-o", tmp_path / "o.png", "--model", tiny_h5, *FAST], capsys),
                          "dream", "standard input holds more than 100 bytes")
    assert not (tmp_path / "o.png").exists()


def test_info_on_an_image_pillow_refuses_to_open_is_one_line(capsys, tmp_path, photo, monkeypatch):
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 100)  # the photo's 61x45 is then a decompression bomb
    code, out, err = run_cli(["info", photo], capsys)
    assert_one_line_error(code, out, err, "info", "cannot read image", "decompression bomb")
