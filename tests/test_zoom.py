"""The zoom loop: the zoom/rotate transform, bit-for-bit resume, settings checks, GIF/MP4, CLI errors."""
import sys

import numpy as np
import pytest
from PIL import Image

from numdream.cli import main
from numdream.errors import NumdreamError
from numdream.images import load_image, sample_path
from numdream.model import Model
from numdream.modelfile import write_model
from numdream.frames import frame_path, frame_seed
from numdream.zoom import zoom_frames, zoom_image
from tiny_model import tiny_spec

PHOTO = load_image(sample_path())[::6, ::6]  # (50, 76, 3)
DREAM = dict(layers="mixed", octaves=2, steps=2)
CLI_DREAM = ["--layer", "mixed", "--octaves", "2", "--steps", "2", "-q"]


@pytest.fixture(scope="module")
def tiny_h5(tmp_path_factory):
    path = tmp_path_factory.mktemp("model") / "tiny.h5"
    write_model(path, tiny_spec())
    return path


def _frames(folder, count):
    return [load_image(frame_path(folder, i)) for i in range(count)]


def test_zoom_zero_rotate_is_identity_and_quarter_turns_match_rot90():
    image = np.random.default_rng(0).integers(0, 256, (9, 9, 3), dtype=np.uint8)
    assert np.array_equal(zoom_image(image, 0.0), image)
    assert np.array_equal(zoom_image(image, 0.0, 90), np.rot90(image, 1))    # counter-clockwise
    assert np.array_equal(zoom_image(image, 0.0, -90), np.rot90(image, -1))


def test_zoom_magnifies_the_centre_by_one_over_one_minus_zoom():
    image = np.zeros((101, 101, 3), dtype=np.uint8)
    image[30:71, 30:71] = 255                  # a 41-pixel white square, centred
    out = zoom_image(image, 0.2)               # magnified by 1.25 -> about 51 pixels
    row = out[50, :, 0]
    assert out.shape == image.shape and out.dtype == np.uint8
    assert np.count_nonzero(row >= 128) in (51, 52)
    assert row[50] == 255 and row[0] == 0


def test_frame_seeds_are_fixed_and_differ_between_frames():
    assert frame_seed(7, 3) == frame_seed(7, 3)
    assert len({frame_seed(7, i) for i in range(50)} | {frame_seed(8, 0)}) == 51


def test_a_resumed_run_writes_exactly_the_frames_of_an_uninterrupted_one(tmp_path):
    model = Model(tiny_spec())
    whole = zoom_frames(PHOTO, tmp_path / "whole", 4, zoom=0.1, rotate=5, model=model, seed=3, progress=False,
                        **DREAM)
    assert [p.name for p in whole] == [f"frame_0000{i}.png" for i in range(4)]

    calls = []

    def stop_in_frame_2(octave, step, image):  # 4 steps a frame: call 9 is inside frame 2
        calls.append(1)
        if len(calls) == 9:
            raise KeyboardInterrupt
    with pytest.raises(KeyboardInterrupt):
        zoom_frames(PHOTO, tmp_path / "resumed", 4, zoom=0.1, rotate=5, model=model, seed=3, progress=False,
                    callback=stop_in_frame_2, **DREAM)
    assert sorted(p.name for p in (tmp_path / "resumed").glob("frame_*")) == ["frame_00000.png", "frame_00001.png"]

    calls.clear()
    zoom_frames(PHOTO, tmp_path / "resumed", 4, zoom=0.1, rotate=5, model=model, seed=3, progress=False,
                callback=lambda *_: calls.append(1), **DREAM)
    assert len(calls) == 2 * 4  # only frames 2 and 3 were dreamed again
    for a, b in zip(_frames(tmp_path / "whole", 4), _frames(tmp_path / "resumed", 4)):
        assert np.array_equal(a, b)
    # and the loop really zooms: frame 1 is not frame 0 dreamed again in place
    first, second = _frames(tmp_path / "whole", 2)
    assert not np.array_equal(first, second)


def test_resuming_with_other_settings_is_refused(tmp_path):
    model = Model(tiny_spec())
    zoom_frames(PHOTO, tmp_path, 1, zoom=0.1, model=model, seed=0, progress=False, **DREAM)
    with pytest.raises(NumdreamError, match=r"other settings \(zoom: 0.1 then, 0.2 now\)"):
        zoom_frames(PHOTO, tmp_path, 2, zoom=0.2, model=model, seed=0, progress=False, **DREAM)
    with pytest.raises(NumdreamError, match="other settings .input"):
        zoom_frames(PHOTO[:, ::-1], tmp_path, 2, zoom=0.1, model=model, seed=0, progress=False, **DREAM)
    # more frames with the same settings is a resume, not a conflict
    assert len(zoom_frames(PHOTO, tmp_path, 2, zoom=0.1, model=model, seed=0, progress=False, **DREAM)) == 2


def test_a_zoom_can_start_from_noise(tmp_path):
    paths = zoom_frames(None, tmp_path, 2, model=Model(tiny_spec()), progress=False, init="noise", size=(40, 30),
                        **DREAM)
    first, second = (load_image(p) for p in paths)
    assert first.shape == second.shape == (30, 40, 3) and not np.array_equal(first, second)


def test_cli_writes_frames_gif_and_mp4(tmp_path, tiny_h5, capsys):
    import imageio.v2 as imageio
    photo = tmp_path / "photo.png"
    Image.fromarray(PHOTO).save(photo)
    code = main(["zoom", str(photo), "-o", str(tmp_path / "frames"), "--frames", "3", "--zoom", "0.1",
                 "--gif", str(tmp_path / "z.gif"), "--mp4", str(tmp_path / "z.mp4"), "--fps", "5",
                 "--model", str(tiny_h5), *CLI_DREAM])
    assert code == 0, capsys.readouterr().err
    frames = _frames(tmp_path / "frames", 3)
    assert all(f.shape == PHOTO.shape for f in frames)
    with Image.open(tmp_path / "z.gif") as gif:
        assert gif.n_frames == 3 and gif.size == (76, 50) and gif.info["duration"] == 200
    video = imageio.get_reader(tmp_path / "z.mp4")
    decoded = [f for f in video]
    assert len(decoded) == 3 and decoded[0].shape == (50, 76, 3) and video.get_meta_data()["fps"] == 5
    assert np.abs(decoded[2].astype(int) - frames[2]).mean() < 8  # lossy, but the same picture
    assert not list(tmp_path.glob(".*"))  # no temp files left


def test_cli_without_imageio_says_how_to_install_it(tmp_path, tiny_h5, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "imageio", None)
    monkeypatch.setitem(sys.modules, "imageio.v2", None)
    code = main(["zoom", "-o", str(tmp_path / "frames"), "--gif", str(tmp_path / "z.gif"),
                 "--model", str(tiny_h5), *CLI_DREAM])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1
    assert "pip install 'numdream[video]'" in err
    assert not (tmp_path / "frames").exists()  # refused before any dreaming


@pytest.mark.parametrize("flags, message", [
    (["--zoom", "1.5"], "zoom must be a number in [0, 1), got 1.5"),
    (["--gif", "{tmp}/z.png"], "must end in .gif"),
    (["--mp4", "{tmp}/nowhere/z.mp4"], "folder"),
    (["--init", "noise", "photo.png"], "--init noise starts from noise and would ignore INPUT 'photo.png'"),
])
def test_cli_bad_values_are_one_line_errors(tmp_path, tiny_h5, capsys, flags, message):
    flags = [f.format(tmp=tmp_path) for f in flags]
    code = main(["zoom", "-o", str(tmp_path / "frames"), "--model", str(tiny_h5), *flags, *CLI_DREAM])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and message in err and "Traceback" not in err


def test_cli_max_size_shrinks_every_frame_and_the_gif_is_sized_for_them(tmp_path, capsys, monkeypatch):
    pytest.importorskip("imageio")
    from cli_helpers import run_cli, write_photo, write_tiny_model
    from numdream import movie
    photo = write_photo(tmp_path / "photo.png", hw=(60, 90))
    seen = []
    real = movie.check_movie_size
    monkeypatch.setattr("numdream.cli.zoom.check_movie_size", lambda path, count, hw: seen.append(hw) or
                        real(path, count, hw))
    code, _, err = run_cli(["zoom", photo, "-o", tmp_path / "frames", "--frames", "2", "--max-size", "45",
                            "--model", write_tiny_model(tmp_path / "tiny.h5"), "--layer", "mixed", "--octaves", "1",
                            "--steps", "1", "--gif", tmp_path / "z.gif", "-q"], capsys)
    assert (code, err) == (0, "")
    assert seen == [(30, 45)]
    with Image.open(tmp_path / "z.gif") as gif:
        assert gif.size == (45, 30)
