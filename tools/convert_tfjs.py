"""Convert the InceptionV3 of the npm package nsfwjs@4.4.0 into weights/inception_v3.h5.

    python tools/convert_tfjs.py                      # runs `npm pack nsfwjs@4.4.0` in a temp dir
    python tools/convert_tfjs.py nsfwjs-4.4.0.tgz     # or an unpacked package folder
    python tools/convert_tfjs.py SOURCE -o out.h5     # default: weights/inception_v3.h5

nsfwjs ships a Keras 2.2.4 InceptionV3 in TF.js layers format, wrapped in JavaScript (see
tfjs/package.py). Its layers up to mixed5 are frozen ImageNet weights; everything after was
retrained to classify NSFW images, so only input_1 ... mixed5 are kept (and checked to be frozen).
Each BatchNormalization is folded into its conv, leaving conv2d, relu, pools and concat.
The JavaScript literals are parsed in Python (tfjs/jsliteral.py); node is not needed.
"""
import argparse
import glob
import os
import subprocess
import sys
import tempfile

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)  # numdream from this checkout, even when it is not installed

from numdream.errors import ModelFileError  # noqa: E402
from numdream.modelfile import ModelSpec, write_model  # noqa: E402
import bounds  # noqa: E402  (tools/bounds.py and report.py, beside this script)
import report  # noqa: E402
from tfjs.jsliteral import JSLiteralError  # noqa: E402
from tfjs.keras import build_nodes, check_frozen, keep_until  # noqa: E402
from tfjs.package import (ConversionError, MODEL_DIR, PackageFiles, read_model_js,  # noqa: E402
                          read_package_json, read_weight_bytes, split_weights)

CONVERTER = "tools/convert_tfjs.py"
CONVERTER_VERSION = "1.0"
NPM_SPEC = "nsfwjs@4.4.0"
LAST_LAYER = "mixed5"
DEFAULT_OUT = os.path.join(REPO, "weights", "inception_v3.h5")
# Keras' InceptionV3 was trained on x / 127.5 - 1 with RGB pixels in 0..255. (nsfwjs itself feeds
# x / 255, which suits its retrained top but not these ImageNet layers.)
PREPROCESS = {"channel_order": "RGB", "mean": [127.5, 127.5, 127.5], "scale": 1 / 127.5}
LICENCES = {
    "nsfwjs": "MIT, Copyright (c) 2019 Infinite Red, Inc. (the package and its conversion)",
    "weights": "Apache-2.0, Keras Applications InceptionV3 ImageNet weights (the frozen layers kept)",
}


# What numdream dreams with by default on this trunk (see README: mid-level textures and eyes).
DREAM_LAYERS = {"mixed3": 1.0, "mixed5": 1.0}

def convert(source, out, last=LAST_LAYER, name="inception_v3"):
    """Read the package at ``source`` (.tgz or folder), write the model to ``out``.

    Returns the ModelSpec written. Raises ConversionError or ModelFileError, one line each:
    whatever else a malformed package makes a library raise (a config or spec that lacks a
    field, a value of the wrong type) becomes a ConversionError naming the source.
    """
    with bounds.one_line_errors(source, ConversionError, "unexpected model.min.js layout"), PackageFiles(source) as files:
        return _convert(files, source, out, last, name)


def _convert(files, source, out, last, name):
    package, version, license_name = read_package_json(files)
    topology, weight_specs, shards = read_model_js(files)
    kept = keep_until(topology["model_config"]["config"]["layers"], last)
    check_frozen(kept)
    weights = split_weights(read_weight_bytes(files, shards), weight_specs)
    nodes = build_nodes(kept, weights)
    provenance = {
        "source": {"package": package, "version": version, "license": license_name,
                   "model_dir": MODEL_DIR, "keras_version": str(topology.get("keras_version", "")),
                   "tarball_sha256": files.tarball_sha256 or "(converted from an unpacked folder)"},
        "source_sha256": dict(sorted(files.sha256.items())),
        "converter": {"name": CONVERTER, "version": CONVERTER_VERSION},
        "licences": LICENCES,
        "layers": f"{kept[0]['name']} .. {last}: {len(kept)} Keras layers, all trainable=false; "
                  f"later layers (retrained by the package author) dropped",
        "transform": "uint8 dequantized (q*scale+min); BatchNormalization folded into conv weight "
                     "and bias in float64; HWIO kernels transposed to OIHW; stored float32",
    }
    names = {node.name for node in nodes}
    defaults = {k: v for k, v in DREAM_LAYERS.items() if k in names}  # only if this net has them
    spec = ModelSpec(name, nodes, PREPROCESS, provenance, dream_layers=defaults)
    write_model(out, spec)
    return spec


def npm_pack(folder, npm_spec=NPM_SPEC):
    """Run `npm pack <spec>` in ``folder``; returns the path of the tarball it wrote."""
    try:
        result = subprocess.run(["npm", "pack", npm_spec], cwd=folder, capture_output=True, text=True)
    except FileNotFoundError:
        raise ConversionError("npm is not installed; pass the nsfwjs .tgz or folder instead") from None
    tarballs = glob.glob(os.path.join(folder, "*.tgz"))
    if result.returncode != 0 or len(tarballs) != 1:
        error = " ".join(result.stderr.split())[-300:]
        raise ConversionError(f"`npm pack {npm_spec}` failed (exit {result.returncode}): {error}")
    return tarballs[0]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("source", nargs="?", help=f"nsfwjs .tgz or unpacked folder "
                        f"(default: `npm pack {NPM_SPEC}` into a temp dir)")
    parser.add_argument("-o", "--out", default=DEFAULT_OUT, help="output .h5 (default: %(default)s)")
    args = parser.parse_args(argv)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            source = args.source or npm_pack(tmp)
            spec = convert(source, args.out)
    except (ConversionError, ModelFileError, JSLiteralError, OSError) as err:
        print(f"convert_tfjs: error: {err}", file=sys.stderr)
        return 1
    print(report.written(args.out, spec))
    return 0


if __name__ == "__main__":
    sys.exit(main())
