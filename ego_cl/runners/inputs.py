"""Everything a stream run reads, in one place: resolve, pin, load.

- :func:`data_paths` and :func:`resolve_inputs` turn a config into :class:`Inputs` (data root,
  split directory, video directory, checkpoint); ``data.ego4d_root=None`` means the embedded
  synthetic dataset (generated once under :func:`ego_cl_home`), a root without split files gets
  its user split written. A run without ``model.checkpoint`` takes its checkpoint from the
  caller's ``default_checkpoint`` (the stream command supplies the demo's pretrained model).
- :func:`pin_inputs` writes the resolved paths into the config, so a run's ``config.yaml`` names
  exactly what it read (resume, hindsight and reports re-read them from there).
- :func:`load_inputs` loads the split files, the taxonomy, the pretrain label sets, the
  pretrained network and the clip source (cached per process); :func:`build_stream` orders one
  user's annotations into the stream a run reads.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import attrs
import structlog
import torch

from ego_cl.data.config import DataConfig
from ego_cl.data.taxonomy import find_taxonomy
from ego_cl.data.usersplit import (
    PRETRAIN_SPLIT,
    find_split_file,
    load_user_split,
    pretrain_action_set,
    seen_labels,
)
from ego_cl.data.video import ClipReader
from ego_cl.protocols import StreamSource
from ego_cl.runners.checkpoint_io import load_network
from ego_cl.runners.config import StreamRunConfig
from ego_cl.runners.datasets import ensure_default_dataset, write_user_split
from ego_cl.streams.config import StreamConfig
from ego_cl.streams.from_config import stream_from_config
from ego_cl.streams.stream import UserStream
from ego_cl.types import Action, ActionAnnotation, InputError, UserId

__all__ = [
    "DefaultCheckpoint",
    "Inputs",
    "PretrainLabels",
    "RunInputs",
    "build_stream",
    "data_paths",
    "ego_cl_home",
    "load_inputs",
    "load_pretrain_labels",
    "make_source",
    "pin_inputs",
    "resolve_inputs",
]

log = structlog.get_logger(__name__)

DefaultCheckpoint = Callable[[Path, Path], Path]
"""``(ego4d_root, split_dir) -> checkpoint``: where a run without ``model.checkpoint`` gets one."""


@attrs.frozen(kw_only=True)
class Inputs:
    """Resolved input paths of a run (all exist when the run starts).

    Attributes:
        ego4d_root: Directory with ``ego4d.json`` and ``v1/``.
        split_dir: Directory with the user-split files.
        video_dir: Directory of ``<clip_uid>.mp4`` files.
        checkpoint: The pretrained population checkpoint.
    """

    ego4d_root: str
    split_dir: str
    video_dir: str
    checkpoint: str


def ego_cl_home() -> Path:
    """``$EGO_CL_HOME``, default ``~/.cache/ego_cl``: where the embedded demo caches its data."""
    return Path(os.environ.get("EGO_CL_HOME") or Path.home() / ".cache" / "ego_cl")


def data_paths(data: DataConfig, *, home: str | Path | None = None) -> tuple[Path, Path, Path]:
    """``(ego4d_root, split_dir, video_dir)``; generates the synthetic data / the split when absent.

    Raises:
        InputError: ``data.ego4d_root`` does not exist or has no ``ego4d.json``.
    """
    if data.ego4d_root is None:
        root, split_dir = ensure_default_dataset(Path(home) if home else ego_cl_home())
    else:
        root = Path(data.ego4d_root)
        if not (root / "ego4d.json").is_file():
            what = "does not exist" if not root.exists() else "has no ego4d.json"
            raise InputError(f"data.ego4d_root: {root} {what} (expected an Ego4D download directory)")
        split_dir = Path(data.split_dir) if data.split_dir else root / "usersplits"
        if not list(split_dir.glob("ego4d_LTA_*_usersplit_*users.json")):
            s = data.split
            log.info("user_split_missing_building", split_dir=str(split_dir))
            write_user_split(
                root, split_dir, criterion=s.criterion, n_eval=s.n_eval, n_train=s.n_train, seed=s.seed
            )
    video_dir = Path(data.video_dir) if data.video_dir else root / "v1" / "clips"
    return root, split_dir, video_dir


def resolve_inputs(cfg: StreamRunConfig, *, default_checkpoint: DefaultCheckpoint | None = None) -> Inputs:
    """Input paths of a run; ``data.ego4d_root=None`` means the embedded synthetic dataset.

    Args:
        cfg: The run config.
        default_checkpoint: Supplies the checkpoint when ``model.checkpoint`` is unset.

    Raises:
        InputError: The data root or checkpoint does not exist, or no checkpoint is given.
    """
    root, split_dir, video_dir = data_paths(cfg.data, home=ego_cl_home())
    checkpoint = cfg.model.checkpoint
    if checkpoint is None:
        if default_checkpoint is None:
            raise InputError("model.checkpoint: not set (give the pretrained population checkpoint)")
        checkpoint = str(default_checkpoint(Path(root), Path(split_dir)))
    if not Path(checkpoint).is_file():
        raise InputError(f"model.checkpoint: {checkpoint} does not exist")
    return Inputs(
        ego4d_root=str(root), split_dir=str(split_dir), video_dir=str(video_dir), checkpoint=checkpoint
    )


def pin_inputs(cfg: StreamRunConfig, inputs: Inputs) -> StreamRunConfig:
    """``cfg`` with the resolved input paths written in, so a run's ``config.yaml`` names the exact
    dataset, split and checkpoint it used (resume, hindsight and reports re-read them from there)."""
    data = attrs.evolve(
        cfg.data,
        ego4d_root=str(Path(inputs.ego4d_root).resolve()),
        split_dir=str(Path(inputs.split_dir).resolve()),
        video_dir=str(Path(inputs.video_dir).resolve()),
    )
    model = attrs.evolve(cfg.model, checkpoint=str(Path(inputs.checkpoint).resolve()))
    return attrs.evolve(cfg, data=data, model=model)


@attrs.frozen(kw_only=True)
class PretrainLabels:
    """The label sets seen in pretraining (what "unseen" means in streams, metrics, reports).

    Attributes:
        actions: ``(verb, noun)`` pairs of the pretraining users' annotations.
        verbs: Their verb labels.
        nouns: Their noun labels.
    """

    actions: frozenset[Action]
    verbs: frozenset[int]
    nouns: frozenset[int]


def load_pretrain_labels(split_dir: str | Path) -> PretrainLabels:
    """The pretrain label sets from the pretraining users' split file in ``split_dir``.

    Raises:
        InputError: The split file is missing or malformed.
    """
    annotations = list(load_user_split(find_split_file(split_dir, PRETRAIN_SPLIT)).annotations())
    verbs, nouns = seen_labels(annotations)
    return PretrainLabels(actions=pretrain_action_set(annotations), verbs=verbs, nouns=nouns)


@attrs.frozen(kw_only=True)
class RunInputs:
    """Loaded inputs shared by every user of a run (in one process).

    Attributes:
        users: Evaluation user id → annotations (the configured subset).
        pretrain_actions: ``(verb, noun)`` pairs seen in pretraining.
        seen_verbs: Verb labels seen in pretraining.
        seen_nouns: Noun labels seen in pretraining.
        network: The pretrained network (copy it before training).
        source: The clip source (picklable before first read).
    """

    users: Mapping[UserId, Sequence[ActionAnnotation]]
    pretrain_actions: frozenset[Action]
    seen_verbs: frozenset[int]
    seen_nouns: frozenset[int]
    network: torch.nn.Module
    source: StreamSource


SourceFactory = Callable[[Inputs, Mapping[UserId, Sequence[ActionAnnotation]], int | None], StreamSource]


class ClipDirSource:
    """A :class:`~ego_cl.protocols.StreamSource` over split annotations and a clip directory.

    Args:
        users: User id → annotations (from the split file).
        video_dir: Directory of ``<clip_uid>.mp4`` files.
        short_side: Decode-time resize of the shorter side in pixels (``None`` = native).
    """

    def __init__(
        self, users: Mapping[UserId, Sequence[ActionAnnotation]], video_dir: str, short_side: int | None
    ):
        self._users = {u: tuple(a) for u, a in users.items()}
        self.video_dir = Path(video_dir)
        self.reader = ClipReader(short_side=short_side, thread_count=1)

    def users(self) -> Sequence[UserId]:
        return tuple(self._users)

    def annotations(self, user_id: UserId) -> Sequence[ActionAnnotation]:
        return self._users[user_id]

    def read_clip(self, clip_uid: str, span: Any, n_frames: int) -> torch.Tensor:
        return torch.from_numpy(self.reader.read(self.video_dir / f"{clip_uid}.mp4", span, n_frames))


def make_source(
    inputs: Inputs, users: Mapping[UserId, Sequence[ActionAnnotation]], short_side: int | None = None
) -> StreamSource:
    """The clip source of a run's users."""
    return ClipDirSource(users, inputs.video_dir, short_side)


@functools.lru_cache(maxsize=2)
def load_inputs(cfg: StreamRunConfig, inputs: Inputs, make: SourceFactory = make_source) -> RunInputs:
    """Load split files, pretrain label sets, the network and the source (cached per process).

    Raises:
        InputError: A missing or malformed file, or a checkpoint that does not fit.
    """
    split = load_user_split(find_split_file(inputs.split_dir, cfg.data.subset))
    pretrain = load_user_split(find_split_file(inputs.split_dir, PRETRAIN_SPLIT))
    users = dict(split.users)
    if cfg.run.users is not None:
        unknown = sorted(set(cfg.run.users) - set(users))
        if unknown:
            raise InputError(f"run.users: {unknown} not in the {cfg.data.subset} split ({split.path})")
        users = {u: users[u] for u in cfg.run.users}
    taxonomy = find_taxonomy(inputs.ego4d_root, infer_from=[*split.annotations(), *pretrain.annotations()])
    network = load_network(
        inputs.checkpoint,
        kind=cfg.model.kind,
        n_verbs=taxonomy.n_verbs,
        n_nouns=taxonomy.n_nouns,
        dropout=cfg.model.dropout,
    )
    labels = load_pretrain_labels(inputs.split_dir)
    return RunInputs(
        users=users,
        pretrain_actions=labels.actions,
        seen_verbs=labels.verbs,
        seen_nouns=labels.nouns,
        network=network,
        source=make(inputs, users, cfg.stream.side_px),
    )


def build_stream(
    cfg: StreamConfig,
    annotations: Sequence[ActionAnnotation],
    *,
    user_id: str,
    pretrain_actions: frozenset[Action],
) -> UserStream:
    """One user's ordered stream of clip samples (the exact or the original's float sampler, as
    ``cfg.upstream_float_boundaries`` says)."""
    return stream_from_config(cfg, annotations, user_id=user_id, pretrain_actions=pretrain_actions)
