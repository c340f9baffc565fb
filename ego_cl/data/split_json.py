"""Decoding a user-split JSON document without decoding its ``clips`` a second time.

A split document holds every entry twice: in ``users`` (per user) and in ``clips`` (all users'
entries one after the other). :func:`decode_split_json` returns what :func:`json.loads` returns,
but where the text of ``clips`` is, character for character, the users' non-empty lists joined as
``json.dumps`` joins them (compact, or indented one level less), it takes ``clips`` from the
entries already decoded: that text can only decode to those entries. Why the comparison is exact:
the joined text is built from the lists' own text, and the only change, removing one indent unit
after each line break, touches whitespace between tokens (JSON strings hold no raw line breaks).

Everything else is decoded as usual; any other layout, and any text that is not valid JSON, goes to
:func:`json.loads` itself, so the result and the errors are always those of :func:`json.loads`.
The one difference: the dicts in ``clips`` are the same objects as those in ``users``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from json.decoder import scanstring
from typing import Any

__all__ = ["decode_split_json"]

_DECODER = json.JSONDecoder()
_SPACE = re.compile(r"[ \t\n\r]*")

_Lists = list[tuple[list[Any], int, int] | None]
"""Each ``users`` value in file order: ``(list, start, end)`` of its text, ``None`` if not a list."""


class _UnusualLayoutError(Exception):
    """The text is not laid out as this reader expects; decode it the plain way."""


def decode_split_json(text: str) -> Any:
    """``json.loads(text)``, without decoding ``clips`` again where it repeats ``users``.

    Raises:
        json.JSONDecodeError: ``text`` is not JSON (raised by :func:`json.loads`).

    Example:
        >>> doc = {"users": {"1": [{"a": 1}], "2": [], "3": [{"a": 2}]}, "clips": [{"a": 1}, {"a": 2}]}
        >>> all(decode_split_json(json.dumps(doc, indent=i)) == doc for i in (None, 1, 4))
        True
    """
    try:
        return _decode(text)
    except (_UnusualLayoutError, ValueError, IndexError):  # JSONDecodeError is a ValueError
        return json.loads(text)


def _decode(text: str) -> dict[str, Any]:
    lists: _Lists = []
    users_done = False

    def user(key: str, at: int) -> tuple[Any, int]:
        value, end = _DECODER.raw_decode(text, at)
        lists.append((value, at, end) if type(value) is list else None)
        return value, end

    def member(key: str, at: int) -> tuple[Any, int]:
        nonlocal users_done
        if key == "users" and text[at] == "{":
            value, end = _object(text, at, user)
            users_done = True
            return value, end
        if key == "clips" and users_done and text[at] == "[":
            clips = _repeated_clips(text, at, lists)
            if clips is not None:
                return clips
        return _DECODER.raw_decode(text, at)

    document, end = _object(text, _skip(text, 0), member)
    if _skip(text, end) != len(text):
        raise _UnusualLayoutError
    return document


def _object(
    text: str, at: int, value_at: Callable[[str, int], tuple[Any, int]]
) -> tuple[dict[str, Any], int]:
    """The JSON object at ``text[at]``, each member value read by ``value_at(key, index)``."""
    if text[at] != "{":
        raise _UnusualLayoutError
    out: dict[str, Any] = {}
    at = _skip(text, at + 1)
    if text[at] == "}":
        return out, at + 1
    while True:
        if text[at] != '"':
            raise _UnusualLayoutError
        key, at = scanstring(text, at + 1)
        at = _skip(text, at)
        if text[at] != ":":
            raise _UnusualLayoutError
        out[key], at = value_at(key, _skip(text, at + 1))  # a repeated key: the last value, as json
        at = _skip(text, at)
        if text[at] == "}":
            return out, at + 1
        if text[at] != ",":
            raise _UnusualLayoutError
        at = _skip(text, at + 1)


def _repeated_clips(text: str, at: int, lists: _Lists) -> tuple[list[Any], int] | None:
    """``(clips, end)`` if the text at ``at`` is the users' lists joined, else ``None``."""
    if any(item is None for item in lists):
        return None
    spans = [(start, end) for value, start, end in lists if value]  # type: ignore[misc]
    if text[at + 1] != "\n":  # compact: "[a, b]" and "[c]" make "[a, b, c]"
        joined = "[" + ", ".join(text[start + 1 : end - 1] for start, end in spans) + "]"
    else:  # indented by n: the items one level (n spaces) less deep, the closing bracket at n
        n_spaces = _skip(text, at + 2) - (at + 2)
        if n_spaces % 2 or not n_spaces:
            return None
        unit = "\n" + " " * (n_spaces // 2)
        inner = ",".join(text[start + 1 : end - 1].rstrip(" \t\n\r") for start, end in spans)
        joined = "[" + inner.replace(unit, "\n") + unit + "]"
    if not spans or not text.startswith(joined, at):
        return None
    return [entry for value, _, _ in lists for entry in value], at + len(joined)  # type: ignore[misc]


def _skip(text: str, at: int) -> int:
    return _SPACE.match(text, at).end()  # type: ignore[union-attr]
