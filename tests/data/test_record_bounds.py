"""Annotation values that would hang or crash later are refused at load (issues 19.6, 19.7):
actions past their clip's end, clips without length, clip uids too long for a file name."""

from __future__ import annotations

import json
import time

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ego_cl.data.problems import AnnotationError
from ego_cl.data.records import MAX_CLIP_UID_BYTES, SPAN_TOLERANCE_S, load_lta_file


def entry(**changes):
    base = {
        "clip_uid": "clip-a",
        "video_uid": "vid-a",
        "clip_parent_start_sec": 600.0,
        "clip_parent_end_sec": 610.0,  # a 10-s clip
        "action_idx": 0,
        "action_clip_start_sec": 1.0,
        "action_clip_end_sec": 4.0,
        "verb": "take",
        "noun": "knife",
        "verb_label": 3,
        "noun_label": 5,
    }
    return {**base, **changes}


def load(tmp_path, *entries):
    path = tmp_path / "fho_lta_train.json"
    path.write_text(json.dumps({"clips": list(entries)}))
    return load_lta_file(path)


def problems(tmp_path, *entries) -> list[str]:
    with pytest.raises(AnnotationError) as info:
        load(tmp_path, *entries)
    return info.value.problems


def test_an_action_of_1e9_seconds_in_a_10s_clip_is_refused_at_once(tmp_path):
    started = time.perf_counter()
    [line] = problems(tmp_path, entry(action_clip_end_sec=1e9))
    assert time.perf_counter() - started < 1
    assert "action_clip_end_sec" in line
    assert "past the end of its 10-s clip" in line


@given(end=st.floats(0.5, 30, allow_nan=False))
def test_actions_may_end_up_to_the_tolerance_past_the_clip(tmp_path_factory, end):
    tmp_path = tmp_path_factory.mktemp("bounds")
    e = entry(action_clip_start_sec=0.0, action_clip_end_sec=end)
    if end <= 10 + SPAN_TOLERANCE_S:
        assert len(load(tmp_path, e).annotations) == 1
    else:
        assert len(problems(tmp_path, e)) == 1


def test_a_clip_without_length_is_refused(tmp_path):
    [line] = problems(tmp_path, entry(clip_parent_end_sec=600.0))
    assert "clip_parent_end_sec" in line
    assert "must be after clip_parent_start_sec" in line


@pytest.mark.parametrize("n", [MAX_CLIP_UID_BYTES + 1, 300])
def test_a_clip_uid_too_long_for_a_file_name_is_refused(tmp_path, n):
    [line] = problems(tmp_path, entry(clip_uid="c" * n))
    assert "clip_uid" in line
    assert "too long for a file name" in line
    assert len(line) < 300  # the uid is abbreviated, the line stays readable


def test_longest_clip_uid_that_fits_loads(tmp_path):
    assert load(tmp_path, entry(clip_uid="c" * MAX_CLIP_UID_BYTES)).annotations
    assert len(problems(tmp_path, entry(clip_uid="é" * (MAX_CLIP_UID_BYTES // 2 + 1)))) == 1  # bytes count
