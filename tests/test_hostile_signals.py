"""Ctrl-C and exit statuses, in real processes: a Ctrl-C while numdream still imports, during a
dream, a zoom, a video or a batch ends with one line and exit status 130, leaves no temp file and
no partial output; errors exit 2 with one line, a bug exits 1 with one line (its traceback on
request). The Ctrl-C lands at a chosen point (an import hook or a patched step sends SIGINT to
the process group, as a terminal does), so the tests do not depend on timing."""
import os
import subprocess
import sys

import pytest

from hostile_cli import DREAM, ROOT, assert_refused, fingerprint, write_clip, write_photo, write_tiny_model

ENV = dict(os.environ, PYTHONPATH=str(ROOT), NUMDREAM_BACKEND="numpy")
CONSOLE = "import sys; from numdream_main import main; sys.exit(main())"  # what pip's console script runs


@pytest.fixture(scope="module")
def tiny_h5(tmp_path_factory):
    return write_tiny_model(tmp_path_factory.mktemp("model") / "tiny.h5")


def run(prelude, argv, cwd, env=None):
    """Run the console entry point with ``argv`` after Python code ``prelude`` (which sets up the
    Ctrl-C), in a session of its own so that SIGINT to its group reaches only it and its children."""
    code = prelude + "\nsys.argv = ['numdream', *" + repr([str(a) for a in argv]) + "]\n" + CONSOLE
    return subprocess.run([sys.executable, "-c", "import sys\n" + code], cwd=cwd, env=env or ENV,
                          capture_output=True, text=True, timeout=300, start_new_session=True)


INTERRUPT_ON_IMPORT = """
import importlib.abc, os, signal
class CtrlC(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name == {module!r}:
            os.killpg(0, signal.SIGINT)  # the Ctrl-C lands while numdream imports this module
        return None
sys.meta_path.insert(0, CtrlC())
"""


@pytest.mark.parametrize("command, module", [
    ("dream", "numpy"), ("dream", "PIL.Image"), ("dream", "h5py"), ("dream", "tqdm"), ("dream", "numdream.dream"),
    ("dream", "numdream.cli.zoom"), ("zoom", "scipy.ndimage"),  # zoom imports SciPy when it runs
])
def test_ctrl_c_while_numdream_imports_is_one_line_and_130(tmp_path, tiny_h5, command, module):
    photo = write_photo(tmp_path / "photo.png")
    output = ["-o", tmp_path / ("out.png" if command == "dream" else "frames")]
    done = run(INTERRUPT_ON_IMPORT.format(module=module), [command, photo, *output, "--model", tiny_h5, *DREAM],
               tmp_path)
    assert_refused(done.returncode, done.stdout, done.stderr, "numdream: interrupted", status=130)
    assert sorted(os.listdir(tmp_path)) == ["photo.png"]


INTERRUPT_IN_STEP = """
import os, signal
import importlib; engine = importlib.import_module("numdream.dream")
step, calls = engine.dream_step, []
def interrupted_step(*args, **kwargs):
    calls.append(1)
    if len(calls) == {at}:
        os.killpg(0, signal.SIGINT)
    return step(*args, **kwargs)
engine.dream_step = interrupted_step
"""


@pytest.mark.parametrize("command, at", [("dream", 1), ("dream", 2), ("zoom", 3), ("video", 3), ("gallery", 2)])
def test_ctrl_c_during_a_run_is_one_line_and_130_and_leaves_no_temp(tmp_path, tiny_h5, command, at):
    photo = write_photo(tmp_path / "photo.png")
    clip = write_clip(tmp_path / "clip.mp4")
    argv = {"dream": ["dream", photo, "-o", "out.png"],
            "zoom": ["zoom", photo, "-o", "frames", "--frames", "4", "--mp4", "z.mp4"],
            "video": ["video", clip, "-o", "out.mp4"],
            "gallery": ["gallery", photo, "-o", "sheet.png", "--layer", "mixed", "--layer", "top"]}[command]
    flags = ["--octaves", "1", "--steps", "1", "-q"] if command == "gallery" else DREAM
    flags = [*flags, "--steps", "3"] if at > 1 and command == "dream" else flags  # a step after the first
    before = fingerprint(tmp_path)
    done = run(INTERRUPT_IN_STEP.format(at=at), [*argv, "--model", tiny_h5, *flags], tmp_path)
    assert_refused(done.returncode, done.stdout, done.stderr, "numdream: interrupted", status=130)
    after = fingerprint(tmp_path)
    assert {k: v for k, v in after.items() if k in before} == before
    made = sorted(set(after) - set(before))
    folder = {"zoom": "frames", "video": "out_frames"}.get(command)
    assert all(name == folder or name.startswith(f"{folder}/") for name in made), made  # frames only, no temp
    assert not any(os.path.basename(name).startswith(".") and "tmp" in name for name in made)


INTERRUPT_IN_BATCH = """
import contextlib, os, signal, threading
import numdream.batch as batch
connect = batch.connect
def ctrl_c_in(seconds):
    timer = threading.Timer(seconds, os.killpg, (0, signal.SIGINT))
    timer.daemon = True
    timer.start()
@contextlib.contextmanager
def interrupted_connect(*args, **kwargs):
    {when}
    with connect(*args, **kwargs) as client:
        {after}
        yield client
batch.connect = interrupted_connect
"""


@pytest.mark.slow
@pytest.mark.parametrize("when, after", [
    ("pass", "ctrl_c_in(1.0)"),  # the tasks run (5000 steps an image: minutes, were they not stopped)
    ("ctrl_c_in(0.3)", "pass"),  # the worker processes are starting (which takes seconds)
], ids=["while-dreaming", "while-the-cluster-starts"])
def test_ctrl_c_during_a_batch_is_one_line_and_130(tmp_path, tiny_h5, when, after):
    (tmp_path / "photos").mkdir()
    for i in range(4):
        write_photo(tmp_path / "photos" / f"p{i}.png", hw=(200, 260), seed=i)
    before = fingerprint(tmp_path / "photos")
    done = run(INTERRUPT_IN_BATCH.format(when=when, after=after),
               ["batch", "photos", "-o", "dreams", "--workers", "2", "--model", tiny_h5, "--layer", "mixed",
                "--steps", "5000", "-q"], tmp_path)
    assert_refused(done.returncode, done.stdout, done.stderr, "numdream: interrupted", status=130)
    assert fingerprint(tmp_path / "photos") == before
    assert all(name.endswith(".png") and not name.startswith(".") for name in os.listdir(tmp_path / "dreams"))


@pytest.mark.parametrize("argv, fragments", [
    (["gradcheck", "--seed", "-1"], ["--seed", "'-1'"]),
    (["dream", "PHOTO", "--jitter", "99999999999999999999", "-o", "x.png"], ["--jitter"]),
    (["zoom", "PHOTO", "-o", "f", "--gif", "z.gif", "--fps", "0.001"], ["GIF rates"]),
    (["dream", "PHOTO", "-o", "o" * 300 + ".png"], ["too long"]),
])
def test_as_a_program_an_error_is_exit_2_and_one_line(tmp_path, tiny_h5, argv, fragments):
    photo = write_photo(tmp_path / "photo.png")
    argv = [str(photo) if a == "PHOTO" else a for a in argv]
    if argv[0] != "gradcheck":
        argv += ["--model", str(tiny_h5), *DREAM]
    done = run("", argv, tmp_path)
    assert_refused(done.returncode, done.stdout, done.stderr, *fragments)


BUG = """
import numdream.cli.dream as command
def broken(*args, **kwargs):
    raise TypeError('a bug')
command.run_dream = broken
"""


def test_a_bug_is_one_line_exit_1_and_its_traceback_on_request(tmp_path, tiny_h5):
    photo = write_photo(tmp_path / "photo.png")
    argv = ["dream", photo, "-o", "out.png", "--model", tiny_h5, *DREAM]
    done = run(BUG, argv, tmp_path)
    assert_refused(done.returncode, done.stdout, done.stderr, "internal error", "TypeError: a bug",
                   "NUMDREAM_TRACEBACK=1", status=1)
    shown = run(BUG, argv, tmp_path, env=dict(ENV, NUMDREAM_TRACEBACK="1"))
    assert shown.returncode == 1 and "Traceback" in shown.stderr and "TypeError: a bug" in shown.stderr


def test_the_console_script_enters_through_numdream_main():
    """setup.py's entry point is the module that catches a Ctrl-C during the imports."""
    setup = (ROOT / "setup.py").read_text()
    assert '"numdream=numdream_main:main"' in setup and 'py_modules=["numdream_main"]' in setup
    source = (ROOT / "numdream_main.py").read_text()
    assert "\nimport sys\n" in source and source.count("import ") == 2  # nothing heavy before the try
