"""Every dreaming command refuses a flag it would silently ignore, with one line and exit 2."""
import pytest

from numdream.cli import main


@pytest.mark.parametrize("command", [
    ["zoom", "-o", "frames"], ["video", "in.mp4", "-o", "out.mp4"], ["batch", "in", "-o", "out"]])
@pytest.mark.parametrize("flags,message", [
    (["--objective", "l2", "--channel", "3"], "--channel 3 is used only by --objective channel"),
    (["--guide", "g.png", "--neuron", "2"], "is used only by --objective"),
    (["--class-index", "4", "--objective", "mean"], "--class-index 4 is used only by --objective class"),
])
def test_dream_commands_refuse_unused_target_flags(capsys, tmp_path, monkeypatch, command, flags, message):
    monkeypatch.chdir(tmp_path)
    assert main(command + flags) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1 and "Traceback" not in err
    assert not (tmp_path / "frames").exists() and not (tmp_path / "out").exists()


def test_zoom_refuses_size_without_noise_and_input_with_noise(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["zoom", "-o", "frames", "--size", "64x64"]) == 2
    assert "--size 64x64 is used only with --init noise" in capsys.readouterr().err
    assert main(["zoom", "photo.png", "-o", "frames", "--init", "noise"]) == 2
    assert "--init noise starts from noise and would ignore INPUT 'photo.png'" in capsys.readouterr().err
