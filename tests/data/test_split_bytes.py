"""``split_bytes.loads_split`` returns and raises exactly what ``json.loads`` does, and skips
parsing ``clips`` only where it repeats ``users`` as ego_cl writes it."""

from __future__ import annotations

import json
from unittest import mock

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from ego_cl.data import split_bytes
from ego_cl.data.split_bytes import loads_split
from ego_cl.data.usersplit import load_user_split
from ego_cl.runners.datasets import write_split_documents
from tests.data.json_outcome import outcome


def _same(data: bytes) -> None:
    assert outcome(loads_split, data) == outcome(lambda b: json.loads(b.decode("utf-8")), data)


_SCALARS = st.one_of(
    st.floats(allow_nan=False, allow_infinity=False),
    st.integers(-(2**64), 2**64),
    st.integers(),  # beyond 64 bits: orjson would read a float
    st.text(alphabet=st.characters(exclude_categories=("Cs",)), max_size=8)
    | st.sampled_from(
        [']},"', ',"clips":', '{"users":', "\\", '"']  # the markers, inside strings
    ),
    st.none(),
    st.booleans(),
)
_VALUES = st.recursive(
    _SCALARS,
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(st.sampled_from(["a", "b", "clips", "users", "split"]), inner, max_size=3)
    ),
    max_leaves=12,
)
_ENTRIES = st.dictionaries(st.sampled_from(["clip_uid", "t", "tags", "more"]), _VALUES, max_size=4)
_USERS = st.dictionaries(
    st.sampled_from(["1", "2", "68", "null"]), st.lists(_ENTRIES, max_size=3), max_size=4
)
_MEMBERS = st.dictionaries(
    st.sampled_from(["split", "user_action_sets", "version", "users"]), _VALUES, max_size=2
)


def _write(document) -> bytes:
    """As ``write_split_documents`` writes it: orjson, or the standard encoder for big integers."""
    try:
        return orjson.dumps(document)
    except TypeError:
        return json.dumps(document, separators=(",", ":")).encode()


def _document(users, head, tail):
    return {"users": users, **head, "clips": [e for entries in users.values() for e in entries], **tail}


@given(_USERS, _MEMBERS, _MEMBERS)
def test_split_documents_as_ego_cl_writes_them(users, head, tail):
    data = _write(_document(users, head, tail))
    _same(data)
    fast = split_bytes._with_repeated_clips(data)
    if fast is not None:  # the entries in clips are those of users, not parsed twice
        assert all(a is b for a, b in zip(fast["clips"], [e for v in fast["users"].values() for e in v]))


@given(_USERS, _MEMBERS, st.integers(0, 10_000), st.binary(max_size=3), st.integers(0, 3))
def test_damaged_bytes_give_what_json_loads_gives(users, tail, at, insert, cut):
    data = _write(_document(users, {"split": "test"}, tail))
    at %= len(data) + 1
    _same(data[:at] + insert + data[at + cut :])


def _plain_document():
    users = {"68": [{"clip_uid": "a", "t": 1.5}, {"clip_uid": "b", "t": -0.0}], "null": [{"clip_uid": "c"}]}
    return _document(users, {"split": "test"}, {"user_action_sets": {"user_agnostic": {}}})


def test_the_plain_layout_takes_the_shortcut():
    data = orjson.dumps(_plain_document())
    with mock.patch.object(split_bytes, "loads", wraps=split_bytes.loads) as whole:
        assert loads_split(data) == _plain_document()
    assert whole.call_count == 0


@pytest.mark.parametrize(
    "change",
    [
        lambda d: {**d, "clips": d["clips"][:-1]},  # clips is not the users' entries joined
        lambda d: {**d, "clips": [*d["clips"], {"clip_uid": "x"}]},
        lambda d: {"split": "test", **d},  # users not first
        lambda d: {**d, "users": {**d["users"], "9": 5}},  # a user's value that is not a list
        lambda d: {**d, "users": {"68": [{"x": {"y": [1]}, "z": 2}]}, "clips": [{"x": {"y": [1]}, "z": 2}]},
        lambda d: {
            **d,
            "users": {"68": [{"n": 12345678901234567890123}]},
            "clips": [{"n": 12345678901234567890123}],
        },
    ],
)
def test_other_layouts_are_read_whole_with_the_same_result(change):
    document = change(_plain_document())
    data = orjson.dumps(document) if "n" not in str(document) else json.dumps(document).encode()
    _same(data)
    assert loads_split(data) == json.loads(data)


@pytest.mark.parametrize("key", [b"split", b"users", b"clips"])
def test_a_repeated_top_level_key_keeps_its_place_and_last_value_as_json_does(key):
    data = orjson.dumps(_plain_document())[:-1] + b',"' + key + b'":"again"}'
    _same(data)
    assert loads_split(data)[key.decode()] == "again"


def test_clips_that_differ_from_users_in_one_digit_are_read_as_written():
    data = orjson.dumps(_plain_document())
    clips_at = data.index(b'"clips"')
    changed = data[:clips_at] + data[clips_at:].replace(b'"t":1.5', b'"t":2.5', 1)
    _same(changed)
    assert loads_split(changed)["clips"][0]["t"] == 2.5


@pytest.mark.parametrize("end", [b"", b"\n", b" \r\n\t", b"x", b"}", b"\x0b"])
def test_what_follows_the_document_as_json_does(end):
    document = _plain_document()
    del document["user_action_sets"]  # clips last: the document ends right after it
    _same(orjson.dumps(document) + end)
    _same(orjson.dumps(_plain_document()) + end)


def test_written_split_files_load_through_the_shortcut(tmp_path):
    entry = {
        "clip_uid": "c1", "video_uid": "v1", "clip_parent_start_sec": 0.0, "clip_parent_end_sec": 300.0,
        "action_idx": 0, "action_clip_start_sec": 1.0, "action_clip_end_sec": 3.0, "verb": "take",
        "noun": "cup", "verb_label": 1, "noun_label": 2, "fb_participant_id": 68.0,
        "parent_video_scenarios": ["Cooking"], "origin_video_id": "r1",
    }  # fmt: skip
    document = {"users": {"68": [entry]}, "split": "test", "clips": [entry], "user_action_sets": {}}
    write_split_documents({"ego4d_LTA_test_usersplit_1users.json": document}, tmp_path)
    with mock.patch.object(split_bytes, "loads", wraps=split_bytes.loads) as whole:
        split = load_user_split(tmp_path / "ego4d_LTA_test_usersplit_1users.json")
    assert whole.call_count == 0
    assert [a.clip_uid for a in split.users["68"]] == ["c1"]
