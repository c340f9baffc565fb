"""The plain-entry shortcut (``ego_cl.data.fast_entry``) agrees with the full rules on every entry.

Each property parses the same entries twice, with the shortcut and with it switched off, and needs
the same annotations, the same problem lines and the same frame-field notes. The entries are
Ego4D-like records with their fields pushed to the edges the shortcut decides on (a frame half a
frame from its seconds, an action ending at its clip's length + tolerance, labels at the taxonomy's
end, long clip uids in multi-byte characters, odd owner fields) or replaced by odd values.
"""

from __future__ import annotations

import contextlib
import math
from unittest import mock

from hypothesis import given, settings
from hypothesis import strategies as st

from ego_cl.data import records
from ego_cl.data.fast_entry import plain_annotation
from ego_cl.data.problems import Problems
from ego_cl.data.records import SPAN_TOLERANCE_S, VideoMeta, parse_entries
from ego_cl.data.taxonomy import Taxonomy

TAXONOMY = Taxonomy.unnamed(4, 6)
METADATA = {
    "vid-a": VideoMeta(video_uid="vid-a", user_id="7", scenarios=("Cooking",), origin_video_id="rec-a"),
    "vid-b": VideoMeta(video_uid="vid-b", user_id=None, scenarios=(), origin_video_id=""),
}

_ODD = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(-5, 10**4),
    st.booleans(),
    st.none(),
    st.text(max_size=3),
    st.lists(st.text(max_size=2), max_size=2),
    st.just(mock.DEFAULT),  # the field is left out
)
# seconds off the frame time by about half a frame (in frames), and the exact edges
_JITTER = st.one_of(
    st.sampled_from([0.0, 0.49, -0.49, 0.5, -0.5, 0.4999999, 0.5000001, 0.51, 3.0]),
    st.floats(-0.6, 0.6),
)
_UID = st.one_of(
    st.just("clip-a"),
    st.integers(55, 70).map(lambda n: "c" * n),
    st.integers(55, 70).map(lambda n: "é" * n),  # 2 bytes each: 126..140 chars
    st.integers(60, 66).map(lambda n: "\U0001f600" * n),  # 4 bytes each: the 251-byte edge at 62
    st.just(""),
)


@st.composite
def entries(draw):
    first = draw(st.integers(0, 6000))
    last = first + draw(st.integers(-2, 400))
    start_s = max(0.0, (first + draw(_JITTER)) / 30)
    end_s = (last + draw(_JITTER)) / 30
    parent_start = float(draw(st.integers(0, 5000)))
    length = draw(st.sampled_from([300.0, math.ceil(end_s), end_s - SPAN_TOLERANCE_S, 1e7]))
    entry = {
        "clip_uid": draw(_UID),
        "video_uid": draw(st.sampled_from(["vid-a", "vid-b", "vid-c"])),
        "clip_parent_start_sec": parent_start,
        "clip_parent_end_sec": parent_start + length,
        "action_idx": draw(st.integers(0, 3)),
        "action_clip_start_sec": start_s,
        "action_clip_end_sec": end_s,
        "action_clip_start_frame": first,
        "action_clip_end_frame": last,
        "verb": "take",
        "noun": "knife",
        "verb_label": draw(st.integers(-1, 4)),
        "noun_label": draw(st.integers(0, 6)),
        "fb_participant_id": draw(st.sampled_from([7.0, 7, None, math.nan, 7.5, "7", "null"])),
        "origin_video_id": draw(st.sampled_from(["rec-a", None, math.nan, 3])),
        "parent_video_scenarios": draw(st.sampled_from([["Cooking"], [], None, math.nan, [1], "x"])),
    }
    if draw(st.booleans()):
        entry.pop("action_clip_start_frame")
        entry.pop("action_clip_end_frame")
    for field in draw(st.lists(st.sampled_from(sorted(entry)), max_size=2, unique=True)):
        value = draw(_ODD)
        if value is mock.DEFAULT:
            entry.pop(field)
        else:
            entry[field] = value
    return entry


def _parse(batch, *, taxonomy, metadata, shortcut):
    problems = Problems("f.json")
    off = mock.patch.object(records, "plain_annotation", return_value=None)
    with mock.patch.object(records.log, "warning") as warning, contextlib.nullcontext() if shortcut else off:
        got = parse_entries(batch, problems=problems, key="users[7]", taxonomy=taxonomy, metadata=metadata)
    return repr(got), problems.lines, warning.call_args_list


@settings(max_examples=400)
@given(
    batch=st.lists(entries(), min_size=1, max_size=4),
    taxonomy=st.sampled_from([TAXONOMY, None]),
    metadata=st.sampled_from([METADATA, None]),
)
def test_the_shortcut_changes_no_annotation_problem_or_note(batch, taxonomy, metadata):
    fast = _parse(batch, taxonomy=taxonomy, metadata=metadata, shortcut=True)
    full = _parse(batch, taxonomy=taxonomy, metadata=metadata, shortcut=False)
    assert fast == full


@given(entry=entries())
def test_the_shortcut_builds_only_what_the_full_rules_accept_silently(entry):
    got = plain_annotation(entry, TAXONOMY.n_verbs, TAXONOMY.n_nouns, None, SPAN_TOLERANCE_S)
    if got is not None:
        problems, notes = Problems("f.json"), []
        assert records._parse_entry(entry, "e", problems, TAXONOMY, None, notes) == got
        assert not problems.lines
        assert not notes


@given(first=st.integers(0, 7000), length=st.integers(1, 2000), video=st.sampled_from(["vid-a", "vid-c"]))
def test_a_plain_ego4d_record_takes_the_shortcut(first, length, video):
    """Not a speed test: a shortcut that never applies would pass the agreement tests above.
    The action ends within the 300-s clip (frame 9000 at most); past it the full rules speak."""
    entry = {
        "clip_uid": "0a1b2c3d-clip",
        "video_uid": video,
        "clip_parent_start_sec": 600.0,
        "clip_parent_end_sec": 900.0,
        "action_idx": 0,
        "action_clip_start_sec": first / 30,
        "action_clip_end_sec": (first + length) / 30,
        "action_clip_start_frame": first,
        "action_clip_end_frame": first + length,
        "verb": "take",
        "noun": "knife",
        "verb_label": 3,
        "noun_label": 5,
    }
    split_entry = {**entry, "fb_participant_id": 7.0, "parent_video_scenarios": ["Cooking"]}
    split_entry["origin_video_id"] = "rec-a"
    assert plain_annotation(entry, 4, 6, METADATA, SPAN_TOLERANCE_S) is not None
    assert plain_annotation(split_entry, 4, 6, None, SPAN_TOLERANCE_S) is not None
