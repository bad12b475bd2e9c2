"""Convert a Caffe model (e.g. BVLC GoogLeNet, bvlc_googlenet.caffemodel) into a numdream model file.

    python tools/convert_caffe.py bvlc_googlenet.caffemodel -o googlenet.h5
    python tools/convert_caffe.py bvlc_googlenet.caffemodel deploy.prototxt -o googlenet.h5
    numdream dream photo.jpg --model googlenet.h5 --layer inception_4c/output

Caffe need not be installed: a .caffemodel is a binary protobuf NetParameter holding the layer
definitions and their weight blobs, read here by a small wire-format reader (protobuf_wire.py).
Without a deploy .prototxt the layers of the .caffemodel (a training net) are converted, minus
its data, loss and accuracy layers; with one, the deploy net's layers are converted and their
weights are taken from the .caffemodel by layer name, as Caffe's CopyTrainedLayersFrom does.
Nodes are named by the blobs they write (inception_4c/output); see caffemodel/build.py.
Preprocessing: BGR pixels minus the mean of the net's data layer (its transform_param), or
[104, 117, 123], the ImageNet mean of BVLC's GoogLeNet, when the file holds none.
"""
import argparse
import os
import sys

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)  # numdream from this checkout, even when it is not installed
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from numdream.errors import ModelFileError  # noqa: E402
from numdream.fileio import file_digest  # noqa: E402
from numdream.modelcheck import check_name  # noqa: E402
from numdream.modelfile import ModelSpec, write_model  # noqa: E402
import bounds  # noqa: E402  (tools/bounds.py and report.py, beside this script)
import report  # noqa: E402
from caffemodel import CaffeError  # noqa: E402
from caffemodel.build import build_nodes, find_input, is_skipped  # noqa: E402
from caffemodel.layers import net_layers, read_caffemodel, read_prototxt  # noqa: E402
from protobuf_wire import last  # noqa: E402

CONVERTER = "tools/convert_caffe.py"
CONVERTER_VERSION = "1.0"
IMAGENET_BGR_MEAN = [104.0, 117.0, 123.0]


# Google's DeepDream notebook dreams at this blob by default.
DREAM_LAYERS = {"inception_4c/output": 1.0}

def convert(model_path, out, prototxt_path=None, name=None):
    """Read the .caffemodel (and deploy .prototxt), write the numdream model to ``out``.

    Returns the ModelSpec written. Raises CaffeError or ModelFileError, one line each: whatever
    else a malformed file makes a library raise becomes a CaffeError naming the .caffemodel.
    """
    with bounds.one_line_errors(model_path, CaffeError, "malformed Caffe net"):
        return _convert(model_path, out, prototxt_path, name)


def _convert(model_path, out, prototxt_path, name):
    structure_net = read_prototxt(prototxt_path) if prototxt_path is not None else None
    net = read_caffemodel(model_path)
    fmt, trained = net_layers(net, model_path)
    if prototxt_path is None:
        structure, structure_net = trained, net
    else:
        _, structure = net_layers(structure_net, prototxt_path)
        weights = {layer.name: layer.blobs for layer in trained if layer.blobs}
        for layer in structure:
            layer.blobs = weights.get(layer.name, layer.blobs)
    where = prototxt_path or model_path
    input_blob = find_input(structure, where)
    _check_input_channels(structure_net, structure, input_blob, where)
    nodes = build_nodes(structure, where, input_blob)
    preprocess, mean_source = _preprocess(trained)
    provenance = {
        "source": {"caffemodel": os.path.basename(model_path), "caffemodel_sha256": file_digest(model_path),
                   "net_name": last(net, "name", ""), "layer_format": fmt},
        "converter": {"name": CONVERTER, "version": CONVERTER_VERSION},
        "skipped_layers": ", ".join(f"{l.name} ({l.type})" for l in structure if is_skipped(l)) or "none",
        "preprocess": mean_source,
        "naming": "nodes are named by the blob they write; a value overwritten in place (a "
                  "conv before its in-place ReLU) is <blob>/pre_<op>",
    }
    if prototxt_path is not None:
        provenance["source"].update(prototxt=os.path.basename(prototxt_path),
                                    prototxt_sha256=file_digest(prototxt_path))
    name = name or last(structure_net, "name", "") or os.path.splitext(os.path.basename(model_path))[0]
    check_name(name, f"{where}: model name")  # `numdream layers` prints it
    names = {node.name for node in nodes}
    defaults = {k: v for k, v in DREAM_LAYERS.items() if k in names}  # only if this net has them
    spec = ModelSpec(name, nodes, preprocess, provenance, dream_layers=defaults)
    write_model(out, spec)
    return spec


def _check_input_channels(net, layers, input_blob, where):
    """numdream dreams on RGB images: a net that declares its input shape must take 3 channels."""
    shapes = [last(net, "input_shape", {}).get("dim", []), net.get("input_dim", [])]
    shapes += [last(l.params, "shape", {}).get("dim", []) for l in layers
               if l.type == "Input" and input_blob in l.tops]
    for dims in shapes:
        if len(dims) == 4 and dims[1] != 3:
            raise CaffeError(f"{where}: input {input_blob!r} has {dims[1]} channels; numdream "
                             "converts nets that read 3-channel (colour) images")


def _preprocess(layers):
    """(preprocess dict, where its mean came from): the first TEST data layer with a mean_value."""
    for layer in layers:
        mean = [float(v) for v in layer.transform.get("mean_value", [])]
        if layer.in_test and len(mean) in (1, 3):
            mean = mean * 3 if len(mean) == 1 else mean
            scale = float(last(layer.transform, "scale", 1.0))
            return ({"channel_order": "BGR", "mean": mean, "scale": scale},
                    f"BGR, mean_value {mean} and scale {scale} of data layer {layer.name!r}")
    return ({"channel_order": "BGR", "mean": IMAGENET_BGR_MEAN, "scale": 1.0},
            f"BGR, the file has no mean_value: BVLC's ImageNet mean {IMAGENET_BGR_MEAN}, scale 1")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("caffemodel", help="binary .caffemodel with the trained weights")
    parser.add_argument("prototxt", nargs="?", help="deploy .prototxt (optional; default: the "
                        "layers of the .caffemodel)")
    parser.add_argument("-o", "--out", help="output .h5 (default: the .caffemodel's name with .h5)")
    parser.add_argument("--name", help="model name recorded in the file (default: the net's name)")
    args = parser.parse_args(argv)
    out = args.out or os.path.splitext(args.caffemodel)[0] + ".h5"
    try:
        if os.path.abspath(out) in {os.path.abspath(p) for p in (args.caffemodel, args.prototxt) if p}:
            raise CaffeError(f"{out}: the output would overwrite an input; choose another -o")
        spec = convert(args.caffemodel, out, args.prototxt, args.name)
    except (CaffeError, ModelFileError, OSError) as err:
        print(f"convert_caffe: error: {err}", file=sys.stderr)
        return 1
    print(report.written(out, spec))
    return 0


if __name__ == "__main__":
    sys.exit(main())
