"""tools/protobuf_wire.py (binary wire format) and tools/caffemodel/prototxt.py (text format)
against messages written by tests/protobuf_write.py."""
import numpy as np
import pytest

import protobuf_write as pw
from tool_paths import TOOLS  # noqa: F401 (puts tools/ on sys.path)

from caffemodel.prototxt import TextFormatError, parse_text  # noqa: E402
from protobuf_wire import WireError, decode, floats, last, read_varint  # noqa: E402

INNER = {1: ("n", "uint")}
SCHEMA = {1: ("name", "string"), 2: ("count", "int"), 3: ("flag", "bool"), 4: ("x", "float"),
          5: ("data", "float"), 6: ("dims", "int"), 7: ("inner", INNER), 8: ("raw", "bytes"),
          9: ("kind", ("enum", {"MAX": 0, "AVE": 1}))}


@pytest.mark.parametrize("value", [0, 1, 127, 128, 300, 2 ** 31, 2 ** 63 - 1])
def test_varints_round_trip(value):
    encoded = pw.varint(value)
    assert read_varint(encoded, 0) == (value, len(encoded))


def test_decode_reads_every_kind_and_skips_unknown_fields():
    data = (pw.f_len(1, "conv1/7x7_s2") + pw.f_varint(2, -5) + pw.f_varint(3, 1) + pw.f_float(4, 0.25)
            + pw.f_packed_floats(5, [1.5, -2.0]) + pw.f_floats_one_by_one(5, [3.0])
            + pw.f_packed_varints(6, [10, 3, 224]) + pw.f_varint(6, 7) + pw.f_len(7, pw.f_varint(1, 9))
            + pw.f_len(99, b"ignored") + pw.f_varint(98, 1) + pw.key(97, 1) + b"8 bytes!"
            + pw.f_len(8, b"\x00\xff") + pw.f_varint(9, 1))
    msg = decode(data, SCHEMA)
    assert msg["name"] == ["conv1/7x7_s2"] and msg["count"] == [-5] and msg["flag"] == [True]
    assert msg["x"] == [0.25] and msg["dims"] == [10, 3, 224, 7] and msg["inner"] == [{"n": [9]}]
    assert msg["raw"] == [b"\x00\xff"] and last(msg, "kind") == 1 and last(msg, "missing", 4) == 4
    np.testing.assert_array_equal(floats(msg, "data"), np.float32([1.5, -2.0, 3.0]))


@pytest.mark.parametrize("data, message", [
    (pw.f_len(1, "abc")[:-1], "runs 1 bytes past the end"),
    (b"\x08\xff", "truncated varint"),
    (pw.key(1, 3), "wire type 3"),
    (b"\x00\x01", "field number 0"),
    (pw.f_varint(1, 5), "field 1 has wire type 0, but a string field has 2"),
    (pw.f_len(1, b"\xff\xfe"), "not UTF-8"),
    (pw.f_varint(7, 1), "should be a message"),
])
def test_broken_messages_raise_wire_errors(data, message):
    with pytest.raises(WireError, match=message):
        decode(data, SCHEMA)


def test_text_format_matches_the_binary_reading():
    text = '''# a comment
    name: "conv1/7x7_s2"  count: -5 flag: true
    x: 0.25 data: [1.5, -2.0] data: 3
    dims: 10 dims: 3
    inner { n: 9 }
    inner: < n: 10 >
    kind: AVE
    unknown_block { deep { a: 1 } b: "x" }
    unknown: 3
    '''
    msg = parse_text(text, SCHEMA)
    assert msg == {"name": ["conv1/7x7_s2"], "count": [-5], "flag": [True], "x": [0.25],
                   "data": [1.5, -2.0, 3.0], "dims": [10, 3], "inner": [{"n": [9]}, {"n": [10]}],
                   "kind": [1]}


@pytest.mark.parametrize("text, message", [
    ("inner { n: 1", "unbalanced braces"),
    ("n: 1 }", "unbalanced braces"),
    ("kind: MEDIAN", "'MEDIAN' is not a valid value for 'kind'"),
    ('count: "7"', "line 1: '\"7\"' is not a valid value for 'count'"),
    ("name: x\ncount: @", "line 2: unexpected character '@'"),
])
def test_broken_text_raises_with_the_line(text, message):
    with pytest.raises(TextFormatError, match=message):
        parse_text(text, SCHEMA)


# ---- hostile messages: bounded, one WireError each -----------------------------------------------

@pytest.mark.parametrize("data, message", [
    (pw.f_len(5, b"\x00" * 5), "a packed run of floats is 5 bytes, not a multiple of 4"),
    (pw.f_len(5, b"\x00" * 4 * 7 + b"\x01"), "29 bytes, not a multiple of 4"),
    (pw.f_len(6, b"\x01" * ((1 << 20) + 1)), "a packed run of more than 1048576 integers"),
    (pw.f_len(6, b"\xff" * 11), "varint longer than 10 bytes"),
    (pw.key(1, 2) + pw.varint(1 << 62) + b"x", "runs"),
])
def test_hostile_wire_messages_raise_wire_errors(data, message):
    with pytest.raises(WireError, match=message):
        decode(data, SCHEMA)


def test_text_format_nesting_is_bounded_not_a_recursion_error():
    deep = "unknown_block { " * 5000 + "}" * 5000
    with pytest.raises(TextFormatError, match="nest deeper than 100 levels"):
        parse_text(deep, SCHEMA)
    parse_text("unknown_block { " * 90 + "}" * 90, SCHEMA)  # deep but fine
