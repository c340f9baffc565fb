"""Properties of stream ordering and the three overlap policies."""

from __future__ import annotations

import itertools
from collections import Counter
from fractions import Fraction

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from ego_cl.streams.overlap import (
    Segment,
    apply_overlap_policy,
    first_action,
    ignore_overlaps,
    multi_action,
    order_annotations,
    segments_from_annotations,
)
from ego_cl.types import Span
from tests.strategies import TICK, annotation_lists, segment_lists, ticks

POLICIES = ["ignore", "first_action", "multi_action"]
EXCLUSIVE = ["first_action", "multi_action"]
min_remainders = st.integers(0, 40).map(ticks)


def _seg(clip: str, start: int, end: int, action=(0, 0), index: int = 0) -> Segment:
    return Segment(
        clip_uid=clip,
        video_uid="v",
        span=Span(ticks(start), ticks(end)),
        actions=(action,),
        annotation_index=index,
    )


def _by_clip(segments):
    groups: dict[str, list[Segment]] = {}
    for seg in segments:
        groups.setdefault(seg.clip_uid, []).append(seg)
    return groups


def _tick_range(span: Span) -> range:
    return range(int(span.start_s / TICK), int(span.end_s / TICK))


# --- ordering -----------------------------------------------------------------------------------


@given(annotation_lists())
def test_order_is_sorted_by_recording_clip_action_and_stable(annotations):
    ordered = order_annotations(annotations)
    assert Counter(map(id, ordered)) == Counter(map(id, annotations))
    keys = [(a.origin_video_id, a.clip_parent_start_s, a.action_idx) for a in ordered]
    assert keys == sorted(keys)
    for key in set(keys):  # stable: equal keys keep file order
        same = [a for a in annotations if (a.origin_video_id, a.clip_parent_start_s, a.action_idx) == key]
        assert [id(a) for a in ordered if a in same] == [id(a) for a in same]


@given(annotation_lists())
def test_order_does_not_depend_on_input_order_of_distinct_keys(annotations):
    keyed = {(a.origin_video_id, a.clip_parent_start_s, a.action_idx): a for a in annotations}
    distinct = list(keyed.values())
    assert order_annotations(distinct) == order_annotations(distinct[::-1])


# --- all policies ---------------------------------------------------------------------------------


@pytest.mark.parametrize("policy", POLICIES)
@given(segments=segment_lists(), min_s=min_remainders)
def test_output_lies_inside_some_input_and_keeps_labels(policy, segments, min_s):
    out = apply_overlap_policy(segments, policy, min_remainder_s=min_s).segments
    for seg in out:
        sources = [s for s in segments if s.clip_uid == seg.clip_uid and s.span.contains(seg.span)]
        assert sources, seg
        # labels preserved: every label comes from an input covering the output, and the source
        # annotation is one of them
        covering = {a for s in sources for a in s.actions}
        assert set(seg.actions) <= covering
        assert seg.annotation_index in {s.annotation_index for s in sources}


@pytest.mark.parametrize("policy", POLICIES)
@given(segments=segment_lists(), min_s=min_remainders)
def test_policies_are_idempotent(policy, segments, min_s):
    once = apply_overlap_policy(segments, policy, min_remainder_s=min_s).segments
    twice = apply_overlap_policy(once, policy, min_remainder_s=min_s)
    assert twice.segments == once
    assert twice.counts.kept == len(once)


@pytest.mark.parametrize("policy", EXCLUSIVE)
@given(segments=segment_lists(), min_s=min_remainders)
def test_exclusive_policies_give_sorted_disjoint_segments_per_clip(policy, segments, min_s):
    out = apply_overlap_policy(segments, policy, min_remainder_s=min_s).segments
    for group in _by_clip(out).values():
        for a, b in itertools.pairwise(group):
            assert a.span.end_s <= b.span.start_s  # sorted and half-open disjoint
            assert not a.span.overlaps(b.span)


@pytest.mark.parametrize("policy", POLICIES)
@given(segments=segment_lists(), min_s=min_remainders)
def test_counts_cover_every_input_once(policy, segments, min_s):
    counts = apply_overlap_policy(segments, policy, min_remainder_s=min_s).counts
    assert counts.total == len(segments)


def test_unknown_policy_is_an_error():
    with pytest.raises(ValueError, match="fifo"):
        apply_overlap_policy([], "fifo", min_remainder_s=Fraction(1))


# --- ignore ---------------------------------------------------------------------------------------


@given(segment_lists())
def test_ignore_is_the_identity(segments):
    result = ignore_overlaps(segments)
    assert result.segments == tuple(segments)
    assert result.counts.kept == len(segments)


# --- first_action ---------------------------------------------------------------------------------


def _fifo_oracle(segments, min_ticks: int):
    """Brute force on the tick grid: each clip's claimed ticks; a later segment gets only the
    ticks after everything claimed so far."""
    claimed: dict[str, set[int]] = {}
    out = []
    for seg in segments:
        mine = set(_tick_range(seg.span))
        taken = claimed.setdefault(seg.clip_uid, set())
        horizon = max(taken) + 1 if taken else 0
        rest = {t for t in mine if t >= horizon}
        if rest == mine:
            out.append((seg.clip_uid, min(mine), max(mine) + 1, seg.actions))
        elif rest and len(rest) >= min_ticks:
            out.append((seg.clip_uid, min(rest), max(rest) + 1, seg.actions))
        else:
            continue
        taken |= rest
    return out


@given(segments=segment_lists(), min_ticks=st.integers(0, 40))
@example(segments=[_seg("c", 0, 10), _seg("c", 5, 15, index=1)], min_ticks=5)  # remainder == clip: kept
@example(segments=[_seg("c", 0, 10), _seg("c", 5, 14, index=1)], min_ticks=5)  # remainder < clip: dropped
@example(segments=[_seg("c", 0, 10), _seg("c", 2, 8, index=1)], min_ticks=0)  # fully covered: dropped
@example(segments=[_seg("c", 0, 10), _seg("d", 2, 8, index=1)], min_ticks=5)  # other clip: untouched
def test_first_action_equals_tick_grid_oracle(segments, min_ticks):
    out = first_action(segments, min_remainder_s=ticks(min_ticks)).segments
    got = [(s.clip_uid, int(s.span.start_s / TICK), int(s.span.end_s / TICK), s.actions) for s in out]
    assert got == _fifo_oracle(segments, min_ticks)


def test_first_action_counts_by_hand():
    segments = [
        _seg("c", 0, 10),
        _seg("c", 5, 20, index=1),
        _seg("c", 12, 22, index=2),
        _seg("c", 30, 31, index=3),
    ]
    result = first_action(segments, min_remainder_s=ticks(4))
    assert [(s.span.start_s / TICK, s.span.end_s / TICK) for s in result.segments] == [
        (0, 10),
        (10, 20),
        (30, 31),
    ]
    assert (result.counts.kept, result.counts.trimmed, result.counts.dropped) == (2, 1, 1)


# --- multi_action ---------------------------------------------------------------------------------


@given(segment_lists())
@example([_seg("c", 0, 10, (1, 1)), _seg("c", 0, 10, (2, 2), 1)])  # identical windows
@example([_seg("c", 0, 10, (1, 1)), _seg("c", 10, 20, (1, 1), 1)])  # touching, same label
@example([_seg("c", 0, 10, (1, 1)), _seg("c", 3, 5, (2, 2), 1)])  # nested
def test_multi_action_keeps_the_label_set_at_every_instant(segments):
    out = multi_action(segments).segments
    for clip in {s.clip_uid for s in segments}:
        ins = [s for s in segments if s.clip_uid == clip]
        outs = [s for s in out if s.clip_uid == clip]
        for t in range(0, 121):
            instant = ticks(t) + TICK / 2  # every boundary is on the grid: one probe per piece
            want = {a for s in ins if s.span.start_s <= instant < s.span.end_s for a in s.actions}
            covering = [s for s in outs if s.span.start_s <= instant < s.span.end_s]
            assert len(covering) <= 1
            got = set(covering[0].actions) if covering else set()
            assert got == want, (clip, t)
    # union of time preserved
    assert sum(s.span.duration_s for s in out) == sum(
        len(set().union(*(_tick_range(s.span) for s in segments if s.clip_uid == clip))) * TICK
        for clip in {s.clip_uid for s in segments}
    )


def test_multi_action_splits_overlaps_by_hand():
    segments = [_seg("c", 0, 10, (1, 1)), _seg("c", 5, 15, (2, 2), 1), _seg("c", 20, 25, (3, 3), 2)]
    result = multi_action(segments)
    got = [(s.span.start_s / TICK, s.span.end_s / TICK, s.actions) for s in result.segments]
    assert got == [(0, 5, ((1, 1),)), (5, 10, ((1, 1), (2, 2))), (10, 15, ((2, 2),)), (20, 25, ((3, 3),))]
    assert (result.counts.kept, result.counts.split) == (1, 2)


@given(annotation_lists())
def test_segments_from_annotations_index_the_ordered_list(annotations):
    ordered = order_annotations(annotations)
    segments = segments_from_annotations(ordered)
    assert [s.annotation_index for s in segments] == list(range(len(ordered)))
    assert all(s.actions == (a.action,) and s.span == a.span for s, a in zip(segments, ordered))
