"""``numdream dream``: outputs, default paths, seeds, every option, and one-line errors.

Most runs use the tiny model of tests/tiny_model.py saved as an HDF5 file (--model), so a dream
takes a fraction of a second; one smoke test dreams with the real InceptionV3.
"""
import os
import re

import numpy as np
import pytest
from PIL import Image

from cli_helpers import (assert_one_line_error, pixels, run_cli, run_subprocess, snapshot,
                         write_photo, write_tiny_model)
from numdream.dream import evaluate
from numdream.images import load_image, sample_path
from numdream.model import load_model

OLD = 1_000_000_000  # an mtime (2001) that any write to the input would change


@pytest.fixture(scope="module")
def tiny_h5(tmp_path_factory):
    return write_tiny_model(tmp_path_factory.mktemp("model") / "tiny.h5")


@pytest.fixture
def photo(tmp_path):
    path = write_photo(tmp_path / "photo.png")
    os.utime(path, ns=(OLD, OLD))
    return path


@pytest.fixture
def fast(tiny_h5):
    """Flags for a quick, quiet, seeded dream on the tiny model."""
    return ["--model", tiny_h5, "--layer", "mixed", "--octaves", "2", "--steps", "2", "--seed", "0", "-q"]


def changed(out, photo):
    """Mean absolute pixel change from the photo to the dream."""
    return np.abs(pixels(out) - pixels(photo)).mean()


@pytest.mark.parametrize("ext,fmt", [(".png", "PNG"), (".jpg", "JPEG"), (".webp", "WEBP")])
def test_dream_writes_the_format_of_its_extension_and_leaves_the_input_alone(
        capsys, tmp_path, photo, fast, ext, fmt):
    before = snapshot(photo)
    out = tmp_path / f"out{ext}"
    code, stdout, err = run_cli(["dream", photo, "-o", out, *fast], capsys)
    assert (code, stdout, err) == (0, "", "")
    with Image.open(out) as im:
        assert (im.format, im.size, im.mode) == (fmt, (61, 45), "RGB")
    assert changed(out, photo) > 2
    assert snapshot(photo) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["photo.png", out.name])  # no temp files


def test_default_output_lands_beside_the_input_and_never_overwrites(
        capsys, tmp_path, photo, fast, monkeypatch):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    assert run_cli(["dream", photo, *fast], capsys)[0] == 0
    first = snapshot(tmp_path / "photo_dream.png")
    assert run_cli(["dream", photo, *fast[:-3], "--seed", "1", "-q"], capsys)[0] == 0
    assert snapshot(tmp_path / "photo_dream.png") == first
    assert (pixels(tmp_path / "photo_dream_2.png") != pixels(tmp_path / "photo_dream.png")).any()
    assert list(elsewhere.iterdir()) == []


def test_without_input_the_bundled_cat_dreams_into_the_current_folder(capsys, tmp_path, fast, monkeypatch):
    monkeypatch.chdir(tmp_path)
    sample = snapshot(sample_path())
    code, _, err = run_cli(["dream", *fast[:-1]], capsys)
    assert code == 0
    assert err.splitlines()[-1].startswith("wrote chelsea_dream.png (451x300, seed 0, ")
    assert pixels(tmp_path / "chelsea_dream.png").shape == (300, 451, 3)
    assert changed(tmp_path / "chelsea_dream.png", sample_path()) > 1
    assert snapshot(sample_path()) == sample


def test_same_seed_gives_the_same_bits_and_another_seed_another_picture(capsys, tmp_path, photo, fast):
    outs = [tmp_path / name for name in ("a.png", "b.png", "c.png")]
    for out, seed in zip(outs, ["7", "7", "8"]):
        assert run_cli(["dream", photo, "-o", out, *fast, "--seed", seed], capsys)[0] == 0
    assert outs[0].read_bytes() == outs[1].read_bytes()
    assert (pixels(outs[0]) != pixels(outs[2])).any()


def test_the_printed_seed_reproduces_the_picture(capsys, tmp_path, photo, tiny_h5):
    flags = ["--model", tiny_h5, "--layer", "mixed", "--octaves", "2", "--steps", "2"]
    code, stdout, err = run_cli(["dream", photo, "-o", tmp_path / "a.png", *flags], capsys)
    assert code == 0 and stdout == ""
    assert "dreaming" in err  # the progress bar, on stderr
    summary = err.splitlines()[-1]
    found = re.fullmatch(r"wrote (\S+) \(61x45, seed (\d+), [\d.]+ s\)", summary)
    assert found and found.group(1) == str(tmp_path / "a.png"), summary
    again = ["dream", photo, "-o", tmp_path / "b.png", *flags, "--seed", found.group(2), "-q"]
    assert run_cli(again, capsys) == (0, "", "")
    np.testing.assert_array_equal(pixels(tmp_path / "a.png"), pixels(tmp_path / "b.png"))


@pytest.mark.parametrize("options", [
    ["--channel", "3"],
    ["--channel", "1,5,9"],
    ["--objective", "channel", "--channel", "0"],
    ["--neuron", "2"],
    ["--neuron", "2:1:3"],
    ["--guide", "GUIDE"],
    ["--objective", "mean"],
    ["--normalize", "laplacian"],
    ["--normalize", "std"],
    ["--smooth", "1"],
    ["--tile-size", "20"],
    ["--jitter", "0"],
    ["--step-size", "4", "--octave-scale", "1.7"],
    ["--layer", "top:0.5", "--layer", "norm1:2"],
])
def test_each_option_runs_and_changes_the_dream(capsys, tmp_path, photo, fast, options):
    """Every option gives a picture of its own: different from the photo and from the plain dream."""
    guide = write_photo(tmp_path / "guide.jpg", hw=(30, 50), seed=9)
    options = [str(guide) if o == "GUIDE" else o for o in options]
    plain, out = tmp_path / "plain.png", tmp_path / "out.png"
    assert run_cli(["dream", photo, "-o", plain, *fast], capsys) == (0, "", "")
    assert run_cli(["dream", photo, "-o", out, *fast, *options], capsys) == (0, "", "")
    assert changed(out, photo) > 1
    assert (pixels(out) != pixels(plain)).any()


def test_noise_init_dreams_a_picture_of_the_given_size(capsys, tmp_path, fast, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert run_cli(["dream", "--init", "noise", "--size", "40x30", *fast], capsys)[0] == 0
    out = load_image(tmp_path / "noise_dream.png")
    assert out.shape == (30, 40, 3) and out.std() > 5


@pytest.mark.slow
def test_real_model_smoke_run_raises_the_energy_of_the_default_layers(capsys, tmp_path):
    photo = tmp_path / "cat.png"
    Image.fromarray(load_image(sample_path())[100:190, 150:270]).save(photo)
    out = tmp_path / "cat_dream.png"
    code, _, err = run_cli(["dream", photo, "--octaves", "2", "--steps", "2", "--seed", "0"], capsys)
    assert code == 0 and err.splitlines()[-1].startswith(f"wrote {out} (120x90, seed 0, ")
    model = load_model()
    assert evaluate(out, model=model) > 1.1 * evaluate(photo, model=model)  # measured: 1.23


# ---- errors: one line on stderr, exit 2, no traceback, input untouched, no output -------------

ERRORS = [  # (arguments after the photo, fragments the one error line must hold)
    (["--steps", "-1"], ["--steps", "'-1'", "from 0 to 100000"]),
    (["--steps", "abc"], ["--steps", "'abc'", "whole number"]),
    (["--octaves", "0"], ["--octaves", "'0'", "from 1 to 100"]),
    (["--octave-scale", "1"], ["--octave-scale", "'1'", "> 1.0"]),
    (["--step-size", "0"], ["--step-size", "'0'", "> 0.0"]),
    (["--smooth", "-1"], ["--smooth", "'-1'", ">= 0.0"]),
    (["--jitter", "1.5"], ["--jitter", "'1.5'"]),
    (["--seed", "-3"], ["--seed", "'-3'"]),
    (["--size", "10"], ["--size", "'10'", "WIDTHxHEIGHT"]),
    (["--layer", "mixed3:abc"], ["'mixed3:abc'", "weight 'abc'", "NAME:WEIGHT"]),
    (["--layer", "mixed:inf"], ["'mixed:inf'", "not a number from -1e+06 to 1e+06"]),
    (["--layer", ":2"], ["':2'", "no layer name"]),
    (["--neuron", "1:2"], ["'1:2'", "CHANNEL:Y:X"]),
    (["--channel", "a"], ["'a'", "channel"]),
    (["--layer", "mixd"], ["unknown layer 'mixd'", "did you mean mixed"]),
    (["--channel", "16"], ["channel 16", "'mixed'", "0 to 15"]),
    (["--neuron", "2:100:1"], ["position (100, 1)", "outside layer 'mixed'", "10x14"]),
    (["--objective", "channel"], ["objective 'channel'", "--channel"]),
    (["--objective", "guide"], ["objective 'guide'", "--guide"]),
    (["--channel", "3", "--neuron", "2"], ["--channel 3", "objective is 'neuron'"]),
    (["--objective", "l2", "--guide", "GUIDE"], ["--guide", "objective is 'l2'"]),
    (["--size", "40x30"], ["--size 40x30", "--init noise"]),
    (["--init", "noise"], ["--init noise", "'PHOTO'"]),
    (["--tile-size", "5"], ["tile size 5", "at least 14"]),
    (["--guide", "missing.png"], ["missing.png", "no such file"]),
    (["-o", "PHOTO"], ["is the input image"]),
    (["-o", "./photo.png"], ["'./photo.png' is the input image"]),
    (["-o", "link.png"], ["'link.png' is the input image"]),
    (["-o", "out.avi"], ["'.avi'", ".png, .jpg", ".gif (a GIF of the steps)", "- (a PNG on standard output)"]),
    (["-o", "missing/out.png"], ["folder 'missing' does not exist"]),
    (["-o", "GUIDE", "--guide", "GUIDE"], ["is the input image"]),
]


@pytest.mark.parametrize("options,fragments", ERRORS, ids=[" ".join(e[0]) for e in ERRORS])
def test_a_bad_option_is_one_error_line(capsys, tmp_path, photo, fast, monkeypatch, options, fragments):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "link.png").symlink_to(photo)
    guide = write_photo(tmp_path / "guide.png", seed=4)
    fill = {"PHOTO": str(photo), "GUIDE": str(guide)}
    options = [fill.get(o, o) for o in options]
    fragments = [f.replace("PHOTO", str(photo)) for f in fragments]
    before, files = snapshot(photo), sorted(tmp_path.iterdir())
    assert_one_line_error(*run_cli(["dream", photo, *fast, *options], capsys), "dream", *fragments)
    assert snapshot(photo) == before
    assert sorted(tmp_path.iterdir()) == files


@pytest.mark.parametrize("name,make,fragments", [
    ("missing.png", None, ["'missing.png'", "no such file"]),
    ("folder.png", lambda p: p.mkdir(), ["'folder.png'", "is a directory"]),
    ("corrupt.png", lambda p: p.write_bytes(b"\x89PNG\r\n\x1a\n" + b"garbage" * 9),
     ["'corrupt.png'", "corrupt"]),
])
def test_an_unreadable_input_is_one_error_line(capsys, tmp_path, fast, monkeypatch, name, make, fragments):
    monkeypatch.chdir(tmp_path)
    if make:
        make(tmp_path / name)
    before = sorted(tmp_path.iterdir())
    assert_one_line_error(*run_cli(["dream", name, *fast], capsys), "dream", *fragments)
    assert sorted(tmp_path.iterdir()) == before


@pytest.mark.parametrize("layer,fragments", [
    ("mixed5a", ["unknown layer 'mixed5a'", "did you mean mixed5"]),
    ("mixed5:1.5 --channel 768", ["channel 768", "'mixed5'", "0 to 767"]),
])
def test_real_model_names_the_valid_layers_and_channels(capsys, tmp_path, photo, layer, fragments):
    name, *rest = layer.split()
    args = ["dream", photo, "-o", tmp_path / "out.png", "--layer", name, *rest, "-q"]
    assert_one_line_error(*run_cli(args, capsys), "dream", *fragments)


@pytest.mark.parametrize("args,fragments", [
    ([], None),
    (["missing.png"], ["'missing.png'", "no such file"]),
    (["PHOTO", "--steps", "abc"], ["--steps", "'abc'"]),
    (["PHOTO", "--layer", "mixd"], ["unknown layer 'mixd'"]),
    (["PHOTO", "-o", "PHOTO"], ["is the input image"]),
])
def test_as_a_program_errors_exit_2_without_traceback(tmp_path, photo, tiny_h5, args, fragments):
    args = [str(photo) if a == "PHOTO" else a for a in args] or [str(photo), "-o", "out.png"]
    before = snapshot(photo)
    done = run_subprocess(["dream", *args, "--model", tiny_h5, "--layer", "mixed", "--octaves", "1",
                           "--steps", "1"], cwd=tmp_path)
    assert "Traceback" not in done.stderr
    if fragments is None:
        assert done.returncode == 0 and (tmp_path / "out.png").is_file(), done.stderr
        assert done.stderr.splitlines()[-1].startswith("wrote out.png (61x45, seed ")
    else:
        assert_one_line_error(done.returncode, done.stdout, done.stderr, "dream", *fragments)
    assert snapshot(photo) == before
