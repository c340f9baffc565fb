"""Properties of ``build_user_stream`` and its serialisation."""

from __future__ import annotations

from collections import Counter
from fractions import Fraction

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from ego_cl.streams.overlap import order_annotations
from ego_cl.streams.sampling import UniformClipSampler
from ego_cl.streams.stream import StreamFormatError, UserStream, build_user_stream
from ego_cl.types import ActionAnnotation, Span
from tests.strategies import actions, annotation_lists, ticks

CLIP = ticks(20)
SAMPLER = UniformClipSampler(clip_s=CLIP)
policies = st.sampled_from(["ignore", "first_action", "multi_action"])
action_sets = st.frozensets(actions, max_size=25)


def _build(annotations, **kwargs):
    kwargs.setdefault("policy", "first_action")
    kwargs.setdefault("filter_unseen", False)
    return build_user_stream(annotations, user_id="u1", sampler=SAMPLER, clip_s=CLIP, **kwargs)


def _identity(sample):
    """A sample without its position (what a shuffle may change)."""
    return attrs.evolve(sample, index=0)


@given(annotation_lists(), policies)
def test_indices_are_positions_and_samples_follow_recorded_order(annotations, policy):
    stream = _build(annotations, policy=policy)
    assert [s.index for s in stream.samples] == list(range(len(stream)))
    ordered = order_annotations(annotations)
    keys = [(s.annotation_index, s.clip_index) for s in stream.samples]
    if policy != "multi_action":  # multi_action pieces may reorder annotations inside a clip
        assert keys == sorted(keys)
    for s in stream.samples:
        source = ordered[s.annotation_index]
        assert (s.clip_uid, s.video_uid, s.user_id) == (source.clip_uid, source.video_uid, "u1")
        assert s.actions[0] == source.action
    assert stream.counts.n_samples == stream.counts.n_sampled == len(stream)


@given(annotation_lists(), policies, action_sets)
def test_filter_keeps_exactly_the_samples_with_a_seen_label(annotations, policy, seen):
    everything = _build(annotations, policy=policy)
    filtered = _build(annotations, policy=policy, filter_unseen=True, pretrain_actions=seen)
    expected = [
        attrs.evolve(s, actions=tuple(a for a in s.actions if a in seen))
        for s in everything.samples
        if any(a in seen for a in s.actions)
    ]
    assert [_identity(s) for s in filtered.samples] == [_identity(s) for s in expected]
    assert filtered.counts.n_unseen_dropped == len(everything) - len(filtered)
    assert all(a in seen for s in filtered.samples for a in s.actions)


@given(annotation_lists(), st.integers(0, 2**31))
def test_shuffle_is_a_seeded_permutation_with_transitions_from_recorded_order(annotations, seed):
    plain = _build(annotations)
    shuffled = _build(annotations, shuffle_seed=seed)
    assert Counter(map(_identity, shuffled.samples)) == Counter(map(_identity, plain.samples))
    assert shuffled == _build(annotations, shuffle_seed=seed)
    assert [s.index for s in shuffled.samples] == list(range(len(shuffled)))
    # a shuffled sample is a clip transition iff it started a new clip in recorded order
    starts = {_identity(plain.samples[i]) for i in plain.clip_transitions}
    marked = {i for i, s in enumerate(shuffled.samples) if _identity(s) in starts}
    assert marked == set(shuffled.clip_transitions)


@given(annotation_lists())
def test_transitions_mark_each_new_clip_and_video(annotations):
    stream = _build(annotations)
    samples = stream.samples
    assert stream.clip_transitions == tuple(
        i for i, s in enumerate(samples) if i == 0 or s.clip_uid != samples[i - 1].clip_uid
    )
    assert stream.video_transitions == tuple(
        i for i, s in enumerate(samples) if i == 0 or s.video_uid != samples[i - 1].video_uid
    )


@given(annotation_lists(), st.integers(0, 30), st.none() | st.integers(0, 9))
def test_max_samples_keeps_a_prefix_before_the_shuffle(annotations, n, seed):
    full = _build(annotations)
    cut = _build(annotations, max_samples=n, shuffle_seed=seed)
    assert len(cut) == min(n, len(full))
    assert cut.counts.n_cut == len(full) - len(cut)
    assert Counter(map(_identity, cut.samples)) == Counter(map(_identity, full.samples[:n]))


@given(annotation_lists(), policies, st.none() | st.integers(0, 9))
def test_json_round_trip(annotations, policy, seed):
    stream = _build(annotations, policy=policy, shuffle_seed=seed)
    again = UserStream.from_json(stream.to_json())
    assert again == stream
    assert again.to_dict() == stream.to_dict()


def test_histograms_and_counts_by_hand():
    def ann(idx, start, end, action, clip="c1"):
        return ActionAnnotation(
            clip_uid=clip,
            video_uid="v1",
            user_id="u1",
            origin_video_id="r1",
            clip_parent_start_s=0 if clip == "c1" else 300,  # c2 follows c1 (no interleaving)
            clip_parent_end_s=300,
            action_idx=idx,
            span=Span(Fraction(start), Fraction(end)),
            verb_label=action[0],
            noun_label=action[1],
        )

    annotations = [
        ann(2, 7, 12, (1, 2)),  # trimmed to [10, 12): remainder 2 s -> kept, 1 clip
        ann(0, 0, 10, (1, 1)),  # 5 clips of 2 s
        ann(1, 3, 9, (3, 3)),  # inside the first: dropped
        ann(0, 1, 2, (9, 9), clip="c2"),  # short window (extend): 1 clip, unseen -> filtered
    ]
    stream = build_user_stream(
        annotations,
        user_id="u1",
        policy="first_action",
        sampler=UniformClipSampler(clip_s=Fraction(2)),
        clip_s=Fraction(2),
        pretrain_actions=frozenset({(1, 1), (1, 2), (3, 3)}),
    )
    c = stream.counts
    assert (c.overlap.kept, c.overlap.trimmed, c.overlap.dropped) == (2, 1, 1)
    assert (c.n_windows, c.n_sampled, c.n_unseen_dropped, c.n_samples) == (3, 7, 1, 6)
    assert [s.span.start_s for s in stream.samples] == [0, 2, 4, 6, 8, 10]
    assert stream.verb_counts() == {1: 6}
    assert stream.action_counts() == {(1, 1): 5, (1, 2): 1}
    assert stream.clip_transitions == (0,)
    assert stream.to_dict()["histograms"]["action"] == {"1-1": 5, "1-2": 1}


def test_filter_without_pretrain_actions_is_an_error():
    with pytest.raises(ValueError, match="pretrain_actions"):
        build_user_stream([], user_id="u", policy="ignore", sampler=SAMPLER, clip_s=CLIP)


@pytest.mark.parametrize("text", ["{", '{"user_id": "u"}', '{"samples": 3}'])
def test_bad_stream_json_names_the_file(text):
    with pytest.raises(StreamFormatError, match=r"mine\.json"):
        UserStream.from_json(text, source="mine.json")
