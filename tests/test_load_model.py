"""A bad model file, through the public API and the CLI: one ModelFileError line naming the file."""
from pathlib import Path

import h5py
import pytest

from cli_helpers import (assert_one_line_error, run_cli, run_subprocess, snapshot, write_photo,
                         write_tiny_model)
from numdream.errors import ModelFileError, NumdreamError
from numdream.model import bundled_model_path, load_model


def missing(path):
    return path


def truncated(path):
    """The first half of the real InceptionV3 file, as a broken download leaves it."""
    real = Path(bundled_model_path()).read_bytes()
    path.write_bytes(real[:len(real) // 2])
    return path


def text(path):
    path.write_text("these are not the weights you are looking for\n")
    return path


def unknown_op(path):
    """A valid tiny model whose graph JSON then gets an op numdream does not have."""
    write_tiny_model(path)
    with h5py.File(path, "a") as f:
        graph = f["graph"][()]
        graph = graph.decode() if isinstance(graph, bytes) else graph
        assert '"op": "lrn"' in graph
        del f["graph"]
        f["graph"] = graph.replace('"op": "lrn"', '"op": "deformable_conv"')
    return path


BAD_FILES = {  # how to make it -> what the message must say besides the path
    missing: "no such file",
    truncated: "not a readable HDF5 model file",
    text: "not a readable HDF5 model file",
    unknown_op: "unknown op 'deformable_conv'; valid ops: input, conv2d",
}


@pytest.fixture(params=list(BAD_FILES), ids=lambda make: make.__name__)
def bad_model(request, tmp_path):
    """(path of a bad model file, what its error must say)."""
    return request.param(tmp_path / f"{request.param.__name__}.h5"), BAD_FILES[request.param]


def test_a_good_tiny_file_loads(tmp_path):
    """The control: the same writer, untouched, gives a model (so the failures below are the edits)."""
    model = load_model(write_tiny_model(tmp_path / "tiny.h5"))
    assert model.name == "tiny" and len(model.layer_names) == 25


def test_load_model_raises_one_line_naming_the_file(bad_model):
    path, says = bad_model
    with pytest.raises(ModelFileError) as caught:
        load_model(path)
    message = str(caught.value)
    assert isinstance(caught.value, NumdreamError)
    assert "\n" not in message
    assert message.startswith(f"{path}: ") and says in message, message


@pytest.mark.parametrize("command", ["layers", "dream"])
def test_the_cli_prints_one_line_and_exits_2(capsys, tmp_path, bad_model, command):
    path, says = bad_model
    photo = write_photo(tmp_path / "photo.png")
    before = snapshot(photo)
    args = [command, "--model", path] + ([photo, "-o", tmp_path / "out.png"] if command == "dream" else [])
    assert_one_line_error(*run_cli(args, capsys), command, str(path), says)
    assert snapshot(photo) == before
    assert not (tmp_path / "out.png").exists()


@pytest.mark.parametrize("command", ["layers", "dream"])
def test_as_a_program_no_traceback(tmp_path, command):
    path = truncated(tmp_path / "half.h5")
    done = run_subprocess([command, "--model", path], cwd=tmp_path)
    assert "Traceback" not in done.stderr
    assert_one_line_error(done.returncode, done.stdout, done.stderr, command, f"{path}: not a readable")
    assert list(tmp_path.iterdir()) == [path]  # dream on the bundled cat wrote nothing
