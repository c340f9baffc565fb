"""The common case of an LTA entry, checked and built in one pass; everything else takes the full rules.

:func:`plain_annotation` accepts only entries whose every field has its usual JSON type (strings,
``int`` labels, ``float`` seconds, ``int`` frames or none) and passes every rule of
:mod:`ego_cl.data.records` by a margin; for those it returns exactly the annotation the full rules
build. For any other entry it returns ``None`` and the caller applies the full rules, which name
the problem (or note why the frame fields were not used). So it only saves time: the result and
every message are the full rules' (``tests/data/test_fast_entry.py`` compares the two).

Why each shortcut is exact:

- ``start < end`` on the floats of the file equals the rule on their exact values: reading a float
  as its shortest decimal (:func:`~ego_cl.data.frames.float_seconds`) is strictly increasing.
- The frame rule (a frame within half a frame of its seconds, on exact numbers) is taken when
  ``|frame - 30 * seconds| < 0.49`` in floats, for seconds below ``1e7``: the float error there is
  below ``1e-7``, far inside the margin. Nearer the edge the full rule decides.
- A ``clip_uid`` of at most 62 characters has at most 248 UTF-8 bytes (4 per character at most),
  inside the file-name limit.
- The clip-length checks are the full rules' float expressions, written the same way.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from ego_cl.data.frames import FRAME_RATE, float_seconds, frame_seconds
from ego_cl.types import ActionAnnotation, Span

__all__ = ["plain_annotation"]

_SAFE_UID_CHARS = 62
"""Longest clip uid (characters) certain to fit the file-name limit in any encoding."""

_FRAME_MARGIN = 0.49
"""How near (in frames) a frame must be to its seconds for the shortcut; the rule says 0.5."""

_MAX_FAST_SECONDS = 1e7
"""Largest window end the frame shortcut handles (float error ``< 1e-7`` frames below it)."""

_RATE = float(FRAME_RATE)


def plain_annotation(
    entry: Any,
    n_verbs: float,
    n_nouns: float,
    metadata: Mapping[str, Any] | None,
    tolerance_s: float,
) -> ActionAnnotation | None:
    """The annotation of a plainly valid entry, or ``None`` (then apply the full rules).

    Args:
        entry: One raw JSON entry.
        n_verbs: Verb labels must be below it (``math.inf`` without a taxonomy).
        n_nouns: Noun labels must be below it.
        metadata: ``video_uid`` → ``VideoMeta``, or ``None`` to read the split-file owner fields.
        tolerance_s: ``SPAN_TOLERANCE_S`` of the full rules.
    """
    if type(entry) is not dict:
        return None
    get = entry.get
    clip_uid, video_uid = get("clip_uid"), get("video_uid")
    if type(clip_uid) is not str or type(video_uid) is not str or not clip_uid or not video_uid:
        return None
    action_idx, verb_label, noun_label = get("action_idx"), get("verb_label"), get("noun_label")
    if type(action_idx) is not int or type(verb_label) is not int or type(noun_label) is not int:
        return None
    if not (0 <= verb_label < n_verbs and 0 <= noun_label < n_nouns and len(clip_uid) <= _SAFE_UID_CHARS):
        return None
    start_s, end_s = get("action_clip_start_sec"), get("action_clip_end_sec")
    parent_start, parent_end = get("clip_parent_start_sec"), get("clip_parent_end_sec")
    if type(start_s) is not float or type(end_s) is not float:
        return None
    if type(parent_start) is not float or type(parent_end) is not float:
        return None
    # the full rules' checks, same float expressions (NaN fails every comparison)
    if not (0.0 <= parent_start < parent_end < math.inf and 0.0 <= start_s < end_s):
        return None
    if not end_s <= (parent_end - parent_start) + tolerance_s:
        return None
    verb, noun = get("verb", ""), get("noun", "")
    if type(verb) is not str or type(noun) is not str:
        return None
    span = _span(get("action_clip_start_frame"), get("action_clip_end_frame"), start_s, end_s)
    owner = _owner(entry, video_uid, metadata)
    if span is None or owner is None:
        return None
    user, origin, scenarios = owner
    return ActionAnnotation(
        clip_uid=clip_uid,
        video_uid=video_uid,
        user_id=user,
        origin_video_id=origin,
        clip_parent_start_s=float_seconds(parent_start),
        clip_parent_end_s=float_seconds(parent_end),
        action_idx=action_idx,
        span=span,
        span_sec=(start_s, end_s),
        verb_label=verb_label,
        noun_label=noun_label,
        verb=verb,
        noun=noun,
        scenarios=scenarios,
    )


def _span(start_frame: Any, end_frame: Any, start_s: float, end_s: float) -> Span | None:
    """The frame window (frames near their seconds), the float window (no frames), else ``None``."""
    if start_frame is None and end_frame is None:
        return Span(float_seconds(start_s), float_seconds(end_s))
    if type(start_frame) is not int or type(end_frame) is not int:
        return None
    if not (0 <= start_frame < end_frame and end_s < _MAX_FAST_SECONDS):
        return None
    if abs(start_frame - _RATE * start_s) < _FRAME_MARGIN and abs(end_frame - _RATE * end_s) < _FRAME_MARGIN:
        return Span(frame_seconds(start_frame), frame_seconds(end_frame))
    return None


def _owner(
    entry: dict[str, Any], video_uid: str, metadata: Mapping[str, Any] | None
) -> tuple[str | None, str, tuple[str, ...]] | None:
    """``(user_id, origin_video_id, scenarios)`` as the full rules give them, or ``None``."""
    if metadata is not None:
        meta = metadata.get(video_uid)
        return (None, "", ()) if meta is None else (meta.user_id, meta.origin_video_id, meta.scenarios)
    participant = entry.get("fb_participant_id")
    if type(participant) is float:
        if participant.is_integer():
            user = str(int(participant))
        elif participant != participant:  # NaN: the participant-less group
            user = None
        else:
            return None
    elif type(participant) is int:
        user = str(participant)
    elif participant is None:
        user = None
    else:
        return None
    origin = entry.get("origin_video_id")
    if origin is None or (type(origin) is float and origin != origin):
        origin = ""
    elif type(origin) is not str:
        return None
    scenarios = entry.get("parent_video_scenarios")
    if type(scenarios) is list:
        for name in scenarios:
            if type(name) is not str:
                return None
        return user, origin, tuple(scenarios)
    if scenarios is None or (type(scenarios) is float and scenarios != scenarios):
        return user, origin, ()
    return None
