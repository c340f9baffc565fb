"""``json_bytes.loads`` returns and raises exactly what ``json.loads`` does, on any bytes."""

from __future__ import annotations

import json
from unittest import mock

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ego_cl.data import json_bytes
from ego_cl.data.json_bytes import loads
from tests.data.json_outcome import outcome


def _same(data: bytes) -> None:
    assert outcome(loads, data) == outcome(lambda b: json.loads(b.decode("utf-8")), data)


_SCALARS = st.one_of(
    st.floats(),  # NaN and infinities included
    st.integers(),  # far beyond 64 bits
    st.integers(-(2**64), 2**64),
    st.text(),  # any code point, lone surrogates included
    st.none(),
    st.booleans(),
)
_VALUES = st.recursive(
    _SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=3), inner, max_size=4),
    max_leaves=20,
)


@given(_VALUES, st.sampled_from([None, 0, 1, 2]), st.booleans())
def test_any_document_as_json_dumps_writes_it(value, indent, ensure_ascii):
    text = json.dumps(value, indent=indent, ensure_ascii=ensure_ascii)
    _same(text.encode("utf-8", "surrogatepass"))


_NUMBER = st.builds(
    lambda sign, whole, frac, exp: f"{sign}{whole}{frac}{exp}",
    st.sampled_from(["", "-"]),
    st.from_regex(r"\A(0|[1-9][0-9]{0,24})\Z"),
    st.sampled_from(["", ".5"]) | st.from_regex(r"\A\.[0-9]{1,20}\Z"),
    st.sampled_from(["", "e400", "E-400", "e+5"]) | st.from_regex(r"\A[eE][+-]?[0-9]{1,3}\Z"),
)


@given(st.lists(_NUMBER, min_size=1, max_size=5))
def test_number_literals(numbers):
    _same(("[" + ", ".join(numbers) + "]").encode())


_TOKENS = st.sampled_from(
    ['{"a": ', "[", "]", "}", ", ", '"x"', "1", "-0", "1.5e3", "12345678901234567890", "NaN", "Infinity",
     "-Infinity", "null", "true", " ", "\n", "\r\n", ":", '"\\ud800"', '"\\ud83d\\ude00"', '"é"', "\x01"]
)  # fmt: skip


@given(st.lists(_TOKENS, max_size=12))
def test_any_token_soup_valid_or_not(tokens):
    _same("".join(tokens).encode())


@pytest.mark.parametrize(
    "data",
    [
        b"\xef\xbb\xbf{}",  # byte-order mark
        b'"\xff"',  # not UTF-8
        b'{"a": 1, "a": 2}',  # repeated key: the last value
        b"[1e400, -1e400]",
        b"[18446744073709551615, 18446744073709551616, -9223372036854775809]",
        b"[" * 2000 + b"]" * 2000,  # deeper than orjson goes
        b"",
        b'{"a": 1} x',
        b'"\\ud800"',
        b"[1, NaN]",
    ],
)
def test_edge_cases(data):
    _same(data)


def test_strict_json_takes_the_fast_path_and_the_rest_the_given_decoder():
    decode = mock.Mock(wraps=json.loads)
    with mock.patch.object(json_bytes.orjson, "loads", wraps=json_bytes.orjson.loads) as fast:
        assert loads(b'{"a": [1, 2.5]}', decode) == {"a": [1, 2.5]}
        assert fast.call_count == 1
        assert decode.call_count == 0
        assert loads(b'{"a": NaN}', decode)["a"] != 0  # orjson refuses NaN, the decoder reads it
        assert fast.call_count == 2
        assert loads(b"[1234567890123456789]", decode) == [1234567890123456789]  # straight there
        assert loads(b'["\\ud800"]', decode) == ["\ud800"]  # orjson refuses, the decoder accepts
    assert fast.call_count == 3
    assert decode.call_count == 3
