"""Hostile option values: every option that drives memory or time is bounded, with the bound in
the message; whole numbers never reach NumPy's fixed-size integers; the API takes NumPy scalars
as the numbers they are (and never a bool); an objective or gradient that stops being finite
stops the dream with one line, never a black picture or a RuntimeWarning."""
import importlib
import json
import os
import warnings

import numpy as np
import pytest

import numdream
from hostile_cli import DREAM, exit_status, fingerprint, refused_in_process, write_photo, write_tiny_model
from numdream import batch, dreamplan
from numdream.errors import NumdreamError
from numdream.model import Model
from numdream.video import dream_video
from numdream.zoom import zoom_frames
from test_model_head import head_spec
from tiny_model import tiny_spec

engine = importlib.import_module("numdream.dream")  # numdream.dream is also the function
HUGE = "99999999999999999999"
DIGITS = "9" * 5000  # more digits than Python converts (4300)


@pytest.fixture(scope="module")
def tiny_h5(tmp_path_factory):
    return write_tiny_model(tmp_path_factory.mktemp("model") / "tiny.h5")


@pytest.fixture(scope="module")
def tiny():
    return Model(tiny_spec())


PHOTO = np.random.default_rng(3).integers(0, 256, (40, 52, 3)).astype(np.uint8)

# (command, flags, words of the one error line); a command's own arguments are added by the test
CLI_BOUNDS = [
    ("dream", ["--jitter", HUGE], "from 0 to 2147483647"),
    ("dream", ["--jitter", DIGITS], "whole number"),
    ("dream", ["--jitter", "-1"], "from 0 to"),
    ("dream", ["--steps", HUGE], "from 0 to 100000"),
    ("dream", ["--steps", "1e3"], "whole number"),
    ("dream", ["--octaves", "1" + "0" * 30], "from 1 to 100"),
    ("dream", ["--tile-size", "1" + "0" * 12], "from 0 to 4096"),
    ("dream", ["--seed", str(2 ** 64)], "from 0 to 18446744073709551615"),
    ("dream", ["--seed", "-1"], "from 0 to"),
    ("dream", ["--class-index", "1" + "0" * 40], "from 0 to 2147483647"),
    ("dream", ["--step-size", "1e308"], "<= 255.0"),
    ("dream", ["--step-size", "inf"], "> 0.0"),
    ("dream", ["--step-size", "nan"], "> 0.0"),
    ("dream", ["--step-size", "-0"], "> 0.0"),
    ("dream", ["--smooth", "1e5"], "<= 1000.0"),
    ("dream", ["--smooth", "1e308"], "<= 1000.0"),
    ("dream", ["--smooth", "nan"], ">= 0.0"),
    ("dream", ["--octave-scale", "inf"], "> 1.0"),
    ("dream", ["--octave-scale", "1e400"], "> 1.0"),
    ("dream", ["--layer", "mixed:1e38"], "from -1e+06 to 1e+06"),
    ("dream", ["--layer", "mixed:nan"], "from -1e+06 to 1e+06"),
    ("dream", ["--layer", "mixed:-1e38"], "from -1e+06 to 1e+06"),
    ("dream", ["--layer", "mixed:1000001"], "from -1e+06 to 1e+06"),
    ("dream", ["--init", "noise", "--size", "15000x15000"], "more than the 89,478,485"),
    ("dream", ["--init", "noise", "--size", "100000000x1"], "more than the 89,478,485"),
    ("dream", ["--init", "noise", "--size", f"{HUGE}x{HUGE}"], "pixels"),
    ("dream", ["--init", "noise", "--size", "0x5"], "WIDTHxHEIGHT"),
    ("dream", ["--channel", HUGE], "does not exist"),
    ("dream", ["--neuron", f"1:{HUGE}:0"], "outside layer"),
    ("dream", ["--smooth", "500"], "too wide for the 61x45 image"),
    ("dream", ["--max-size", HUGE], "from 1 to 65535"),
    ("dream", ["--max-size", "0"], "from 1 to 65535"),
    ("dream", ["--seeds", f"0-{HUGE}"], "from 0 to 18446744073709551615"),
    ("dream", ["--seeds", "0-1000"], "more than 1000 seeds"),
    ("dream", ["--every", HUGE], "from 1 to 100000"),
    ("zoom", ["--max-size", DIGITS], "whole number"),
    ("zoom", ["--frames", HUGE], "from 1 to 100000"),
    ("zoom", ["--frames", "100001"], "from 1 to 100000"),
    ("zoom", ["--zoom", "nan"], ">= 0.0"),
    ("zoom", ["--zoom", "1"], "[0, 1)"),
    ("zoom", ["--rotate", "inf"], "number of degrees"),
    ("zoom", ["--rotate", "1e400"], "number of degrees"),
    ("video", ["--frames", HUGE], "from 1 to 100000"),
    ("video", ["--blend", "nan"], ">= 0.0"),
    ("video", ["--blend", "1", "--flow", "none"], "[0, 1) without a flow"),
    ("video", ["--blend", "1e400"], "<= 1.0"),
    ("video", ["--carried-steps", HUGE], "from 0 to 100000"),
    ("video", ["--start", HUGE], "not a time"),
    ("video", ["--flow-param", f"finest_scale={HUGE}"], "finest_scale must be a whole number"),
    ("video", ["--fps", "1e400"], "is not a number > 0.0"),
    ("video", ["--fps", "5000"], "does not fit"),
    ("gallery", ["--channels", HUGE], "from 1 to 2147483647"),
    ("gallery", ["--columns", DIGITS], "whole number"),
    ("gallery", ["--channels", "16", "--size", "9000x9000"], "contact sheet"),
    ("batch", ["--workers", "100"], "from 1 to"),
    ("batch", ["--workers", HUGE], "from 1 to 2147483647"),
    ("batch", ["--blas-threads", "1000"], "blas_threads must be"),
    ("gradcheck", ["--seed", "-1"], "from 0 to 18446744073709551615"),
    ("gradcheck", ["--seed", HUGE * 2], "from 0 to"),
]


def _argv(command, flags, tmp_path, photo, tiny_h5):
    head = {"dream": ["dream", photo, "-o", tmp_path / "out.png"],
            "zoom": ["zoom", photo, "-o", tmp_path / "frames", "--frames", "2"],
            "video": ["video", tmp_path / "clip.mp4", "-o", tmp_path / "out.mp4"],
            "gallery": ["gallery", "-o", tmp_path / "sheet.png", "--layer", "mixed"],
            "batch": ["batch", tmp_path / "photos", "-o", tmp_path / "dreams"],
            "gradcheck": ["gradcheck", "--no-torch"]}[command]
    if command == "gradcheck":
        return [*head, *flags]
    tail = ["--octaves", "1", "--steps", "1", "-q"] if command == "gallery" else DREAM
    if "--channels" in flags:  # each channel visualised: the dream-only flags are refused
        tail = ["--steps", "1", "-q"]
    if command == "gallery" and "--channels" not in flags:
        head.insert(1, photo)
    if "--init" in flags:
        head.remove(photo)
    return [*head, "--model", tiny_h5, *[t for t in tail if t not in flags[:1]], *flags]


@pytest.mark.parametrize("command, flags, words", CLI_BOUNDS, ids=[f"{c} {' '.join(f)[:40]}" for c, f, _ in CLI_BOUNDS])
def test_an_unbounded_value_is_one_line_naming_the_bound(tmp_path, capsys, tiny_h5, command, flags, words):
    photo = write_photo(tmp_path / "photo.png")
    (tmp_path / "photos").mkdir()
    write_photo(tmp_path / "photos" / "a.png")
    (tmp_path / "clip.mp4").write_bytes(b"")  # refused options come first
    before = fingerprint(tmp_path)
    argv = [str(a) for a in _argv(command, flags, tmp_path, photo, tiny_h5)]
    line = refused_in_process(argv, capsys, words)
    assert len(line) < 1100 and fingerprint(tmp_path) == before


# ---- the API: NumPy scalars are numbers, bools are not -------------------------------------------

NUMPY_OPTIONS = [
    dict(seed=np.int64(3)), dict(seed=np.uint64(3)), dict(seed=np.int32(3)), dict(step_size=np.float32(1.5)),
    dict(step_size=np.float16(1.5)), dict(octaves=np.int8(2)), dict(steps=np.uint16(2)), dict(jitter=np.int64(4)),
    dict(tile_size=np.int64(0)), dict(smooth=np.float32(0.5)), dict(octave_scale=np.float64(1.4)),
    dict(layers={"mixed": np.float32(2.0)}), dict(init="noise", size=(np.int64(30), np.int32(20))),
]


@pytest.mark.parametrize("numpy_kwargs", NUMPY_OPTIONS,
                         ids=lambda k: "-".join(f"{n}={type(v).__name__}" for n, v in k.items()))
def test_numpy_scalars_dream_as_the_python_numbers(tiny, numpy_kwargs):
    base = dict(layers="mixed", octaves=2, steps=2, step_size=1.5, jitter=4, seed=3, progress=False)
    python_kwargs = {k: (v.item() if isinstance(v, np.generic) else v) for k, v in numpy_kwargs.items()}
    python_kwargs = {k: ({n: w.item() for n, w in v.items()} if isinstance(v, dict) else
                         tuple(int(s) for s in v) if k == "size" else v) for k, v in python_kwargs.items()}
    a = numdream.dream(PHOTO, model=tiny, **{**base, **numpy_kwargs})
    b = numdream.dream(PHOTO, model=tiny, **{**base, **python_kwargs})
    assert np.array_equal(a, b)


@pytest.mark.parametrize("bad", [dict(seed=True), dict(steps=False), dict(step_size=True), dict(seed=np.bool_(True)),
                                 dict(octaves=2.0), dict(jitter=np.float32(3)), dict(seed=-1), dict(seed=2 ** 64),
                                 dict(step_size=np.float32("nan")), dict(smooth=np.float64("inf")),
                                 dict(layers={"mixed": np.float32("inf")}), dict(size=(30, True), init="noise"),
                                 dict(size=(30,), init="noise"), dict(size="30x20", init="noise")])
def test_the_api_refuses_bools_and_bad_numbers_in_one_line(tiny, bad):
    with pytest.raises(NumdreamError) as err:
        numdream.dream(PHOTO, model=tiny, **{"layers": "mixed", "progress": False, **bad})
    assert "\n" not in str(err.value)


def test_zoom_and_video_take_numpy_scalars_and_record_them_as_numbers(tmp_path, tiny):
    paths = zoom_frames(PHOTO, tmp_path / "z", np.int64(2), zoom=np.float64(0.1), rotate=np.int32(3), model=tiny,
                        seed=np.uint32(5), progress=False, layers="mixed", octaves=1, steps=np.int64(1),
                        step_size=np.float32(2.0))
    again = zoom_frames(PHOTO, tmp_path / "z", 3, zoom=0.1, rotate=3, model=tiny, seed=5, progress=False,
                        layers="mixed", octaves=1, steps=1, step_size=2.0)  # a resume: the same settings
    assert again[:2] == paths
    from hostile_cli import write_clip
    clip = write_clip(tmp_path / "clip.mp4")
    out = dream_video(clip, tmp_path / "v.mp4", blend=np.float32(0.25), frames=np.int64(2), fps=np.float32(4),
                      model=tiny, seed=np.int64(1), progress=False, layers="mixed", octaves=1, steps=1)
    assert out.is_file()


# ---- image-dependent bounds, the whole-image budget and the workers ---------------------------

def test_an_objective_that_cannot_tile_is_bounded_by_the_one_piece_budget(monkeypatch):
    monkeypatch.setattr(dreamplan, "MAX_TILE_PIXELS", 30 * 30)
    model = Model(head_spec())
    image = np.zeros((40, 40, 3), np.uint8)
    with pytest.raises(NumdreamError, match=r"the class objective cannot be tiled \(its classifier reads every "
                       r"position .*\), and the 40x40 image has more than the 900 pixels"):
        numdream.dream(image, model=model, layers="logits", objective="class", class_index=1, progress=False)
    with pytest.raises(NumdreamError, match="tile size 0 runs the image in one piece"):
        numdream.dream(image, model=model, layers="mixed", tile_size=0, progress=False)
    numdream.dream(image[:30, :30], model=model, layers="mixed", tile_size=0, steps=1, octaves=1, jitter=4,
                   progress=False)


def test_workers_are_capped_by_the_cores_and_by_the_images(tmp_path, tiny_h5, monkeypatch):
    (tmp_path / "in").mkdir()
    for name in ("a.png", "b.png"):
        write_photo(tmp_path / "in" / name)
    cores = batch.os.cpu_count() or 1
    with pytest.raises(NumdreamError, match=f"workers must be a whole number from 1 to {4 * cores}"):
        batch.dream_folder(tmp_path / "in", tmp_path / "out", workers=4 * cores + 1, model_path=tiny_h5)
    with pytest.raises(NumdreamError, match=f"blas_threads must be a whole number from 1 to {cores}"):
        batch.dream_folder(tmp_path / "in", tmp_path / "out", blas_threads=cores + 1, model_path=tiny_h5)
    asked = []

    class Stop(Exception):
        pass

    def connect(workers, scheduler, blas_threads):
        asked.append(workers)
        raise Stop
    monkeypatch.setattr(batch, "connect", connect)
    with pytest.raises(Stop):
        batch.dream_folder(tmp_path / "in", tmp_path / "out", workers=4 * cores, model_path=tiny_h5, layers="mixed")
    assert asked == [2]  # two images: two processes, not 4 per core


# ---- no silent black pictures ---------------------------------------------------------------------

def _scaled(scale, layers=("b1", "b2a")):
    spec = tiny_spec()
    for node in spec.nodes:
        if node.name in layers:
            node.params["w"] = (node.params["w"] * np.float32(scale)).astype(np.float32)
    return spec


# 1e25: a finite activation whose square overflows float32 (the L2 energy); 1e37 overflows the
# activations themselves; inf and NaN weights (a model file's validation may refuse those first)
NON_FINITE = [(scale, objective, normalize) for scale in (1e25, 1e37, np.inf, np.nan)
              for objective in ("l2", "mean", "channel") for normalize in ("mean", "std", "laplacian")
              if scale != 1e25 or objective == "l2"]


@pytest.mark.parametrize("scale, objective, normalize", NON_FINITE)
def test_a_non_finite_step_stops_the_dream_in_one_line_without_warnings(scale, objective, normalize):
    model = Model(_scaled(scale))
    with warnings.catch_warnings(record=True) as caught, pytest.raises(NumdreamError) as err:
        warnings.simplefilter("always")
        numdream.dream(PHOTO, model=model, layers="mixed", objective=objective, channels=[1, 5], octaves=2, steps=2,
                       normalize=normalize, smooth=0.5, progress=False, seed=0)
    message = str(err.value)
    assert "became" in message and "at octave " in message and ", step " in message
    assert "weights" in message and "\n" not in message
    assert not [w for w in caught if issubclass(w.category, RuntimeWarning)], [str(w.message) for w in caught]


@pytest.mark.parametrize("scale", [1e25, 1e37, np.nan])
def test_a_non_finite_step_with_tiles_side_by_side_is_one_line_too(monkeypatch, scale):
    """Four tiles on two threads (numdream/fast/tiles.py): the pool's threads run the passes and
    the objective, under the dream's numpy.errstate too."""
    monkeypatch.setenv("NUMDREAM_THREADS", "2")
    photo = np.random.default_rng(4).integers(0, 256, (80, 100, 3)).astype(np.uint8)
    with warnings.catch_warnings(record=True) as caught, pytest.raises(NumdreamError) as err:
        warnings.simplefilter("always")
        numdream.dream(photo, model=Model(_scaled(scale)), layers="mixed", octaves=1, steps=2, tile_size=50,
                       progress=False, seed=0)
    assert "became" in str(err.value) and "\n" not in str(err.value)
    assert not [w for w in caught if issubclass(w.category, RuntimeWarning)], [str(w.message) for w in caught]


@pytest.mark.parametrize("layers, target", [(("b2a", "b2b", "top"), "top"), (("b3a", "b3b", "b3c"), "mixed")])
def test_the_cli_says_where_the_dream_became_non_finite(tmp_path, capsys, layers, target):
    """Weights a model file may hold (at most 1e10 each, as the file's validation demands) that
    still multiply up past float32 over three layers: the run stops at its first step."""
    from numdream.modelfile import write_model
    model = tmp_path / "huge.h5"
    write_model(model, _scaled(1e9, layers=layers))
    photo = write_photo(tmp_path / "photo.png")
    flags = [f for f in DREAM if f != "mixed"][1:]  # DREAM without its --layer mixed
    refused_in_process(["dream", str(photo), "-o", str(tmp_path / "out.png"), "--model", str(model),
                        "--layer", target, *flags], capsys, "the objective became inf at octave 1 of 1, step 1")
    assert not (tmp_path / "out.png").exists()


def test_a_finite_dream_is_untouched_by_the_check(tiny):
    """The check reads the gradient; it changes nothing (same bits as the run before it)."""
    a = numdream.dream(PHOTO, model=tiny, layers="mixed", octaves=2, steps=3, seed=4, progress=False)
    b = numdream.dream(PHOTO, model=tiny, layers="mixed", octaves=2, steps=3, seed=4, progress=False)
    assert np.array_equal(a, b) and not np.array_equal(a, PHOTO)


def test_a_jitter_beyond_the_image_is_capped_at_its_side(tiny):
    """A roll wraps around the image: a jitter of the longest side already reaches every shift."""
    kwargs = dict(model=tiny, layers="mixed", octaves=1, steps=2, seed=6, progress=False)
    side = max(PHOTO.shape[:2])
    capped = numdream.dream(PHOTO, jitter=side, **kwargs)
    assert np.array_equal(numdream.dream(PHOTO, jitter=2 ** 31 - 1, **kwargs), capped)
    assert not np.array_equal(capped, numdream.dream(PHOTO, jitter=4, **kwargs))


def test_a_noise_start_is_drawn_in_blocks_with_the_values_of_one_draw(monkeypatch):
    monkeypatch.setattr(dreamplan, "NOISE_BLOCK", 1000)
    opts = dreamplan.DreamOptions.from_kwargs(dict(init="noise", size=(301, 97)))
    blocks = dreamplan._initial_image(None, opts, np.random.default_rng(9))
    whole = np.random.default_rng(9).uniform(96, 160, size=(97, 301, 3)).round().astype(np.uint8)
    assert np.array_equal(blocks, whole)


# ---- a resume knows its model by content, not by the spelling of its path --------------------

@pytest.mark.parametrize("spelling", ["tiny.h5", "./tiny.h5", "sub/../tiny.h5", "ABSOLUTE", "link.h5", "copy.h5"])
def test_zoom_resumes_with_the_same_model_however_it_is_named(tmp_path, capsys, monkeypatch, spelling):
    monkeypatch.chdir(tmp_path)
    write_tiny_model(tmp_path / "tiny.h5")
    (tmp_path / "sub").mkdir()
    (tmp_path / "link.h5").symlink_to("tiny.h5")
    (tmp_path / "copy.h5").write_bytes((tmp_path / "tiny.h5").read_bytes())
    photo = write_photo(tmp_path / "photo.png")
    base = ["zoom", str(photo), "-o", "frames", *DREAM]
    assert exit_status([*base, "--frames", "1", "--model", "tiny.h5"], capsys) == 0
    model = str(tmp_path / "tiny.h5") if spelling == "ABSOLUTE" else spelling
    assert exit_status([*base, "--frames", "2", "--model", model], capsys) == 0  # resumed, not refused
    assert sorted(p for p in os.listdir(tmp_path / "frames") if p.startswith("frame_")) == ["frame_00000.png",
                                                                                            "frame_00001.png"]


def test_zoom_refuses_to_resume_with_another_model_under_the_same_name(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    write_tiny_model(tmp_path / "m.h5")
    photo = write_photo(tmp_path / "photo.png")
    base = ["zoom", str(photo), "-o", "frames", "--model", "m.h5", *DREAM]
    assert exit_status([*base, "--frames", "1"], capsys) == 0
    from numdream.modelfile import write_model
    write_model(tmp_path / "m.h5", tiny_spec(seed=1))  # other weights, same path
    before = fingerprint(tmp_path / "frames")
    refused_in_process([*base, "--frames", "2"], capsys, "other settings (model: 'sha256:")
    assert fingerprint(tmp_path / "frames") == before


def test_a_record_from_before_digests_resumes_by_resolved_path(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    write_tiny_model(tmp_path / "tiny.h5")
    photo = write_photo(tmp_path / "photo.png")
    base = ["zoom", str(photo), "-o", "frames", *DREAM]
    assert exit_status([*base, "--frames", "1", "--model", "tiny.h5"], capsys) == 0
    record = tmp_path / "frames" / "numdream-frames.json"
    old = json.loads(record.read_text())
    old["model"] = "./tiny.h5"  # how records named their model before: its path as given
    del old["model_path"]
    record.write_text(json.dumps(old))
    assert exit_status([*base, "--frames", "2", "--model", str(tmp_path / "tiny.h5")], capsys) == 0

