"""Dreaming a video: blending, the encoded result, bit-for-bit resume, CLI and its errors."""
import sys

import numpy as np
import pytest

from cli_helpers import run_cli
from numdream.cli import main
from numdream.dream import dream
from numdream.errors import NumdreamError
from numdream.images import load_image
from numdream.model import Model
from numdream.modelfile import write_model
from numdream.frames import frame_path
from numdream.video import blend_frames, dream_video, work_folder
from tiny_model import tiny_spec

imageio = pytest.importorskip("imageio.v2")  # the test extra installs it; CI fails on skips

DREAM = dict(layers="mixed", octaves=2, steps=2)
CLI_DREAM = ["--layer", "mixed", "--octaves", "2", "--steps", "2", "-q"]


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    """A synthetic 8-frame 64x48 MP4 at 8 fps: a random texture sliding right, 2 pixels a frame."""
    path = tmp_path_factory.mktemp("video") / "clip.mp4"
    texture = np.random.default_rng(0).integers(0, 256, (48, 64, 3)).astype(np.uint8)
    writer = imageio.get_writer(path, fps=8, codec="libx264", macro_block_size=1, pixelformat="yuv420p")
    for t in range(8):
        writer.append_data(np.roll(texture, 2 * t, axis=1))
    writer.close()
    return path


@pytest.fixture(scope="module")
def tiny_h5(tmp_path_factory):
    path = tmp_path_factory.mktemp("model") / "tiny.h5"
    write_model(path, tiny_spec())
    return path


def _decode(path):
    reader = imageio.get_reader(path)
    frames = [np.asarray(f) for f in reader]
    return frames, reader.get_meta_data()["fps"]


def test_blend_mixes_and_rounds():
    frame = np.full((2, 3, 3), 100, np.uint8)
    dreamed = np.full((2, 3, 3), 201, np.uint8)
    assert np.all(blend_frames(frame, dreamed, 0.5) == 150)    # 150.5 rounds to even
    assert np.all(blend_frames(frame, dreamed, 0.25) == 125)   # 0.75 * 100 + 0.25 * 201 = 125.25
    assert blend_frames(frame, None, 0.5) is frame
    with pytest.raises(NumdreamError, match="same size"):
        blend_frames(frame, dreamed[:1], 0.5)


def test_each_frame_is_the_dream_of_the_frame_blended_with_the_last_dream(tmp_path, clip):
    model = Model(tiny_spec())
    out = dream_video(clip, tmp_path / "out.mp4", blend=0.4, keep_frames=True, model=model, seed=5,
                      progress=False, flow=None, **DREAM)
    inputs, fps = _decode(clip)
    dreamed = [load_image(frame_path(work_folder(out), t)) for t in range(8)]
    expected = dream(inputs[0], model=model, seed=5, progress=False, **DREAM)
    assert np.array_equal(dreamed[0], expected)
    expected = dream(blend_frames(inputs[3], dreamed[2], 0.4), model=model, seed=5, progress=False, **DREAM)
    assert np.array_equal(dreamed[3], expected)
    assert not np.array_equal(dreamed[3], dream(inputs[3], model=model, seed=5, progress=False, **DREAM))

    encoded, out_fps = _decode(out)
    assert len(encoded) == 8 and out_fps == fps == 8
    assert encoded[0].shape == (48, 64, 3)
    assert np.abs(encoded[5].astype(int) - dreamed[5]).mean() < 12  # lossy H.264, same picture


def test_an_interrupted_run_resumes_to_the_same_frames_and_cleans_up(tmp_path, clip):
    model = Model(tiny_spec())
    whole = dream_video(clip, tmp_path / "whole.mp4", keep_frames=True, model=model, progress=False, flow="none",
                        **DREAM)

    calls = []

    def stop_in_frame_5(octave, step, image):  # 4 steps a frame: call 22 is inside frame 5
        calls.append(1)
        if len(calls) == 22:
            raise KeyboardInterrupt
    out = tmp_path / "resumed.mp4"
    with pytest.raises(KeyboardInterrupt):
        dream_video(clip, out, model=model, progress=False, callback=stop_in_frame_5, flow="none", **DREAM)
    assert not out.exists()
    assert len(list(work_folder(out).glob("frame_*.png"))) == 5

    calls.clear()
    dream_video(clip, out, model=model, progress=False, callback=lambda *_: calls.append(1), flow="none", **DREAM)
    assert len(calls) == 3 * 4  # frames 5, 6 and 7 only
    assert not work_folder(out).exists()  # frames deleted once the movie is encoded
    resumed, _ = _decode(out)
    for a, b in zip(_decode(whole)[0], resumed):
        assert np.array_equal(a, b)  # same frames in, same encoder: the same movie


def test_cli_dreams_the_first_frames(tmp_path, clip, tiny_h5, capsys):
    out = tmp_path / "out.mp4"
    code = main(["video", str(clip), "-o", str(out), "--frames", "3", "--blend", "0.3", "--fps", "4",
                 "--model", str(tiny_h5), *CLI_DREAM])
    assert code == 0, capsys.readouterr().err
    frames, fps = _decode(out)
    assert len(frames) == 3 and fps == 4
    assert not list(tmp_path.glob(".*"))  # no temp files left beside the output


@pytest.mark.parametrize("flow", ["none", "dis"])
def test_cli_max_size_shrinks_every_frame_before_the_blend_and_the_flow(tmp_path, clip, tiny_h5, capsys, flow):
    if flow == "dis":
        pytest.importorskip("cv2")
    out = tmp_path / "out.mp4"
    code = main(["video", str(clip), "-o", str(out), "--frames", "3", "--blend", "0.5", "--flow", flow,
                 "--max-size", "40", "--model", str(tiny_h5), *CLI_DREAM])
    assert code == 0, capsys.readouterr().err
    frames, _ = _decode(out)
    assert len(frames) == 3 and all(f.shape[:2] == (30, 40) for f in frames)


def test_cli_without_imageio_says_how_to_install_it(tmp_path, clip, tiny_h5, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "imageio", None)
    monkeypatch.setitem(sys.modules, "imageio.v2", None)
    code = main(["video", str(clip), "-o", str(tmp_path / "out.mp4"), "--model", str(tiny_h5), *CLI_DREAM])
    err = capsys.readouterr().err
    assert code == 2 and err == ("numdream video: error: movies need imageio and imageio-ffmpeg, which are "
                                 "not installed; run: pip install 'numdream[video]'\n")


@pytest.mark.parametrize("make_input, output, message", [
    (lambda d: d / "missing.mp4", "out.mp4", "cannot read video '{d}/missing.mp4': no such file"),
    (lambda d: d / "junk.mp4", "out.mp4", "cannot read video '{d}/junk.mp4': not a video ffmpeg can read"),
    (lambda d: d / "junk.mp4", "out.gif", "must end in .mp4"),
])
def test_cli_bad_inputs_are_one_line_errors(tmp_path, tiny_h5, capsys, make_input, output, message):
    (tmp_path / "junk.mp4").write_bytes(b"not a video" * 10)
    code = main(["video", str(make_input(tmp_path)), "-o", str(tmp_path / output), "--model", str(tiny_h5),
                 *CLI_DREAM])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and message.format(d=tmp_path) in err
    assert (tmp_path / "junk.mp4").read_bytes() == b"not a video" * 10
    assert not (tmp_path / "out_frames").exists()


@pytest.mark.parametrize("flags, message", [
    (["--blend", "1", "--flow", "none"], "blend must be a number in [0, 1) without a flow (1 would repeat the "
                                         "first dream forever), got 1.0"),
    (["--blend", "1.01"], "'1.01' is not a number >= 0.0 and <= 1.0"),
])
def test_blend_out_of_range_is_refused(tmp_path, clip, tiny_h5, capsys, flags, message):
    code, _, err = run_cli(["video", str(clip), "-o", str(tmp_path / "o.mp4"), *flags, "--model", str(tiny_h5)],
                           capsys)
    assert code == 2 and message in err and err.count("\n") == 1
    assert not (tmp_path / "o_frames").exists()


@pytest.mark.parametrize("total,pieces", [(1, 4), (7, 3), (8, 8), (10, 4), (5, 12)])
def test_frames_dreamed_afresh_split_into_near_equal_runs_covering_each_frame_once(total, pieces):
    from numdream.videoplan import even_runs
    runs = even_runs(total, pieces)
    lengths = [stop - first for first, stop in runs]
    assert [f for first, stop in runs for f in range(first, stop)] == list(range(total))
    assert len(runs) == min(total, pieces) and max(lengths) - min(lengths) <= 1
