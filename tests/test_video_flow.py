"""Video dreams carried along the optical flow (issue 15): the frames, scene cuts, resumption,
the sound, the span and rate, the progress line, and runs on Dask equal to one process's."""
import subprocess
import sys

import numpy as np
import pytest
from scipy import ndimage

from cli_helpers import run_cli, write_tiny_model
from numdream.dream import dream
from numdream.errors import NumdreamError
from numdream.flow import carry_dream, flow_and_weight, set_flow_threads
from numdream.frames import SETTINGS_NAME, frame_path
from numdream.images import load_image
from numdream.model import load_model
from numdream.movie import audio_codec, require_ffmpeg
from numdream.video import dream_video, work_folder
from numdream.videoloop import blend_frames

imageio = pytest.importorskip("imageio.v2")  # the test extra installs them; CI fails on skips
pytest.importorskip("cv2")

DREAM = dict(layers="mixed", octaves=2, steps=2)
FRESH = dict(DREAM)
CARRIED = dict(DREAM, octaves=1, steps=1)  # the defaults with a flow: a quarter of the steps, the full size
CLI_DREAM = ["--layer", "mixed", "--octaves", "2", "--steps", "2", "-q"]


def texture(h, w, seed):
    """A smooth random RGB texture, uint8 (h, w, 3): detail everywhere, as optical flow needs."""
    noise = ndimage.gaussian_filter(np.random.default_rng(seed).standard_normal((h, w, 3)), (2, 2, 0))
    return np.clip(128 + 70 * noise / noise.std(), 0, 255).astype(np.uint8)


def write_clip(path, scenes=((0, 6),), hw=(48, 64), fps=8):
    """An MP4 of textures sliding right 2 pixels a frame: one scene per (texture seed, frames),
    a scene cut between scenes. returns: the path."""
    writer = imageio.get_writer(path, fps=fps, codec="libx264", macro_block_size=1, pixelformat="yuv420p",
                                quality=10)
    for seed, frames in scenes:
        big = texture(hw[0], hw[1] + 2 * frames, seed)
        for t in range(frames):
            writer.append_data(np.ascontiguousarray(big[:, 2 * (frames - t):2 * (frames - t) + hw[1]]))
    writer.close()
    return path


def decode(path):
    reader = imageio.get_reader(path)
    try:
        return [np.asarray(f)[:, :, :3] for f in reader], reader.get_meta_data()["fps"]
    finally:
        reader.close()


def kept_frames(out, count):
    return [load_image(frame_path(work_folder(out), t)) for t in range(count)]


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """The tiny model, loaded from a file (Dask workers load it from its path)."""
    path = write_tiny_model(tmp_path_factory.mktemp("model") / "tiny.h5")
    return load_model(path)


@pytest.fixture(scope="module")
def cut_clip(tmp_path_factory):
    """5 frames of one texture sliding, then a cut to 4 frames of another."""
    return write_clip(tmp_path_factory.mktemp("cut") / "cut.mp4", scenes=((1, 5), (2, 4)))


def test_each_frame_starts_from_the_last_dream_moved_along_the_flow(tmp_path, tiny):
    clip = write_clip(tmp_path / "clip.mp4")
    out = dream_video(clip, tmp_path / "out.mp4", blend=0.9, keep_frames=True, model=tiny, seed=3, progress=False,
                      **DREAM)
    inputs, _ = decode(clip)
    dreamed = kept_frames(out, 6)
    assert np.array_equal(dreamed[0], dream(inputs[0], model=tiny, seed=3, progress=False, **FRESH))
    for t in (1, 4):
        start, weight, cut = carry_dream(inputs[t - 1], dreamed[t - 1], inputs[t], 0.9)
        assert not cut and weight.mean() > 0.8  # a slow pan: most pixels carry the dream along
        assert np.array_equal(dreamed[t], dream(start, model=tiny, seed=3, progress=False, **CARRIED))
    # the plain blend would have started elsewhere
    blended = dream(blend_frames(inputs[4], dreamed[3], 0.9), model=tiny, seed=3, progress=False, **CARRIED)
    assert not np.array_equal(dreamed[4], blended)


def test_a_scene_cut_starts_a_fresh_dream_there(tmp_path, tiny, cut_clip):
    out = dream_video(cut_clip, tmp_path / "out.mp4", keep_frames=True, model=tiny, progress=False, **DREAM)
    inputs, _ = decode(cut_clip)
    dreamed = kept_frames(out, 9)
    fresh = [dream(f, model=tiny, seed=0, progress=False, **FRESH) for f in inputs]
    assert [t for t in range(9) if np.array_equal(dreamed[t], fresh[t])] == [0, 5]  # the first, and the cut
    _, weight = flow_and_weight(inputs[4], inputs[5])
    assert weight.mean() < 0.5  # what made frame 5 a cut


def test_the_flows_do_not_depend_on_opencvs_threads(cut_clip):
    inputs, _ = decode(cut_clip)
    results = []
    try:
        for threads in (1, 2, 4):
            set_flow_threads(threads)
            results.append(flow_and_weight(inputs[1], inputs[2]))
    finally:
        set_flow_threads(-1)  # OpenCV's default
    for flow_bw, weight in results[1:]:
        assert np.array_equal(flow_bw, results[0][0]) and np.array_equal(weight, results[0][1])


def interrupted(at):
    """A dream callback that raises KeyboardInterrupt at its ``at``-th call."""
    calls = []

    def callback(octave, step, image):
        calls.append(1)
        if len(calls) == at:
            raise KeyboardInterrupt
    return callback


@pytest.mark.parametrize("workers", [None, pytest.param(2, marks=pytest.mark.slow)])
def test_an_interrupted_flow_run_resumes_to_the_frames_of_an_uninterrupted_one(tmp_path, tiny, cut_clip, workers):
    whole = dream_video(cut_clip, tmp_path / "whole.mp4", keep_frames=True, model=tiny, progress=False, **DREAM)
    out = tmp_path / "resumed.mp4"
    # frame 0: 4 steps, frames 1-4: 1 step each (carried), frame 5 (the cut): 4: call 10 is inside frame 5
    with pytest.raises(KeyboardInterrupt):
        dream_video(cut_clip, out, model=tiny, progress=False, callback=interrupted(10), **DREAM)
    assert not out.exists()
    assert sorted(p.name for p in work_folder(out).glob("frame_*.png")) == [f"frame_0000{t}.png" for t in range(5)]
    dream_video(cut_clip, out, keep_frames=True, model=tiny, progress=False, workers=workers, **DREAM)
    for a, b in zip(kept_frames(whole, 9), kept_frames(out, 9)):
        assert np.array_equal(a, b)
    assert np.array_equal(decode(whole)[0], decode(out)[0])


@pytest.mark.parametrize("changed, key", [
    (dict(flow="farneback"), "flow: 'dis' then, 'farneback' now"),
    (dict(flow_params=dict(preset="fast")), "flow_descent_iterations: 25 then, 16 now"),
    (dict(flow_params=dict(finest_scale=1)), "flow_finest_scale: 0 then, 1 now"),
    (dict(flow=None, blend=0.9), "carried: {'steps': 1, 'octaves': 1} then, {'steps': 2, 'octaves': 2} now"),
    (dict(carried_steps=2), "carried: {'steps': 1, 'octaves': 1} then, {'steps': 2, 'octaves': 1} now"),
    (dict(blend=0.8), "blend: 0.9 then, 0.8 now"),
    (dict(start="1f"), "first_frame: 0 then, 1 now"),
    (dict(fps=4), "fps: 8.0 then, 4.0 now"),
])
def test_a_resume_with_other_flow_settings_is_refused(tmp_path, tiny, cut_clip, changed, key):
    out = tmp_path / "out.mp4"
    with pytest.raises(KeyboardInterrupt):
        dream_video(cut_clip, out, model=tiny, progress=False, callback=interrupted(6), **DREAM)
    before = {p.name: p.read_bytes() for p in work_folder(out).iterdir()}
    with pytest.raises(NumdreamError, match="holds frames made with other settings") as err:
        dream_video(cut_clip, out, model=tiny, progress=False, **{**DREAM, **changed})
    assert f"({key});" in str(err.value) and "\n" not in str(err.value)
    assert {p.name: p.read_bytes() for p in work_folder(out).iterdir()} == before


def test_a_run_takes_the_frames_it_finds_after_a_gap(tmp_path, tiny, cut_clip):
    """A run in one process after a run on Dask finds frames beyond its resume point; they are
    the frames it would make, so it keeps them (here: frame 2 lost, 3 to 8 kept)."""
    out = dream_video(cut_clip, tmp_path / "out.mp4", keep_frames=True, model=tiny, progress=False, **DREAM)
    whole = kept_frames(out, 9)
    frame_path(work_folder(out), 2).unlink()
    calls = []
    dream_video(cut_clip, out, keep_frames=True, model=tiny, progress=False, callback=lambda *_: calls.append(1),
                **DREAM)
    assert len(calls) == 1  # frame 2, carried: one step
    for a, b in zip(whole, kept_frames(out, 9)):
        assert np.array_equal(a, b)


# ---- which frames: --start, --end, --frames, --fps ----------------------------------------------

def test_start_end_and_fps_choose_and_resample_the_frames(tmp_path, tiny):
    clip = write_clip(tmp_path / "clip.mp4", scenes=((0, 12),))  # 12 frames at 8 fps: 1.5 s
    inputs, _ = decode(clip)
    cases = [  # (start, end, fps, frames) -> input frames shown
        (dict(start="2f", end="0:01"), [2, 3, 4, 5, 6, 7]),       # 1 s at 8 fps: frames before 8
        (dict(start=0.25, end="10f", fps=4), [2, 4, 6, 8]),        # half the rate: every other frame
        (dict(end="3f", fps=16), [0, 0, 1, 1, 2, 2]),              # twice the rate: each frame twice
        (dict(start="9f", fps=6, frames=2), [9, 10]),              # 3 frames at 8 fps -> 2 at 6 fps, at most 2
    ]
    for i, (span, shown) in enumerate(cases):
        out = dream_video(clip, tmp_path / f"out{i}.mp4", flow=None, blend=0, keep_frames=True, model=tiny,
                          progress=False, **span, **DREAM)
        dreamed = kept_frames(out, len(shown))
        assert not frame_path(work_folder(out), len(shown)).exists()
        for t, source in enumerate(shown):
            assert np.array_equal(dreamed[t], dream(inputs[source], model=tiny, seed=0, progress=False, **FRESH))
        encoded, fps = decode(out)
        assert len(encoded) == len(shown) and fps == span.get("fps", 8)


def test_a_repeated_frame_repeats_its_dream_with_a_flow(tmp_path, tiny):
    clip = write_clip(tmp_path / "clip.mp4", scenes=((0, 3),))
    out = dream_video(clip, tmp_path / "out.mp4", fps=16, keep_frames=True, model=tiny, progress=False, **DREAM)
    dreamed = kept_frames(out, 6)
    for t in (1, 3, 5):
        assert np.array_equal(dreamed[t], dreamed[t - 1])  # not dreamed once more
    assert not np.array_equal(dreamed[2], dreamed[1])


@pytest.mark.parametrize("flags, words", [
    (["--start", "1.5x"], "argument --start: '1.5x' is not a time; use seconds (1.5), [hours:]minutes:seconds "
                          "(0:01.5) or an input frame number (12f)"),
    (["--end", "0:75"], "argument --end: '0:75' is not a time"),
    (["--start", "-1"], "argument --start: '-1' is not a time"),
    (["--start", "6f"], "--start 6f is at or after the end of the video (6 frames, 0.75 s at 8 fps)"),
    (["--start", "0.5", "--end", "2f"], "--end 2f is not after --start 0.5 s (input frame 4)"),
    (["--flow-param", "preset"], "argument --flow-param: 'preset' is not NAME=VALUE, e.g. preset=fast"),
    (["--flow-param", "preset=slow"], "dis flow parameter preset must be one of ultrafast, fast, medium, got 'slow'"),
    (["--flow-param", "levels=3"], "unknown dis flow parameter 'levels'; valid: preset, finest_scale"),
    (["--flow", "none", "--flow-param", "preset=fast"], "--flow-param preset=fast is used only with --flow dis"),
    (["--flow", "lucas"], "argument --flow: invalid choice: 'lucas'"),
    (["--flow-param", "finest_scale=3"], "frames of 64x48 are too small for DIS flow with patch_size 8 at "
                                         "finest_scale 3; use finest_scale 1 or less"),
    (["--carried-octaves", "0"], "argument --carried-octaves: '0' is not a whole number from 1 to 100"),
    (["--scheduler", "tcp://127.0.0.1:1", "--blas-threads", "1"], "--blas-threads 1 applies to a local cluster"),
])
def test_bad_video_options_are_one_line_before_any_work(tmp_path, capsys, tiny, flags, words):
    clip = write_clip(tmp_path / "clip.mp4")
    code, out, err = run_cli(["video", str(clip), "-o", str(tmp_path / "out.mp4"), "--model", tiny.spec.path,
                              *CLI_DREAM, *flags], capsys)
    assert code == 2 and out == "" and err.count("\n") == 1 and words in err, err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["clip.mp4"]


def test_frames_too_small_for_the_flow_are_refused_before_dreaming(tmp_path, capsys, tiny):
    clip = write_clip(tmp_path / "clip.mp4", hw=(12, 40))
    code, _, err = run_cli(["video", str(clip), "-o", str(tmp_path / "out.mp4"), "--model", tiny.spec.path,
                            *CLI_DREAM], capsys)
    assert code == 2 and "frame of 40x12 is too small for optical flow" in err and err.count("\n") == 1
    assert not (tmp_path / "out_frames").exists()
    assert run_cli(["video", str(clip), "-o", str(tmp_path / "out.mp4"), "--flow", "none", "--model",
                    tiny.spec.path, *CLI_DREAM], capsys)[0] == 0


def test_without_opencv_a_flow_is_the_install_hint_and_none_still_works(tmp_path, capsys, tiny, monkeypatch):
    clip = write_clip(tmp_path / "clip.mp4")
    monkeypatch.setitem(sys.modules, "cv2", None)  # import cv2 now raises ImportError
    argv = ["video", str(clip), "-o", str(tmp_path / "out.mp4"), "--model", tiny.spec.path, *CLI_DREAM]
    for flow in ([], ["--flow", "farneback"]):
        code, _, err = run_cli([*argv, *flow], capsys)
        assert code == 2 and err == ("numdream video: error: optical flow needs OpenCV (opencv-python-headless), "
                                     "which is not installed; run: pip install 'numdream[video]'\n")
    assert run_cli([*argv, "--flow", "none"], capsys)[0] == 0 and (tmp_path / "out.mp4").is_file()


def test_the_progress_line_shows_frames_the_rate_and_the_time_left(tmp_path, capsys, tiny):
    clip = write_clip(tmp_path / "clip.mp4")
    code, _, err = run_cli(["video", str(clip), "-o", str(tmp_path / "out.mp4"), "--model", tiny.spec.path,
                            *[f for f in CLI_DREAM if f != "-q"]], capsys)
    assert code == 0
    last = err.replace("\r", "\n").splitlines()[-2]  # the bar's last state, before the summary line
    assert last.startswith("video: 6/6 frames, ") and " frames/min, 00:00 left" in last, err


# ---- the sound ----------------------------------------------------------------------------------

def ffmpeg(*args):
    subprocess.run([require_ffmpeg(), "-v", "error", "-y", *map(str, args)], check=True)


def sound_clip(path, audio_codec="aac", seconds=2.0):
    """The sliding texture (8 fps, 64x48) with a tone of 440 Hz for its first second and 880 Hz
    after, made by ffmpeg's lavfi sources."""
    frames = write_clip(path.with_name("silent.mp4"), scenes=((0, round(8 * seconds)),))
    tone = f"aevalsrc=sin(2*PI*if(lt(t\\,1)\\,440\\,880)*t):s=48000:d={seconds}"
    ffmpeg("-i", frames, "-f", "lavfi", "-i", tone, "-map", "0:v", "-map", "1:a", "-c:v", "copy", "-c:a", audio_codec,
           "-shortest", path)
    return path


def tone(path):
    """(seconds, dominant frequency in Hz) of the sound track of ``path``, decoded at 16 kHz."""
    done = subprocess.run([require_ffmpeg(), "-v", "error", "-i", str(path), "-map", "0:a:0", "-ac", "1", "-ar",
                           "16000", "-f", "s16le", "-"], check=True, capture_output=True)
    samples = np.frombuffer(done.stdout, np.int16).astype(np.float64)
    spectrum = np.abs(np.fft.rfft(samples * np.hanning(len(samples))))
    return len(samples) / 16000, np.fft.rfftfreq(len(samples), 1 / 16000)[np.argmax(spectrum)]


@pytest.mark.parametrize("container, codec, kept", [(".mp4", "aac", "aac"), (".mkv", "pcm_s16le", "aac"),
                                                    (".mov", "mp3", "mp3")])
def test_the_sound_survives_the_round_trip(tmp_path, tiny, container, codec, kept):
    clip = sound_clip(tmp_path / f"clip{container}", codec)
    assert audio_codec(clip) == codec
    out = dream_video(clip, tmp_path / "out.mp4", model=tiny, progress=False, **DREAM)
    assert audio_codec(out) == kept  # copied when MP4 players take it, AAC otherwise
    seconds, hz = tone(out)
    assert abs(seconds - 2.0) < 0.05 and min(abs(hz - 440), abs(hz - 880)) < 10
    assert len(decode(out)[0]) == 16
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([clip.name, "silent.mp4", "out.mp4"])


def test_the_sound_is_trimmed_to_the_dreamed_span_and_no_audio_drops_it(tmp_path, tiny):
    clip = sound_clip(tmp_path / "clip.mp4")
    first = dream_video(clip, tmp_path / "first.mp4", end="0:00.75", model=tiny, progress=False, **DREAM)
    later = dream_video(clip, tmp_path / "later.mp4", start="10f", end=1.75, fps=4, model=tiny, progress=False, **DREAM)
    for out, seconds, hz in ((first, 0.75, 440), (later, 0.5, 880)):
        found_seconds, found_hz = tone(out)
        assert abs(found_seconds - seconds) < 0.05 and abs(found_hz - hz) < 10, (out, found_seconds, found_hz)
    assert len(decode(later)[0]) == 2  # input frames 10 and 12 (of 10 to 13) at 4 fps
    silent = dream_video(clip, tmp_path / "silent_out.mp4", end="4f", audio=False, model=tiny, progress=False, **DREAM)
    assert audio_codec(silent) is None and len(decode(silent)[0]) == 4


def test_a_failed_mux_leaves_no_movie_and_keeps_the_frames(tmp_path, capsys, tiny, monkeypatch):
    clip = sound_clip(tmp_path / "clip.mp4")
    fake = tmp_path / "bin" / "ffmpeg"
    fake.parent.mkdir()
    # the real ffmpeg, except when it is asked to mux a sound track: then it fails as a full disk would
    fake.write_text(f'#!/bin/sh\ncase "$*" in *"1:a:0"*) echo "No space left on device" >&2; exit 1;; esac\n'
                    f'exec {require_ffmpeg()} "$@"\n')
    fake.chmod(0o755)
    monkeypatch.setattr("numdream.movie.require_ffmpeg", lambda: str(fake))
    argv = ["video", str(clip), "-o", str(tmp_path / "out.mp4"), "--model", tiny.spec.path, *CLI_DREAM]
    code, _, err = run_cli(argv, capsys)
    assert code == 2 and err.count("\n") == 1
    assert "ffmpeg failed to add the sound" in err and "No space left on device" in err and "--no-audio" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bin", "clip.mp4", "out_frames", "silent.mp4"]
    assert len(list((tmp_path / "out_frames").glob("frame_*.png"))) == 16
    assert run_cli([*argv, "--no-audio"], capsys)[0] == 0 and audio_codec(tmp_path / "out.mp4") is None


# ---- Dask: the runs between scene cuts in parallel ------------------------------------------------

@pytest.mark.slow
@pytest.mark.parametrize("flow, blend", [("dis", None), (None, 0.0)])
def test_dask_runs_make_the_frames_of_one_process(tmp_path, tiny, cut_clip, flow, blend):
    alone = dream_video(cut_clip, tmp_path / "alone.mp4", flow=flow, blend=blend, keep_frames=True, model=tiny,
                        progress=False, **DREAM)
    spread = dream_video(cut_clip, tmp_path / "spread.mp4", flow=flow, blend=blend, keep_frames=True, model=tiny,
                         progress=False, workers=2, **DREAM)
    for a, b in zip(kept_frames(alone, 9), kept_frames(spread, 9)):
        assert np.array_equal(a, b)
    assert np.array_equal(decode(alone)[0], decode(spread)[0])
