"""``decode_split_json`` returns and raises exactly what ``json.loads`` does, on any text."""

from __future__ import annotations

import json
import math
from unittest import mock

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ego_cl.data import split_json
from ego_cl.data.split_json import decode_split_json

_SCALARS = st.one_of(
    st.floats(allow_nan=True, allow_infinity=False),
    st.integers(-5, 5),
    st.text(alphabet=st.sampled_from('ab "\\\n\t:,[]{}é'), max_size=4),
    st.none(),
    st.booleans(),
)
_ENTRIES = st.dictionaries(
    st.sampled_from(["clip_uid", "a", "b", ""]), st.one_of(_SCALARS, st.lists(_SCALARS))
)
_USERS = st.dictionaries(
    st.sampled_from(["68", "24", "null", "7"]),
    st.one_of(st.lists(_ENTRIES, max_size=3), _SCALARS),
    max_size=4,
)


@st.composite
def documents(draw):
    users = draw(_USERS)
    lists = [v for v in users.values() if isinstance(v, list)]
    clips = [e for entries in lists for e in entries]
    how = draw(st.sampled_from(["repeat", "repeat", "drop_last", "reverse", "other"]))
    if how == "drop_last":
        clips = clips[:-1]
    elif how == "reverse":
        clips = clips[::-1]
    elif how == "other":
        clips = draw(st.lists(_ENTRIES, max_size=2))
    doc = {"users": users, "split": "test", "clips": clips, "user_action_sets": {"user_agnostic": {}}}
    order = draw(st.permutations(list(doc)))
    return {k: doc[k] for k in order}


def _same(text):
    try:
        expected = ("value", json.dumps(json.loads(text)))
    except json.JSONDecodeError as err:
        expected = ("error", str(err))
    try:
        got = ("value", json.dumps(decode_split_json(text)))
    except json.JSONDecodeError as err:
        got = ("error", str(err))
    assert got == expected


@given(doc=documents(), indent=st.sampled_from([None, 1, 2, 4]))
def test_a_document_decodes_as_json_loads_decodes_it(doc, indent):
    _same(json.dumps(doc, indent=indent))


@given(
    doc=documents(), indent=st.sampled_from([None, 1]), cut=st.floats(0, 1), insert=st.sampled_from('x ,]}"')
)
def test_a_damaged_document_fails_or_decodes_as_json_loads(doc, indent, cut, insert):
    text = json.dumps(doc, indent=indent)
    at = int(cut * len(text))
    _same(text[:at])
    _same(text[:at] + insert + text[at:])
    _same(text[:at] + text[at + 1 :])


@pytest.mark.parametrize("indent", [None, 1, 4])
def test_clips_that_repeat_users_are_not_decoded_again(indent):
    """Not a speed test: the agreement tests above would pass if the shortcut never applied."""
    users = {"68": [{"a": 1.5, "b": [math.nan]}], "24": [], "7": [{"a": 2}, {"a": None}]}
    doc = {"users": users, "split": "test", "clips": [e for v in users.values() for e in v]}
    text = json.dumps(doc, indent=indent)
    with mock.patch.object(split_json, "_DECODER", wraps=split_json._DECODER) as decoder:
        got = decode_split_json(text)
    assert json.dumps(got) == json.dumps(json.loads(text))
    decoded = [text[call.args[1]] for call in decoder.raw_decode.call_args_list]
    assert decoded.count("[") == 3  # the users' lists only, not clips ...
    assert got["clips"][0] is got["users"]["68"][0]  # ... whose entries are the users' own


@pytest.mark.parametrize("indent", [None, 1])
def test_clips_of_the_same_length_but_other_text_are_decoded(indent):
    users = {"68": [{"a": 1}], "7": [{"a": 2}]}
    doc = {"users": users, "clips": [{"a": 2}, {"a": 1}], "split": "test"}
    assert decode_split_json(json.dumps(doc, indent=indent))["clips"] == [{"a": 2}, {"a": 1}]
