"""Collecting every problem of an input file before failing, and the typed errors of ``data``.

A loader records each problem with :meth:`Problems.add` and calls :meth:`Problems.raise_if_any`
once at the end, so the user sees all bad records of a file at once (the first 20 and a count).
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ego_cl.data.json_bytes import loads
from ego_cl.types import InputError

__all__ = ["MAX_REPORTED", "AnnotationError", "Problems", "RecordLabel", "read_json", "record_label"]

MAX_REPORTED = 20
"""How many problems an :class:`AnnotationError` lists before it only counts."""


class AnnotationError(InputError):
    """An annotation, metadata or split file is malformed.

    Attributes:
        file: The offending file.
        problems: Every problem found, one line each (``record: field 'x': what``).
    """

    def __init__(self, file: str, problems: list[str]):
        self.file = file
        self.problems = list(problems)
        shown = self.problems[:MAX_REPORTED]
        more = len(self.problems) - len(shown)
        lines = [f"{file}: {len(self.problems)} problem(s)"] + [f"  {p}" for p in shown]
        if more:
            lines.append(f"  ... and {more} more")
        super().__init__("\n".join(lines))


class Problems:
    """Accumulates problems found in one file.

    Example:
        >>> p = Problems("a.json")
        >>> p.add("clips[3]", "verb_label", "expected an integer, got '3'")
        >>> p.lines
        ["clips[3]: field 'verb_label': expected an integer, got '3'"]
    """

    def __init__(self, file: str | Path):
        self.file = str(file)
        self.lines: list[str] = []

    def add(self, record: str, field: str | None, message: str) -> None:
        """Record one problem of ``record`` (and ``field``, if one field is to blame)."""
        where = f"{record}: field '{field}': " if field else f"{record}: "
        self.lines.append(where + message)

    def __bool__(self) -> bool:
        return bool(self.lines)

    def raise_if_any(self) -> None:
        """Raise one :class:`AnnotationError` listing every problem so far, if there is any."""
        if self.lines:
            raise AnnotationError(self.file, self.lines)


def record_label(key: str, index: int, entry: Any) -> str:
    """How a record is named in messages: its position and, where readable, its uid.

    Example:
        >>> record_label("clips", 4, {"clip_uid": "c1", "action_idx": 2})
        'clips[4] (clip_uid=c1, action_idx=2)'
    """
    label = f"{key}[{index}]"
    if isinstance(entry, dict):
        ids = [f"{k}={_short(entry[k])}" for k in ("clip_uid", "video_uid", "action_idx") if k in entry]
        if "clip_uid" in entry:
            ids = [i for i in ids if not i.startswith("video_uid=")]
        if ids:
            label += f" ({', '.join(ids)})"
    return label


class RecordLabel:
    """A record's :func:`record_label`, built only when a message needs it (most records have none).

    Example:
        >>> str(RecordLabel("clips", 4, {"clip_uid": "c1"}))
        'clips[4] (clip_uid=c1)'
    """

    __slots__ = ("entry", "index", "key")

    def __init__(self, key: str, index: int, entry: Any):
        self.key, self.index, self.entry = key, index, entry

    def __str__(self) -> str:
        return record_label(self.key, self.index, self.entry)


def _short(value: Any, n: int = 60) -> str:
    """``value`` as text, abbreviated past ``n`` characters (a hostile uid keeps lines readable)."""
    text = str(value)
    return text if len(text) <= n else f"{text[: n - 3]}..."


def read_json(
    path: str | Path,
    decode: Callable[[str], Any] = json.loads,
    *,
    parse: Callable[[bytes, Callable[[str], Any]], Any] = loads,
) -> Any:
    """Read a JSON file, accepting Python-style bare ``NaN`` (the original split files use it).

    Args:
        path: The file.
        decode: Text → value; :func:`json.loads` or an equivalent that raises its errors. Strict
            JSON is parsed by orjson instead where the result is the same
            (:mod:`ego_cl.data.json_bytes`).
        parse: ``(bytes, decode)`` → value: :func:`ego_cl.data.json_bytes.loads`, or an equivalent
            (:func:`ego_cl.data.split_bytes.loads_split` for split files).

    Raises:
        AnnotationError: The file is missing, unreadable or not JSON.
    """
    path = Path(path)
    try:
        with open(path, "rb") as handle:
            return parse(handle.read(), decode)
    except FileNotFoundError:
        raise AnnotationError(str(path), ["file not found"]) from None
    except OSError as exc:
        raise AnnotationError(str(path), [f"cannot read ({exc.strerror})"]) from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise AnnotationError(str(path), [f"not valid JSON: {exc}"]) from None


def is_nan(value: Any) -> bool:
    """Whether ``value`` is a float NaN (the original files' missing participant).

    Example:
        >>> is_nan(float("nan")), is_nan(None), is_nan(3)
        (True, False, False)
    """
    return isinstance(value, float) and math.isnan(value)
