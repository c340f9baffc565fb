"""Action windows from frame fields (exact) or float seconds (the fallback), per record."""

from __future__ import annotations

import json
import math
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st
from structlog.testing import capture_logs

from ego_cl.data.frames import action_span, float_seconds
from ego_cl.data.records import load_lta_file
from ego_cl.types import Span


def record(start_frame, end_frame, start_sec=None, end_sec=None, **changes):
    base = {
        "clip_uid": "clip-a",
        "video_uid": "vid-a",
        "clip_parent_start_sec": 600.0,
        "clip_parent_end_sec": 900.0,
        "action_idx": 0,
        "action_clip_start_sec": start_frame / 30 if start_sec is None else start_sec,
        "action_clip_end_sec": end_frame / 30 if end_sec is None else end_sec,
        "action_clip_start_frame": start_frame,
        "action_clip_end_frame": end_frame,
        "verb": "take",
        "noun": "knife",
        "verb_label": 3,
        "noun_label": 5,
    }
    base.update(changes)
    return {k: v for k, v in base.items() if v is not DROP}


DROP = object()


def load(tmp_path, entries):
    path = tmp_path / "fho_lta_train.json"
    path.write_text(json.dumps({"version": "1", "clips": entries}))
    return path, load_lta_file(path).annotations


# offsets of the seconds from the frame time, in 1/600 s, below half a frame (10/600 s: the
# exact boundary is tested with exact numbers below; in floats it can round either way)
jitters = st.integers(-9, 9).map(lambda j: j / 600)


@given(first=st.integers(0, 9000), length=st.integers(1, 2000), jitter=st.tuples(jitters, jitters))
def test_consistent_frames_give_the_exact_frame_window(first, length, jitter):
    last = first + length
    secs = (max(first / 30 + jitter[0], 0.0), last / 30 + jitter[1])
    entry = record(first, last, *secs)
    span, note = action_span(entry, float_seconds(secs[0]), float_seconds(secs[1]))
    assert note is None
    assert span == Span(Fraction(first, 30), Fraction(last, 30))


def test_loaded_annotation_has_the_frame_window_and_keeps_the_floats(tmp_path):
    _, (ann,) = load(tmp_path, [record(2, 2 + 128)])
    assert ann.span == Span(Fraction(2, 30), Fraction(130, 30))
    assert ann.span.duration_s == 2 * Fraction(64, 30)  # two clips exactly
    assert ann.span_sec == (2 / 30, 130 / 30)
    assert ann.float_span() == (2 / 30, 130 / 30)
    # the float rule alone would make this window shorter than two clips
    assert float_seconds(130 / 30) - float_seconds(2 / 30) < 2 * Fraction(64, 30)


@pytest.mark.parametrize("value", [None, math.nan, DROP])
def test_without_frame_fields_the_float_rule_applies_silently(tmp_path, value):
    entry = record(0, 0, 41.2, 49.2, action_clip_start_frame=value, action_clip_end_frame=value)
    with capture_logs() as logs:
        _, (ann,) = load(tmp_path, [entry])
    assert ann.span == Span(Fraction("41.2"), Fraction("49.2"))
    assert not logs


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"action_clip_end_frame": DROP}, "action_clip_end_frame"),
        ({"action_clip_start_frame": 1236.5}, "action_clip_start_frame"),
        ({"action_clip_start_frame": "1236"}, "action_clip_start_frame"),
        ({"action_clip_start_frame": -1}, "action_clip_start_frame"),
        ({"action_clip_end_frame": 1477}, "action_clip_end_frame"),  # 1 frame off: > half a frame
        ({"action_clip_start_frame": 1235}, "action_clip_start_frame"),
    ],
)
def test_unusable_frame_fields_fall_back_to_floats_and_are_named(tmp_path, changes, field):
    entries = [record(1236, 1476, 41.2, 49.2, **changes), record(0, 64, action_idx=1)]
    with capture_logs() as logs:
        path, (ann, good) = load(tmp_path, entries)
    assert ann.span == Span(Fraction("41.2"), Fraction("49.2"))
    assert good.span == Span(0, Fraction(64, 30))
    (event,) = [e for e in logs if e["event"] == "frame_fields_not_used"]
    assert event["log_level"] == "warning"
    assert event["file"] == str(path)
    assert event["n_records"] == 1
    assert event["first"][0].startswith(f"clips[0] (clip_uid=clip-a, action_idx=0): field '{field}'")


def test_frames_that_collapse_the_window_fall_back(tmp_path):
    # 1/120 s long: both ends round to frame 30, within half a frame of each float
    entries = [record(30, 30, 1.0, 1.0 + 1 / 120)]
    with capture_logs() as logs:
        _, (ann,) = load(tmp_path, entries)
    assert ann.span == Span(Fraction(1), float_seconds(1.0 + 1 / 120))
    assert "not after start frame" in logs[0]["first"][0]


def test_half_a_frame_is_still_consistent():
    entry = record(30, 94)
    start, end = Fraction(30, 30) + Fraction(1, 60), Fraction(94, 30) - Fraction(1, 60)
    assert action_span(entry, start, end)[1] is None
    assert action_span(entry, start + Fraction(1, 10**9), end)[1] is not None


@given(st.one_of(st.floats(allow_nan=False, allow_infinity=False), st.integers(-(10**20), 10**20)))
def test_float_seconds_is_the_number_as_spelled(value):
    # the fast decimal path and the cache give exactly Fraction(repr(x)), signs and exponents included
    assert float_seconds(value) == Fraction(repr(value))
    assert float_seconds(value) == float_seconds(value)


@given(frame=st.integers(0, 10**6), offset=st.fractions(-1, 1, max_denominator=10**6))
def test_half_frame_rule_is_exact_at_its_boundary(frame, offset):
    # the integer test in action_span is |frame/30 - sec| <= 1/60 (inclusive), exactly
    sec = Fraction(frame, 30) + offset / 30
    if sec < 0:
        return
    entry = {"action_clip_start_frame": frame, "action_clip_end_frame": frame + 10**7}
    span, note = action_span(entry, sec, Fraction(frame + 10**7, 30))
    assert (note is None) == (abs(Fraction(frame, 30) - sec) <= Fraction(1, 60))
    if note is None:
        assert span.start_s == Fraction(frame, 30)
