"""Validation of Ego4D annotation / metadata files: one test per rule, all problems collected."""

from __future__ import annotations

import json
from fractions import Fraction

import pytest

from ego_cl.data.problems import MAX_REPORTED, AnnotationError
from ego_cl.data.records import load_lta_file, load_metadata, user_id_of
from ego_cl.data.taxonomy import Taxonomy, infer_taxonomy, load_taxonomy
from ego_cl.types import InputError


def entry(**changes):
    base = {
        "clip_uid": "clip-a",
        "video_uid": "vid-a",
        "clip_id": 1,
        "clip_parent_start_sec": 600.0,
        "clip_parent_end_sec": 900.0,
        "action_idx": 0,
        "action_clip_start_sec": 41.2,
        "action_clip_end_sec": 49.2,
        "verb": "take",
        "noun": "knife",
        "verb_label": 3,
        "noun_label": 5,
    }
    base.update(changes)
    return {k: v for k, v in base.items() if v is not DROP}


DROP = object()


def write(tmp_path, entries, name="fho_lta_train.json"):
    path = tmp_path / name
    path.write_text(json.dumps({"version": "1", "clips": entries}))
    return path


def problems_of(path, **kwargs):
    with pytest.raises(AnnotationError) as info:
        load_lta_file(path, **kwargs)
    assert isinstance(info.value, InputError)
    assert str(path) in str(info.value)
    return info.value.problems


def test_valid_file_loads_exact_times(tmp_path):
    path = write(tmp_path, [entry(), entry(action_idx=1, action_clip_start_sec=50, action_clip_end_sec=52.5)])
    records = load_lta_file(path)
    first, second = records.annotations
    assert first.span.start_s == Fraction("41.2")
    assert first.clip_parent_start_s == 600
    assert second.span.end_s == Fraction(5, 2) + 50
    assert (first.verb, first.noun, first.action) == ("take", "knife", (3, 5))
    assert first.user_id is None  # no metadata given


@pytest.mark.parametrize(
    "field", ["clip_uid", "video_uid", "action_idx", "verb_label", "action_clip_end_sec"]
)
def test_missing_field(tmp_path, field):
    [line] = problems_of(write(tmp_path, [entry(**{field: DROP})]))
    assert line.startswith("clips[0]")
    assert f"field '{field}': missing" in line


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("verb_label", "3"),
        ("noun_label", 2.5),
        ("action_idx", True),
        ("action_clip_start_sec", "1.0"),
        ("clip_uid", 7),
        ("verb", 3),
    ],
)
def test_mistyped_field(tmp_path, field, value):
    [line] = problems_of(write(tmp_path, [entry(**{field: value})]))
    assert f"field '{field}': expected" in line


def test_end_not_after_start(tmp_path):
    [line] = problems_of(write(tmp_path, [entry(action_clip_start_sec=5.0, action_clip_end_sec=5.0)]))
    assert "clip_uid=clip-a, action_idx=0" in line
    assert "field 'action_clip_end_sec': must be after" in line


def test_negative_time(tmp_path):
    [line] = problems_of(write(tmp_path, [entry(action_clip_start_sec=-0.5)]))
    assert "field 'action_clip_start_sec': negative time" in line


def test_label_outside_taxonomy(tmp_path):
    path = write(tmp_path, [entry(noun_label=9)])
    [line] = problems_of(path, taxonomy=Taxonomy.unnamed(4, 9))
    assert "field 'noun_label': label 9 outside the taxonomy (0..8)" in line
    assert load_lta_file(path, taxonomy=Taxonomy.unnamed(4, 10)).annotations


def test_duplicate_clip_action(tmp_path):
    [line] = problems_of(write(tmp_path, [entry(), entry(verb_label=1)]))
    assert line.startswith("clips[1]")
    assert "duplicate (clip_uid, action_idx) of clips[0]" in line


def test_all_problems_collected_first_20_and_count(tmp_path):
    bad = [entry(action_idx=i, verb_label="x") for i in range(25)]
    path = write(tmp_path, [entry(action_idx=99), *bad])
    with pytest.raises(AnnotationError) as info:
        load_lta_file(path)
    assert len(info.value.problems) == 25
    message = str(info.value)
    assert "25 problem(s)" in message
    assert "... and 5 more" in message
    assert message.count("field 'verb_label'") == MAX_REPORTED
    assert "clips[1] " in message
    assert "clips[26]" not in message


def test_not_json_and_missing(tmp_path):
    bad = tmp_path / "x.json"
    bad.write_text("{nope")
    with pytest.raises(AnnotationError, match="not valid JSON"):
        load_lta_file(bad)
    with pytest.raises(AnnotationError, match="file not found"):
        load_lta_file(tmp_path / "missing.json")


def test_metadata_join_and_nan_user(tmp_path):
    meta_path = tmp_path / "ego4d.json"
    meta_path.write_text(
        json.dumps(
            {
                "videos": [
                    {
                        "video_uid": "vid-a",
                        "fb_participant_id": 68,
                        "scenarios": ["Cooking"],
                        "origin_video_id": "o1",
                        "duration_sec": 3.0,
                    },
                    {"video_uid": "vid-b", "scenarios": []},
                ]
            }
        )
    )
    meta = load_metadata(meta_path)
    assert meta["vid-a"].user_id == "68"
    assert meta["vid-b"].user_id is None
    path = write(
        tmp_path, [entry(), entry(clip_uid="c2", video_uid="vid-b"), entry(clip_uid="c3", video_uid="zz")]
    )
    a, b, c = load_lta_file(path, metadata=meta).annotations
    assert (a.user_id, a.origin_video_id, a.scenarios) == ("68", "o1", ("Cooking",))
    assert b.user_id is None
    assert c.user_id is None
    assert c.origin_video_id == ""


def test_metadata_problems(tmp_path):
    meta_path = tmp_path / "ego4d.json"
    meta_path.write_text(
        json.dumps(
            {"videos": [{"video_uid": "v", "fb_participant_id": "abc"}, {"video_uid": 3, "scenarios": "x"}]}
        )
    )
    with pytest.raises(AnnotationError) as info:
        load_metadata(meta_path)
    text = "\n".join(info.value.problems)
    assert "videos[0] (video_uid=v): field 'fb_participant_id'" in text
    assert "field 'video_uid'" in text
    assert "field 'scenarios'" in text


def test_user_id_spellings():
    assert [user_id_of(v) for v in (68, 68.0, "68", "68.0", None, float("nan"))] == ["68"] * 4 + [None] * 2
    with pytest.raises(ValueError):
        user_id_of(68.5)


def test_taxonomy_from_file_and_inferred(tmp_path):
    path = tmp_path / "tax.json"
    path.write_text(json.dumps({"verbs": ["a", "b"], "nouns": ["x", "y", "z"]}))
    tax = load_taxonomy(path)
    assert (tax.n_verbs, tax.n_nouns, tax.nouns[2]) == (2, 3, "z")
    path.write_text(json.dumps({"verbs": [], "nouns": ["x"]}))
    with pytest.raises(AnnotationError, match="field 'verbs'"):
        load_taxonomy(path)
    anns = load_lta_file(write(tmp_path, [entry(), entry(action_idx=1, verb_label=0, noun_label=7, verb="")]))
    inferred = infer_taxonomy(anns.annotations)
    assert (inferred.n_verbs, inferred.n_nouns) == (4, 8)
    assert inferred.verbs == ("verb_0", "verb_1", "verb_2", "take")
