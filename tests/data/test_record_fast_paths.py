"""The loader's common-case checks give the same result as the full rules, at their edges."""

from __future__ import annotations

import math
from fractions import Fraction

from hypothesis import given
from hypothesis import strategies as st

from ego_cl.data.problems import Problems
from ego_cl.data.records import parse_entries

_BASE = {
    "clip_uid": "clip-a",
    "video_uid": "vid-a",
    "clip_parent_start_sec": 0.0,
    "clip_parent_end_sec": 1e6,
    "action_idx": 0,
    "action_clip_start_sec": 0.0,
    "action_clip_end_sec": 5e5,
    "verb_label": 3,
    "noun_label": 5,
    "fb_participant_id": 7.0,
    "parent_video_scenarios": ["Cooking"],
}

_ODD = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(-(10**6), 10**6),
    st.booleans(),
    st.none(),
    st.text(max_size=3),
    st.lists(st.text(max_size=2), max_size=2),
)


def _parse(entry):
    problems = Problems("f.json")
    return parse_entries([entry], problems=problems, key="users[7]"), problems.lines


@given(value=_ODD)
def test_a_time_is_accepted_exactly_when_it_is_a_finite_non_negative_number(value):
    got, lines = _parse({**_BASE, "action_clip_start_sec": value})
    number = not isinstance(value, bool) and isinstance(value, int | float)
    if number and math.isfinite(value) and 0 <= value < 5e5:
        assert not lines
        assert got[0].span.start_s == Fraction(repr(value))
    else:
        assert not got
        assert any("action_clip_start_sec" in line for line in lines)


@given(value=_ODD)
def test_a_label_is_accepted_exactly_when_it_is_an_integral_number(value):
    got, _ = _parse({**_BASE, "verb_label": value})
    integral = not isinstance(value, bool) and (
        isinstance(value, int) or (isinstance(value, float) and value.is_integer())
    )
    assert bool(got) == (integral and value >= 0)
    if got:
        assert got[0].verb_label == int(value)


@given(value=_ODD)
def test_scenarios_are_accepted_exactly_when_a_list_of_strings_or_missing(value):
    got, _ = _parse({**_BASE, "parent_video_scenarios": value})
    missing = value is None or (isinstance(value, float) and math.isnan(value))
    strings = isinstance(value, list) and all(isinstance(v, str) for v in value)
    assert bool(got) == (missing or strings)
    if got:
        assert got[0].scenarios == (() if missing else tuple(value))
