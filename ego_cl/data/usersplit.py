"""Loading user-split JSON files (the original EgoAdapt schema) into typed records.

A split file has ``split``, ``users`` (user id → list of annotation entries), ``clips`` (all
entries, flat) and ``user_action_sets``. Files written by the original code load unchanged:
participant ids are floats (``68.0``), the participant-less "NaN user" is under key ``"null"``
and its entries carry a bare ``NaN`` (Python-flavoured JSON). Strict JSON, as ego_cl writes it, is
parsed by orjson (:mod:`ego_cl.data.json_bytes`), and the ``clips`` copy of the entries is not
parsed a second time where it repeats ``users`` byte for byte (:mod:`ego_cl.data.split_bytes`); a
file orjson does not take (e.g. the original's bare ``NaN``) goes to the standard decoder, which
skips the ``clips`` copy likewise (:mod:`ego_cl.data.split_json`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from types import MappingProxyType

import attrs

from ego_cl.data.problems import AnnotationError, Problems, read_json
from ego_cl.data.records import parse_entries
from ego_cl.data.split_bytes import loads_split
from ego_cl.data.split_json import decode_split_json
from ego_cl.data.taxonomy import Taxonomy
from ego_cl.gc_pause import gc_paused
from ego_cl.types import Action, ActionAnnotation, UserId

__all__ = [
    "NAN_USER",
    "PRETRAIN_SPLIT",
    "SPLIT_NAMES",
    "TEST_SPLIT",
    "TRAIN_SPLIT",
    "UserSplit",
    "find_split_file",
    "load_user_split",
    "pretrain_action_set",
    "seen_labels",
    "split_file_name",
]

NAN_USER: UserId = "null"
"""Key of the participant-less group in split files (JSON ``null`` key read back as a string)."""

TRAIN_SPLIT = "train"
"""The split of the users that validate pretraining (and tune hyper-parameters)."""
TEST_SPLIT = "test"
"""The split of the evaluation users."""
PRETRAIN_SPLIT = "pretrain_incl_nanusers"
"""The split of the pretraining users (including the participant-less group)."""
SPLIT_NAMES = (TRAIN_SPLIT, TEST_SPLIT, PRETRAIN_SPLIT)
"""The three split files the split builder writes."""


@attrs.frozen(kw_only=True)
class UserSplit:
    """One loaded split file.

    Attributes:
        path: The file it came from.
        split: Its ``split`` field (``train``, ``test``, ``pretrain_incl_nanusers``).
        users: User id → that user's annotations in file order (``"null"`` = the NaN user).
    """

    path: str
    split: str
    users: Mapping[UserId, tuple[ActionAnnotation, ...]] = attrs.field(converter=MappingProxyType)

    def user_ids(self) -> tuple[UserId, ...]:
        """User ids in file order."""
        return tuple(self.users)

    def annotations(self) -> tuple[ActionAnnotation, ...]:
        """All annotations of all users, in file order."""
        return tuple(a for anns in self.users.values() for a in anns)


def split_file_name(split: str, n_users: int) -> str:
    """The original file name of a split file.

    Example:
        >>> split_file_name("test", 40)
        'ego4d_LTA_test_usersplit_40users.json'
    """
    return f"ego4d_LTA_{split}_usersplit_{n_users}users.json"


def find_split_file(split_dir: str | Path, split: str) -> Path:
    """The one ``ego4d_LTA_<split>_usersplit_*users.json`` file in ``split_dir``.

    Raises:
        AnnotationError: None or several match.
    """
    found = sorted(Path(split_dir).glob(f"ego4d_LTA_{split}_usersplit_*users.json"))
    if len(found) != 1:
        what = "no" if not found else f"{len(found)} ({', '.join(p.name for p in found)})"
        raise AnnotationError(str(split_dir), [f"expected one {split} split file, found {what}"])
    return found[0]


def load_user_split(path: str | Path, *, taxonomy: Taxonomy | None = None) -> UserSplit:
    """Read and validate a split file; every annotation problem is reported together.

    Raises:
        AnnotationError: Listing every malformed entry (``users[<id>][<i>]``) and field.
    """
    with gc_paused():  # millions of small acyclic objects (see ego_cl.gc_pause)
        return _load_user_split(path, taxonomy)


def _load_user_split(path: str | Path, taxonomy: Taxonomy | None) -> UserSplit:
    raw = read_json(path, decode_split_json, parse=loads_split)
    problems = Problems(path)
    if not isinstance(raw, dict) or not isinstance(raw.get("users"), dict):
        problems.add("<root>", "users", "expected an object mapping user ids to entry lists")
        problems.raise_if_any()
    split = raw.get("split", "")
    if not isinstance(split, str):
        problems.add("<root>", "split", f"expected a string, got {split!r}")
    users: dict[UserId, tuple[ActionAnnotation, ...]] = {}
    for key, entries in raw["users"].items():
        if not isinstance(entries, list):
            problems.add(f"users[{key}]", None, "expected a list of annotation entries")
            continue
        anns = parse_entries(entries, problems=problems, key=f"users[{key}]", taxonomy=taxonomy)
        expected = None if key == NAN_USER else key
        for index, ann in enumerate(anns):
            if ann.user_id != expected:
                problems.add(
                    f"users[{key}][{index}]",
                    "fb_participant_id",
                    f"participant {ann.user_id} does not match its users key {key!r}",
                )
        users[str(key)] = tuple(anns)
    problems.raise_if_any()
    return UserSplit(path=str(path), split=split, users=users)


def pretrain_action_set(annotations: Iterable[ActionAnnotation]) -> frozenset[Action]:
    """The ``(verb, noun)`` pairs seen in pretraining (pass the pretrain split's annotations).

    Example:
        >>> pretrain_action_set([])
        frozenset()
    """
    return frozenset(a.action for a in annotations)


def seen_labels(annotations: Iterable[ActionAnnotation]) -> tuple[frozenset[int], frozenset[int]]:
    """The verb labels and the noun labels that occur in ``annotations`` (e.g. pretraining)."""
    anns = list(annotations)
    return frozenset(a.verb_label for a in anns), frozenset(a.noun_label for a in anns)
