"""Lenient reading of the JSON a model writes as a ReAct "Action Input".

Models that were not trained for tool calling write *almost* JSON: Python literals
(``{'a': 1, 'ok': True}``), trailing commas, unquoted keys, an object cut short at the end of the
reply. Strict JSON is tried first, so valid input is never changed; then one pass over the text
turns those forms into JSON. It is hand-written rather than a dependency (json-repair and the like)
because the core install stays small and these few repairs are all ReAct replies need.
"""

from __future__ import annotations

import json
import re
from typing import Any

__all__ = ["loads_lenient", "object_at"]

_DECODER = json.JSONDecoder()
_LITERALS = {"True": "true", "False": "false", "None": "null"}
_WORD = re.compile(r"[A-Za-z_$][\w$\-]*")
_NUMBER = re.compile(r"-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?")
_CLOSES_NEXT = re.compile(r"\s*(?:[}\]]|$)")
_OPENERS = {"{": "}", "[": "]"}


def object_at(text: str, start: int) -> tuple[Any, int, bool] | None:
    """The JSON value (object or array) that begins at ``text[start]``, read leniently, the
    index just past it, and whether it was valid JSON as written; None when nothing there
    reads as one."""
    try:
        value, end = _DECODER.raw_decode(text, start)
    except (json.JSONDecodeError, RecursionError):
        pass
    else:
        return value, end, True
    end = _balanced_end(text, start)
    repaired = loads_lenient(text[start:end])
    return None if repaired is None else (repaired[0], end, False)


def loads_lenient(snippet: str) -> tuple[Any] | None:
    """``snippet`` as JSON, after the repairs of this module's docstring; a 1-tuple of the
    value (which may itself be None), or None when even the repaired text is not JSON."""
    try:
        return (json.loads(snippet),)
    except (json.JSONDecodeError, RecursionError):
        pass
    repaired = _repair(snippet)
    try:
        return (json.loads(repaired),)
    except (json.JSONDecodeError, RecursionError):
        return None


def _balanced_end(text: str, start: int) -> int:
    """Index just past the bracket that closes the one at ``start``, strings of either quote
    skipped; the end of ``text`` when it never closes (a reply cut short)."""
    depth = 0
    quote: str | None = None
    i = start
    while i < len(text):
        char = text[i]
        if quote is not None:
            if char == "\\":
                i += 1
            elif char == quote:
                quote = None
        elif char in "\"'":
            quote = char
        elif char in "{[":
            depth += 1
        elif char in "}]":
            depth -= 1
            if depth == 0:
                return i + 1
        i += 1
    return len(text)


def _repair(snippet: str) -> str:
    """Single-quoted strings to JSON strings, Python literals to JSON ones, bare keys quoted,
    trailing commas dropped, unclosed brackets and strings closed."""
    out: list[str] = []
    stack: list[str] = []
    i, n = 0, len(snippet)
    while i < n:
        char = snippet[i]
        if char in "\"'":
            text, i = _read_string(snippet, i)
            out.append(json.dumps(text, ensure_ascii=False))
            continue
        if char in _OPENERS:
            stack.append(_OPENERS[char])
        elif char in "}]" and stack:
            stack.pop()
        elif char == "," and _CLOSES_NEXT.match(snippet, i + 1):
            i += 1  # a trailing comma
            continue
        number = _NUMBER.match(snippet, i) if char.isdigit() or char == "-" else None
        if number is not None:
            out.append(number.group())
            i = number.end()
            continue
        word = _WORD.match(snippet, i) if char.isalpha() or char in "_$" else None
        if word is not None:
            token = word.group()
            if token in _LITERALS:
                out.append(_LITERALS[token])
            elif token in ("true", "false", "null"):
                out.append(token)
            else:  # a bare key or word: quote it
                out.append(json.dumps(token))
            i = word.end()
            continue
        out.append(char)
        i += 1
    out.extend(reversed(stack))
    return "".join(out)


def _read_string(snippet: str, start: int) -> tuple[str, int]:
    """The string that opens at ``snippet[start]`` (either quote, JSON escapes read) and the
    index past its closing quote (the end of ``snippet`` if it never closes)."""
    quote = snippet[start]
    chars: list[str] = []
    i = start + 1
    while i < len(snippet):
        char = snippet[i]
        if char == quote:
            return "".join(chars), i + 1
        if char == "\\" and i + 1 < len(snippet):
            escaped, i = _escape(snippet, i + 1)
            chars.append(escaped)
            continue
        chars.append(char)
        i += 1
    return "".join(chars), len(snippet)


_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "b": "\b", "f": "\f", "/": "/"}


def _escape(snippet: str, i: int) -> tuple[str, int]:
    """The character an escape stands for (``\\n``, ``\\u00e9``, ``\\'``...) and the index
    past it."""
    char = snippet[i]
    if char == "u":
        digits = snippet[i + 1 : i + 5]
        if len(digits) == 4 and all(c in "0123456789abcdefABCDEF" for c in digits):
            return chr(int(digits, 16)), i + 5
    return _ESCAPES.get(char, char), i + 1
