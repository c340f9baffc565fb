"""Parsing a user-split file as ego_cl writes it without parsing its ``clips`` copy of the entries.

A split document holds every entry twice: in ``users`` (per user) and in ``clips`` (all users'
entries one after the other), about half of an Ego4D-sized file each. ego_cl writes the document
compact with orjson (``ego_cl.runners.datasets.write_split_documents``), ``users`` first. For such
bytes, :func:`loads_split` parses ``users`` and the other members with orjson, and instead of
parsing ``clips`` checks that its bytes are exactly ``orjson.dumps`` of the users' entries joined;
then ``clips`` is that list. Why the result is :func:`json.loads`' (``tests/data/test_split_bytes.py``
compares the two on generated documents):

- The ``users`` value starts right after the prefix ``{"users":``. The end is taken at the first
  ``]},"`` after it and proven by orjson parsing exactly that slice as one object: a JSON value's
  extent is fixed by where it starts, so no other end is possible.
- The ``clips`` bytes equal what orjson writes for those entries, which read back as exactly those
  values (orjson writes shortest round-trip floats, exact integers and strings).
- ``clips`` is looked for at the first ``,"clips":`` after ``users``. The members between the two
  and those after ``clips`` are parsed by orjson as one object each; with ``users`` and ``clips``
  proven as above, the file is then exactly those members in that order, whatever else that
  pattern might have matched.
- Every slice orjson parses passes the same checks as :func:`ego_cl.data.json_bytes.orjson_loads`
  (no run of 19 or more digits), and every byte of the file is in one slice or in ``clips``.
- The document is put together member by member in file order, so a repeated top-level key keeps
  its first place and its last value, as :func:`json.loads` (and orjson, inside each slice) does.
- Any other layout, and anything orjson refuses, goes to :func:`ego_cl.data.json_bytes.loads` with
  the whole file: the result and the errors are then the standard ones.

The one difference, as on the standard path (:mod:`ego_cl.data.split_json`): the dicts in
``clips`` are the same objects as those in ``users``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import orjson

from ego_cl.data.json_bytes import loads, orjson_loads

__all__ = ["loads_split"]

_PREFIX = b'{"users":'
_USERS_END = b']},"'
_CLIPS = b',"clips":'
_SPACE = b" \t\n\r"


def loads_split(data: bytes, decode: Callable[[str], Any] = json.loads) -> Any:
    """:func:`ego_cl.data.json_bytes.loads` of a split file, without parsing ``clips`` where it
    repeats ``users`` byte for byte as orjson writes it.

    Args:
        data: The file's bytes.
        decode: Text → value for files orjson does not take (see ``json_bytes.loads``).

    Example:
        >>> import orjson
        >>> doc = {"users": {"1": [{"a": 1}], "2": [{"a": 2.5}]}, "split": "test"}
        >>> doc["clips"] = [{"a": 1}, {"a": 2.5}]
        >>> loads_split(orjson.dumps(doc)) == doc
        True
    """
    document = _with_repeated_clips(data)
    return loads(data, decode) if document is None else document


def _with_repeated_clips(data: bytes) -> dict[str, Any] | None:
    """The document, or ``None`` where the bytes are not laid out as ego_cl writes them."""
    if not data.startswith(_PREFIX):
        return None
    users_end = data.find(_USERS_END, len(_PREFIX)) + 2  # after "]}"
    clips_at = data.find(_CLIPS, users_end)
    if users_end == 1 or clips_at < 0:
        return None
    users = _object(data[len(_PREFIX) : users_end])
    head = _object(b"{" + data[users_end + 1 : clips_at] + b"}") if clips_at > users_end else {}
    if users is None or head is None or not all(type(entries) is list for entries in users.values()):
        return None
    clips = [entry for entries in users.values() for entry in entries]
    clips_bytes = orjson.dumps(clips)
    clips_end = clips_at + len(_CLIPS) + len(clips_bytes)
    if not data.startswith(clips_bytes, clips_at + len(_CLIPS)):
        return None
    tail = data[clips_end:]
    if tail[:1] == b",":
        tail_members = _object(b"{" + tail[1:])
    else:
        tail_members = {} if tail[:1] == b"}" and not tail[1:].strip(_SPACE) else None
    if tail_members is None:
        return None
    # a repeated top-level key keeps its first place and its last value, as in json.loads
    return {"users": users, **head, "clips": clips, **tail_members}


def _object(data: bytes) -> dict[str, Any] | None:
    """The JSON object ``data`` as orjson reads it where that is provably :func:`json.loads`'."""
    taken, value = orjson_loads(data)
    return value if taken and type(value) is dict else None
