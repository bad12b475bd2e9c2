"""Read the TF.js InceptionV3 out of an nsfwjs npm package: topology, manifest and weights.

The package is an npm tarball (.tgz, files under 'package/') or an unpacked folder. Inside,

    dist/models/inception_v3/model.min.js             {modelTopology, weightsManifest} as JS
    dist/models/inception_v3/group1-shardKof6.min.js  one binary shard each, as a base64 string

Shards concatenate in manifest order into one byte buffer; the weights follow one another in
that buffer in manifest order. Every weight is uint8-quantized: value = q * scale + min.
"""
import base64
import binascii
import hashlib
import json
import os
import tarfile
import zlib

import numpy as np

from .jsliteral import JSLiteralError, module_exports

MODEL_DIR = "dist/models/inception_v3"


class ConversionError(Exception):
    """The source package is missing a file or is not laid out as expected."""


class PackageFiles:
    """Files of an npm package, read from a .tgz or a folder, by path relative to the package
    root ('package.json', 'dist/models/...'). Remembers the sha256 of every file it reads."""

    def __init__(self, source):
        self.source = os.fspath(source)
        self.sha256 = {}  # relative path -> hex digest, of every file read so far
        self.tarball_sha256 = None
        if not os.path.exists(self.source):
            raise ConversionError(f"{self.source}: no such file or folder")
        if os.path.isdir(self.source):
            root = os.path.join(self.source, "package")
            self._root = root if os.path.isfile(os.path.join(root, "package.json")) else self.source
            self._members = None
        elif tarfile.is_tarfile(self.source):
            with open(self.source, "rb") as f:
                self.tarball_sha256 = hashlib.sha256(f.read()).hexdigest()
            try:
                self._tar = tarfile.open(self.source, "r:*")
                self._members = {_strip_top(m.name): m for m in self._tar.getmembers() if m.isfile()}
            except (tarfile.TarError, EOFError, zlib.error) as err:
                raise ConversionError(f"{self.source}: damaged tarball ({err})") from None
        else:
            raise ConversionError(f"{self.source}: neither a folder nor an npm tarball (.tgz)")

    def read(self, relpath):
        """Bytes of one file; raises ConversionError if it is missing."""
        if self._members is None:
            try:
                with open(os.path.join(self._root, relpath), "rb") as f:
                    data = f.read()
            except OSError as err:
                raise ConversionError(f"{self.source}: cannot read {relpath} ({err.strerror})") from None
        else:
            if relpath not in self._members:
                raise ConversionError(f"{self.source}: the tarball has no package/{relpath}")
            try:
                data = self._tar.extractfile(self._members[relpath]).read()
            except (tarfile.TarError, EOFError, zlib.error) as err:
                raise ConversionError(f"{self.source}: damaged tarball at {relpath} ({err})") from None
        self.sha256[relpath] = hashlib.sha256(data).hexdigest()
        return data

    def read_js_export(self, relpath):
        """The literal a browserify-wrapped .js file exports (dict, list or str)."""
        try:
            return module_exports(self.read(relpath).decode("utf-8"))
        except (JSLiteralError, UnicodeDecodeError) as err:
            raise ConversionError(f"{self.source}: {relpath}: {err}") from None


def _strip_top(name):
    """'package/dist/x.js' -> 'dist/x.js' (npm puts every file under one top folder)."""
    return name.split("/", 1)[1] if "/" in name else name


def read_package_json(files):
    """(name, version, license) from package.json."""
    try:
        meta = json.loads(files.read("package.json"))
        return meta["name"], meta["version"], meta.get("license", "")
    except (ValueError, KeyError, TypeError) as err:
        raise ConversionError(f"{files.source}: package.json is unreadable ({err})") from None


def read_model_js(files):
    """(Keras topology dict, list of weight specs in manifest order, list of shard names)."""
    model = files.read_js_export(f"{MODEL_DIR}/model.min.js")
    if not isinstance(model, dict) or "modelTopology" not in model or "weightsManifest" not in model:
        raise ConversionError(f"{files.source}: model.min.js has no modelTopology/weightsManifest")
    specs, shards = [], []
    for group in model["weightsManifest"]:
        shards += group["paths"]
        specs += group["weights"]
    return model["modelTopology"], specs, shards


def read_weight_bytes(files, shards):
    """Decode every shard's base64 string and concatenate them: uint8 (total_bytes,)."""
    parts = []
    for shard in shards:
        text = files.read_js_export(f"{MODEL_DIR}/{shard}.min.js")
        if not isinstance(text, str):
            raise ConversionError(f"{files.source}: {shard}.min.js does not export a base64 string")
        try:
            parts.append(base64.b64decode(text, validate=True))
        except binascii.Error as err:
            raise ConversionError(f"{files.source}: {shard}.min.js: bad base64 ({err})") from None
    return np.frombuffer(b"".join(parts), dtype=np.uint8)


def dequantize(q, quantization):
    """uint8 q -> float64 values q * scale + min (TF.js 'uint8' affine quantization)."""
    return q.astype(np.float64) * float(quantization["scale"]) + float(quantization["min"])


def split_weights(buffer, specs):
    """Cut the concatenated buffer into named float64 arrays, in manifest order.

    buffer: uint8 (total_bytes,); specs: [{name, shape, dtype, quantization}, ...].
    Returns {name: float64 array of spec shape}. Only uint8-quantized float32 weights occur in
    nsfwjs; anything else raises ConversionError rather than being read wrongly.
    """
    weights, offset = {}, 0
    for spec in specs:
        quant = spec.get("quantization") or {}
        if spec.get("dtype") != "float32" or quant.get("dtype") != "uint8":
            raise ConversionError(f"weight {spec['name']!r}: only uint8-quantized float32 weights are "
                                  f"supported, got dtype {spec.get('dtype')!r} quantization {quant!r}")
        count = int(np.prod(spec["shape"], dtype=np.int64))
        if offset + count > buffer.size:
            raise ConversionError(f"weight {spec['name']!r} needs bytes {offset}..{offset + count} "
                                  f"but the shards hold only {buffer.size}")
        weights[spec["name"]] = dequantize(buffer[offset:offset + count], quant).reshape(spec["shape"])
        offset += count
    if offset != buffer.size:
        raise ConversionError(f"the manifest describes {offset} bytes but the shards hold {buffer.size}")
    return weights
