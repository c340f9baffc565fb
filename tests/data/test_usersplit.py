"""Loading user-split JSON files in the original (Python-flavoured) format."""

from __future__ import annotations

import json

import pytest

from ego_cl.data.problems import AnnotationError
from ego_cl.data.usersplit import (
    find_split_file,
    load_user_split,
    pretrain_action_set,
    seen_labels,
    split_file_name,
)

ORIGINAL = """{
    "users": {
        "68": [
            {"clip_uid": "c1", "video_uid": "v1", "clip_parent_start_sec": 0.0, "clip_parent_end_sec": 300.0,
             "action_idx": 0, "action_clip_start_sec": 1.5, "action_clip_end_sec": 4.0, "verb": "take",
             "noun": "cup", "verb_label": 1, "noun_label": 2, "fb_participant_id": 68.0,
             "parent_video_scenarios": ["Cooking"], "origin_video_id": "o1"}
        ],
        "null": [
            {"clip_uid": "c2", "video_uid": "v2", "clip_parent_start_sec": 0.0, "clip_parent_end_sec": 300.0,
             "action_idx": 0, "action_clip_start_sec": 0.0, "action_clip_end_sec": 2.0, "verb": "put",
             "noun": "cup", "verb_label": 0, "noun_label": 2, "fb_participant_id": NaN,
             "parent_video_scenarios": NaN, "origin_video_id": NaN}
        ]
    },
    "split": "pretrain_incl_nanusers",
    "clips": [],
    "user_action_sets": {"user_agnostic": {"verb_to_name_dict": {"1": {"name": "take", "count": 1}}}}
}"""


def test_original_format_loads(tmp_path):
    path = tmp_path / split_file_name("pretrain_incl_nanusers", 2)
    path.write_text(ORIGINAL)
    split = load_user_split(path)
    assert split.split == "pretrain_incl_nanusers"
    assert split.user_ids() == ("68", "null")
    [a] = split.users["68"]
    assert (a.user_id, a.origin_video_id, a.scenarios, a.action) == ("68", "o1", ("Cooking",), (1, 2))
    [b] = split.users["null"]
    assert (b.user_id, b.origin_video_id, b.scenarios) == (None, "", ())
    assert pretrain_action_set(split.annotations()) == {(1, 2), (0, 2)}
    assert seen_labels(split.annotations()) == ({0, 1}, {2})
    assert find_split_file(tmp_path, "pretrain_incl_nanusers") == path


def test_mismatched_user_key_and_bad_entry(tmp_path):
    raw = json.loads(ORIGINAL.replace("NaN", "null"))
    raw["users"]["69"] = raw["users"].pop("68")
    raw["users"]["null"][0]["verb_label"] = "zero"
    path = tmp_path / "s.json"
    path.write_text(json.dumps(raw))
    with pytest.raises(AnnotationError) as info:
        load_user_split(path)
    text = "\n".join(info.value.problems)
    assert "users[69][0]: field 'fb_participant_id': participant 68 does not match" in text
    assert "users[null][0] (clip_uid=c2, action_idx=0): field 'verb_label'" in text


def test_find_split_file_errors(tmp_path):
    with pytest.raises(AnnotationError, match="expected one test split file, found no"):
        find_split_file(tmp_path, "test")
