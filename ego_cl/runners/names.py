"""Names that become path components: checked, made safe, kept readable, never too long.

Two kinds of values end up as one directory or file name below ``run.out_dir``:

- **Names the user chooses** (``run.experiment``, a pretraining ``run.name``) are *checked*:
  :func:`check_name` refuses what could leave the parent directory or fail to be created (empty,
  ``.``/``..``, ``/``, ``\\``, NUL or other control characters, longer than :data:`MAX_NAME`
  characters), and the config names the key (exit code 2).
- **Names made from values** (run-directory names from the overrides and timestamp, grid
  combinations, user ids from data files) are *made safe* by :func:`safe_name`: every character
  outside ``A-Za-z0-9._=,+-`` becomes ``_``, ``.``/``..`` cannot result, and a long result is
  cut at a readable boundary and ends in a short hash of the whole text, so distinct values keep
  distinct names.

:func:`override_slug` keeps whole ``key=value`` items, never a value cut in the middle: an item
too long to read becomes ``key=#<hash>``, and items past the length budget are replaced by
``+<n>-<hash of them all>``; readable items come before hashed ones.
"""

from __future__ import annotations

import hashlib
import re
import time
from collections.abc import Sequence
from typing import Any

__all__ = [
    "MAX_NAME",
    "check_name",
    "name_component",
    "override_slug",
    "run_dir_name",
    "safe_name",
    "short_hash",
]

MAX_NAME = 128
"""Longest name (characters) that :func:`check_name` accepts or :func:`safe_name` gives."""

MAX_ITEM = 48
"""Longest readable ``key=value`` item of an override slug; longer values become a hash."""

_UNSAFE = re.compile(r"[^A-Za-z0-9._=,+-]")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def short_hash(text: str, n: int = 8) -> str:
    """The first ``n`` hex digits of the SHA-256 of ``text``.

    Example:
        >>> h = short_hash("learner.lr=0.1")
        >>> len(h), h == short_hash("learner.lr=0.1") != short_hash("learner.lr=0.2")
        (8, True)
    """
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:n]


def check_name(value: str) -> str | None:
    """Why ``value`` cannot be one path component, or ``None`` when it can.

    Example:
        >>> check_name("ablation-1") is None, check_name("../x") is None, check_name("") is None
        (True, False, False)
    """
    if not value:
        return "must not be empty"
    if value in (".", "..") or "/" in value or "\\" in value:
        return f"must be a plain name: no '/' or '\\' and not '.' or '..', got {value!r}"
    if _CONTROL.search(value):
        return f"must not contain control characters, got {value!r}"
    if len(value) > MAX_NAME:
        return f"at most {MAX_NAME} characters, got {len(value)}"
    return None


def name_component(instance: Any, attribute: Any, value: str | None) -> None:
    """attrs validator: ``value`` (``None`` allowed) must pass :func:`check_name`."""
    problem = None if value is None else check_name(value)
    if problem is not None:
        raise ValueError(f"'{attribute.name}' {problem}")


def _cut(text: str, max_len: int, original: str) -> str:
    """``text`` itself when short enough, else a readable prefix plus ``-<hash of original>``."""
    if len(text) <= max_len:
        return text
    head = text[: max_len - 9]
    boundary = max(head.rfind(","), head.rfind("_"))
    if boundary >= max_len // 2:
        head = head[:boundary]
    return f"{head}-{short_hash(original)}"


def safe_name(text: str, max_len: int = MAX_NAME) -> str:
    """A file-system-safe, bounded version of a user id or slug (one path component).

    Example:
        >>> safe_name("a/b c"), safe_name(".."), safe_name("")
        ('a_b_c', '__', '_')
        >>> len(safe_name("x" * 1000)) <= 128
        True
    """
    safe = _UNSAFE.sub("_", text) or "_"
    if safe in (".", ".."):
        safe = safe.replace(".", "_")
    return _cut(safe, max_len, text)


def _slug_item(item: str) -> str:
    safe = safe_name(item, max_len=10 * MAX_NAME)
    if len(safe) <= MAX_ITEM:
        return safe
    key, sep, _ = safe.partition("=")
    if sep and len(key) <= MAX_ITEM - 10:
        return f"{key}=#{short_hash(item)}"
    return f"#{short_hash(item)}"


def override_slug(overrides: Sequence[str], max_len: int = 80) -> str:
    """The run-directory suffix naming the overrides (``defaults`` when there are none).

    Whole ``key=value`` items only: a value too long to read becomes ``key=#<hash>`` (these
    come after the readable items); items that do not fit in ``max_len`` are replaced by
    ``+<n>-<hash of all items>``.

    Example:
        >>> override_slug(["learner.kind=replay", "learner.lr=0.1"])
        'learner.kind=replay,learner.lr=0.1'
        >>> override_slug([])
        'defaults'
        >>> override_slug(["data.ego4d_root=/very/long/path/to/the/ego4d/download/v1"])[:17]
        'data.ego4d_root=#'
    """
    if not overrides:
        return "defaults"
    items = sorted((_slug_item(o) for o in overrides), key=lambda item: "#" in item)  # readable first
    full = ",".join(items)
    if len(full) <= max_len:
        return full
    tail = f"+{{n}}-{short_hash(chr(0).join(overrides))}"
    kept: list[str] = []
    for item in items:
        rest = tail.format(n=len(items) - len(kept) - 1)
        if len(",".join([*kept, item, rest])) > max_len:
            break
        kept.append(item)
    return ",".join([*kept, tail.format(n=len(items) - len(kept))])


def run_dir_name(timestamp: str | None, overrides: Sequence[str]) -> str:
    """``<timestamp>_<override-slug>``; ``timestamp=None`` means now (local time).

    Example:
        >>> run_dir_name("2025-01-01_00-00-00", ["learner.lr=0.1"])
        '2025-01-01_00-00-00_learner.lr=0.1'
    """
    stamp = timestamp or time.strftime("%Y-%m-%d_%H-%M-%S")
    return f"{safe_name(stamp, max_len=40)}_{override_slug(overrides)}"
