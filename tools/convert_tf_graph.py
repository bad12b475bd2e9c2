"""Convert a TensorFlow GraphDef (e.g. inception5h's tensorflow_inception_graph.pb) into a numdream model file.

    python tools/convert_tf_graph.py tensorflow_inception_graph.pb -o inception5h.h5
    numdream dream photo.jpg --model inception5h.h5 --layer mixed4c

TensorFlow need not be installed: the .pb is a binary protobuf GraphDef whose weights are Const
nodes, read here by a small wire-format reader (protobuf_wire.py). Nodes keep their TensorFlow
names: conv2d0_pre_relu (convolution and bias), conv2d0 (its ReLU), mixed4c (a concat),
mixed4d_3x3_bottleneck_pre_relu, softmax2_pre_activation (the classifier); see tfgraph/build.py.
Preprocessing: RGB pixels minus 117, the inception5h notebook's imagenet_mean.
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
from tfgraph import GraphError  # noqa: E402
from tfgraph.build import build_nodes  # noqa: E402
from tfgraph.read import read_graph  # noqa: E402

CONVERTER = "tools/convert_tf_graph.py"
CONVERTER_VERSION = "1.0"
# The inception5h notebook feeds RGB pixels in 0..255 minus imagenet_mean = 117.0, unscaled.
PREPROCESS = {"channel_order": "RGB", "mean": [117.0, 117.0, 117.0], "scale": 1.0}


# The TensorFlow DeepDream notebook's final render maximises this layer.
DREAM_LAYERS = {"mixed4c": 1.0}

def convert(source, out, name=None):
    """Read the GraphDef at ``source`` and write the numdream model to ``out``.

    Returns the ModelSpec written. Raises GraphError or ModelFileError, one line each: whatever
    else a malformed graph makes a library raise becomes a GraphError naming the .pb.
    """
    with bounds.one_line_errors(source, GraphError, "malformed GraphDef"):
        return _convert(source, out, name)


def _convert(source, out, name):
    tf_nodes = read_graph(source)
    nodes = build_nodes(tf_nodes, source)
    provenance = {
        "source": {"graph": os.path.basename(source), "sha256": file_digest(source),
                   "tf_nodes": len(tf_nodes)},
        "converter": {"name": CONVERTER, "version": CONVERTER_VERSION},
        "transform": "HWIO kernels -> OIHW; BiasAdd folded into its Conv2D/MatMul; MatMul rows "
                     "permuted from NHWC to C-major flatten order; LRN alpha multiplied by "
                     "2 * depth_radius + 1; Identity and Reshape nodes dropped",
        "preprocess": "RGB, mean 117 (the inception5h notebook's imagenet_mean), scale 1",
    }
    name = name or os.path.splitext(os.path.basename(source))[0]
    check_name(name, f"{source}: model name")  # `numdream layers` prints it
    names = {node.name for node in nodes}
    defaults = {k: v for k, v in DREAM_LAYERS.items() if k in names}  # only if this net has them
    spec = ModelSpec(name, nodes, PREPROCESS, provenance, dream_layers=defaults)
    write_model(out, spec)
    return spec


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("graph", help="binary GraphDef .pb, weights frozen as Const nodes")
    parser.add_argument("-o", "--out", help="output .h5 (default: the .pb's name with .h5)")
    parser.add_argument("--name", help="model name recorded in the file (default: the .pb's name)")
    args = parser.parse_args(argv)
    out = args.out or os.path.splitext(args.graph)[0] + ".h5"
    try:
        if os.path.abspath(out) == os.path.abspath(args.graph):
            raise GraphError(f"{out}: the output would overwrite the input; choose another -o")
        spec = convert(args.graph, out, args.name)
    except (GraphError, ModelFileError, OSError) as err:
        print(f"convert_tf_graph: error: {err}", file=sys.stderr)
        return 1
    print(report.written(out, spec))
    return 0


if __name__ == "__main__":
    sys.exit(main())
