"""Exact action windows from the frame fields of an LTA record, and the float rule they replace.

Ego4D LTA records give each action window twice: ``action_clip_start_sec`` / ``_end_sec``
(floats, about ``frame / 30``) and ``action_clip_start_frame`` / ``_end_frame`` (integer frame
positions in the clip mp4, 30 fps). :func:`action_span` decides which one a window comes from:

- **Frames** when both frame fields are present (not null / NaN), are integers ``>= 0`` with
  ``end > start``, and each lies within half a frame (``1/60`` s, inclusive) of its seconds field:
  the window is ``[Fraction(start_frame, 30), Fraction(end_frame, 30))``, exact. A window of
  ``64 k`` frames then holds exactly ``k`` clips of 64 frames.
- **The float rule** when neither frame field is present: each float is read as the shortest
  decimal that round-trips (``Fraction(repr(x))``), i.e. the number as the file spells it.
- **The float rule with a note** in every other case (one frame field missing, not an integer,
  negative, end not after start, or more than half a frame from its seconds field). The note
  names the record's field; the loader logs one warning per file. Not an error, because the
  original never reads the frame fields: a file it accepts must load (e.g. a dataset whose
  frame numbers are at another frame rate).

The clip-level frame fields (``clip_parent_start_frame`` ...) are not used: the parent start only
orders the clips of a recording, sorting by its float gives the original's order exactly, and
frame positions in the parent video (not always 30 fps) could turn distinct starts into ties.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping
from fractions import Fraction
from typing import Any

from ego_cl.types import Span

__all__ = ["FRAME_FIELDS", "FRAME_RATE", "action_span", "float_seconds", "frame_seconds"]

FRAME_RATE = 30
"""Frame rate of the Ego4D clip files the frame fields count in."""

FRAME_FIELDS = (
    ("action_clip_start_frame", "action_clip_start_sec"),
    ("action_clip_end_frame", "action_clip_end_sec"),
)
"""``(frame field, seconds field)`` of the window's start and end."""


@functools.lru_cache(maxsize=1 << 16)
def float_seconds(value: int | float) -> Fraction:
    """The float rule: a number of seconds as the file spells it.

    Equal to ``Fraction(repr(value))`` for floats, about three times faster (plain decimals are
    read as ``digits / 10**k``); cached, since annotation files repeat their times (clip bounds,
    frame-rate multiples).

    Example:
        >>> float_seconds(41.2), float_seconds(2)
        (Fraction(206, 5), Fraction(2, 1))
    """
    if not isinstance(value, float):
        return Fraction(value)
    text = repr(value)
    whole, dot, decimals = text.partition(".")
    if not (dot and whole.isdigit() and decimals.isdigit()):  # sign, exponent, inf, nan
        return Fraction(text)
    return Fraction(int(whole + decimals), 10 ** len(decimals))


@functools.lru_cache(maxsize=1 << 16)
def frame_seconds(frame: int) -> Fraction:
    """The time of a frame position at :data:`FRAME_RATE` (cached: windows share their frames).

    Example:
        >>> frame_seconds(45)
        Fraction(3, 2)
    """
    return Fraction(frame, FRAME_RATE)


def _absent(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def _frame(value: Any) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    if isinstance(value, float) and not value.is_integer():
        return None
    return int(value) if value >= 0 else None


def action_span(entry: Mapping[str, Any], start_s: Fraction, end_s: Fraction) -> tuple[Span, str | None]:
    """The window of one record and, where frame fields were present but not usable, why.

    Args:
        entry: The raw JSON record.
        start_s: ``action_clip_start_sec`` by the float rule.
        end_s: ``action_clip_end_sec`` by the float rule (``> start_s``).

    Returns:
        ``(span, note)``: the frame-derived span and ``None``, or the float-rule span and
        ``None`` (no frame fields), or the float-rule span and a note ``"field 'x': why"``.

    Example:
        >>> span, note = action_span({"action_clip_start_frame": 1, "action_clip_end_frame": 65},
        ...                          Fraction("0.03333333333333333"), Fraction("2.1666666666666665"))
        >>> span == Span(Fraction(1, 30), Fraction(65, 30)), note
        (True, None)
    """
    fallback = Span(start_s, end_s)
    if all(_absent(entry.get(field)) for field, _ in FRAME_FIELDS):
        return fallback, None
    frames = []
    for (field, sec_field), sec in zip(FRAME_FIELDS, (start_s, end_s), strict=True):
        value = entry.get(field)
        if _absent(value):
            return fallback, f"field '{field}': missing while the other frame field is given"
        frame = _frame(value)
        if frame is None:
            return fallback, f"field '{field}': expected a non-negative integer frame, got {value!r}"
        # |frame / FRAME_RATE - sec| > 1 / (2 * FRAME_RATE), on integers (sec = n / d, d > 0)
        if 2 * abs(frame * sec.denominator - FRAME_RATE * sec.numerator) > sec.denominator:
            return fallback, (
                f"field '{field}': frame {frame} at {FRAME_RATE} fps is more than half a frame from "
                f"{sec_field}={float(sec)!r}"
            )
        frames.append(frame)
    if frames[1] <= frames[0]:
        return fallback, f"field 'action_clip_end_frame': {frames[1]} is not after start frame {frames[0]}"
    return Span(frame_seconds(frames[0]), frame_seconds(frames[1])), None
