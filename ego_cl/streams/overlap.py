"""Stream order and the three overlap policies (pure functions).

A user's annotations are first put in recorded order (:func:`order_annotations`) and turned into
single-label :class:`Segment`\\ s (:func:`segments_from_annotations`). An overlap policy then maps
segments to segments:

- ``ignore``: every window as annotated; time may go back where windows overlap.
- ``first_action`` (FIFO, the original default): per clip uid the earlier segment is kept whole;
  a later overlapping one keeps only the time after the previous end, and is dropped when that
  remainder is shorter than ``min_remainder_s`` (one clip).
- ``multi_action``: overlapping windows are cut into elementary segments at every start and end;
  a piece covered by several segments carries all their labels (earliest first).

Policies take and return segments, so they compose and are idempotent. Each returns an
:class:`OverlapResult` with the output and the kept / trimmed / dropped / split counts.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from fractions import Fraction
from typing import Literal

import attrs

from ego_cl.types import Action, ActionAnnotation, Span

__all__ = [
    "OverlapCounts",
    "OverlapPolicy",
    "OverlapResult",
    "Segment",
    "apply_overlap_policy",
    "first_action",
    "ignore_overlaps",
    "multi_action",
    "order_annotations",
    "segments_from_annotations",
]

OverlapPolicy = Literal["ignore", "first_action", "multi_action"]


@attrs.frozen(kw_only=True)
class Segment:
    """A labelled time window inside one clip video.

    Attributes:
        clip_uid: The clip video the window lies in.
        video_uid: Its parent video.
        span: The window, seconds relative to the clip video.
        actions: Label set, earliest annotation first (one pair unless ``multi_action`` merged).
        annotation_index: Position (in the ordered annotation list) of the earliest annotation
            this segment comes from.
    """

    clip_uid: str
    video_uid: str
    span: Span
    actions: tuple[Action, ...] = attrs.field(converter=tuple)
    annotation_index: int


@attrs.frozen(kw_only=True)
class OverlapCounts:
    """What a policy did to its input segments (each input counted once).

    Attributes:
        kept: Inputs passed through unchanged.
        trimmed: Inputs whose start moved to the previous end (``first_action``).
        dropped: Inputs removed (``first_action``: covered, or remainder shorter than one clip).
        split: Inputs cut into elementary pieces because they overlap another (``multi_action``).
    """

    kept: int = 0
    trimmed: int = 0
    dropped: int = 0
    split: int = 0

    @property
    def total(self) -> int:
        """Number of input segments."""
        return self.kept + self.trimmed + self.dropped + self.split


@attrs.frozen(kw_only=True)
class OverlapResult:
    """Output segments of a policy and its counts."""

    segments: tuple[Segment, ...]
    counts: OverlapCounts


def _order_key(annotation: ActionAnnotation) -> tuple[str, Fraction, int]:
    return (annotation.origin_video_id, annotation.clip_parent_start_s, annotation.action_idx)


def order_annotations(annotations: Sequence[ActionAnnotation]) -> tuple[ActionAnnotation, ...]:
    """Recorded order: stable sort by ``origin_video_id``, ``clip_parent_start_s``, ``action_idx``.

    Example:
        >>> def ann(video, clip_start, idx):
        ...     return ActionAnnotation(clip_uid="c", video_uid="v", user_id="1",
        ...         origin_video_id=video, clip_parent_start_s=clip_start, clip_parent_end_s=999,
        ...         action_idx=idx, span=Span(0, 1), verb_label=idx, noun_label=0)
        >>> [(a.origin_video_id, a.action_idx) for a in order_annotations(
        ...     [ann("b", 0, 0), ann("a", 300, 0), ann("a", 0, 2), ann("a", 0, 1)])]
        [('a', 1), ('a', 2), ('a', 0), ('b', 0)]
    """
    return tuple(sorted(annotations, key=_order_key))


def segments_from_annotations(ordered: Sequence[ActionAnnotation]) -> tuple[Segment, ...]:
    """One single-label segment per annotation; ``annotation_index`` is the list position."""
    return tuple(
        Segment(
            clip_uid=a.clip_uid,
            video_uid=a.video_uid,
            span=a.span,
            actions=(a.action,),
            annotation_index=i,
        )
        for i, a in enumerate(ordered)
    )


def ignore_overlaps(segments: Sequence[Segment]) -> OverlapResult:
    """The ``ignore`` policy: the identity (windows as annotated, in input order)."""
    return OverlapResult(segments=tuple(segments), counts=OverlapCounts(kept=len(segments)))


def first_action(segments: Sequence[Segment], *, min_remainder_s: Fraction) -> OverlapResult:
    """The ``first_action`` (FIFO) policy.

    Walks the segments in order keeping, per clip uid, ``t_last`` = the end of the last accepted
    segment (0 before the first). A segment ``[s, e)`` with ``s >= t_last`` is kept whole; else it
    is dropped when ``e - t_last < min_remainder_s`` (this includes ``e <= t_last``), otherwise
    trimmed to ``[t_last, e)``. Outputs of one clip are therefore disjoint and sorted.

    Args:
        segments: Input segments in stream order.
        min_remainder_s: Shortest remainder a trimmed segment may keep (one clip length).

    Example:
        >>> segs = [Segment(clip_uid="c", video_uid="v", span=Span(a, b), actions=[(k, 0)],
        ...                 annotation_index=k) for k, (a, b) in enumerate([(0, 4), (3, 9), (5, 6)])]
        >>> out = first_action(segs, min_remainder_s=Fraction(2))
        >>> [(s.span.start_s, s.span.end_s) for s in out.segments], out.counts.trimmed, out.counts.dropped
        ([(Fraction(0, 1), Fraction(4, 1)), (Fraction(4, 1), Fraction(9, 1))], 1, 1)
    """
    t_last: dict[str, Fraction] = {}
    kept: list[Segment] = []
    n_kept = n_trimmed = n_dropped = 0
    for seg in segments:
        last = t_last.get(seg.clip_uid, Fraction(0))
        start, end = seg.span.start_s, seg.span.end_s
        if start >= last:
            kept.append(seg)
            n_kept += 1
        elif end - last < min_remainder_s or end <= last:
            n_dropped += 1
            continue
        else:
            kept.append(attrs.evolve(seg, span=Span(last, end)))
            n_trimmed += 1
        t_last[seg.clip_uid] = end
    counts = OverlapCounts(kept=n_kept, trimmed=n_trimmed, dropped=n_dropped)
    return OverlapResult(segments=tuple(kept), counts=counts)


def _group_by_clip(segments: Sequence[Segment]) -> dict[str, list[Segment]]:
    groups: dict[str, list[Segment]] = {}
    for seg in segments:
        groups.setdefault(seg.clip_uid, []).append(seg)
    return groups


def _elementary(group: Sequence[Segment]) -> tuple[list[Segment], int]:
    """Cut one clip's segments at every boundary; return the pieces and how many inputs were cut."""
    bounds = sorted({t for seg in group for t in (seg.span.start_s, seg.span.end_s)})
    pieces: list[Segment] = []
    for lo, hi in itertools.pairwise(bounds):
        cover = [seg for seg in group if seg.span.start_s <= lo and hi <= seg.span.end_s]
        if not cover:
            continue
        cover.sort(key=lambda seg: seg.annotation_index)
        actions = tuple(dict.fromkeys(a for seg in cover for a in seg.actions))
        pieces.append(
            Segment(
                clip_uid=cover[0].clip_uid,
                video_uid=cover[0].video_uid,
                span=Span(lo, hi),
                actions=actions,
                annotation_index=cover[0].annotation_index,
            )
        )
    n_split = sum(1 for seg in group if any(o is not seg and o.span.overlaps(seg.span) for o in group))
    return pieces, n_split


def multi_action(segments: Sequence[Segment]) -> OverlapResult:
    """The ``multi_action`` policy: elementary, possibly multi-label, segments.

    Per clip uid (clips in order of first appearance), the time covered by the input is cut at
    every start and end; each piece carries the union of the labels covering it, earliest
    annotation first. Pieces of one clip are disjoint and sorted; the union of time and the label
    set at every instant are those of the input. Inputs that overlap no other pass unchanged
    (``kept``); the others count as ``split``.

    Example:
        >>> segs = [Segment(clip_uid="c", video_uid="v", span=Span(a, b), actions=[(k, 0)],
        ...                 annotation_index=k) for k, (a, b) in enumerate([(0, 4), (2, 6)])]
        >>> [(str(s.span.start_s), str(s.span.end_s), s.actions) for s in multi_action(segs).segments]
        [('0', '2', ((0, 0),)), ('2', '4', ((0, 0), (1, 0))), ('4', '6', ((1, 0),))]
    """
    out: list[Segment] = []
    n_split = 0
    for group in _group_by_clip(segments).values():
        pieces, n_cut = _elementary(group)
        out.extend(pieces)
        n_split += n_cut
    counts = OverlapCounts(kept=len(segments) - n_split, split=n_split)
    return OverlapResult(segments=tuple(out), counts=counts)


def apply_overlap_policy(
    segments: Sequence[Segment], policy: OverlapPolicy, *, min_remainder_s: Fraction
) -> OverlapResult:
    """Run the named policy (``min_remainder_s`` is used by ``first_action`` only).

    Raises:
        ValueError: Unknown policy name.
    """
    if policy == "ignore":
        return ignore_overlaps(segments)
    if policy == "first_action":
        return first_action(segments, min_remainder_s=min_remainder_s)
    if policy == "multi_action":
        return multi_action(segments)
    raise ValueError(f"unknown overlap policy {policy!r} (ignore, first_action, multi_action)")
