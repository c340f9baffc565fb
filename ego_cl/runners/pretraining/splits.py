"""What pretraining reads: split files, taxonomy, clip source.

:func:`resolve_data` turns a :class:`~ego_cl.data.config.DataConfig` into :class:`PretrainData`:
the pretraining users' split (:data:`~ego_cl.data.usersplit.PRETRAIN_SPLIT`) trains, the ``train``
users' split validates; the paths come from :func:`ego_cl.runners.inputs.find_data` (without
``ego4d_root`` the embedded synthetic dataset, generated once under ``$EGO_CL_HOME``) and the clips
from :func:`ego_cl.runners.inputs.make_source` (path safety, missing videos, the resized cache).
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import attrs
import structlog

from ego_cl.data.config import DataConfig
from ego_cl.data.source import Ego4dSource
from ego_cl.data.taxonomy import find_taxonomy
from ego_cl.data.usersplit import PRETRAIN_SPLIT, TRAIN_SPLIT, find_split_file, load_user_split
from ego_cl.protocols import StreamSource
from ego_cl.runners.inputs import find_data, make_source
from ego_cl.types import ActionAnnotation

__all__ = ["PretrainData", "resolve_data"]

log = structlog.get_logger(__name__)


@attrs.frozen(kw_only=True)
class PretrainData:
    """What pretraining reads.

    Attributes:
        source: Clip source (``read_clip``); picklable before its first read.
        train: The pretraining users' annotations.
        val: The validation (``train`` users') annotations.
        n_verbs: Verb classes (taxonomy).
        n_nouns: Noun classes.
        fingerprint: Digest of the split files (names the cached demo model).
    """

    source: StreamSource
    train: tuple[ActionAnnotation, ...] = attrs.field(converter=tuple)
    val: tuple[ActionAnnotation, ...] = attrs.field(converter=tuple)
    n_verbs: int
    n_nouns: int
    fingerprint: str = ""


def resolve_data(
    data: DataConfig, *, home: str | Path | None = None, short_side: int | None = None
) -> PretrainData:
    """Load the pretraining and validation splits and open their clip source.

    Args:
        data: Where the data lives.
        home: Cache root of the synthetic dataset (default ``$EGO_CL_HOME``).
        short_side: Decode-time resize of the shorter frame side (``None`` = as stored).

    Raises:
        InputError: Missing or malformed files (all problems listed).
    """
    found = find_data(data, home=home)
    train_file = find_split_file(found.split_dir, PRETRAIN_SPLIT)
    val_file = find_split_file(found.split_dir, TRAIN_SPLIT)
    taxonomy = find_taxonomy(found.root, annotations_dir=found.annotations_dir)
    sources = [
        make_source(
            data,
            load_user_split(path, taxonomy=taxonomy),
            video_dir=found.video_dir,
            cache_dir=found.cache_dir,
            short_side=short_side,
        )
        for path in (train_file, val_file)
    ]
    log.info("frames_from", train=sources[0].frames.describe(), val=sources[1].frames.describe())
    train = [a for u in sources[0].users() for a in sources[0].annotations(u)]
    val = [a for u in sources[1].users() for a in sources[1].annotations(u)]
    taxonomy = find_taxonomy(
        found.root, infer_from=[*train, *val], annotations_dir=found.annotations_dir
    )  # the file, else inferred from both splits
    identity = train_file.read_bytes() + val_file.read_bytes()
    if found.cache_dir is not None:  # frames from the cache are other frames: another model
        identity += repr([src.frames for src in sources]).encode()
    digest = hashlib.sha256(identity).hexdigest()[:12]
    return PretrainData(
        source=_TwoSplits(sources[0], sources[1]),
        train=train,
        val=val,
        n_verbs=taxonomy.n_verbs,
        n_nouns=taxonomy.n_nouns,
        fingerprint=digest,
    )


class _TwoSplits:
    """One source over the pretraining and validation splits (clip uids never collide across users)."""

    def __init__(self, first: Ego4dSource, second: Ego4dSource):
        self.first, self.second = first, second
        self._second_clips = {a.clip_uid for u in second.users() for a in second.annotations(u)}

    def users(self):
        return (*self.first.users(), *self.second.users())

    def annotations(self, user_id):
        return (
            self.first.annotations(user_id)
            if user_id in self.first.users()
            else self.second.annotations(user_id)
        )

    def read_clip(self, clip_uid, span, n_frames):
        source = self.second if clip_uid in self._second_clips else self.first
        return source.read_clip(clip_uid, span, n_frames)
