"""Parse the JavaScript object literals that nsfwjs ships instead of JSON, in plain Python.

nsfwjs wraps model.json and each weight shard in a minified browserify bundle:

    ...({1:[function(a,n,i){n.exports={modelTopology:{...},weightsManifest:[...]}},{}]},{},[1])(1)});
    ...({1:[function(d,h,Z){h.exports="<base64 of one binary shard>"},{}]},{},[1])(1)});

The literal is JSON-like but minified: keys are bare identifiers, ``!0``/``!1`` mean true/false,
numbers may start with a dot (``.5``, ``-.12``) and ``void 0`` means undefined. ``parse_literal``
reads exactly that subset; ``module_exports`` finds the value assigned to ``<module>.exports``.
"""
import re

_EXPORTS = re.compile(r"\{1:\[function\((\w+),(\w+),(\w+)\)\{\2\.exports=")
_NUMBER = re.compile(r"-?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?")
_IDENT = re.compile(r"[A-Za-z_$][\w$]*")
_SPACE = re.compile(r"\s*")
_PLAIN_CHARS = re.compile(r"[^\"'\\]*")
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "b": "\b", "f": "\f", "v": "\v", "0": "\0"}
_WORDS = {"true": True, "false": False, "null": None, "Infinity": float("inf"), "NaN": float("nan")}
MAX_DEPTH = 200  # objects and arrays inside each other: a Keras topology nests about 10 deep


class JSLiteralError(ValueError):
    """The text is not a JavaScript literal of the supported subset; the message gives the offset."""


def module_exports(text):
    """The value of ``<module>.exports = <literal>`` in a browserify bundle (dict, list, str...)."""
    match = _EXPORTS.search(text)
    if match is None:
        raise JSLiteralError("no browserify module 1 with '<module>.exports=' found")
    value, end = parse_literal(text, match.end())
    if text[end:end + 1] not in ("}", ";", ","):
        raise JSLiteralError(f"unexpected {text[end:end + 20]!r} after the exported literal at offset {end}")
    return value


def parse_literal(text, pos=0, depth=0):
    """Parse one literal starting at ``pos``. Returns (value, offset just after it).

    depth: how many objects/arrays enclose it; beyond MAX_DEPTH the text is refused (the
    recursion would otherwise end in a RecursionError near Python's stack limit)."""
    pos = _SPACE.match(text, pos).end()
    if pos >= len(text):
        raise JSLiteralError("unexpected end of text")
    char = text[pos]
    if char in "{[" and depth >= MAX_DEPTH:
        raise JSLiteralError(f"objects and arrays nest deeper than {MAX_DEPTH} levels at offset {pos}")
    if char == "{":
        return _parse_object(text, pos + 1, depth + 1)
    if char == "[":
        return _parse_array(text, pos + 1, depth + 1)
    if char in "\"'":
        return _parse_string(text, pos)
    if text.startswith("!0", pos) or text.startswith("!1", pos):
        return text[pos + 1] == "0", pos + 2  # minifiers write true as !0 and false as !1
    if text.startswith("void 0", pos):
        return None, pos + 6
    if text.startswith("-Infinity", pos):
        return float("-inf"), pos + 9
    number = _NUMBER.match(text, pos)
    if number:
        literal = number.group()
        if len(literal) > 400:  # int() refuses 4300 digits; no weight spec needs 400
            raise JSLiteralError(f"a number of {len(literal)} characters at offset {pos}")
        is_int = not any(c in literal for c in ".eE")
        return (int(literal) if is_int else float(literal)), number.end()
    word = _IDENT.match(text, pos)
    if word and word.group() in _WORDS:
        return _WORDS[word.group()], word.end()
    raise JSLiteralError(f"unexpected {text[pos:pos + 20]!r} at offset {pos}")


def _parse_object(text, pos, depth):
    result = {}
    pos = _SPACE.match(text, pos).end()
    if text.startswith("}", pos):
        return result, pos + 1
    while True:
        pos = _SPACE.match(text, pos).end()
        if pos < len(text) and text[pos] in "\"'":
            key, pos = _parse_string(text, pos)
        else:
            key_match = _IDENT.match(text, pos) or _NUMBER.match(text, pos)
            if key_match is None:
                raise JSLiteralError(f"expected an object key at offset {pos}: {text[pos:pos + 20]!r}")
            key, pos = key_match.group(), key_match.end()
        pos = _expect(text, pos, ":")
        result[key], pos = parse_literal(text, pos, depth)
        pos = _SPACE.match(text, pos).end()
        if text.startswith(",", pos):
            pos += 1
        elif text.startswith("}", pos):
            return result, pos + 1
        else:
            raise JSLiteralError(f"expected ',' or '}}' at offset {pos}: {text[pos:pos + 20]!r}")


def _parse_array(text, pos, depth):
    result = []
    pos = _SPACE.match(text, pos).end()
    if text.startswith("]", pos):
        return result, pos + 1
    while True:
        value, pos = parse_literal(text, pos, depth)
        result.append(value)
        pos = _SPACE.match(text, pos).end()
        if text.startswith(",", pos):
            pos += 1
        elif text.startswith("]", pos):
            return result, pos + 1
        else:
            raise JSLiteralError(f"expected ',' or ']' at offset {pos}: {text[pos:pos + 20]!r}")


def _parse_string(text, pos):
    quote, pos, parts = text[pos], pos + 1, []
    while True:
        plain = _PLAIN_CHARS.match(text, pos)  # fast path: a 5 MB base64 string is one match
        parts.append(plain.group())
        pos = plain.end()
        if pos >= len(text):
            raise JSLiteralError("unterminated string")
        char = text[pos]
        if char == quote:
            return "".join(parts), pos + 1
        if char != "\\":
            parts.append(char)  # the other quote character
            pos += 1
            continue
        escaped = text[pos + 1:pos + 2]
        if escaped in ("u", "x"):
            count = 4 if escaped == "u" else 2
            digits = text[pos + 2:pos + 2 + count]
            if not re.fullmatch(f"[0-9a-fA-F]{{{count}}}", digits):
                raise JSLiteralError(f"bad \\{escaped} escape {digits!r} at offset {pos}")
            parts.append(chr(int(digits, 16)))
            pos += 2 + count
        else:
            parts.append(_ESCAPES.get(escaped, escaped))
            pos += 2


def _expect(text, pos, char):
    pos = _SPACE.match(text, pos).end()
    if not text.startswith(char, pos):
        raise JSLiteralError(f"expected {char!r} at offset {pos}: {text[pos:pos + 20]!r}")
    return pos + 1
