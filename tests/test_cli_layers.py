"""``numdream layers``: every layer with its op, channels and stride; --op; --model; errors."""
import subprocess
import sys

import pytest

from cli_helpers import (ROOT, assert_one_line_error, run_cli, run_subprocess, subprocess_env,
                         write_tiny_model)
from numdream.model import load_model


def rows(out, pre_relu=None):
    """The table rows (not the header or the footer) as {name: (op, channels, stride, rest)};
    pre_relu, a dict, gets {name: 'yes' or '-'} from the pre_relu column."""
    table = out.split("\n\n")[0].splitlines()
    assert table[0].split() == ["layer", "op", "channels", "stride", "pre_relu"]
    parsed = {}
    for line in table[1:]:
        name, op, channels, stride, pre, *rest = line.split()
        parsed[name] = (op, int(channels), int(stride), " ".join(rest))
        if pre_relu is not None:
            pre_relu[name] = pre
    return parsed


def test_lists_every_inception_layer_with_channels_and_stride(capsys):
    code, out, err = run_cli(["layers"], capsys)
    assert (code, err) == (0, "")
    model = load_model()
    listed = rows(out)
    assert list(listed) == model.layer_names and len(listed) == 115
    for name, (op, channels, stride, _) in listed.items():
        info = model.layers[name]
        assert (op, channels, stride) == (info.op, info.channels, info.stride), name
    assert listed["mixed5"] == ("concat", 768, 16, "(default target)")
    assert listed["mixed3"] == ("concat", 768, 16, "(default target)")
    assert listed["mixed0"] == ("concat", 256, 8, "")
    assert listed["input_1"] == ("input", 3, 1, "")
    pre_relu = {}
    rows(out, pre_relu)
    assert {name for name, mark in pre_relu.items() if mark == "yes"} == {
        name for name in model.layer_names if model.has_pre_relu(name)}
    assert pre_relu["mixed4"] == pre_relu["activation_5"] == "yes" and pre_relu["conv2d_1"] == "-"
    assert set(pre_relu.values()) == {"yes", "-"}
    assert out.rstrip().splitlines()[-1].startswith(
        "115 layers; smallest input 43x43 pixels; model inception_v3 from ")


def test_op_filter_keeps_only_that_op(capsys):
    code, out, _ = run_cli(["layers", "--op", "concat"], capsys)
    assert code == 0
    assert list(rows(out)) == [f"mixed{i}" for i in range(6)]
    code, out, _ = run_cli(["layers", "--op", "max_pool2d"], capsys)
    assert list(rows(out)) == ["max_pooling2d_1", "max_pooling2d_2", "max_pooling2d_3"]


def test_unknown_op_lists_the_valid_ones(capsys):
    assert_one_line_error(*run_cli(["layers", "--op", "softmax"], capsys), "layers", "'softmax'",
                          "avg_pool2d, concat, conv2d, input, max_pool2d, relu")


def test_another_model_file(capsys, tmp_path):
    path = write_tiny_model(tmp_path / "tiny.h5")
    code, out, err = run_cli(["layers", "--model", path], capsys)
    assert (code, err) == (0, "")
    listed = rows(out)
    assert len(listed) == 25 and list(listed)[:2] == ["input", "conv1"]
    assert listed["mixed"] == ("concat", 16, 4, "(default target)")  # the tiny model's dream_layers
    assert listed["top"] == ("conv2d", 6, 8, "")
    assert out.count("(default target)") == 1
    assert out.rstrip().splitlines()[-1] == f"25 layers; smallest input 7x7 pixels; model tiny from {path}"


def test_as_a_program(tmp_path):
    done = run_subprocess(["layers", "--op", "lrn"], cwd=tmp_path)
    assert_one_line_error(done.returncode, done.stdout, done.stderr, "layers", "'lrn'")
    done = run_subprocess(["layers"], cwd=tmp_path)
    assert done.returncode == 0 and done.stderr == ""
    assert len(rows(done.stdout)) == 115


def test_a_reader_that_leaves_early_gets_no_traceback():
    """`numdream layers | head -1`: the pipe closes before numdream writes; it stops quietly."""
    proc = subprocess.Popen([sys.executable, "-m", "numdream", "layers"], cwd=ROOT, env=subprocess_env(),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    proc.stdout.close()  # before the interpreter has even started numdream
    err = proc.stderr.read().decode()
    proc.stderr.close()
    assert proc.wait(timeout=120) == 141
    assert err == ""


@pytest.mark.parametrize("argv,command,fragment", [
    (["layers", "extra"], "layers", "unrecognized argument 'extra' (usage: numdream layers [options]; "),
    (["layers", "--model"], "layers", "--model: expected one argument"),
])
def test_bad_arguments_are_one_line(capsys, argv, command, fragment):
    assert_one_line_error(*run_cli(argv, capsys), command, fragment)
