"""Ego4D JSON records → validated :class:`~ego_cl.types.ActionAnnotation`.

Reads ``ego4d.json`` (only ``video_uid``, ``fb_participant_id``, ``scenarios``,
``origin_video_id`` of each ``videos`` entry) and the LTA annotation files
(``v1/annotations/fho_lta_{train,val}.json``, key ``clips``). Every problem of a file is collected
and reported together (:class:`~ego_cl.data.problems.AnnotationError`, an ``InputError``).

Validation rules, each reported with file, record and field:

- a required field is missing or has the wrong type (numbers must be numbers, labels integers);
- a time is negative or not finite;
- ``action_clip_end_sec <= action_clip_start_sec``;
- ``clip_parent_end_sec <= clip_parent_start_sec``, or an action ending more than
  :data:`SPAN_TOLERANCE_S` past its clip's length (a ``1e9``-s action in a 10-s clip would
  otherwise be cut into ~5e8 clips);
- a ``clip_uid`` too long to be a file name (:data:`MAX_CLIP_UID_BYTES`);
- a label outside the taxonomy (when one is given);
- a duplicate ``(clip_uid, action_idx)`` within the file.

Action windows come from the frame fields where those are consistent with the seconds, else
from the float seconds (the rule and its fallback: :mod:`ego_cl.data.frames`); the floats as
written are kept on the annotation (``span_sec``) for ``stream.upstream_float_boundaries``.
Records whose frame fields were given but not usable are counted in one warning per file.
The common case is checked and built in one pass (:mod:`ego_cl.data.fast_entry`, same result).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from fractions import Fraction
from pathlib import Path
from typing import Any

import attrs
import structlog

from ego_cl.data.fast_entry import plain_annotation
from ego_cl.data.frames import action_span, float_seconds
from ego_cl.data.problems import Problems, RecordLabel, is_nan, read_json, record_label
from ego_cl.data.taxonomy import Taxonomy
from ego_cl.gc_pause import gc_paused
from ego_cl.types import ActionAnnotation, UserId

__all__ = ["LtaRecords", "VideoMeta", "load_lta_file", "load_metadata", "parse_entries", "user_id_of"]

log = structlog.get_logger(__name__)

_STRINGS = ("clip_uid", "video_uid")
_INTEGERS = ("action_idx", "verb_label", "noun_label")
_TIMES = ("clip_parent_start_sec", "clip_parent_end_sec", "action_clip_start_sec", "action_clip_end_sec")
_NAMES = ("verb", "noun")

MAX_CLIP_UID_BYTES = 255 - len(".mp4")
"""Longest clip uid (UTF-8 bytes) that still makes a ``<clip_uid>.mp4`` file name (NAME_MAX 255)."""

SPAN_TOLERANCE_S = 1.0
"""How far (seconds) an action may end past its clip's length (``clip_parent_end_sec -
clip_parent_start_sec``) before the record is refused; covers rounding at frame boundaries."""


@attrs.frozen(kw_only=True)
class VideoMeta:
    """The four ``ego4d.json`` fields ego_cl uses for one video.

    Attributes:
        video_uid: Join key with the annotations.
        user_id: ``fb_participant_id`` as a string (``"68"``), ``None`` when absent.
        scenarios: Scenario names of the raw video.
        origin_video_id: The recording the video comes from (``""`` when absent).
    """

    video_uid: str
    user_id: UserId | None
    scenarios: tuple[str, ...] = attrs.field(converter=tuple)
    origin_video_id: str


@attrs.frozen(kw_only=True)
class LtaRecords:
    """The validated records of one annotation file.

    Attributes:
        entries: The raw JSON entries (kept to write split files with the original schema).
        annotations: One typed annotation per entry, same order.
    """

    entries: tuple[dict[str, Any], ...]
    annotations: tuple[ActionAnnotation, ...]


def user_id_of(value: Any) -> UserId | None:
    """A participant id as the split files spell it: ``68``, ``68.0`` → ``"68"``; none → ``None``.

    Raises:
        ValueError: Not an integral number (or digit string), nor missing.

    Example:
        >>> user_id_of(68.0), user_id_of(float("nan")), user_id_of(None), user_id_of("null")
        ('68', None, None, None)
    """
    if value is None or is_nan(value) or value == "null":
        return None
    if isinstance(value, bool):
        raise ValueError(f"expected an integer participant id, got {value!r}")
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, str):
        try:
            number = float(value)
        except ValueError:
            number = math.nan
        if number.is_integer():
            return str(int(number))
    raise ValueError(f"expected an integer participant id, got {value!r}")


def load_metadata(path: str | Path) -> dict[str, VideoMeta]:
    """Read ``ego4d.json`` into ``video_uid → VideoMeta``.

    Raises:
        AnnotationError: Listing every malformed ``videos`` entry.
    """
    raw = read_json(path)
    problems = Problems(path)
    videos = raw.get("videos") if isinstance(raw, dict) else None
    if not isinstance(videos, list):
        problems.add("<root>", "videos", "expected a list of videos")
        problems.raise_if_any()
    out: dict[str, VideoMeta] = {}
    for index, entry in enumerate(videos):
        where = record_label("videos", index, entry)
        meta = _parse_video(entry, where, problems)
        if meta is not None:
            if meta.video_uid in out:
                problems.add(where, "video_uid", f"duplicate video_uid {meta.video_uid!r}")
            out[meta.video_uid] = meta
    problems.raise_if_any()
    return out


def _parse_video(entry: Any, where: str, problems: Problems) -> VideoMeta | None:
    if not isinstance(entry, dict):
        problems.add(where, None, f"expected an object, got {type(entry).__name__}")
        return None
    n_before = len(problems.lines)
    uid = entry.get("video_uid")
    if not isinstance(uid, str) or not uid:
        problems.add(where, "video_uid", f"expected a non-empty string, got {uid!r}")
    try:
        user = user_id_of(entry.get("fb_participant_id"))
    except ValueError as exc:
        problems.add(where, "fb_participant_id", str(exc))
    scenarios = _scenarios(entry.get("scenarios"), where, "scenarios", problems)
    origin = _origin(entry.get("origin_video_id"), where, problems)
    if len(problems.lines) > n_before:
        return None
    return VideoMeta(video_uid=uid, user_id=user, scenarios=scenarios, origin_video_id=origin)


def _scenarios(value: Any, where: str, field: str, problems: Problems) -> tuple[str, ...]:
    if type(value) is list and all(type(v) is str for v in value):  # the common case, first
        return tuple(value)
    if value is None or is_nan(value):
        return ()
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        problems.add(where, field, f"expected a list of strings, got {value!r}")
        return ()
    return tuple(value)


def _origin(value: Any, where: str, problems: Problems) -> str:
    if value is None or is_nan(value):
        return ""
    if not isinstance(value, str):
        problems.add(where, "origin_video_id", f"expected a string, got {value!r}")
        return ""
    return value


def load_lta_file(
    path: str | Path,
    *,
    taxonomy: Taxonomy | None = None,
    metadata: Mapping[str, VideoMeta] | None = None,
) -> LtaRecords:
    """Read and validate one LTA annotation file (key ``clips``).

    Args:
        path: ``fho_lta_train.json``-style file.
        taxonomy: Check labels against it (``None`` = no range check).
        metadata: ``ego4d.json`` records to take participant, recording and scenarios from;
            annotations of unknown videos get the NaN user (as the original right join does).

    Raises:
        AnnotationError: Listing every problem of the file.
    """
    with gc_paused():  # millions of small acyclic objects (see ego_cl.gc_pause)
        raw, problems = read_json(path), Problems(path)
        entries = raw.get("clips") if isinstance(raw, dict) else None
        if not isinstance(entries, list):
            problems.add("<root>", "clips", "expected a list of annotation entries")
            problems.raise_if_any()
        annotations = parse_entries(entries, problems=problems, taxonomy=taxonomy, metadata=metadata)
    problems.raise_if_any()
    return LtaRecords(entries=tuple(entries), annotations=tuple(annotations))


def parse_entries(
    entries: Sequence[Any],
    *,
    problems: Problems,
    key: str = "clips",
    taxonomy: Taxonomy | None = None,
    metadata: Mapping[str, VideoMeta] | None = None,
) -> list[ActionAnnotation]:
    """Validate entries into annotations, adding every problem to ``problems``.

    Without ``metadata`` the user-split fields of each entry are used (``fb_participant_id``
    float or NaN, ``origin_video_id``, ``parent_video_scenarios``), as in the split JSON files.
    Entries with problems are left out of the result; the caller raises.
    """
    out: list[ActionAnnotation] = []
    seen: dict[tuple[str, int], int] = {}
    notes: list[str] = []
    n_verbs, n_nouns = (math.inf, math.inf) if taxonomy is None else (taxonomy.n_verbs, taxonomy.n_nouns)
    for index, entry in enumerate(entries):
        annotation = plain_annotation(entry, n_verbs, n_nouns, metadata, SPAN_TOLERANCE_S)
        if annotation is None:  # not the plain case: the full rules, which name any problem
            where = RecordLabel(key, index, entry)
            annotation = _parse_entry(entry, where, problems, taxonomy, metadata, notes)
            if annotation is None:
                continue
        ident = (annotation.clip_uid, annotation.action_idx)
        if ident in seen:
            where = RecordLabel(key, index, entry)
            problems.add(where, "action_idx", f"duplicate (clip_uid, action_idx) of {key}[{seen[ident]}]")
            continue
        seen[ident] = index
        out.append(annotation)
    if notes:
        log.warning(
            "frame_fields_not_used",
            file=problems.file,
            n_records=len(notes),
            first=notes[:3],
            rule="these windows come from the float seconds (ego_cl.data.frames)",
        )
    return out


def _parse_entry(
    entry: Any,
    where: Any,
    problems: Problems,
    taxonomy: Taxonomy | None,
    metadata: Mapping[str, VideoMeta] | None,
    notes: list[str],
) -> ActionAnnotation | None:
    if not isinstance(entry, dict):
        problems.add(where, None, f"expected an object, got {type(entry).__name__}")
        return None
    n_before = len(problems.lines)
    values: dict[str, Any] = {}
    for field in _STRINGS:
        values[field] = _check(entry, field, where, problems, _is_string, "a non-empty string")
    for field in _INTEGERS:
        values[field] = _check(entry, field, where, problems, _is_integer, "an integer")
    for field in _TIMES:
        values[field] = _time(entry, field, where, problems)
    for field in _NAMES:
        name = entry.get(field, "")
        if not isinstance(name, str):
            problems.add(where, field, f"expected a string, got {name!r}")
    if len(problems.lines) == n_before:
        _check_spans_and_labels(values, where, problems, taxonomy)
        _check_clip(entry, values["clip_uid"], where, problems)
    user, origin, scenarios = _owner(entry, where, problems, metadata)
    if len(problems.lines) > n_before:
        return None
    span, note = action_span(entry, values["action_clip_start_sec"], values["action_clip_end_sec"])
    if note is not None:
        notes.append(f"{where}: {note}")
    return ActionAnnotation(
        clip_uid=values["clip_uid"],
        video_uid=values["video_uid"],
        user_id=user,
        origin_video_id=origin,
        clip_parent_start_s=values["clip_parent_start_sec"],
        clip_parent_end_s=values["clip_parent_end_sec"],
        action_idx=int(values["action_idx"]),
        span=span,
        span_sec=(float(entry["action_clip_start_sec"]), float(entry["action_clip_end_sec"])),
        verb_label=int(values["verb_label"]),
        noun_label=int(values["noun_label"]),
        verb=entry.get("verb", ""),
        noun=entry.get("noun", ""),
        scenarios=scenarios,
    )


def _check_spans_and_labels(
    values: dict[str, Any], where: str, problems: Problems, taxonomy: Taxonomy | None
) -> None:
    start, end = values["action_clip_start_sec"], values["action_clip_end_sec"]
    if not start < end:
        problems.add(where, "action_clip_end_sec", f"must be after action_clip_start_sec ({end} <= {start})")
    if taxonomy is not None:
        for field, n in (("verb_label", taxonomy.n_verbs), ("noun_label", taxonomy.n_nouns)):
            if not 0 <= values[field] < n:
                problems.add(where, field, f"label {values[field]} outside the taxonomy (0..{n - 1})")
    else:
        for field in ("verb_label", "noun_label"):
            if values[field] < 0:
                problems.add(where, field, f"label {values[field]} is negative")


def _check_clip(entry: dict[str, Any], clip_uid: str, where: Any, problems: Problems) -> None:
    """The clip uid makes a file name; the clip has a length and the action lies inside it."""
    if len(clip_uid.encode("utf-8", "surrogatepass")) > MAX_CLIP_UID_BYTES:
        too_long = f"too long for a file name (<clip_uid>.mp4: at most {MAX_CLIP_UID_BYTES} bytes)"
        problems.add(where, "clip_uid", f"{len(clip_uid)} characters is {too_long}: {clip_uid[:40]!r}...")
    # floats suffice against a 1-s tolerance (and cost nothing at Ego4D scale)
    clip_start, clip_end = float(entry["clip_parent_start_sec"]), float(entry["clip_parent_end_sec"])
    end, length = entry["action_clip_end_sec"], clip_end - clip_start
    if not clip_start < clip_end:
        problems.add(
            where, "clip_parent_end_sec", f"must be after clip_parent_start_sec ({clip_end} <= {clip_start})"
        )
    elif float(end) > length + SPAN_TOLERANCE_S:
        problems.add(where, "action_clip_end_sec", f"{end} s lies past the end of its {length:g}-s clip")


def _owner(
    entry: dict[str, Any], where: str, problems: Problems, metadata: Mapping[str, VideoMeta] | None
) -> tuple[UserId | None, str, tuple[str, ...]]:
    if metadata is not None:
        uid = entry.get("video_uid")  # not a string: already a problem (and maybe unhashable)
        meta = metadata.get(uid) if isinstance(uid, str) else None
        if meta is None:
            return None, "", ()
        return meta.user_id, meta.origin_video_id, meta.scenarios
    try:
        user = user_id_of(entry.get("fb_participant_id"))
    except ValueError as exc:
        problems.add(where, "fb_participant_id", str(exc))
        user = None
    origin = _origin(entry.get("origin_video_id"), where, problems)
    scenarios = _scenarios(entry.get("parent_video_scenarios"), where, "parent_video_scenarios", problems)
    return user, origin, scenarios


def _is_string(value: Any) -> bool:
    return isinstance(value, str) and bool(value)


def _is_integer(value: Any) -> bool:
    if type(value) is int:  # the common case, first (bool is a subclass, not int itself)
        return True
    if isinstance(value, bool):
        return False
    return isinstance(value, int) or (isinstance(value, float) and value.is_integer())


def _check(entry: dict[str, Any], field: str, where: str, problems: Problems, ok: Any, what: str) -> Any:
    if field not in entry:
        problems.add(where, field, "missing")
        return None
    value = entry[field]
    if not ok(value):
        problems.add(where, field, f"expected {what}, got {value!r}")
        return None
    return value


def _time(entry: dict[str, Any], field: str, where: str, problems: Problems) -> Fraction | None:
    value = entry.get(field)
    if type(value) is float and 0.0 <= value < math.inf:  # the common case (NaN fails both)
        return float_seconds(value)
    if field not in entry:
        problems.add(where, field, "missing")
        return None
    value = entry[field]
    if isinstance(value, bool) or not isinstance(value, int | float):
        problems.add(where, field, f"expected a number of seconds, got {value!r}")
        return None
    if not math.isfinite(value):
        problems.add(where, field, f"expected a finite number of seconds, got {value!r}")
        return None
    if value < 0:
        problems.add(where, field, f"negative time {value!r}")
        return None
    return float_seconds(value)
