"""The user split on hand-built tables with hand-computed expected users."""

from __future__ import annotations

import json

import pytest

from ego_cl.data.records import load_lta_file, load_metadata
from ego_cl.data.split import SplitError, build_user_split
from ego_cl.data.usersplit import load_user_split


def make_root(tmp_path, users):
    """``users``: participant id (or None) → list of clip durations in seconds; 2 actions per clip."""
    videos, train, val = [], [], []
    for u_index, (user, durations) in enumerate(users.items()):
        video = {"video_uid": f"v{u_index}", "scenarios": ["Cooking"], "origin_video_id": f"o{u_index}"}
        if user is not None:
            video["fb_participant_id"] = user
        videos.append(video)
        for c_index, duration in enumerate(durations):
            for action_idx in range(2):
                (val if c_index % 2 else train).append(
                    {
                        "clip_uid": f"c{u_index}-{c_index}",
                        "video_uid": f"v{u_index}",
                        "action_idx": action_idx,
                        "clip_parent_start_sec": 1000.0 * c_index,
                        "clip_parent_end_sec": 1000.0 * c_index + duration,
                        "action_clip_start_sec": 1.0 + action_idx,
                        "action_clip_end_sec": 2.5 + action_idx,
                        "verb": "take",
                        "noun": "cup",
                        "verb_label": action_idx,
                        "noun_label": u_index,
                    }
                )
    (tmp_path / "ego4d.json").write_text(json.dumps({"videos": videos}))
    for name, entries in (("train", train), ("val", val)):
        (tmp_path / f"fho_lta_{name}.json").write_text(json.dumps({"clips": entries}))
    meta = load_metadata(tmp_path / "ego4d.json")
    return [load_lta_file(tmp_path / f"fho_lta_{n}.json", metadata=meta) for n in ("train", "val")]


# minutes: 5 → 10, 3 → 500 s, 7 → 500 s (tie: smaller id 3 first), 12 → 400 s, 9 → 100 s, NaN → 900 s
TABLE = {5: [300, 300], 7: [500], 3: [200, 300], 12: [400], 9: [100], None: [900]}


def test_random_criterion_hand_computed(tmp_path):
    result = build_user_split(make_root(tmp_path, TABLE), criterion="random", n_eval=3, n_train=1, seed=0)
    # ranked top 3 = [5, 3, 7]; RandomState(0).permutation(3) = [2, 1, 0] → 7 | 3, 5
    assert result.train == ("7",)
    assert result.test == ("3", "5")
    assert result.pretrain == ("12", "9", "null")
    assert sorted(result.documents) == [
        "ego4d_LTA_pretrain_incl_nanusers_usersplit_3users.json",
        "ego4d_LTA_test_usersplit_2users.json",
        "ego4d_LTA_train_usersplit_1users.json",
    ]


def test_random_criterion_other_seed(tmp_path):
    result = build_user_split(make_root(tmp_path, TABLE), criterion="random", n_eval=4, n_train=2, seed=1)
    # ranked top 4 = [5, 3, 7, 12]; RandomState(1).permutation(4) = [3, 2, 0, 1] → 12, 7 | 5, 3
    assert (result.train, result.test) == (("12", "7"), ("5", "3"))
    assert result.pretrain == ("9", "null")


def test_paper_criterion_uses_the_paper_lists(tmp_path):
    table = {23: [400], 68: [600], 59: [500], 1000: [50]}
    result = build_user_split(make_root(tmp_path, table), criterion="paper", n_eval=3)
    assert (result.train, result.test, result.pretrain) == (("68",), ("59", "23"), ("1000",))


def test_paper_criterion_on_other_data_suggests_random(tmp_path):
    with pytest.raises(SplitError, match="--criterion random"):
        build_user_split(make_root(tmp_path, TABLE), criterion="paper", n_eval=3)


def test_too_few_users(tmp_path):
    with pytest.raises(SplitError, match="only 5 users"):
        build_user_split(make_root(tmp_path, TABLE), criterion="random", n_eval=6, n_train=2)


def test_clip_with_two_participants_is_an_error(tmp_path):
    records = make_root(tmp_path, {1: [100], 2: [100]})
    entries = [*list(records[0].entries), dict(records[0].entries[0], video_uid="v1", action_idx=7)]
    (tmp_path / "fho_lta_train.json").write_text(json.dumps({"clips": entries}))
    meta = load_metadata(tmp_path / "ego4d.json")
    bad = [load_lta_file(tmp_path / "fho_lta_train.json", metadata=meta)]
    with pytest.raises(SplitError, match="clip_uid=c0-0: field 'fb_participant_id'"):
        build_user_split(bad, n_eval=1, n_train=0)


def test_documents_round_trip_in_the_original_schema(tmp_path):
    records = make_root(tmp_path, TABLE)
    result = build_user_split(records, criterion="random", n_eval=3, n_train=1, seed=0)
    name = "ego4d_LTA_pretrain_incl_nanusers_usersplit_3users.json"
    doc = result.documents[name]
    assert doc["split"] == "pretrain_incl_nanusers"
    assert list(doc["users"]) == ["12", "9", "null"]
    assert len(doc["clips"]) == sum(len(v) for v in doc["users"].values()) == 2 + 2 + 2
    assert doc["users"]["12"][0]["fb_participant_id"] == 12.0
    assert doc["users"]["null"][0]["fb_participant_id"] is None
    assert doc["users"]["12"][0]["parent_video_scenarios"] == ["Cooking"]
    sets = doc["user_action_sets"]
    assert sets["user_agnostic"]["action_to_name_dict"]["0-3"] == {"name": "take-cup", "count": 1}
    assert sets["9"]["verb_to_name_dict"] == {
        "0": {"name": "take", "count": 1},
        "1": {"name": "take", "count": 1},
    }
    path = tmp_path / name
    path.write_text(json.dumps(doc))
    loaded = load_user_split(path)
    originals = {(a.clip_uid, a.action_idx): a for r in records for a in r.annotations}
    assert loaded.annotations()
    for user, anns in loaded.users.items():
        for a in anns:
            assert a == originals[a.clip_uid, a.action_idx]
            assert (a.user_id or "null") == user


def test_summary_lists_minutes_clips_annotations_actions(tmp_path):
    result = build_user_split(make_root(tmp_path, TABLE), criterion="random", n_eval=3, n_train=1)
    rows = {u["user_id"]: u for u in result.summary["users"]}
    assert rows["5"] == {
        "user_id": "5",
        "subset": "test",
        "minutes": 10.0,
        "clips": 2,
        "annotations": 4,
        "unique_actions": 2,
    }
    assert rows["null"]["subset"] == "pretrain"
    assert rows["null"]["minutes"] == 15.0
