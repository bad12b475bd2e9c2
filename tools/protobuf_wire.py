"""A protocol-buffer wire-format reader: enough to read Caffe's .caffemodel and TensorFlow's
GraphDef .pb without the protobuf package.

A serialized message is a run of fields. Each field is a key, the varint
``field_number << 3 | wire_type``, then a value whose wire type says how to skip or read it:

    0 varint              int32/int64/uint/bool/enum: 7 bits a byte, low bits first, the top
                          bit set on every byte but the last; negative ints take 10 bytes
    1 fixed64             double: 8 bytes little-endian
    2 length-delimited    a varint length, then that many bytes: a string, bytes, a nested
                          message, or a "packed" run of repeated numbers
    5 fixed32             float: 4 bytes little-endian

Nothing in the bytes names a field, so the reader needs a schema: {field_number: (name, kind)}
with kind "int", "uint", "bool", "float", "double", "string", "bytes", ("enum", {NAME: number})
or a nested schema (a sub-message). Fields the schema does not name are skipped. ``decode``
returns {name: [values]}: every field may repeat, and for a proto "optional" field the last
value wins (``last``). Repeated floats may come packed or one by one; ``floats`` joins them into
one float32 array, reading packed runs with numpy.frombuffer (a weight blob is megabytes).
"""
import struct

import numpy as np

VARINT, FIXED64, LENGTH, FIXED32 = 0, 1, 2, 5
_VARINT_KINDS = ("int", "uint", "bool")
_PACKED_DTYPE = {"float": "<f4", "double": "<f8"}
# Packed varints become Python ints (~36 bytes each from 1 byte on the wire): the fields read so
# are shapes, axes and small int tensors, so a run of more values is refused, not inflated.
MAX_PACKED_VARINTS = 1 << 20


class WireError(ValueError):
    """The bytes are not a valid protocol-buffer message (truncated, or not protobuf at all)."""


def read_varint(data, pos):
    """(value, new position) of the varint at data[pos]."""
    value, shift = 0, 0
    while True:
        if pos >= len(data):
            raise WireError(f"truncated varint at byte {pos}")
        byte = data[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            return value, pos
        shift += 7
        if shift > 63:
            raise WireError(f"varint longer than 10 bytes at byte {pos}")


def iter_fields(data):
    """Yield (field_number, wire_type, value) for each field of a message.

    value: an int for varints, bytes-like for length-delimited, fixed32 and fixed64 fields.
    """
    data = memoryview(data)
    pos, end = 0, len(data)
    while pos < end:
        key, pos = read_varint(data, pos)
        number, wire = key >> 3, key & 7
        if number == 0:
            raise WireError(f"field number 0 at byte {pos}: not a protocol-buffer message")
        if wire == VARINT:
            value, pos = read_varint(data, pos)
        elif wire in (FIXED64, FIXED32, LENGTH):
            if wire == LENGTH:
                size, pos = read_varint(data, pos)
            else:
                size = 8 if wire == FIXED64 else 4
            if pos + size > end:
                raise WireError(f"field {number} runs {pos + size - end} bytes past the end of "
                                f"its message (byte {pos}): truncated file?")
            value, pos = data[pos:pos + size], pos + size
        else:
            raise WireError(f"wire type {wire} (field {number}, byte {pos}) is not one that "
                            "Caffe or TensorFlow files use: not a protocol-buffer message?")
        yield number, wire, value


def _signed(value):
    """A varint read as int64 (two's complement, as protobuf writes negative ints)."""
    return value - (1 << 64) if value >= 1 << 63 else value


def _scalar(kind, wire, value, number):
    """One value of a scalar kind from its wire value (or a list of them from a packed run)."""
    enum = isinstance(kind, tuple)
    if wire == LENGTH and (enum or kind in _VARINT_KINDS or kind in _PACKED_DTYPE):  # packed numbers
        if not enum and kind in _PACKED_DTYPE:
            itemsize = np.dtype(_PACKED_DTYPE[kind]).itemsize
            if len(value) % itemsize:
                raise WireError(f"field {number}: a packed run of {kind}s is {len(value)} bytes, "
                                f"not a multiple of {itemsize}")
            return np.frombuffer(value, dtype=_PACKED_DTYPE[kind])
        values, pos = [], 0
        while pos < len(value):
            if len(values) == MAX_PACKED_VARINTS:
                raise WireError(f"field {number}: a packed run of more than {MAX_PACKED_VARINTS} "
                                "integers; the fields numdream reads hold shapes and small tensors")
            v, pos = read_varint(value, pos)
            values.append(v)
        return [_scalar(kind, VARINT, v, number) for v in values]
    expected = VARINT if enum else {"float": FIXED32, "double": FIXED64, "string": LENGTH,
                                     "bytes": LENGTH}.get(kind, VARINT)
    if wire != expected:
        raise WireError(f"field {number} has wire type {wire}, but a {kind} field has {expected}")
    if kind == "int":
        return _signed(value)
    if kind == "bool":
        return bool(value)
    if kind == "float":
        return struct.unpack("<f", value)[0]
    if kind == "double":
        return struct.unpack("<d", value)[0]
    if kind == "string":
        try:
            return str(value, "utf-8")
        except UnicodeDecodeError:
            raise WireError(f"field {number} is not UTF-8 text") from None
    if kind == "bytes":
        return bytes(value)
    return value  # uint, enum: the number itself


def decode(data, schema):
    """{name: [values]} of the fields that ``schema`` names; see the module docstring."""
    out = {}
    for number, wire, value in iter_fields(data):
        if number not in schema:
            continue
        name, kind = schema[number]
        if isinstance(kind, dict):
            if wire != LENGTH:
                raise WireError(f"field {number} ({name}) should be a message, got wire type {wire}")
            out.setdefault(name, []).append(decode(value, kind))
            continue
        got = _scalar(kind, wire, value, number)
        values = out.setdefault(name, [])
        if isinstance(got, (list, np.ndarray)):
            values.append(got) if isinstance(got, np.ndarray) else values.extend(got)
        else:
            values.append(got)
    return out


def last(message, name, default=None):
    """The value of an optional field: its last occurrence, or ``default``."""
    values = message.get(name)
    return values[-1] if values else default


def floats(message, name):
    """A repeated float/double field as one float array (empty if absent)."""
    parts = [np.atleast_1d(np.asarray(v)) for v in message.get(name, [])]
    return np.concatenate(parts) if parts else np.zeros(0, dtype=np.float32)
