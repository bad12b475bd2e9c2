"""Hostile model files, built here: each is refused by read_model/load_model with one
ModelFileError line naming the file, before any big allocation, without touching the file.

Classes (counts in CASES): the file reaches outside itself (external storage, virtual
datasets, external and soft links), declares more than it may allocate, holds values that
would dream a black picture, names that would write to the terminal, or a non-RGB input.
Non-regular paths (FIFO, device, directory, socket, symlink loop) are refused before opening;
FIFO cases run in a subprocess with a timeout, so a regression fails instead of hanging.
min_input_size is checked against the linear-search oracle it replaced. (Fuzzing: test_fuzz_inputs.py.)
"""
import json
import os
import socket
import tempfile
import time
import h5py
import numpy as np
import pytest

from hostile import deadline, refused, run_python, snapshot
from numdream import fileio, modelstorage
from numdream.errors import ModelFileError, NumdreamError
from numdream.model import Model, load_model
from numdream.modelcheck import check_graph
from numdream.modelfile import ModelSpec, Node, write_model
from tiny_model import tiny_spec

W = "/params/001_conv1/w"  # conv1's weight in the tiny model: (8, 3, 3, 3)


def tiny(path):
    write_model(path, tiny_spec())
    return path


def edit_graph(change):
    """A builder that rewrites the graph JSON: change(nodes by name) edits them in place."""
    def build(f, tmp):
        graph = json.loads(f["graph"][()])
        change({n["name"]: n for n in graph["nodes"]})
        del f["graph"]
        f["graph"] = json.dumps(graph)
    return build


def replace(path_in_file, make):
    """A builder that swaps the object at path_in_file for make(f, tmp): a dataset it created
    there, or a link or value to put there."""
    def build(f, tmp):
        del f[path_in_file]
        made = make(f, tmp)
        if not isinstance(made, h5py.Dataset):
            f[path_in_file] = made
    return build


def secret(tmp):
    """A file beside the model that a hostile model would like numdream to read as weights."""
    (tmp / "secret.bin").write_bytes(np.arange(8 * 27, dtype="<f4").tobytes())
    with h5py.File(tmp / "other.h5", "w") as g:
        g["w"] = np.zeros((8, 3, 3, 3), np.float32)
    return tmp


def virtual(at):
    def make(f, tmp):
        layout = h5py.VirtualLayout(shape=(8, 3, 3, 3), dtype="f4")
        layout[:] = h5py.VirtualSource(str(secret(tmp) / "other.h5"), "w", shape=(8, 3, 3, 3))
        return f.create_virtual_dataset(at, layout)
    return make


def values(array):
    return replace(W, lambda f, tmp: f.create_dataset(W, data=array, compression="gzip"))


def weights_with(value):
    w = np.full((8, 3, 3, 3), 0.1, np.float32)
    w[3, 1, 2, 0] = value
    return values(w)


def attr(group, key, value):
    def build(f, tmp):
        f[group].attrs[key] = value
    return build


OUTSIDE = {  # the file makes numdream read another file
    "external storage": (replace(W, lambda f, tmp: f.create_dataset(
        W, shape=(8, 3, 3, 3), dtype="f4", external=[(str(secret(tmp) / "secret.bin"), 0, 864)])),
        "stores its data in the external file"),
    "external storage of /etc/passwd, outside the params": (lambda f, tmp: f.create_dataset(
        "provenance/notes", shape=(16,), dtype="u1", external=[("/etc/passwd", 0, 16)]),
        "dataset 'provenance/notes' stores its data in the external file '/etc/passwd'"),
    "virtual dataset as a weight": (replace(W, virtual(W)), "is a virtual dataset"),
    "virtual dataset elsewhere": (virtual("/spare/v"), "dataset 'spare/v' is a virtual dataset"),
    "external link as a weight": (replace(W, lambda f, tmp: h5py.ExternalLink(str(secret(tmp) / "other.h5"), "/w")),
                                  "'params/001_conv1/w' is an external link"),
    "external link as the preprocess group": (replace("preprocess", lambda f, tmp: h5py.ExternalLink("x.h5", "/p")),
                                              "'preprocess' is an external link"),
    "external link in provenance": (lambda f, tmp: f["provenance"].__setitem__("more", h5py.ExternalLink("/etc/passwd", "/")),
                                    "'provenance/more' is an external link"),
    "soft link as a weight": (replace(W, lambda f, tmp: f.create_dataset("hidden/w", data=np.zeros((8, 3, 3, 3), "f4"))
                                      and h5py.SoftLink("/hidden/w")), "is a soft link"),
    "dangling soft link": (lambda f, tmp: f.__setitem__("dangling", h5py.SoftLink("/nowhere")), "'dangling' is a soft link"),
    "soft link as the graph": (lambda f, tmp: (f.move("graph", "g2"), f.__setitem__("graph", h5py.SoftLink("/g2"))),
                               "'graph' is a soft link"),
    "provenance group linked into itself": (lambda f, tmp: f["provenance"].__setitem__("loop", f["provenance"]),
                                            "provenance nests deeper than 16 groups"),
}

TOO_BIG = {  # the file declares more than it may make numdream allocate
    "100 MB weight declared, no chunk stored": (replace(W, lambda f, tmp: f.create_dataset(
        W, shape=(8, 3, 1024, 1024), dtype="f4", chunks=(1, 3, 1024, 1024), compression="gzip")),
        "stores 0 of its 8 chunks"),
    "4 GiB weight declared": (replace(W, lambda f, tmp: f.create_dataset(
        W, shape=(1 << 15, 1 << 15), dtype="f4", chunks=(64, 64), compression="gzip")),
        "declares shape (32768, 32768), 1073741824 values; numdream reads at most 268435456"),
    "contiguous weight never written": (replace(W, lambda f, tmp: f.create_dataset(W, shape=(8, 3, 600, 600), dtype="f4")),
                                        "stores only 0 bytes"),
    "chunk larger than its dataset": (replace(W, lambda f, tmp: f.create_dataset(
        W, data=np.zeros((8, 3, 3, 3), "f4"), maxshape=(None, 3, 3, 3), chunks=(1 << 20, 3, 3, 3))),
        "chunks (1048576, 3, 3, 3) are larger than the dataset (8, 3, 3, 3)"),
    "lossy scale-offset filter": (replace(W, lambda f, tmp: f.create_dataset(W, data=np.zeros((8, 3, 3, 3), "f4"),
                                                                            scaleoffset=2)),
                                  "uses the HDF5 filter 'scaleoffset' (6); model files use gzip, shuffle, fletcher32 only"),
    "lzf filter": (replace(W, lambda f, tmp: f.create_dataset(W, data=np.zeros((8, 3, 3, 3), "f4"), compression="lzf")),
                   "uses the HDF5 filter 'lzf'"),
    "integer weights": (replace(W, lambda f, tmp: f.create_dataset(W, data=np.zeros((8, 3, 3, 3), "i8"))),
                        "dtype int64, expected float32"),
    "a weight without a dataspace": (replace(W, lambda f, tmp: f.create_dataset(W, data=h5py.Empty("f4"))),
                                     "an empty dataset (no dataspace)"),
    "graph string declaring 100 MB": (replace("graph", lambda f, tmp: f.create_dataset("graph", shape=(), dtype="S104857600")),
                                      "the graph JSON declares 104857600 bytes; at most 67108864"),
    "graph nested 100,000 deep": (replace("graph", lambda f, tmp: "[" * 100000 + "]" * 100000), "graph is not valid JSON"),
    "graph an array of strings": (replace("graph", lambda f, tmp: np.array([b"{}"] * 4)), "must be one string (JSON)"),
    "padding of 5000 px": (edit_graph(lambda n: n["conv2"]["attrs"].update(padding=[0, 5000, 0, 0])),
                           "attr 'padding' is [0, 5000, 0, 0], expected"),
    "padding of 10**400": (edit_graph(lambda n: n["conv2"]["attrs"].update(padding=[10 ** 400, 0, 0, 0])), "each 0..1024 px"),
    "pool window of 5000 px": (edit_graph(lambda n: n["pool1"]["attrs"].update(size=[5000, 5000])),
                               "attr 'size' is [5000, 5000], expected a positive int or [h, w], each at most 1024 px"),
    "stride of 4096": (edit_graph(lambda n: n["pool1"]["attrs"].update(stride=4096)), "attr 'stride' is 4096"),
    "LRN size 100000": (edit_graph(lambda n: n["norm1"]["attrs"].update(size=100000)),
                        "attr 'size' is 100000, expected a positive int up to 1024"),
    "groups 10**6": (edit_graph(lambda n: n["conv2"]["attrs"].update(groups=10 ** 6)), "attr 'groups' is 1000000"),
    "input of 10**9 channels": (edit_graph(lambda n: n["input"]["attrs"].update(channels=10 ** 9)),
                                "attr 'channels' is 1000000000, expected a positive int up to 65536"),
    "provenance attribute of 20 MB": (lambda f, tmp: f.create_group("provenance/big").attrs.create(
        "blob", np.zeros(20 << 18, np.float32)), "attribute 'blob' of '/provenance/big' declares 20971520 bytes"),
}

BLACK = {  # the file holds values that would dream a black (or NaN) picture
    "NaN weight": (weights_with(np.nan), "param 'w': value nan at index (3, 1, 2, 0)"),
    "infinite weight": (weights_with(np.inf), "value inf at index (3, 1, 2, 0)"),
    "weight of 1e30": (weights_with(1e30), "value 1.0000000150474662e+30 at index (3, 1, 2, 0)"),
    "NaN mean": (attr("preprocess", "mean", [127.5, np.nan, 127.5]), "mean (3 finite numbers)"),
    "infinite mean": (attr("preprocess", "mean", [np.inf, 0.0, 0.0]), "mean (3 finite numbers)"),
    "scale 1e-300": (attr("preprocess", "scale", 1e-300), "scale 1e-300 with mean [127.5, 127.5, 127.5] overflows float32"),
    "scale 1e300": (attr("preprocess", "scale", 1e300), "overflows float32"),
    "scale 1e-40 (subnormal in float32)": (attr("preprocess", "scale", 1e-40), "overflows float32"),
    "scale 0": (attr("preprocess", "scale", 0.0), "a finite non-zero scale"),
    "LRN k = 0": (edit_graph(lambda n: n["norm1"]["attrs"].update(k=0.0)), "lrn k=0.0, alpha=0.01, beta=0.75"),
    "LRN k < 0": (edit_graph(lambda n: n["norm1"]["attrs"].update(k=-1.0)), "numdream needs k > 0"),
    "LRN alpha < 0": (edit_graph(lambda n: n["norm1"]["attrs"].update(alpha=-2.0)), "alpha >= 0"),
    "LRN beta < 0": (edit_graph(lambda n: n["norm1"]["attrs"].update(beta=-0.75)), "0 <= beta <= 8"),
    "LRN k**beta underflows": (edit_graph(lambda n: n["norm1"]["attrs"].update(k=1e-30, beta=3.0)),
                               "scale k ** beta outside float32's range"),
    "dream layer weight NaN": (attr("/", "dream_layers", '{"mixed": NaN}'), "gives 'mixed' the weight nan"),
    "dream layer weight 1e38": (attr("/", "dream_layers", '{"mixed": 1e38}'), "weights must be finite, at most 1e+06"),
}

NAMES = {  # names `numdream layers` would print raw into the user's terminal
    "newline": "conv\nfake line",
    "terminal escape": "conv\x1b[2J\x1b[31m",
    "right-to-left override": "conv\u202egpj.exe",
    "NUL": "conv\x00",
    "bell": "conv\x07",
}

CHANNELS = {"gray (1 channel)": 1, "RGBA (4 channels)": 4}


def rename(name):
    def change(nodes):
        nodes["conv2"]["name"] = name
        nodes["conv2_relu"]["inputs"] = [name]
    return edit_graph(change)


def in_channels(channels):
    def change(nodes):
        nodes["input"]["attrs"]["channels"] = channels
    return edit_graph(change)


CASES = {**{f"outside: {k}": v for k, v in OUTSIDE.items()},
         **{f"too big: {k}": v for k, v in TOO_BIG.items()},
         **{f"black: {k}": v for k, v in BLACK.items()},
         **{f"name: {k}": (rename(v), f"name {v!r} holds control or non-printable") for k, v in NAMES.items()},
         "name: model name with a terminal escape": (attr("/", "name", "tiny\x1b]0;owned\x07"), "model name: name"),
         **{f"input: {k}": (in_channels(v), f"the model's input takes {v} channel(s); numdream dreams RGB images")
            for k, v in CHANNELS.items()},
         "graph: a two-node cycle": (edit_graph(lambda n: n["conv1"].update(inputs=["conv1_relu"])),
                                     "input 'conv1_relu' is a later node"),
         "graph: a node reading itself": (edit_graph(lambda n: n["pool1"].update(inputs=["pool1"])),
                                          "input 'pool1' is itself"),
         "graph: concat of branches at different scales": (
             edit_graph(lambda n: n["b1"].update(inputs=["pool1"]) or n["b1"]["attrs"].update(stride=[2, 2])),
             "concat joins inputs at different spatial scales: 'b1_relu' (1/8 x 1/8 of the image) and 'b2b_relu' "
             "(1/4 x 1/4 of the image)")}


@pytest.mark.parametrize("case", list(CASES))
def test_a_hostile_model_file_is_refused_in_one_line_before_allocating(tmp_path, case):
    build, says = CASES[case]
    path = tiny(tmp_path / "model.h5")
    with h5py.File(path, "r+", libver="latest") as f:
        build(f, tmp_path)
    before = snapshot(tmp_path)
    message = refused(lambda: load_model(path), ModelFileError, says, limit_mb=16)
    assert message.startswith(f"{path}: ")
    assert snapshot(tmp_path) == before


@pytest.mark.parametrize("case", [*NAMES, *CHANNELS, "NaN weight", "NaN mean", "LRN k = 0", "scale 1e-300"])
def test_write_model_refuses_the_same_so_no_converter_can_write_them(tmp_path, case):
    spec = tiny_spec()
    nodes = {n.name: n for n in spec.nodes}
    if case in NAMES:
        nodes["conv2"].name, nodes["conv2_relu"].inputs = NAMES[case], [NAMES[case]]
    elif case in CHANNELS:
        nodes["input"].attrs["channels"] = CHANNELS[case]
    elif case == "NaN weight":
        nodes["conv1"].params["w"][0, 0, 0, 0] = np.nan
    elif case == "NaN mean":
        spec.preprocess["mean"] = [np.nan, 1.0, 2.0]
    elif case == "LRN k = 0":
        nodes["norm1"].attrs["k"] = 0.0
    else:
        spec.preprocess["scale"] = 1e-300
    refused(lambda: write_model(tmp_path / "out.h5", spec), ModelFileError, str(tmp_path / "out.h5"))
    assert list(tmp_path.iterdir()) == []  # no output, no temp file


def test_the_link_walk_is_bounded(tmp_path, monkeypatch):
    """A file of millions of groups would take minutes to walk: the walk stops at MAX_LINKS."""
    path = tiny(tmp_path / "model.h5")
    monkeypatch.setattr(modelstorage, "MAX_LINKS", 10)
    refused(lambda: load_model(path), ModelFileError, "holds more than 10 links; a model file holds a few per node")


def stand_in(*shape):
    return np.broadcast_to(np.float32(0), shape)


@pytest.mark.parametrize("nodes, says", [
    ([Node("c", "conv2d", ["x"], {"stride": 1, "padding": "valid"}, {"w": stand_in(8, 3, 2000, 2000), "b": stand_in(8)})],
     "conv kernel 2000x2000; numdream allows kernels up to 1024 px"),
    ([Node("c", "conv2d", ["x"], {"stride": 1, "padding": "valid"}, {"w": stand_in(100000, 3, 1, 1), "b": stand_in(100000)})],
     "100000 output channels; numdream allows at most 65536"),
    ([Node(f"d{i}", "dense", ["x" if i == 0 else f"d{i - 1}"], {}, {"w": stand_in(1, 3 << 25), "b": stand_in(1)})
      for i in range(3)], "node 3 ('d2'): param 'w': shape (1, 100663296) brings the model to 301989891 "
                          "parameters; numdream reads at most 268435456"),
    ([Node("c", "conv2d", ["x"], {"stride": 1, "padding": "valid"}, {"w": stand_in(8, 3, 0, 0), "b": stand_in(8)})],
     "param 'w': shape (8, 3, 0, 0) holds no values"),
])
def test_declared_shapes_are_checked_without_memory(nodes, says):
    """check_graph on zero-strided stand-ins, as read_model runs it before reading a weight."""
    graph = [Node("x", "input", [], {"channels": 3})] + nodes
    refused(lambda: check_graph(graph, "m.h5"), ModelFileError, says, limit_mb=1)


# ---- paths that are not regular files -----------------------------------------------------------

def test_devices_directories_sockets_and_symlink_loops_are_refused_before_opening(tmp_path):
    (tmp_path / "loop_a").symlink_to(tmp_path / "loop_b")
    (tmp_path / "loop_b").symlink_to(tmp_path / "loop_a")
    (tmp_path / "dangling").symlink_to(tmp_path / "nowhere.h5")
    short = tempfile.mkdtemp(dir="/tmp")  # a socket path must stay under 108 bytes
    sock = socket.socket(socket.AF_UNIX)
    try:
        sock.bind(os.path.join(short, "s"))
        for path, says in [("/dev/zero", "it is a character device, not a regular file"),
                           (str(tmp_path), "it is a directory, not a regular file"),
                           (os.path.join(short, "s"), "it is a socket, not a regular file"),
                           (str(tmp_path / "loop_a"), "it is a loop of symbolic links"),
                           (str(tmp_path / "dangling"), "which does not exist")]:
            assert refused(lambda: load_model(path), ModelFileError, says).startswith(f"{path}: ")
    finally:
        sock.close()
        os.unlink(os.path.join(short, "s"))
        os.rmdir(short)


def test_a_path_swapped_for_a_fifo_between_stat_and_open_is_refused(tmp_path, monkeypatch):
    """The race: stat sees a regular file, then the path becomes a FIFO. The open is
    non-blocking and fstat sees the FIFO, so it is refused instead of read."""
    path = tiny(tmp_path / "model.h5")
    real_open = os.open

    def swap_then_open(name, flags, *args):
        os.unlink(name)
        os.mkfifo(name)
        return real_open(name, flags, *args)
    monkeypatch.setattr(fileio.os, "open", swap_then_open)
    with deadline(30):
        refused(lambda: load_model(path), ModelFileError, f"{path}: it is a FIFO (named pipe), not a regular file")


FIFO_CHECK = """
import os
import sys
sys.path.insert(0, "tests")
from numdream.errors import ModelFileError
from numdream.model import load_model
os.mkfifo({fifo!r})
{setup}
try:
    load_model({target!r})
except ModelFileError as err:
    print("refused:", err)
"""


@pytest.mark.parametrize("how", ["the FIFO itself", "a symlink to it", "an external link to it"])
def test_a_fifo_is_never_opened(tmp_path, how):
    fifo, link = str(tmp_path / "pipe.h5"), str(tmp_path / "link.h5")
    setup, target, says = {
        "the FIFO itself": ("", fifo, "it is a FIFO (named pipe), not a regular file"),
        "a symlink to it": (f"os.symlink({fifo!r}, {link!r})", link, "it is a FIFO (named pipe), not a regular file"),
        "an external link to it": (
            f"import h5py\nfrom numdream.modelfile import write_model\nfrom tiny_model import tiny_spec\n"
            f"write_model({link!r}, tiny_spec())\n"
            f"with h5py.File({link!r}, 'r+') as f:\n    del f['{W}']\n"
            f"    f['{W}'] = h5py.ExternalLink({fifo!r}, '/w')", link, "is an external link"),
    }[how]
    done = run_python(FIFO_CHECK.format(fifo=fifo, setup=setup, target=target), timeout=60)
    assert done.returncode == 0 and "Traceback" not in done.stderr, done.stderr
    assert done.stdout.startswith(f"refused: {target}: ") and says in done.stdout, done.stdout


# ---- min_input_size: bisection against the linear search it replaced ------------------------------

def linear_min_input_size(model, until=None):
    """The oracle: try every side from 1 to 4096, as min_input_size did before."""
    for side in range(1, 4097):
        try:
            model.output_shapes((side, side), until)
            return side
        except NumdreamError:
            continue
    return None


def random_chain(rng, dense):
    """input -> convs/pools (valid, same, explicit, ceil mode) with a branch into a concat,
    optionally ending in a dense head that reads a fixed number of values."""
    nodes, src, cin = [Node("x", "input", [], {"channels": 3})], "x", 3
    for i in range(int(rng.integers(2, 6))):
        k, s = int(rng.integers(1, 6)), int(rng.integers(1, 4))
        pad = ["same", "valid", [int(p) for p in rng.integers(0, 3, 4)]][int(rng.integers(0, 3))]
        if rng.random() < 0.5:
            w = rng.standard_normal((4, cin, k, k)).astype(np.float32)
            nodes.append(Node(f"n{i}", "conv2d", [src], {"stride": s, "padding": pad}, {"w": w, "b": np.zeros(4, np.float32)}))
            cin = 4
        else:
            nodes.append(Node(f"n{i}", "max_pool2d", [src], {"size": k, "stride": s, "padding": pad,
                                                             "ceil_mode": bool(rng.random() < 0.5)}))
        src = f"n{i}"
    nodes.append(Node("cat", "concat", [src, src], {"axis": 1}))
    if dense:
        k = cin * 2 * int(rng.integers(1, 4)) ** 2
        nodes.append(Node("fc", "dense", ["cat"], {}, {"w": np.ones((2, k), np.float32), "b": np.zeros(2, np.float32)}))
    return ModelSpec("chain", nodes, {"channel_order": "RGB", "mean": [0.0] * 3, "scale": 1.0}, {})


@pytest.mark.parametrize("seed", range(60))
def test_min_input_size_equals_the_linear_search(seed):
    rng = np.random.default_rng(seed)
    model = Model(random_chain(rng, dense=seed % 2 == 1))
    expected = linear_min_input_size(model)
    if expected is None:
        with pytest.raises(NumdreamError, match="fits no input up to 4096 pixels"):
            model.min_input_size()
    else:
        assert model.min_input_size() == expected


def valid_conv_chain(count):
    """count 3x3 'valid' convs: each takes 2 pixels, so 10,000 of them fit no input up to 4096."""
    w, b = np.ones((3, 3, 3, 3), np.float32), np.zeros(3, np.float32)
    nodes = [Node("x", "input", [], {"channels": 3})]
    nodes += [Node(f"c{i}", "conv2d", [f"c{i - 1}" if i else "x"], {"stride": 1, "padding": "valid"}, {"w": w, "b": b})
              for i in range(count)]
    return ModelSpec("deep", nodes, {"channel_order": "RGB", "mean": [0.0] * 3, "scale": 1.0}, {})


def test_min_input_size_of_a_10000_node_model_that_fits_nothing_is_quick():
    model = Model(valid_conv_chain(10000))
    started = time.perf_counter()
    with pytest.raises(NumdreamError, match="fits no input up to 4096 pixels"):
        model.min_input_size()
    assert model.min_input_size(["c99"]) == 201
    assert time.perf_counter() - started < 30  # generous; the linear search took 92 s
