"""Stream order and the three overlap policies (pure functions).

A user's annotations are first put in recorded order (:func:`order_annotations`) and turned into
single-label :class:`Segment`\\ s (:func:`segments_from_annotations`). An overlap policy then maps
segments to segments:

- ``ignore``: every window as annotated; time may go back where windows overlap.
- ``first_action`` (FIFO, the original's only policy, exactly its rule): one "last end" ``t_last``,
  reset to 0 whenever the clip uid changes in the ordered list; a segment starting before
  ``t_last`` keeps only the time after it, and is dropped when that remainder is shorter than
  ``min_remainder_s`` (one clip).
- ``first_action_per_clip``: the same, but ``t_last`` is kept per clip uid, so it also holds when
  two clips of one recording interleave (same ``clip_parent_start_sec``, actions ordered by
  ``action_idx``); ``first_action`` resets there and lets such actions overlap.
- ``multi_action``: overlapping windows are cut into elementary segments at every start and end;
  a piece covered by several segments carries all their labels (earliest first).

With ``float_arithmetic`` the FIFO remainder is computed as the original computes it, a float
difference of the two (float-valued) times (``stream.upstream_float_boundaries``).

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
    "first_action_per_clip",
    "ignore_overlaps",
    "multi_action",
    "order_annotations",
    "segments_from_annotations",
]

OverlapPolicy = Literal["ignore", "first_action", "first_action_per_clip", "multi_action"]


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


def _order_key(annotation: ActionAnnotation) -> tuple[bool, str, Fraction, int]:
    origin = annotation.origin_video_id
    return (origin == "", origin, annotation.clip_parent_start_s, annotation.action_idx)


def order_annotations(annotations: Sequence[ActionAnnotation]) -> tuple[ActionAnnotation, ...]:
    """Recorded order: stable sort by ``origin_video_id``, ``clip_parent_start_s``, ``action_idx``.

    As in the original's pandas sort, a missing recording id (``""``) sorts after every other
    one, and the annotations without one are ordered by the other two keys among themselves.
    Sorting the exact parent starts gives the same order as sorting the floats of the file.

    Example:
        >>> def ann(video, clip_start, idx):
        ...     return ActionAnnotation(clip_uid="c", video_uid="v", user_id="1",
        ...         origin_video_id=video, clip_parent_start_s=clip_start, clip_parent_end_s=999,
        ...         action_idx=idx, span=Span(0, 1), verb_label=idx, noun_label=0)
        >>> [(a.origin_video_id, a.action_idx) for a in order_annotations(
        ...     [ann("", 0, 0), ann("b", 0, 0), ann("a", 300, 0), ann("a", 0, 2), ann("a", 0, 1)])]
        [('a', 1), ('a', 2), ('a', 0), ('b', 0), ('', 0)]
    """
    return tuple(sorted(annotations, key=_order_key))


def _float_span(annotation: ActionAnnotation) -> Span:
    start, end = annotation.float_span()
    return Span(Fraction(start), Fraction(end))


def segments_from_annotations(
    ordered: Sequence[ActionAnnotation], *, float_times: bool = False
) -> tuple[Segment, ...]:
    """One single-label segment per annotation; ``annotation_index`` is the list position.

    Args:
        ordered: Annotations in stream order.
        float_times: Use the float seconds of the file (``ActionAnnotation.float_span``, as exact
            Fractions of the float values) instead of ``span``: the original's times.
    """
    return tuple(
        Segment(
            clip_uid=a.clip_uid,
            video_uid=a.video_uid,
            span=_float_span(a) if float_times else a.span,
            actions=(a.action,),
            annotation_index=i,
        )
        for i, a in enumerate(ordered)
    )


def ignore_overlaps(segments: Sequence[Segment]) -> OverlapResult:
    """The ``ignore`` policy: the identity (windows as annotated, in input order)."""
    return OverlapResult(segments=tuple(segments), counts=OverlapCounts(kept=len(segments)))


def first_action(
    segments: Sequence[Segment], *, min_remainder_s: Fraction, float_arithmetic: bool = False
) -> OverlapResult:
    """The ``first_action`` (FIFO) policy, the original's rule.

    Walks the segments in order keeping one ``t_last`` = the end of the last accepted segment,
    reset to 0 whenever the clip uid differs from the previous segment's. A segment ``[s, e)``
    with ``s >= t_last`` is kept whole; else it is dropped when ``e - t_last < min_remainder_s``
    (this includes ``e <= t_last``), otherwise trimmed to ``[t_last, e)``. Outputs of one run of
    consecutive segments of a clip are therefore disjoint and sorted.

    Args:
        segments: Input segments in stream order.
        min_remainder_s: Shortest remainder a trimmed segment may keep (one clip length).
        float_arithmetic: Compute ``e - t_last`` as a float difference (the times must be
            float values, see :func:`segments_from_annotations`), as the original does.

    Example:
        >>> segs = [Segment(clip_uid=c, video_uid="v", span=Span(a, b), actions=[(k, 0)],
        ...                 annotation_index=k)
        ...         for k, (c, a, b) in enumerate([("c", 0, 4), ("c", 3, 9), ("c", 5, 6), ("d", 0, 1)])]
        >>> out = first_action(segs, min_remainder_s=Fraction(2))
        >>> [(str(s.span.start_s), str(s.span.end_s)) for s in out.segments]
        [('0', '4'), ('4', '9'), ('0', '1')]
        >>> out.counts.trimmed, out.counts.dropped
        (1, 1)
    """
    return _fifo(segments, min_remainder_s, per_clip=False, float_arithmetic=float_arithmetic)


def first_action_per_clip(
    segments: Sequence[Segment], *, min_remainder_s: Fraction, float_arithmetic: bool = False
) -> OverlapResult:
    """:func:`first_action` with one ``t_last`` per clip uid (never reset).

    Differs from :func:`first_action` only where clips interleave in the ordered list: a clip's
    later segments are then still trimmed against its own earlier ones, so all outputs of one
    clip are disjoint and sorted.

    Example:
        >>> segs = [Segment(clip_uid=c, video_uid="v", span=Span(a, b), actions=[(k, 0)],
        ...                 annotation_index=k)
        ...         for k, (c, a, b) in enumerate([("c", 0, 4), ("d", 0, 1), ("c", 1, 9)])]
        >>> [str(s.span.start_s) for s in first_action_per_clip(segs, min_remainder_s=Fraction(2)).segments]
        ['0', '0', '4']
        >>> [str(s.span.start_s) for s in first_action(segs, min_remainder_s=Fraction(2)).segments]
        ['0', '0', '1']
    """
    return _fifo(segments, min_remainder_s, per_clip=True, float_arithmetic=float_arithmetic)


_ZERO = Fraction(0)


def _remainder(end: Fraction, last: Fraction, float_arithmetic: bool) -> Fraction:
    """What is left of a window ending at ``end`` after ``last``, as the FIFO rule computes it."""
    return Fraction(float(end) - float(last)) if float_arithmetic else end - last


def _fifo(
    segments: Sequence[Segment], min_remainder_s: Fraction, *, per_clip: bool, float_arithmetic: bool
) -> OverlapResult:
    t_last: dict[str, Fraction] = {}
    previous_clip: str | None = None
    kept: list[Segment] = []
    n_kept = n_trimmed = n_dropped = 0
    for seg in segments:
        if not per_clip and seg.clip_uid != previous_clip:
            t_last.clear()
        previous_clip = seg.clip_uid
        last = t_last.get(seg.clip_uid, _ZERO)
        start, end = seg.span.start_s, seg.span.end_s
        # start >= last on the integers (Fractions, positive denominators): Fraction.__ge__ is slow
        if start.numerator * last.denominator >= last.numerator * start.denominator:
            kept.append(seg)
            n_kept += 1
        elif end <= last or _remainder(end, last, float_arithmetic) < min_remainder_s:
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
    segments: Sequence[Segment],
    policy: OverlapPolicy,
    *,
    min_remainder_s: Fraction,
    float_arithmetic: bool = False,
) -> OverlapResult:
    """Run the named policy (``min_remainder_s`` and ``float_arithmetic``: the FIFO ones only).

    Raises:
        ValueError: Unknown policy name.
    """
    if policy == "ignore":
        return ignore_overlaps(segments)
    if policy in ("first_action", "first_action_per_clip"):
        return _fifo(
            segments,
            min_remainder_s,
            per_clip=policy == "first_action_per_clip",
            float_arithmetic=float_arithmetic,
        )
    if policy == "multi_action":
        return multi_action(segments)
    raise ValueError(
        f"unknown overlap policy {policy!r} (ignore, first_action, first_action_per_clip, multi_action)"
    )
