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
    first_action_per_clip,
    ignore_overlaps,
    multi_action,
    order_annotations,
    segments_from_annotations,
)
from ego_cl.types import ActionAnnotation, Span
from tests.strategies import TICK, annotation_lists, segment_lists, ticks

POLICIES = ["ignore", "first_action", "first_action_per_clip", "multi_action"]
EXCLUSIVE = ["first_action_per_clip", "multi_action"]
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


def _key(a):
    return (a.origin_video_id, a.clip_parent_start_s, a.action_idx)


@given(annotation_lists(missing_origin=True))
def test_order_is_sorted_by_recording_clip_action_and_stable(annotations):
    ordered = order_annotations(annotations)
    assert Counter(map(id, ordered)) == Counter(map(id, annotations))
    known = [a for a in ordered if a.origin_video_id]
    missing = [a for a in ordered if not a.origin_video_id]
    assert list(ordered) == known + missing  # a missing recording id sorts last, as NaN in pandas
    for part in (known, missing):
        keys = [_key(a) for a in part]
        assert keys == sorted(keys)
    keys = [_key(a) for a in ordered]
    for key in set(keys):  # stable: equal keys keep file order
        same = [a for a in annotations if (a.origin_video_id, a.clip_parent_start_s, a.action_idx) == key]
        assert [id(a) for a in ordered if a in same] == [id(a) for a in same]


def test_missing_recording_id_sorts_last_like_the_original():
    anns = [
        ActionAnnotation(
            clip_uid=f"c{i}",
            video_uid="v",
            user_id="1",
            origin_video_id=origin,
            clip_parent_start_s=start,
            clip_parent_end_s=999,
            action_idx=idx,
            span=Span(0, 1),
            verb_label=i,
            noun_label=0,
        )
        for i, (origin, start, idx) in enumerate(
            [("b", 0, 0), ("", 300, 0), ("a", 0, 1), ("", 0, 2), ("a", 0, 0), ("", 0, 1)]
        )
    ]
    # pandas' sort_values(["origin_video_id", "clip_parent_start_sec", "action_idx"]) puts the
    # null ids (how split files write a missing one) last and sorts them by the other keys
    assert [a.verb_label for a in order_annotations(anns)] == [4, 2, 0, 5, 3, 1]


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


@given(segments=segment_lists(), min_s=min_remainders)
def test_first_action_gives_sorted_disjoint_segments_per_run_of_one_clip(segments, min_s):
    out = first_action(segments, min_remainder_s=min_s).segments
    for _, run in itertools.groupby(out, key=lambda seg: seg.clip_uid):
        for a, b in itertools.pairwise(run):
            assert a.span.end_s <= b.span.start_s


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


def _fifo_oracle(segments, min_ticks: int, *, per_clip: bool):
    """Brute force on the tick grid: each clip's claimed ticks; a later segment gets only the
    ticks after everything claimed so far. Without ``per_clip`` the claims are forgotten whenever
    the clip uid changes from one segment to the next (the original's reset)."""
    claimed: dict[str, set[int]] = {}
    out = []
    previous = None
    for seg in segments:
        if not per_clip and seg.clip_uid != previous:
            claimed.clear()
        previous = seg.clip_uid
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
@example(segments=[_seg("c", 0, 10), _seg("d", 2, 8, index=1), _seg("c", 5, 20, index=2)], min_ticks=5)
@pytest.mark.parametrize("per_clip", [False, True])
def test_first_action_equals_tick_grid_oracle(segments, min_ticks, per_clip):
    policy = first_action_per_clip if per_clip else first_action
    out = policy(segments, min_remainder_s=ticks(min_ticks)).segments
    got = [(s.clip_uid, int(s.span.start_s / TICK), int(s.span.end_s / TICK), s.actions) for s in out]
    assert got == _fifo_oracle(segments, min_ticks, per_clip=per_clip)


def test_first_action_resets_when_clips_interleave_and_per_clip_does_not():
    # two clips of one recording with the same parent start: their actions interleave
    segments = [_seg("c", 0, 10), _seg("d", 2, 8, index=1), _seg("c", 5, 20, index=2)]
    original = first_action(segments, min_remainder_s=ticks(4)).segments
    per_clip = first_action_per_clip(segments, min_remainder_s=ticks(4)).segments
    assert [(s.span.start_s / TICK, s.span.end_s / TICK) for s in original] == [(0, 10), (2, 8), (5, 20)]
    assert [(s.span.start_s / TICK, s.span.end_s / TICK) for s in per_clip] == [(0, 10), (2, 8), (10, 20)]


def _float_fifo_oracle(windows, clip_s):
    """The original's FIFO on ``(clip_uid, start, end)`` float triples, in plain floats."""
    out, last_clip, last = [], None, 0
    for clip, start, end in windows:
        if clip != last_clip:
            last_clip, last = clip, 0
        if start >= last:
            out.append((clip, start, end))
        elif end <= last or end - last < clip_s:
            continue
        else:
            out.append((clip, last, end))
        last = end
    return out


float_windows = st.lists(
    st.tuples(st.sampled_from("cd"), st.integers(0, 600), st.integers(1, 200)).map(
        lambda t: (t[0], t[1] / 30, (t[1] + t[2]) / 30)  # frame positions written as floats
    ),
    max_size=10,
)


@given(float_windows, st.integers(1, 100))
@example([("c", 0.0, 64 / 30), ("c", 1 / 30, 65 / 30)], 1)
@example([("c", 0.0, 7 / 30), ("c", 1 / 30, 71 / 30)], 64)  # remainder of exactly one clip
def test_float_arithmetic_first_action_is_the_originals_float_rule(windows, clip_frames):
    clip_s = Fraction(clip_frames, 30)
    segments = [
        Segment(
            clip_uid=c,
            video_uid="v",
            span=Span(Fraction(a), Fraction(b)),
            actions=[(0, 0)],
            annotation_index=i,
        )
        for i, (c, a, b) in enumerate(windows)
    ]
    out = first_action(segments, min_remainder_s=clip_s, float_arithmetic=True).segments
    got = [(s.clip_uid, float(s.span.start_s), float(s.span.end_s)) for s in out]
    assert got == _float_fifo_oracle(windows, clip_s)
    assert all(Fraction(float(t)) == t for s in out for t in (s.span.start_s, s.span.end_s))


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
