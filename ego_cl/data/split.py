"""The user split of the original study (spec §1.1), as a pure function from records to documents.

1. Every LTA train+val annotation gets its video's participant (a right join on ``video_uid``:
   annotations of unknown videos keep no participant).
2. Each clip (``clip_uid``) must have one participant, one ``clip_parent_start_sec`` and one
   ``clip_parent_end_sec``; a user's minutes are the summed clip durations.
3. Users with a participant id are ranked by minutes, descending; **ties go to the smaller
   participant id** (numeric where ids are numbers). The top ``n_eval`` are evaluation users,
   everyone else plus the participant-less group (the "NaN user", if it has annotations) are
   pretraining users.
4. Evaluation users are split by ``criterion``: ``paper`` = the paper's hard-coded ids (every top
   user must be one of them), ``random`` = ``numpy.random.RandomState(seed).permutation(n_eval)``
   of the ranked users, the first ``n_train`` being train (the original script's numpy stream).
5. Each subset becomes a document with the original schema: ``split``, ``users`` (id → entries:
   the LTA fields + ``fb_participant_id`` (float, ``null`` for the NaN user),
   ``parent_video_scenarios``, ``origin_video_id``), ``clips`` (all entries) and
   ``user_action_sets``. The NaN user's participant is written as JSON ``null`` (strict JSON;
   the loader also reads the original bare ``NaN``).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from fractions import Fraction
from typing import Any, Literal

import attrs
import numpy as np

from ego_cl.data.problems import Problems
from ego_cl.data.records import LtaRecords
from ego_cl.data.usersplit import NAN_USER, PRETRAIN_SPLIT, TEST_SPLIT, TRAIN_SPLIT, split_file_name
from ego_cl.gc_pause import gc_paused
from ego_cl.types import InputError, UserId

__all__ = ["PAPER_TEST_USERS", "PAPER_TRAIN_USERS", "SplitError", "UserSplitResult", "build_user_split"]

PAPER_TRAIN_USERS = ("68", "265", "324", "30", "24", "421", "104", "108", "27", "29")
"""The paper's 10 train (hyper-parameter) users."""

PAPER_TEST_USERS = (
    "59", "23", "17", "37", "97", "22", "31", "10", "346", "359", "120", "19", "16", "283", "28", "20", "44",
    "38", "262", "25", "51", "278", "55", "39", "45", "33", "331", "452", "453", "21", "431", "116", "35",
    "105", "378", "74", "11", "126", "123", "436",
)  # fmt: skip
"""The paper's 40 test users."""


class SplitError(InputError):
    """The data cannot be split as asked (too few users, not the paper's users, ...)."""


@attrs.frozen(kw_only=True)
class UserSplitResult:
    """A built split.

    Attributes:
        train: Train user ids, in split order.
        test: Test user ids.
        pretrain: Pretraining user ids (``"null"`` = the NaN user, last).
        documents: File name (``ego4d_LTA_<split>_usersplit_<N>users.json``) → JSON document.
        summary: ``split_summary.json``: per user minutes, clips, annotations, unique actions.
    """

    train: tuple[UserId, ...]
    test: tuple[UserId, ...]
    pretrain: tuple[UserId, ...]
    documents: dict[str, dict[str, Any]]
    summary: dict[str, Any]


def build_user_split(
    records: Sequence[LtaRecords],
    *,
    criterion: Literal["paper", "random"] = "random",
    n_eval: int = 50,
    n_train: int = 10,
    seed: int = 0,
) -> UserSplitResult:
    """Split users into train / test / pretrain (see the module docstring for the rule).

    Args:
        records: The LTA train and val files, loaded with the ``ego4d.json`` metadata.
        criterion: ``paper`` or ``random``.
        n_eval: Evaluation users (train + test).
        n_train: Train users among them (``random`` only; ``paper`` uses the paper's lists).
        seed: Seed of the ``random`` permutation.

    Raises:
        SplitError: Inconsistent clips, too few users, or ``paper`` on data without its users.
    """
    with gc_paused():  # many small acyclic objects (see ego_cl.gc_pause)
        return _build_user_split(records, criterion, n_eval, n_train, seed)


def _build_user_split(
    records: Sequence[LtaRecords], criterion: str, n_eval: int, n_train: int, seed: int
) -> UserSplitResult:
    rows = [_row(e, a) for r in records for e, a in zip(r.entries, r.annotations)]
    by_user: dict[UserId, list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        by_user[_key(row)].append(row)
    seconds, clip_count = _user_seconds(rows)
    real = sorted((u for u in seconds if u != NAN_USER), key=lambda u: (-seconds[u], _id_key(u)))
    if criterion == "random" and not 0 <= n_train <= n_eval:
        raise SplitError(f"n_train={n_train} must be between 0 and n_eval={n_eval}")
    if len(real) < n_eval:
        raise SplitError(
            f"only {len(real)} users with a participant id; ask for fewer (--n-eval {len(real)})"
        )
    top, rest = real[:n_eval], real[n_eval:]
    train, test = _assign(top, criterion, n_train, seed)
    pretrain = tuple(rest) + ((NAN_USER,) if NAN_USER in seconds else ())
    documents = {}
    for split, users in ((TRAIN_SPLIT, train), (TEST_SPLIT, test), (PRETRAIN_SPLIT, pretrain)):
        documents[split_file_name(split, len(users))] = _document(split, users, by_user)
    subset = {u: s for s, users in (("train", train), ("test", test), ("pretrain", pretrain)) for u in users}
    summary = {
        "criterion": criterion,
        "n_eval": n_eval,
        "n_train": len(train),
        "seed": seed,
        "files": sorted(documents),
        "users": [
            _user_summary(u, subset[u], seconds[u], clip_count[u], by_user[u]) for u in (*top, *pretrain)
        ],
    }
    return UserSplitResult(train=train, test=test, pretrain=pretrain, documents=documents, summary=summary)


def _row(entry: dict[str, Any], annotation: Any) -> dict[str, Any]:
    user = annotation.user_id
    return {
        **entry,
        "fb_participant_id": float(user) if user is not None else None,
        "parent_video_scenarios": list(annotation.scenarios),
        "origin_video_id": annotation.origin_video_id or None,
    }


def _key(row: dict[str, Any]) -> UserId:
    user = row["fb_participant_id"]
    return NAN_USER if user is None else str(int(user))


def _id_key(user: UserId) -> tuple[int, int | str]:
    return (0, int(user)) if user.isdigit() else (1, user)


def _user_seconds(rows: list[dict[str, Any]]) -> tuple[dict[UserId, Fraction], dict[UserId, int]]:
    problems = Problems("annotations (train + val)")
    per_clip: dict[str, dict[str, set[Any]]] = defaultdict(lambda: defaultdict(set))
    for row in rows:
        clip = per_clip[row["clip_uid"]]
        clip["fb_participant_id"].add(_key(row))
        clip["clip_parent_start_sec"].add(row["clip_parent_start_sec"])
        clip["clip_parent_end_sec"].add(row["clip_parent_end_sec"])
    seconds: dict[UserId, Fraction] = defaultdict(Fraction)
    clips: Counter[UserId] = Counter()
    for clip_uid, fields in per_clip.items():
        for field in ("clip_parent_start_sec", "clip_parent_end_sec"):  # exact, once per distinct value
            fields[field] = {Fraction(repr(v)) for v in fields[field]}
        bad = [f for f, values in fields.items() if len(values) != 1]
        for field in bad:
            problems.add(
                f"clip_uid={clip_uid}",
                field,
                f"differs between its annotations: {sorted(map(str, fields[field]))}",
            )
        if bad:
            continue
        (user,), (start,), (end,) = (
            fields[f] for f in ("fb_participant_id", "clip_parent_start_sec", "clip_parent_end_sec")
        )
        seconds[user] += end - start
        clips[user] += 1
    if problems:
        raise SplitError(f"{problems.file}: " + "; ".join(problems.lines[:20]))
    return dict(seconds), dict(clips)


def _assign(
    top: list[UserId], criterion: str, n_train: int, seed: int
) -> tuple[tuple[UserId, ...], tuple[UserId, ...]]:
    if criterion == "random":
        order = np.random.RandomState(seed).permutation(len(top))
        ranked = [top[i] for i in order]
        return tuple(ranked[:n_train]), tuple(ranked[n_train:])
    if criterion != "paper":
        raise SplitError(f"unknown criterion {criterion!r}; choose paper or random")
    known = set(PAPER_TRAIN_USERS) | set(PAPER_TEST_USERS)
    missing = [u for u in top if u not in known]
    if missing:
        shown = ", ".join(missing[:10]) + (" ..." if len(missing) > 10 else "")
        raise SplitError(
            f"criterion 'paper' needs the paper's users, but {len(missing)} top user(s) are not among "
            f"them ({shown}); this is not the paper's Ego4D annotation version — use --criterion random"
        )
    chosen = set(top)
    return (
        tuple(u for u in PAPER_TRAIN_USERS if u in chosen),
        tuple(u for u in PAPER_TEST_USERS if u in chosen),
    )


def _document(
    split: str, users: Sequence[UserId], by_user: Mapping[UserId, list[dict[str, Any]]]
) -> dict[str, Any]:
    doc_users = {u: by_user.get(u, []) for u in users}
    flat = [row for u in users for row in doc_users[u]]
    columns = {u: _label_columns(doc_users[u]) for u in doc_users}
    # the flat list's columns are the users' columns one after the other
    every = {kind: ([], []) for kind in _KINDS}
    for u in users:
        for kind, (keys, names) in columns[u].items():
            every[kind][0].extend(keys)
            every[kind][1].extend(names)
    action_sets = {"user_agnostic": _action_sets(every)}
    action_sets.update({u: _action_sets(columns[u]) for u in users})
    return {"users": doc_users, "split": split, "clips": flat, "user_action_sets": action_sets}


_KINDS = ("verb", "noun", "action")

_Columns = dict[str, tuple[list[str], list[str]]]
"""Per kind (verb, noun, action): the label key and the name of each row, in row order."""


def _label_columns(rows: list[dict[str, Any]]) -> _Columns:
    """Keys ``"<verb_label>"``, ``"<noun_label>"``, ``"<verb_label>-<noun_label>"`` and their names."""
    verbs, nouns = [r["verb_label"] for r in rows], [r["noun_label"] for r in rows]
    verb_names, noun_names = [r.get("verb", "") for r in rows], [r.get("noun", "") for r in rows]
    return {
        "verb": ([str(v) for v in verbs], verb_names),
        "noun": ([str(n) for n in nouns], noun_names),
        "action": (
            [f"{v}-{n}" for v, n in zip(verbs, nouns, strict=True)],
            [f"{v}-{n}" for v, n in zip(verb_names, noun_names, strict=True)],
        ),
    }


def _action_sets(columns: _Columns) -> dict[str, dict[str, dict[str, Any]]]:
    """Label → ``{name, count}`` for verbs, nouns and actions (per annotation; the last name of a
    label wins, labels in order of first occurrence)."""
    out: dict[str, dict[str, dict[str, Any]]] = {}
    for kind in _KINDS:
        keys, names = columns[kind]
        counts, named = Counter(keys), dict(zip(keys, names, strict=True))
        out[f"{kind}_to_name_dict"] = {k: {"name": named[k], "count": counts[k]} for k in named}
    return out


def _user_summary(
    user: UserId, subset: str, seconds: Fraction, n_clips: int, mine: list[dict[str, Any]]
) -> dict[str, Any]:
    return {
        "user_id": user,
        "subset": subset,
        "minutes": float(seconds / 60),
        "clips": n_clips,
        "annotations": len(mine),
        "unique_actions": len({(r["verb_label"], r["noun_label"]) for r in mine}),
    }
