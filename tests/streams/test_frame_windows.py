"""Whole streams from Ego4D-style records with frame fields: exact by default, the original's
float arithmetic with ``upstream_float_boundaries``."""

from __future__ import annotations

from fractions import Fraction

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from ego_cl.data.problems import Problems
from ego_cl.data.records import parse_entries
from ego_cl.streams.config import StreamConfig
from ego_cl.streams.from_config import stream_from_config

clip_sampling = pytest.importorskip("pytorchvideo.data.clip_sampling")

CLIP_FRAMES = 64
D = Fraction(CLIP_FRAMES, 30)


def record(clip: int, idx: int, start: int, end: int) -> dict:
    return {
        "clip_uid": f"clip{clip}",
        "video_uid": "vid",
        "origin_video_id": "rec",
        "fb_participant_id": 7.0,
        "clip_parent_start_sec": 300.0 * clip,
        "clip_parent_end_sec": 300.0 * (clip + 1),
        "action_idx": idx,
        "action_clip_start_sec": start / 30,
        "action_clip_end_sec": end / 30,
        "action_clip_start_frame": start,
        "action_clip_end_frame": end,
        "verb_label": idx % 3,
        "noun_label": 0,
    }


@st.composite
def clip_records(draw, clip: int = 0) -> list[dict]:
    """One clip's actions on the frame grid: many exactly k clips long, many starting inside the
    previous one and ending k clips after its end (trimmed remainders of exactly k clips)."""
    out, end = [], draw(st.integers(0, 3000))
    for idx in range(draw(st.integers(1, 6))):
        k = draw(st.integers(1, 4))
        if out and draw(st.booleans()):  # overlap the previous action
            start = end - draw(st.integers(1, 200))
            new_end = end + CLIP_FRAMES * k + draw(st.sampled_from([0, 0, 0, -1, 1, -40]))
        else:
            start = end + draw(st.integers(0, 90))
            new_end = start + draw(st.sampled_from([CLIP_FRAMES * k, CLIP_FRAMES * k + 1, 40, 100]))
        start, new_end = max(start, 0), max(new_end, start + 1)
        out.append(record(clip, idx, start, new_end))
        end = new_end
    return out


user_records = st.tuples(clip_records(0), clip_records(1)).map(lambda t: t[0] + t[1])


def annotations(entries):
    problems = Problems("test.json")
    anns = parse_entries(entries, problems=problems)
    assert not problems
    return anns


def build(entries, **cfg):
    config = StreamConfig(filter_unseen=False, **cfg)
    return stream_from_config(config, annotations(entries), user_id="7", pretrain_actions=None)


def exact_oracle(entries) -> list[tuple]:
    """FIFO on integer frames (the original's reset rule), then back-to-back 64-frame clips."""
    out, last, last_clip = [], 0, None
    for e in entries:  # already in stream order
        start, end = e["action_clip_start_frame"], e["action_clip_end_frame"]
        if e["clip_uid"] != last_clip:
            last, last_clip = 0, e["clip_uid"]
        if start < last:
            if end - last < CLIP_FRAMES:
                continue
            start = last
        last = end
        n = max(1, (end - start) // CLIP_FRAMES)
        out += [(e["clip_uid"], start + CLIP_FRAMES * j, start + CLIP_FRAMES * (j + 1)) for j in range(n)]
    return [(c, Fraction(a, 30), Fraction(b, 30)) for c, a, b in out]


def original_oracle(entries) -> list[tuple]:
    """The original in its own types: float FIFO, then pytorchvideo's sampler driven its way."""
    windows, last, last_clip = [], 0, None
    for e in entries:
        start, end = e["action_clip_start_sec"], e["action_clip_end_sec"]
        if e["clip_uid"] != last_clip:
            last, last_clip = 0, e["clip_uid"]
        if start < last:
            if end <= last or end - last < D:
                continue
            start = last
        last = end
        windows.append((e["clip_uid"], start, end))
    out = []
    for clip, start, end in windows:
        sampler = clip_sampling.UniformClipSampler(clip_duration=D)
        previous_end, is_last = 0.0, False
        while not is_last:
            info = sampler(previous_end - start, end - start, {})
            previous_end = info.clip_end_sec + start
            out.append((clip, Fraction(info.clip_start_sec + start), Fraction(previous_end)))
            is_last = info.is_last_clip
    return out


def spans(stream):
    return [(s.clip_uid, s.span.start_s, s.span.end_s) for s in stream.samples]


@given(user_records)
@example([record(0, 0, 2, 2 + 128)])  # exactly two clips (the float rule gives one)
@example([record(0, 0, 0, 100), record(0, 1, 50, 164)])  # remainder of exactly one clip
@example([record(0, 0, 7, 107), record(0, 1, 9, 171)])  # remainder one frame short: dropped
def test_default_stream_is_exact_frame_arithmetic(entries):
    assert spans(build(entries)) == exact_oracle(entries)


@given(user_records)
@example([record(0, 0, 2, 2 + 128)])
@example([record(0, 0, 0, 100), record(0, 1, 50, 164)])
@example([record(0, 0, 4, 132), record(0, 1, 100, 196)])  # float remainder < one clip: dropped
def test_upstream_float_boundaries_stream_is_the_originals_clip_for_clip(entries):
    assert spans(build(entries, upstream_float_boundaries=True)) == original_oracle(entries)


def test_windows_of_exactly_k_clips_and_one_clip_remainders_by_hand():
    entries = [record(0, 0, 4, 4 + 128), record(0, 1, 100, 132 + 64)]
    exact = build(entries)
    assert spans(exact) == [
        ("clip0", Fraction(4, 30), Fraction(68, 30)),
        ("clip0", Fraction(68, 30), Fraction(132, 30)),
        ("clip0", Fraction(132, 30), Fraction(196, 30)),  # trimmed remainder of exactly one clip
    ]
    assert (exact.counts.overlap.kept, exact.counts.overlap.trimmed) == (1, 1)
    upstream = build(entries, upstream_float_boundaries=True)
    assert len(upstream.samples) == 1  # floats: the window holds one clip, the remainder is dropped
    assert (upstream.counts.overlap.kept, upstream.counts.overlap.dropped) == (1, 1)
