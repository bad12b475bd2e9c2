"""The protobuf text format of Caffe's .prototxt files, read with the same schemas as the binary
wire format (see protobuf_wire.py), into the same {name: [values]} dicts.

    name: "GoogleNet"                     # a comment
    layer {
      name: "conv1/7x7_s2"  type: "Convolution"  bottom: "data"  top: "conv1/7x7_s2"
      convolution_param { num_output: 64 pad: 3 kernel_size: 7 stride: 2 }
    }

A field is ``name: value`` or ``name { ... }`` (the colon is optional before a brace); repeated
fields repeat, or list their values as ``name: [1, 2]``. Enum values are identifiers (MAX, TEST),
looked up in the schema's ("enum", {NAME: number}) kinds. Names the schema lacks are skipped.
"""
import re

from protobuf_wire import WireError

_TOKEN = re.compile(r'''\s+|\#[^\n]*|(?P<str>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')'''
                    r'''|(?P<word>[A-Za-z0-9_.+\-]+)|(?P<punct>[{}:\[\],;<>])''')
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", '"': '"', "'": "'", "\\": "\\"}
MAX_DEPTH = 100  # messages inside messages: Caffe nets nest 4 deep; Python's stack would end near 1000


class TextFormatError(WireError):
    """Text that is not protobuf text format; the message names the line."""


def _tokens(text):
    pos, line = 0, 1
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None:
            raise TextFormatError(f"line {line}: unexpected character {text[pos]!r}")
        if m.lastgroup:
            yield m.lastgroup, m.group(m.lastgroup), line
        line += m.group(0).count("\n")
        pos = m.end()


def _unquote(token):
    return re.sub(r"\\(.)", lambda m: _ESCAPES.get(m.group(1), m.group(1)), token[1:-1])


class _Parser:
    def __init__(self, text):
        self.tokens = list(_tokens(text))
        self.pos = 0

    def peek(self):
        return self.tokens[self.pos] if self.pos < len(self.tokens) else ("end", "", self.line())

    def line(self):
        return self.tokens[-1][2] if self.tokens else 1

    def take(self, want=None):
        kind, value, line = self.peek()
        if kind == "end" or (want is not None and value != want):
            raise TextFormatError(f"line {line}: expected {want or 'a value'!r}, found {value or 'the end'!r}")
        self.pos += 1
        return kind, value, line

    def message(self, schema, closing=None, depth=0):
        if depth > MAX_DEPTH:
            raise TextFormatError(f"line {self.peek()[2]}: messages nest deeper than {MAX_DEPTH} levels")
        by_name = {name: kind for name, kind in schema.values()}
        out = {}
        while True:
            kind, value, line = self.peek()
            if kind == "end" or value in ("}", ">"):
                if (kind == "end") != (closing is None):
                    raise TextFormatError(f"line {line}: unbalanced braces")
                if closing:
                    self.take(closing)
                return out
            _, name, line = self.take()
            field_kind = by_name.get(name)
            if self.peek()[1] == ":":
                self.take(":")
            if self.peek()[1] in ("{", "<"):
                opening = self.take()[1]
                sub = self.message(field_kind if isinstance(field_kind, dict) else {},
                                   "}" if opening == "{" else ">", depth + 1)
                if field_kind is not None:
                    out.setdefault(name, []).append(sub)
            elif self.peek()[1] == "[":
                self.take("[")
                while self.peek()[1] != "]":
                    self._value(out, name, field_kind)
                    if self.peek()[1] == ",":
                        self.take(",")
                self.take("]")
            else:
                self._value(out, name, field_kind)
            if self.peek()[1] in (",", ";"):
                self.take()

    def _value(self, out, name, kind):
        token_kind, token, line = self.take()
        if token_kind == "punct":
            raise TextFormatError(f"line {line}: expected a value for {name!r}, found {token!r}")
        if kind is None:
            return
        try:
            value = _convert(kind, token_kind, token)
        except (ValueError, KeyError):
            raise TextFormatError(f"line {line}: {token!r} is not a valid value for {name!r}") from None
        out.setdefault(name, []).append(value)


def _convert(kind, token_kind, token):
    if kind in ("string", "bytes"):
        if token_kind != "str":
            raise ValueError(token)
        text = _unquote(token)
        return text if kind == "string" else text.encode("utf-8")
    if token_kind == "str" or isinstance(kind, dict):
        raise ValueError(token)
    if isinstance(kind, tuple):  # ("enum", {NAME: number})
        return int(token) if re.fullmatch(r"-?\d+", token) else kind[1][token]
    if kind == "bool":
        return {"true": True, "false": False, "1": True, "0": False}[token.lower()]
    if kind in ("int", "uint"):
        return int(token)
    return float(token)


def parse_text(text, schema):
    """{name: [values]} of a text-format message; TextFormatError names the line of a problem."""
    return _Parser(text).message(schema)
