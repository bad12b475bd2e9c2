"""tools/convert_caffe.py on synthetic .caffemodel files with the real structure.

A small GoogLeNet (stem with LRN, an Inception module, a global-pool classifier and an auxiliary
head that flattens a 3x3 grid) is written as a .caffemodel in the V2 ``layer`` and the legacy V1
``layers`` formats (tests/protobuf_write.py) and converted; the numdream model must equal a
PyTorch model built here from the same layer list with Caffe's rules (ceil-mode pooling, AVE
pooling that counts padding, in-place ReLU), forward and input gradient, float64.
The full-size bvlc_googlenet structure is in test_convert_caffe_googlenet.py.
"""
import os

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import hostile
import protobuf_write as pw
from numdream.errors import ModelFileError
from numdream.gradcheck import rel_error
from numdream.model import Model, load_model
from tool_paths import TOOLS  # noqa: F401 (puts tools/ on sys.path)

import convert_caffe  # noqa: E402
from caffemodel import CaffeError  # noqa: E402

MEAN = [103.5, 116.25, 122.75]


def _conv(rng, name, bottom, cin, out, k, stride=1, pad=0, group=1):
    w = rng.standard_normal((out, cin // group, k, k)).astype(np.float32) * np.float32(np.sqrt(2 / (cin // group * k * k)))
    param = {"num_output": out, "kernel_size": k, "stride": stride, "pad": pad}
    if group != 1:
        param["group"] = group
    return [{"name": name, "type": "Convolution", "bottom": [bottom], "top": [name], "param": param,
             "blobs": [w, rng.standard_normal(out).astype(np.float32) * np.float32(0.1)]},
            {"name": name.replace("/", "/relu_", 1) if "/" in name else name + "_relu", "type": "ReLU",
             "bottom": [name], "top": [name]}]


def _fc(rng, name, bottom, k, out):
    return {"name": name, "type": "InnerProduct", "bottom": [bottom], "top": [name], "param": {"num_output": out},
            "blobs": [rng.standard_normal((out, k)).astype(np.float32) / np.float32(np.sqrt(k)),
                      rng.standard_normal(out).astype(np.float32) * np.float32(0.1)]}


def _pool(name, bottom, pool, k, stride, pad=0):
    return {"name": name, "type": "Pooling", "bottom": [bottom], "top": [name],
            "param": {"pool": pool, "kernel_size": k, "stride": stride, "pad": pad}}


def tiny_googlenet(seed=0):
    """The layer dicts: data layers, stem, inception_3a, an aux head, a global-pool head, losses."""
    rng = np.random.default_rng(seed)
    layers = [{"name": "data", "type": "Data", "top": ["data", "label"], "phase": phase,
               "transform": {"mean_value": MEAN, "crop_size": 40}} for phase in ("TRAIN", "TEST")]
    layers += _conv(rng, "conv1/7x7_s2", "data", 3, 8, 7, stride=2, pad=3)
    layers.append(_pool("pool1/3x3_s2", "conv1/7x7_s2", 0, 3, 2))  # 20 -> 10: Caffe rounds up
    layers.append({"name": "pool1/norm1", "type": "LRN", "bottom": ["pool1/3x3_s2"], "top": ["pool1/norm1"],
                   "param": {"local_size": 5, "alpha": 0.5, "beta": 0.75, "k": 2.0}})
    layers += _conv(rng, "conv2/3x3_reduce", "pool1/norm1", 8, 8, 1)
    layers += _conv(rng, "conv2/3x3", "conv2/3x3_reduce", 8, 12, 3, pad=1, group=2)
    layers.append(_pool("pool2/3x3_s2", "conv2/3x3", 0, 3, 2))  # 10 -> 5
    p = "inception_3a/"
    layers += _conv(rng, p + "1x1", "pool2/3x3_s2", 12, 4, 1)
    layers += _conv(rng, p + "3x3_reduce", "pool2/3x3_s2", 12, 4, 1) + _conv(rng, p + "3x3", p + "3x3_reduce", 4, 6, 3, pad=1)
    layers += _conv(rng, p + "5x5_reduce", "pool2/3x3_s2", 12, 2, 1) + _conv(rng, p + "5x5", p + "5x5_reduce", 2, 3, 5, pad=2)
    layers.append(_pool(p + "pool", "pool2/3x3_s2", 0, 3, 1, pad=1))
    layers += _conv(rng, p + "pool_proj", p + "pool", 12, 3, 1)
    layers.append({"name": p + "output", "type": "Concat", "top": [p + "output"],
                   "bottom": [p + "1x1", p + "3x3", p + "5x5", p + "pool_proj"]})
    layers.append(_pool("loss1/ave_pool", p + "output", 1, 3, 2, pad=1))  # 5 -> 3, padding counted
    layers.append(_fc(rng, "loss1/fc", "loss1/ave_pool", 16 * 3 * 3, 10))
    layers.append({"name": "loss1/relu_fc", "type": "ReLU", "bottom": ["loss1/fc"], "top": ["loss1/fc"]})
    layers.append({"name": "loss1/drop_fc", "type": "Dropout", "bottom": ["loss1/fc"], "top": ["loss1/fc"],
                   "param": {"dropout_ratio": 0.7}})
    layers.append(_fc(rng, "loss1/classifier", "loss1/fc", 10, 5))
    layers.append({"name": "loss1/loss", "type": "SoftmaxWithLoss", "bottom": ["loss1/classifier", "label"],
                   "top": ["loss1/loss"]})
    layers.append({"name": "pool5/global", "type": "Pooling", "bottom": [p + "output"], "top": ["pool5/global"],
                   "param": {"pool": 1, "global_pooling": True}})
    layers.append(_fc(rng, "loss3/classifier", "pool5/global", 16, 7))
    layers.append({"name": "loss3/loss3", "type": "SoftmaxWithLoss", "bottom": ["loss3/classifier", "label"],
                   "top": ["loss3/loss3"]})
    layers.append({"name": "loss3/top-1", "type": "Accuracy", "bottom": ["loss3/classifier", "label"],
                   "top": ["loss3/top-1"], "phase": "TEST"})
    layers.append({"name": "prob", "type": "Softmax", "bottom": ["loss3/classifier"], "top": ["prob"]})
    return layers


def caffe_in_torch(layers, x):
    """Run the layer dicts the way Caffe does, in torch: {blob: value}, plus '<blob>/pre_<op>'
    for a value that an in-place layer overwrote."""
    blobs = {"data": x}
    for layer in layers:
        kind, p = layer["type"], layer.get("param", {})
        if kind in ("Data", "SoftmaxWithLoss", "Accuracy", "Dropout"):
            continue
        xs = [blobs[b] for b in layer["bottom"]]
        if kind == "Convolution":
            w, b = (torch.tensor(a, dtype=torch.float64) for a in layer["blobs"])
            y = F.conv2d(xs[0], w, b, stride=p["stride"], padding=p["pad"], groups=p.get("group", 1))
        elif kind == "ReLU":
            y = F.relu(xs[0])
        elif kind == "Pooling" and p.get("global_pooling"):
            y = xs[0].mean(dim=(2, 3), keepdim=True) if p["pool"] == 1 else xs[0].amax(dim=(2, 3), keepdim=True)
        elif kind == "Pooling":
            pool = F.max_pool2d if p["pool"] == 0 else lambda *a, **k: F.avg_pool2d(*a, count_include_pad=True, **k)
            y = pool(xs[0], p["kernel_size"], p["stride"], padding=p["pad"], ceil_mode=True)
        elif kind == "LRN":
            y = F.local_response_norm(xs[0], p["local_size"], p["alpha"], p["beta"], p["k"])
        elif kind == "Concat":
            y = torch.cat(xs, dim=1)
        elif kind == "InnerProduct":
            w, b = (torch.tensor(a, dtype=torch.float64) for a in layer["blobs"])
            y = (xs[0].flatten(1) @ w.T + b)[:, :, None, None]
        elif kind == "Softmax":
            y = F.softmax(xs[0], dim=1)
        top = layer["top"][0]
        if top in layer["bottom"]:
            blobs[f"{top}/pre_{ {'ReLU': 'relu'}[kind]}"] = blobs[top]
        blobs[top] = y
    return blobs


TARGETS = ["conv1/7x7_s2/pre_relu", "conv1/7x7_s2", "pool1/3x3_s2", "pool1/norm1", "conv2/3x3",
           "inception_3a/5x5", "inception_3a/output", "loss1/ave_pool", "loss1/fc", "loss1/classifier",
           "pool5/global", "loss3/classifier", "prob"]


def convert(tmp_path, layers, name="tiny.h5", **write):
    source = tmp_path / "tiny.caffemodel"
    source.write_bytes(pw.caffemodel(layers, name="TinyGoogLeNet", **write))
    convert_caffe.convert(str(source), str(tmp_path / name))
    return tmp_path / name


@pytest.mark.parametrize("write", [{}, {"v1": True}, {"v1": True, "legacy_blobs": True}],
                         ids=["V2 layer", "V1 layers", "V1 layers, legacy blob shapes"])
def test_converted_net_equals_caffe_rules_in_torch(tmp_path, write):
    layers = tiny_googlenet()
    model = Model(load_model(convert(tmp_path, layers, **write)).spec, dtype=np.float64)
    rng = np.random.default_rng(1)
    x = rng.uniform(-120, 120, (2, 3, 40, 40))
    acts, tape = model.forward(x, TARGETS)
    grads = {t: rng.standard_normal(acts[t].shape) for t in TARGETS}
    dx = model.backward(grads, tape)
    xt = torch.tensor(x, requires_grad=True)
    ref = caffe_in_torch(layers, xt)
    sum((ref[t].reshape(acts[t].shape) * torch.tensor(grads[t])).sum() for t in TARGETS).backward()
    for t in TARGETS:
        assert acts[t].shape == tuple(ref[t].reshape(acts[t].shape).shape), t
        assert rel_error(acts[t], ref[t].detach().reshape(acts[t].shape)) <= 1e-9, t
    assert rel_error(dx, xt.grad) <= 1e-9
    assert acts["pool1/3x3_s2"].shape[2:] == (10, 10) and acts["loss1/ave_pool"].shape[2:] == (3, 3)


def test_nodes_are_named_by_blobs_and_data_loss_and_dropout_are_gone(tmp_path):
    spec = load_model(convert(tmp_path, tiny_googlenet())).spec
    names = [n.name for n in spec.nodes]
    assert names[:5] == ["data", "conv1/7x7_s2/pre_relu", "conv1/7x7_s2", "pool1/3x3_s2", "pool1/norm1"]
    ops = {n.name: n.op for n in spec.nodes}
    assert ops["conv1/7x7_s2/pre_relu"] == "conv2d" and ops["conv1/7x7_s2"] == "relu"
    assert ops["loss1/fc"] == "relu" and ops["loss1/fc/pre_relu"] == "dense"
    assert ops["inception_3a/output"] == "concat" and ops["prob"] == "softmax"
    assert not any(n in names for n in ("label", "loss1/loss", "loss3/top-1", "loss1/drop_fc"))
    nodes = {n.name: n for n in spec.nodes}
    assert nodes["conv2/3x3/pre_relu"].attrs == {"stride": [1, 1], "padding": [1, 1, 1, 1], "groups": 2}
    assert nodes["pool1/3x3_s2"].attrs["ceil_mode"] is True
    assert nodes["loss1/ave_pool"].attrs["count_include_pad"] is True
    assert nodes["pool5/global"].attrs == {"global": True}
    assert nodes["pool1/norm1"].attrs == {"size": 5, "alpha": 0.5, "beta": 0.75, "k": 2.0}
    assert spec.preprocess == {"channel_order": "BGR", "mean": MEAN, "scale": 1.0}
    assert "loss1/loss (SoftmaxWithLoss)" in spec.provenance["skipped_layers"]
    assert spec.provenance["source"]["layer_format"] == "V2 layer"
    assert spec.name == "TinyGoogLeNet"


def test_without_a_mean_in_the_file_the_imagenet_mean_is_used(tmp_path):
    layers = [l for l in tiny_googlenet() if l["type"] != "Data"]
    spec = load_model(convert(tmp_path, layers)).spec
    assert spec.preprocess == {"channel_order": "BGR", "mean": [104.0, 117.0, 123.0], "scale": 1.0}


@pytest.mark.parametrize("input_layer", [False, True], ids=["input field", "Input layer"])
def test_deploy_prototxt_gives_the_structure_and_the_caffemodel_the_weights(tmp_path, input_layer):
    layers = tiny_googlenet()
    deploy = [l for l in layers if l["type"] not in ("Data", "SoftmaxWithLoss", "Accuracy")
              and not l["name"].startswith("loss1/")]
    source, proto = tmp_path / "tiny.caffemodel", tmp_path / "deploy.prototxt"
    source.write_bytes(pw.caffemodel(layers, v1=True))
    proto.write_text(pw.prototxt(deploy, input_shape=(10, 3, 40, 40), input_layer=input_layer))
    convert_caffe.convert(str(source), str(tmp_path / "deploy.h5"), str(proto))
    deployed = Model(load_model(tmp_path / "deploy.h5").spec, dtype=np.float64)
    assert "loss1/fc" not in deployed.layer_names and deployed.layer_names[-1] == "prob"
    full = Model(load_model(convert(tmp_path, layers)).spec, dtype=np.float64)
    x = np.random.default_rng(2).uniform(-100, 100, (1, 3, 40, 40))
    np.testing.assert_array_equal(deployed.forward(x, ["prob"])[0]["prob"], full.forward(x, ["prob"])[0]["prob"])


def test_deploy_layer_missing_from_the_caffemodel_is_named(tmp_path):
    layers = tiny_googlenet()
    trained = [l for l in layers if l["name"] != "loss3/classifier"]
    (tmp_path / "m.caffemodel").write_bytes(pw.caffemodel(trained))
    (tmp_path / "d.prototxt").write_text(pw.prototxt([l for l in layers if l["type"] != "Data"]))
    with pytest.raises(CaffeError, match=r"layer 'loss3/classifier' \(InnerProduct\): "
                       r"expected 2 weight blob\(s\), found 0"):
        convert_caffe.convert(str(tmp_path / "m.caffemodel"), str(tmp_path / "o.h5"), str(tmp_path / "d.prototxt"))


def _cli_error(capsys, *argv):
    assert convert_caffe.main([str(a) for a in argv]) == 1
    captured = capsys.readouterr()
    assert captured.out == "" and len(captured.err.splitlines()) == 1
    return captured.err


def test_cli_errors_are_one_line(tmp_path, capsys):
    assert "missing.caffemodel: no such file" in _cli_error(capsys, tmp_path / "missing.caffemodel")
    (tmp_path / "photo.caffemodel").write_bytes(bytes(range(256)) * 4)
    assert "photo.caffemodel: not a Caffe .caffemodel" in _cli_error(capsys, tmp_path / "photo.caffemodel")
    (tmp_path / "empty.caffemodel").write_bytes(pw.f_len(1, "just a name"))
    assert "no layers found" in _cli_error(capsys, tmp_path / "empty.caffemodel")
    layers = tiny_googlenet()
    layers.insert(5, {"name": "conv1/sigmoid", "type": "Sigmoid", "bottom": ["conv1/7x7_s2"], "top": ["conv1/7x7_s2"]})
    for v1 in (False, True):
        (tmp_path / "odd.caffemodel").write_bytes(pw.caffemodel(layers, v1=v1))
        err = _cli_error(capsys, tmp_path / "odd.caffemodel", "-o", tmp_path / "odd.h5")
        assert "layer 'conv1/sigmoid' (Sigmoid): numdream cannot convert layer type 'Sigmoid'" in err
        assert not (tmp_path / "odd.h5").exists()
    (tmp_path / "bad.prototxt").write_text("layer { name: 'x' type: \n")
    (tmp_path / "ok.caffemodel").write_bytes(pw.caffemodel(tiny_googlenet()))
    assert "bad.prototxt: not a Caffe .prototxt" in _cli_error(capsys, tmp_path / "ok.caffemodel", tmp_path / "bad.prototxt")
    assert "would overwrite an input" in _cli_error(capsys, tmp_path / "ok.caffemodel", "-o", tmp_path / "ok.caffemodel")
    (tmp_path / "gray.prototxt").write_text(pw.prototxt(tiny_googlenet()[2:], input_shape=(1, 1, 40, 40), input_layer=True))
    assert "input 'data' has 1 channels; numdream converts nets that read 3-channel" in _cli_error(
        capsys, tmp_path / "ok.caffemodel", tmp_path / "gray.prototxt")


def test_cli_writes_beside_the_input_by_default(tmp_path, capsys):
    (tmp_path / "net.caffemodel").write_bytes(pw.caffemodel(tiny_googlenet()))
    assert convert_caffe.main([str(tmp_path / "net.caffemodel")]) == 0
    assert capsys.readouterr().out.startswith(f"wrote {tmp_path / 'net.h5'}: ")
    assert load_model(tmp_path / "net.h5").layer("inception_3a/output").channels == 16


# ---- hostile nets: one line each, the input untouched, nothing written -------------------------

def small_net(rng=None):
    """data -> conv1 (+ in-place relu) -> pool1 -> norm1 -> global pool -> fc: the smallest net
    the hostile cases below edit."""
    rng = rng or np.random.default_rng(3)
    return ([{"name": "data", "type": "Data", "top": ["data"], "transform": {"mean_value": MEAN}}]
            + _conv(rng, "conv1", "data", 3, 4, 3)
            + [_pool("pool1", "conv1", 0, 2, 2),
               {"name": "norm1", "type": "LRN", "bottom": ["pool1"], "top": ["norm1"],
                "param": {"local_size": 3, "alpha": 1e-4, "beta": 0.75, "k": 1.0}},
               {"name": "gap", "type": "Pooling", "bottom": ["norm1"], "top": ["gap"],
                "param": {"pool": 1, "global_pooling": True}},
               _fc(rng, "fc", "gap", 4, 2)])


def layer(layers, name):
    return next(l for l in layers if l["name"] == name)


def caffe_refused(tmp_path, data, says, error=CaffeError, prototxt=None, limit_mb=64):
    """Convert ``data`` (bytes of a .caffemodel, or a layer list) and expect one line; the
    folder must be unchanged afterwards (no output, no temp file)."""
    source = tmp_path / "net.caffemodel"
    source.write_bytes(data if isinstance(data, bytes) else pw.caffemodel(data))
    if prototxt is not None:
        (tmp_path / "deploy.prototxt").write_text(prototxt)
    before = hostile.snapshot(tmp_path)
    proto = str(tmp_path / "deploy.prototxt") if prototxt is not None else None
    message = hostile.refused(lambda: convert_caffe.convert(str(source), str(tmp_path / "out.h5"), proto),
                              error, says, limit_mb=limit_mb)
    assert hostile.snapshot(tmp_path) == before
    return message


def with_blob(name, blob_bytes):
    """small_net's caffemodel with layer ``name``'s first blob replaced by raw BlobProto bytes."""
    layers = small_net()
    target = layer(layers, name)
    encoded = pw.caffe_layer({**target, "blobs": []})
    out = pw.f_len(1, "TinyNet")
    for l in layers:
        out += pw.f_len(100, encoded + pw.f_len(7, blob_bytes) + b"".join(
            pw.f_len(7, pw.blob(b, packed=True)) for b in target["blobs"][1:]) if l is target else pw.caffe_layer(l))
    return out


def edit(change):
    layers = small_net()
    change(layers)
    return layers


HOSTILE_NETS = {  # name -> (input, what the line says, error class)
    "0x0 kernel": (edit(lambda ls: layer(ls, "conv1").update(param={"num_output": 4, "kernel_size": 0},
                                                          blobs=[np.zeros((4, 3, 0, 0), np.float32), np.zeros(4, np.float32)])),
                   "layer 'conv1' (Convolution): its weight blob is empty (shape (4, 3, 0, 0))", CaffeError),
    "0x0 pool window": (edit(lambda ls: layer(ls, "pool1")["param"].update(kernel_size=0)),
                        "attr 'size' is [0, 0]", ModelFileError),
    "stride 0": (edit(lambda ls: layer(ls, "pool1")["param"].update(stride=0)), "attr 'stride' is [0, 0]", ModelFileError),
    "padding of 100000": (edit(lambda ls: layer(ls, "conv1")["param"].update(pad=100000)),
                          "each 0..1024 px", ModelFileError),
    "group 0": (edit(lambda ls: layer(ls, "conv1")["param"].update(group=0)), "attr 'groups' is 0", ModelFileError),
    "LRN size 0": (edit(lambda ls: layer(ls, "norm1")["param"].update(local_size=0)), "attr 'size' is 0", ModelFileError),
    "LRN k 0": (edit(lambda ls: layer(ls, "norm1")["param"].update(k=0.0)), "lrn k=0.0", ModelFileError),
    "concat of different spatial sizes": (
        edit(lambda ls: ls.insert(4, {"name": "cat", "type": "Concat", "bottom": ["conv1", "pool1"], "top": ["cat"]})
             or layer(ls, "norm1").update(bottom=["cat"])),
        "concat joins inputs at different spatial scales: 'conv1' (1/1 x 1/1 of the image) and 'pool1'", ModelFileError),
    "negative blob dims": (with_blob("conv1", pw.f_len(7, pw.f_packed_varints(1, [4, -3, 3, 3])) + pw.f_packed_floats(5, [0] * 4)),
                           "a weight blob declares shape (4, -3, 3, 3); dims must be >= 0", CaffeError),
    "overflowing blob dims": (with_blob("conv1", pw.f_len(7, pw.f_packed_varints(1, [1 << 40, 1 << 40, 1 << 40]))),
                              "a weight blob declares shape (1099511627776, 1099511627776, 1099511627776)", CaffeError),
    "int64-wrapping blob dims": (with_blob("conv1", pw.f_len(7, pw.f_packed_varints(1, [1 << 32, 1 << 32, 0]))
                                           + pw.f_packed_floats(5, [1.0])), "holds 1 values", CaffeError),
    "packed floats of 7 bytes": (with_blob("conv1", pw.f_len(7, pw.f_packed_varints(1, [1])) + pw.f_len(5, b"\x00" * 7)),
                                 "a packed run of floats is 7 bytes, not a multiple of 4", CaffeError),
    "Dropout without a bottom": (edit(lambda ls: ls.insert(5, {"name": "drop", "type": "Dropout", "bottom": [], "top": ["norm1"]})),
                                 "layer 'drop' (Dropout): takes one bottom blob", CaffeError),
    "InnerProduct with an empty blob": (edit(lambda ls: layer(ls, "fc").update(blobs=[np.zeros(0, np.float32), np.zeros(2, np.float32)])),
                                        "layer 'fc' (InnerProduct): its weight blob is empty", CaffeError),
    "a cycle": (edit(lambda ls: layer(ls, "conv1").update(bottom=["norm1"])),
                "layer 'conv1' reads blob 'norm1' before layer 'norm1' writes it", CaffeError),
    "NaN weights": (edit(lambda ls: layer(ls, "conv1")["blobs"][0].__setitem__((1, 2, 0, 0), np.nan)),
                    "node 1 ('conv1/pre_relu'): param 'w': value nan at index (1, 2, 0, 0)", ModelFileError),
    "infinite bias": (edit(lambda ls: layer(ls, "fc")["blobs"][1].__setitem__(0, np.inf)), "param 'b': value inf", ModelFileError),
    "NaN mean": (edit(lambda ls: layer(ls, "data").update(transform={"mean_value": [np.nan, 1.0, 2.0]})),
                 "mean (3 finite numbers)", ModelFileError),
    "data layer scale 1e-45": (edit(lambda ls: layer(ls, "data").update(transform={"mean_value": MEAN, "scale": 1e-45})),
                                         "overflows float32", ModelFileError),
    "a blob name with a terminal escape": (edit(lambda ls: layer(ls, "gap").update(top=["gap\x1b[2J"])
                                                or layer(ls, "fc").update(bottom=["gap\x1b[2J"])),
                                           "name 'gap\\x1b[2J' holds control or non-printable", ModelFileError),
}


@pytest.mark.parametrize("case", list(HOSTILE_NETS))
def test_a_hostile_net_is_refused_in_one_line(tmp_path, case):
    data, says, error = HOSTILE_NETS[case]
    caffe_refused(tmp_path, data, says, error)


def test_the_small_net_itself_converts(tmp_path):
    """The control: the cases above are small_net with one thing changed."""
    (tmp_path / "net.caffemodel").write_bytes(pw.caffemodel(small_net()))
    spec = convert_caffe.convert(str(tmp_path / "net.caffemodel"), str(tmp_path / "net.h5"))
    assert [n.name for n in spec.nodes] == ["data", "conv1/pre_relu", "conv1", "pool1", "norm1", "gap", "fc"]


def test_a_deeply_nested_prototxt_and_a_net_name_with_escapes_are_refused(tmp_path):
    caffe_refused(tmp_path, small_net(), "messages nest deeper than 100 levels",
                  prototxt="layer { " * 20000 + "}" * 20000)
    caffe_refused(tmp_path, small_net(), "model name: name 'evil\\x1b]0;x\\x07'",
                  error=ModelFileError, prototxt=pw.prototxt(small_net()[1:], name="evil\x1b]0;x\x07"))


def test_20000_unwritten_blobs_give_a_short_line_quickly(tmp_path):
    """The input search is one pass (it was quadratic: 15 s) and lists at most five names."""
    layers = [{"name": f"r{i}", "type": "ReLU", "bottom": [f"in{i}"], "top": [f"out{i}"]} for i in range(20000)]
    message = caffe_refused(tmp_path, layers, "it reads 20000: 'in0', 'in1', 'in2', 'in3', 'in4' and 19995 more")
    assert len(message) < 300


def test_a_20000_layer_net_converts(tmp_path):
    """A long chain of ReLUs after one conv: linear all the way through."""
    layers = small_net()[:3] + [{"name": f"r{i}", "type": "ReLU", "bottom": [f"b{i - 1}" if i else "conv1"],
                                 "top": [f"b{i}"]} for i in range(20000)]
    (tmp_path / "long.caffemodel").write_bytes(pw.caffemodel(layers))
    spec = convert_caffe.convert(str(tmp_path / "long.caffemodel"), str(tmp_path / "long.h5"))
    assert len(spec.nodes) == 20003 and spec.nodes[-1].name == "b19999"


def test_devices_and_directories_are_refused_as_inputs(tmp_path):
    for path, says in [("/dev/zero", "/dev/zero: it is a character device, not a regular file"),
                       (str(tmp_path), "it is a directory, not a regular file")]:
        hostile.refused(lambda: convert_caffe.convert(path, str(tmp_path / "o.h5")), CaffeError, says)
    (tmp_path / "net.caffemodel").write_bytes(pw.caffemodel(small_net()))
    hostile.refused(lambda: convert_caffe.convert(str(tmp_path / "net.caffemodel"), str(tmp_path / "o.h5"), "/dev/zero"),
                    CaffeError, "/dev/zero: it is a character device")


@pytest.mark.parametrize("which", ["caffemodel", "prototxt"])
def test_a_fifo_input_is_refused_without_blocking(tmp_path, which):
    (tmp_path / "net.caffemodel").write_bytes(pw.caffemodel(small_net()))
    fifo = tmp_path / f"pipe.{which}"
    os.mkfifo(fifo)
    args = [fifo] if which == "caffemodel" else [tmp_path / "net.caffemodel", fifo]
    done = hostile.run_tool("convert_caffe.py", *args, "-o", tmp_path / "o.h5", timeout=60)
    hostile.assert_cli_refused(done, "convert_caffe", f"{fifo}: it is a FIFO (named pipe), not a regular file")
    assert not (tmp_path / "o.h5").exists()


@pytest.mark.parametrize("case", ["a cycle", "negative blob dims", "NaN weights"])
def test_the_command_line_refuses_hostile_nets_in_one_line(tmp_path, case):
    (tmp_path / "net.caffemodel").write_bytes(pw.caffemodel(HOSTILE_NETS[case][0])
                                              if not isinstance(HOSTILE_NETS[case][0], bytes) else HOSTILE_NETS[case][0])
    done = hostile.run_tool("convert_caffe.py", tmp_path / "net.caffemodel", "-o", tmp_path / "o.h5")
    hostile.assert_cli_refused(done, "convert_caffe", HOSTILE_NETS[case][1])
