"""Read the TF.js InceptionV3 out of an nsfwjs npm package: topology, manifest and weights.

The package is an npm tarball (.tgz, files under 'package/') or an unpacked folder. Inside,

    dist/models/inception_v3/model.min.js             {modelTopology, weightsManifest} as JS
    dist/models/inception_v3/group1-shardKof6.min.js  one binary shard each, as a base64 string

Shards concatenate in manifest order into one byte buffer; the weights follow one another in
that buffer in manifest order. Every weight is uint8-quantized: value = q * scale + min.
"""
import base64
import binascii
import bz2
import gzip
import hashlib
import json
import lzma
import math
import os
import tarfile
import zlib

import numpy as np

import bounds  # tools/bounds.py; it puts this checkout's numdream on sys.path first
from numdream.fileio import one_line, open_regular_file

from .jsliteral import JSLiteralError, module_exports

MODEL_DIR = "dist/models/inception_v3"
# nsfwjs-4.4.0.tgz: 25 MB, 81 files, 42 MB unpacked, the largest file 5.6 MB (a base64 shard)
MAX_FILE_BYTES = 256 << 20      # one file of the package
MAX_UNPACKED_BYTES = 1 << 30    # the whole tarball once decompressed (a gzip bomb stops here)
MAX_MEMBERS = 100_000
MAX_WEIGHT_BYTES = 128 << 20    # the shards together (nsfwjs's InceptionV3: 22 MB); x8 as float64
_DAMAGED = (tarfile.TarError, EOFError, zlib.error, lzma.LZMAError, OSError)


class ConversionError(Exception):
    """The source package is missing a file or is not laid out as expected."""


class PackageFiles:
    """Files of an npm package, read from a .tgz or a folder, by path relative to the package
    root ('package.json', 'dist/models/...'). Remembers the sha256 of every file it reads.

    Nothing it reads is unbounded: a tarball is decompressed as a stream that stops at
    MAX_UNPACKED_BYTES, a file is read only up to MAX_FILE_BYTES, and in a folder a path must
    stay inside the package (no '../', no symlink out of it) and be a regular file."""

    def __init__(self, source):
        self.source = os.fspath(source)
        self.sha256 = {}  # relative path -> hex digest, of every file read so far
        self.tarball_sha256 = None
        self._tar = self._members = self._raw = None
        if not os.path.exists(self.source):
            raise ConversionError(f"{self.source}: no such file or folder")
        if os.path.isdir(self.source):
            root = os.path.join(self.source, "package")
            root = root if os.path.isfile(os.path.join(root, "package.json")) else self.source
            self._root = os.path.realpath(root)
            return
        raw = self._raw = open_regular_file(self.source, "npm tarball (.tgz) or package folder", ConversionError, where=str(self.source))
        try:
            self.tarball_sha256 = _sha256_of(raw)
            stream = _decompressed(raw)
            self._tar = tarfile.open(fileobj=_Capped(stream, MAX_UNPACKED_BYTES, self.source), mode="r:")
            self._members = {}
            for member in self._tar:
                if len(self._tar.members) > MAX_MEMBERS:
                    raise ConversionError(f"{self.source}: holds more than {MAX_MEMBERS} files; not an npm package")
                if member.isfile():
                    self._members[_strip_top(member.name)] = member
        except _DAMAGED as err:
            raw.close()
            raise ConversionError(f"{self.source}: neither a folder nor a readable npm tarball "
                                  f"(.tgz): {type(err).__name__}: {one_line(err, limit=120)}") from None
        except BaseException:
            raw.close()
            raise

    def close(self):
        if self._raw is not None:
            self._raw.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def read(self, relpath):
        """Bytes of one file; raises ConversionError if it is missing, too large or outside."""
        if not isinstance(relpath, str) or "\0" in relpath:
            raise ConversionError(f"{self.source}: a file name {bounds.short(relpath)} is not a path")
        if self._members is None:
            path = os.path.realpath(os.path.join(self._root, relpath))
            if os.path.commonpath([self._root, path]) != self._root:
                raise ConversionError(f"{self.source}: {bounds.short(relpath)} leads outside the "
                                      "package folder (through '..', an absolute path or a symlink)")
            data = bounds.read_input(path, ConversionError, "package file", MAX_FILE_BYTES)
        else:
            member = self._members.get(relpath)
            if member is None:
                raise ConversionError(f"{self.source}: the tarball has no package/{bounds.short(relpath)}")
            if member.size > MAX_FILE_BYTES:
                raise ConversionError(f"{self.source}: package/{relpath} declares {member.size} bytes; "
                                      f"a package file is at most {MAX_FILE_BYTES}")
            try:
                data = self._tar.extractfile(member).read(member.size)  # <= MAX_FILE_BYTES
            except _DAMAGED as err:
                raise ConversionError(f"{self.source}: damaged tarball at {relpath} "
                                      f"({one_line(err, limit=120)})") from None
        self.sha256[relpath] = hashlib.sha256(data).hexdigest()
        return data

    def read_js_export(self, relpath):
        """The literal a browserify-wrapped .js file exports (dict, list or str)."""
        try:
            return module_exports(self.read(relpath).decode("utf-8"))
        except (JSLiteralError, UnicodeDecodeError) as err:
            raise ConversionError(f"{self.source}: {relpath}: {one_line(err, limit=160)}") from None


def _sha256_of(f):
    digest = hashlib.sha256()
    for block in iter(lambda: f.read(1 << 20), b""):
        digest.update(block)
    f.seek(0)
    return digest.hexdigest()


def _decompressed(raw):
    """The tarball's bytes as a seekable stream: gzip (npm's .tgz), bzip2, xz or a plain tar."""
    magic = raw.read(6)
    raw.seek(0)
    if magic.startswith(b"\x1f\x8b"):
        return gzip.GzipFile(fileobj=raw, mode="rb")
    if magic.startswith(b"BZh"):
        return bz2.BZ2File(raw)
    if magic.startswith(b"\xfd7zXZ\x00"):
        return lzma.LZMAFile(raw)
    return raw


class _Capped:
    """A decompressing stream that refuses to be read or sought past ``limit`` bytes, so a
    small archive that unpacks to gigabytes (a gzip bomb) costs at most ``limit`` of work."""

    def __init__(self, stream, limit, source):
        self.stream, self.limit, self.source = stream, limit, source

    def _refuse(self):
        raise ConversionError(f"{self.source}: unpacks to more than {self.limit} bytes; an npm "
                              f"package of a model is far smaller (a decompression bomb?)")

    def read(self, size=-1):
        room = self.limit - self.stream.tell()
        size = room + 1 if size is None or size < 0 else size
        data = self.stream.read(min(size, room + 1))
        if len(data) > room:
            self._refuse()
        return data

    def seek(self, offset, whence=os.SEEK_SET):
        if whence not in (os.SEEK_SET, os.SEEK_CUR):
            raise OSError("only seeks from the start or the current position are supported")
        target = offset if whence == os.SEEK_SET else self.stream.tell() + offset
        if target > self.limit:
            self._refuse()
        return self.stream.seek(target)

    def tell(self):
        return self.stream.tell()


def _strip_top(name):
    """'package/dist/x.js' -> 'dist/x.js' (npm puts every file under one top folder)."""
    return name.split("/", 1)[1] if "/" in name else name


def read_package_json(files):
    """(name, version, license) from package.json."""
    try:
        meta = json.loads(files.read("package.json"))
        fields = meta["name"], meta["version"], meta.get("license", "")
    except (ValueError, KeyError, TypeError, RecursionError) as err:
        raise ConversionError(f"{files.source}: package.json is unreadable "
                              f"({type(err).__name__}: {one_line(err, limit=120)})") from None
    if not all(isinstance(v, str) for v in fields):
        raise ConversionError(f"{files.source}: package.json's name, version and license must be text")
    return fields


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
    parts, total = [], 0
    for shard in shards:
        text = files.read_js_export(f"{MODEL_DIR}/{shard}.min.js")
        if not isinstance(text, str):
            raise ConversionError(f"{files.source}: {bounds.short(shard)}.min.js does not export a base64 string")
        total += len(text) * 3 // 4
        if total > MAX_WEIGHT_BYTES:
            raise ConversionError(f"{files.source}: the weight shards hold more than {MAX_WEIGHT_BYTES} "
                                  "bytes together (the same shard listed many times?)")
        try:
            parts.append(base64.b64decode(text, validate=True))
        except binascii.Error as err:
            raise ConversionError(f"{files.source}: {bounds.short(shard)}.min.js: bad base64 ({err})") from None
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
            raise ConversionError(f"weight {bounds.short(spec.get('name'))}: only uint8-quantized float32 "
                                  f"weights are supported, got dtype {bounds.short(spec.get('dtype'))} "
                                  f"quantization {bounds.short(quant)}")
        shape = spec.get("shape")
        if (not isinstance(shape, list) or not all(isinstance(d, int) and not isinstance(d, bool)
                                                   and d >= 0 for d in shape)):
            raise ConversionError(f"weight {bounds.short(spec.get('name'))}: shape {bounds.short(shape)} "
                                  "is not a list of whole numbers >= 0")
        count = math.prod(shape)
        if offset + count > buffer.size:
            raise ConversionError(f"weight {spec['name']!r} needs bytes {offset}..{offset + count} "
                                  f"but the shards hold only {buffer.size}")
        weights[spec["name"]] = dequantize(buffer[offset:offset + count], quant).reshape(spec["shape"])
        offset += count
    if offset != buffer.size:
        raise ConversionError(f"the manifest describes {offset} bytes but the shards hold {buffer.size}")
    return weights
