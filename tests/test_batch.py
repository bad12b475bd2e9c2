"""Batches on Dask: which images are to do and which are done, a LocalCluster on loopback,
failures that do not stop the batch, re-runs that skip finished outputs, BLAS threads per worker,
and the missing-Dask message."""
import os
import sys

import numpy as np
import pytest

from numdream import batch
from numdream.batch import BLAS_THREAD_VARIABLES, connect, todo_and_done
from numdream.cli import main
from numdream.dream import dream
from numdream.errors import NumdreamError
from numdream.images import load_image, sample_path, save_image
from numdream.model import Model
from numdream.modelfile import write_model
from tiny_model import tiny_spec

distributed = pytest.importorskip("dask.distributed")  # the test extra installs it; CI fails on skips

PHOTO = load_image(sample_path())
DREAM = dict(layers={"mixed": 1.0}, octaves=2, steps=2, seed=0)
CLI_DREAM = ["--layer", "mixed", "--octaves", "2", "--steps", "2"]


@pytest.fixture(scope="module")
def tiny_h5(tmp_path_factory):
    path = tmp_path_factory.mktemp("model") / "tiny.h5"
    write_model(path, tiny_spec())
    return path


@pytest.fixture
def photos(tmp_path):
    """photos/ with three small crops, one corrupt .png, and files a batch must leave alone."""
    folder = tmp_path / "photos"
    folder.mkdir()
    for i, name in enumerate(["a.png", "b.jpg", "c.png"]):
        save_image(folder / name, PHOTO[40 * i:40 * i + 48:2, 60 * i:60 * i + 64:2].copy())
    (folder / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n but then nothing")
    (folder / "notes.txt").write_text("not an image")
    (folder / ".hidden.png").write_bytes(b"")
    (folder / "sub").mkdir()
    return folder


@pytest.fixture
def environ_restored():
    """os.environ as it was before the test: a dask nanny leaves its worker settings in it."""
    saved = dict(os.environ)
    yield
    os.environ.clear()
    os.environ.update(saved)


def test_todo_and_done_lists_images_and_skips_finished_outputs(photos, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "b.jpg").write_bytes(b"done before")
    todo, skipped = todo_and_done(photos, out)
    assert [(s.name, t.name) for s, t in todo] == [("a.png", "a.png"), ("broken.png", "broken.png"),
                                                   ("c.png", "c.png")]
    assert all(s.is_absolute() and t.parent == out.resolve() for s, t in todo)
    assert [p.name for p in skipped] == ["b.jpg"]


@pytest.mark.parametrize("make, message", [
    (lambda d: (d / "photos", d / "photos" / "."), "is the input folder"),
    (lambda d: (d / "none", d / "out"), "does not exist or is not a folder"),
    (lambda d: (d / "photos" / "sub", d / "out"), "no images in"),
])
def test_todo_and_done_refuses_bad_folders(photos, tmp_path, make, message):
    with pytest.raises(NumdreamError, match=message):
        todo_and_done(*make(tmp_path))


def test_a_crashed_task_is_reported_on_one_line_with_its_type():
    crash = RuntimeError("worker process died\n  Traceback (most recent call last):\n  ...")
    assert batch._describe_error(crash) == ("RuntimeError: worker process died Traceback (most recent "
                                            "call last): ...")
    assert batch._describe_error(MemoryError()) == "MemoryError"


@pytest.mark.slow
def test_local_cluster_dreams_reports_the_broken_image_and_a_rerun_skips(photos, tmp_path, tiny_h5, capfd):
    out = tmp_path / "dreams"
    argv = ["batch", str(photos), "-o", str(out), "--workers", "2", "--model", str(tiny_h5), *CLI_DREAM]
    assert main(argv) == 1
    err = capfd.readouterr().err.splitlines()
    failed = [line for line in err if line.startswith("numdream batch: failed:")]
    assert failed == [f"numdream batch: failed: broken.png: cannot read image '{photos / 'broken.png'}': "
                      "not an image format Pillow can read (or the file is corrupt)"]
    assert not any("Traceback" in line or "Compute Failed" in line for line in err)
    assert any(line.startswith("dreamed 3, skipped 0 already done, failed 1") for line in err)
    assert sorted(p.name for p in out.iterdir()) == ["a.png", "b.jpg", "c.png"]  # no temp files either
    tiny = Model(tiny_spec())
    for name in ("a.png", "c.png"):  # lossless outputs: what a dream in this process gives
        expected = dream(str(photos / name), model=tiny, progress=False, **DREAM)
        assert np.abs(load_image(out / name).astype(int) - expected).max() <= 1
    assert not np.array_equal(load_image(out / "a.png"), load_image(photos / "a.png"))

    stamps = {p.name: p.stat().st_mtime_ns for p in out.iterdir()}
    assert main(argv) == 1  # the broken image fails again; the others are not redone
    err = capfd.readouterr().err
    assert "dreamed 0, skipped 3 already done, failed 1" in err
    assert {p.name: p.stat().st_mtime_ns for p in out.iterdir()} == stamps


def test_an_existing_scheduler_is_used(photos, tmp_path, tiny_h5, capsys, environ_restored):
    (photos / "broken.png").unlink()
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=True, host="127.0.0.1",
                                  dashboard_address=None) as cluster:
        code = main(["batch", str(photos), "-o", str(tmp_path / "out"), "--scheduler", cluster.scheduler_address,
                     "--model", str(tiny_h5), "-q", *CLI_DREAM])
        workers = list(cluster.workers)
    assert code == 0, capsys.readouterr().err
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["a.png", "b.jpg", "c.png"]
    assert capsys.readouterr().err == ""  # -q and no failures: silent
    assert len(workers) == 1  # the batch used this cluster and started no other


@pytest.mark.slow
def test_workers_get_their_blas_threads_and_no_malloc_trim_and_the_client_keeps_its_env(monkeypatch):
    names = [*BLAS_THREAD_VARIABLES, "MALLOC_TRIM_THRESHOLD_"]
    monkeypatch.setenv("MALLOC_TRIM_THRESHOLD_", "65536")  # as an earlier cluster's nanny leaves it
    monkeypatch.setenv("OPENBLAS_NUM_THREADS", "2")         # the asked-for count wins over this
    before = {name: os.environ.get(name) for name in names}
    with connect(workers=2, blas_threads=1) as client:
        seen = client.run(lambda: {name: os.environ.get(name) for name in names})
        assert all(addr.startswith("tcp://127.0.0.1:") for addr in seen)  # loopback only
    assert len(seen) == 2
    expected = {**{name: "1" for name in BLAS_THREAD_VARIABLES}, "MALLOC_TRIM_THRESHOLD_": None}
    assert all(env == expected for env in seen.values())
    assert {name: os.environ.get(name) for name in names} == before


def test_unreachable_scheduler_is_one_line(photos, tmp_path, tiny_h5, capsys, monkeypatch):
    monkeypatch.setattr(batch, "CONNECT_TIMEOUT", "1s")
    code = main(["batch", str(photos), "-o", str(tmp_path / "out"), "--scheduler", "tcp://127.0.0.1:9",
                 "--model", str(tiny_h5), *CLI_DREAM])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1
    assert err.startswith("numdream batch: error: cannot connect to the Dask scheduler 'tcp://127.0.0.1:9'")


@pytest.mark.parametrize("output, message", [
    ("missing/out", "cannot make output folder '{d}/missing/out': folder '{d}/missing' does not exist"),
    ("file", "cannot make output folder '{d}/file': a file has that name"),
])
def test_an_output_folder_that_cannot_be_made_is_one_line(photos, tmp_path, capsys, output, message):
    (tmp_path / "file").write_text("")
    code = main(["batch", str(photos), "-o", str(tmp_path / output)])
    err = capsys.readouterr().err
    assert code == 2 and err == f"numdream batch: error: {message.format(d=tmp_path)}\n"


def test_a_bad_layer_fails_once_before_any_task(photos, tmp_path, tiny_h5, capsys):
    code = main(["batch", str(photos), "-o", str(tmp_path / "out"), "--workers", "1", "--model", str(tiny_h5),
                 "--layer", "mixd"])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "unknown layer 'mixd'" in err


def test_without_dask_the_message_says_how_to_install_it(photos, tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "dask.distributed", None)
    monkeypatch.setitem(sys.modules, "distributed", None)
    code = main(["batch", str(photos), "-o", str(tmp_path / "out")])
    assert code == 2
    assert capsys.readouterr().err == ("numdream batch: error: batches need Dask (dask.distributed), which is "
                                       "not installed; run: pip install 'numdream[dask]'\n")
    assert not (tmp_path / "out").exists()


def test_blas_threads_with_a_scheduler_is_refused(photos, tmp_path, capsys):
    code = main(["batch", str(photos), "-o", str(tmp_path / "out"), "--scheduler", "tcp://127.0.0.1:9",
                 "--blas-threads", "2"])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "--blas-threads 2 applies to a local cluster only" in err
