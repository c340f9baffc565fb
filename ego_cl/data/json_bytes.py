"""Decoding JSON files with orjson's speed and exactly the standard library's results and errors.

:func:`loads` returns what ``decode(data.decode("utf-8"))`` returns (``decode`` is
:func:`json.loads` unless given), and raises what it raises. orjson parses the bytes where its
result is provably the same; everything else goes to ``decode``:

- orjson refuses what the standard library accepts beyond strict JSON: bare ``NaN`` / ``Infinity``
  (the original split files contain ``NaN``), lone surrogate escapes, numbers beyond a double
  (``1e400``), nesting deeper than 1024. It also refuses a byte-order mark and invalid UTF-8, as the
  standard path does. Any refusal goes to ``decode``, so every error message is the standard
  library's, word for word.
- orjson turns an integer outside 64 bits into a float, where :func:`json.loads` keeps it exact.
  Text with a run of 19 or more digits anywhere goes to ``decode`` (an integer of at most 18 digits
  always fits in 64 bits).
- Where orjson accepts, it agrees with :func:`json.loads`: same types (``int`` / ``float`` /
  ``str`` / ``list`` / ``dict`` / ``bool`` / ``None``), correctly rounded floats, the last value of a
  repeated key. ``tests/data/test_json_bytes.py`` checks this on generated documents and texts.

At Ego4D scale orjson decodes an annotation file about twice as fast as :func:`json.loads`, and
the checks above cost about 2 ms per MB.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import orjson

__all__ = ["loads", "orjson_loads"]

_DIGITS = bytes(ord("0") if ord("0") <= i <= ord("9") else ord(" ") for i in range(256))
_LONG_RUN = b"0" * 19


def loads(data: bytes, decode: Callable[[str], Any] = json.loads) -> Any:
    """``decode(data.decode("utf-8"))``, parsed by orjson where that is provably the same.

    Args:
        data: The file's bytes.
        decode: Text → value: :func:`json.loads`, or an equivalent that raises its errors.

    Raises:
        json.JSONDecodeError: ``data`` is not JSON (raised by ``decode``).
        UnicodeDecodeError: ``data`` is not UTF-8.

    Example:
        >>> loads(b'{"a": [1, 2.5, null], "b": NaN}')["a"]
        [1, 2.5, None]
        >>> loads(b"12345678901234567890123")  # exact, as json.loads
        12345678901234567890123
    """
    taken, value = orjson_loads(data)
    return value if taken else decode(data.decode("utf-8"))


def orjson_loads(data: bytes) -> tuple[bool, Any]:
    """``(True, value)`` where orjson parses ``data`` to provably what :func:`json.loads` gives,
    else ``(False, None)`` (then the standard decoder decides, or words the error).

    Example:
        >>> orjson_loads(b'[1, "a"]'), orjson_loads(b"[NaN]")
        ((True, [1, 'a']), (False, None))
    """
    # orjson refuses a bare NaN itself; no separate search for it (a pass over every byte)
    if _LONG_RUN in data.translate(_DIGITS):
        return False, None
    try:
        return True, orjson.loads(data)
    except orjson.JSONDecodeError:
        return False, None
