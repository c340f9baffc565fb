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
- Every command that decodes gets its clips from :func:`make_source`: the data layer's
  :class:`~ego_cl.data.source.Ego4dSource` (path-safety check, missing-video policy, the resized
  cache when ``data.use_cache``; the Ego4D layout from :mod:`ego_cl.data.layout`).
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import attrs
import structlog
import torch

from ego_cl.data.cache import stored_short_side
from ego_cl.data.config import DataConfig
from ego_cl.data.layout import find_cache_dir, find_layout
from ego_cl.data.source import Ego4dSource, FrameOrigin
from ego_cl.data.taxonomy import find_taxonomy
from ego_cl.data.usersplit import (
    PRETRAIN_SPLIT,
    UserSplit,
    find_split_file,
    load_user_split,
    pretrain_action_set,
    seen_labels,
)
from ego_cl.protocols import StreamSource
from ego_cl.runners.checkpoint_io import load_network
from ego_cl.runners.config import StreamRunConfig
from ego_cl.runners.datasets import ensure_default_dataset, write_user_split
from ego_cl.runners.heap import long_lived
from ego_cl.streams.config import StreamConfig
from ego_cl.streams.from_config import stream_from_config
from ego_cl.streams.stream import UserStream
from ego_cl.types import Action, ActionAnnotation, InputError, UserId

__all__ = [
    "DataPaths",
    "DefaultCheckpoint",
    "Inputs",
    "PretrainLabels",
    "RunInputs",
    "build_stream",
    "data_paths",
    "find_data",
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
        annotations_dir: Directory of the LTA annotations (taxonomy file).
        cache_dir: The resized-clip cache read (``None``: ``data.use_cache`` off or no cache).
    """

    ego4d_root: str
    split_dir: str
    video_dir: str
    checkpoint: str
    annotations_dir: str | None = None
    cache_dir: str | None = None


def ego_cl_home() -> Path:
    """``$EGO_CL_HOME``, default ``~/.cache/ego_cl``: where the embedded demo caches its data."""
    return Path(os.environ.get("EGO_CL_HOME") or Path.home() / ".cache" / "ego_cl")


@attrs.frozen(kw_only=True)
class DataPaths:
    """Where a run's data is (see :func:`find_data`).

    Attributes:
        root: The Ego4D root.
        split_dir: Directory with the user-split files.
        video_dir: Directory of ``<clip_uid>.mp4`` files.
        annotations_dir: Directory of the LTA annotations.
        cache_dir: The resized-clip cache (``None``: ``data.use_cache`` off, or none found).
    """

    root: Path
    split_dir: Path
    video_dir: Path
    annotations_dir: Path
    cache_dir: Path | None


def find_data(data: DataConfig, *, home: str | Path | None = None) -> DataPaths:
    """The data a config names; generates the synthetic data / the user split when absent.

    Raises:
        InputError: ``data.ego4d_root`` is missing or not an Ego4D layout (the message lists what
            was found and what was expected).
    """
    if data.ego4d_root is None:
        root, split_dir = ensure_default_dataset(Path(home) if home else ego_cl_home())
    else:
        root = Path(data.ego4d_root)
        split_dir = Path(data.split_dir) if data.split_dir else root / "usersplits"
    layout = find_layout(root, annotations_dir=data.annotations_dir, video_dir=data.video_dir)
    if data.ego4d_root is not None and not list(split_dir.glob("ego4d_LTA_*_usersplit_*users.json")):
        s = data.split
        log.info("user_split_missing_building", split_dir=str(split_dir))
        write_user_split(
            root,
            split_dir,
            criterion=s.criterion,
            n_eval=s.n_eval,
            n_train=s.n_train,
            seed=s.seed,
            annotations_dir=layout.annotations_dir,
        )
    cache = _cache_dir(data, layout.video_dir)
    return DataPaths(
        root=root,
        split_dir=split_dir,
        video_dir=layout.video_dir,
        annotations_dir=layout.annotations_dir,
        cache_dir=cache,
    )


def _cache_dir(data: DataConfig, video_dir: Path) -> Path | None:
    if not data.use_cache:
        return None
    if data.cache_dir is not None:
        if not Path(data.cache_dir).is_dir():
            raise InputError(
                f"data.cache_dir: {data.cache_dir} is not a directory (or set data.use_cache=false)"
            )
        return Path(data.cache_dir)
    return find_cache_dir(video_dir, data.cache_short_side, stored_short_side)


def data_paths(data: DataConfig, *, home: str | Path | None = None) -> tuple[Path, Path, Path]:
    """``(ego4d_root, split_dir, video_dir)`` of :func:`find_data`."""
    found = find_data(data, home=home)
    return found.root, found.split_dir, found.video_dir


def resolve_inputs(cfg: StreamRunConfig, *, default_checkpoint: DefaultCheckpoint | None = None) -> Inputs:
    """Input paths of a run; ``data.ego4d_root=None`` means the embedded synthetic dataset.

    Args:
        cfg: The run config.
        default_checkpoint: Supplies the checkpoint when ``model.checkpoint`` is unset.

    Raises:
        InputError: The data root or checkpoint does not exist, or no checkpoint is given.
    """
    found = find_data(cfg.data, home=ego_cl_home())
    checkpoint = cfg.model.checkpoint
    if checkpoint is None:
        if default_checkpoint is None:
            raise InputError("model.checkpoint: not set (give the pretrained population checkpoint)")
        checkpoint = str(default_checkpoint(found.root, found.split_dir))
    if not Path(checkpoint).is_file():
        raise InputError(f"model.checkpoint: {checkpoint} does not exist")
    return Inputs(
        ego4d_root=str(found.root),
        split_dir=str(found.split_dir),
        video_dir=str(found.video_dir),
        checkpoint=checkpoint,
        annotations_dir=str(found.annotations_dir),
        cache_dir=str(found.cache_dir) if found.cache_dir is not None else None,
    )


def pin_inputs(cfg: StreamRunConfig, inputs: Inputs) -> StreamRunConfig:
    """``cfg`` with the resolved input paths written in, so a run's ``config.yaml`` names the exact
    dataset, split and checkpoint it used (resume, hindsight and reports re-read them from there)."""
    data = attrs.evolve(
        cfg.data,
        ego4d_root=str(Path(inputs.ego4d_root).resolve()),
        split_dir=str(Path(inputs.split_dir).resolve()),
        video_dir=str(Path(inputs.video_dir).resolve()),
        annotations_dir=str(Path(inputs.annotations_dir).resolve()) if inputs.annotations_dir else None,
        cache_dir=str(Path(inputs.cache_dir).resolve()) if inputs.cache_dir else None,
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
    return _pretrain_labels(load_user_split(find_split_file(split_dir, PRETRAIN_SPLIT)))


def _pretrain_labels(pretrain: UserSplit) -> PretrainLabels:
    annotations = list(pretrain.annotations())
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
        network: The pretrained network (learners train their own copies; it stays unchanged).
        source: The clip source (picklable before first read).
        frames: Where the source's frames come from (cache / source clip counts).
        dropped: User id -> annotations dropped for missing videos (``data.skip_missing_videos``).
    """

    users: Mapping[UserId, Sequence[ActionAnnotation]]
    pretrain_actions: frozenset[Action]
    seen_verbs: frozenset[int]
    seen_nouns: frozenset[int]
    network: torch.nn.Module
    source: StreamSource
    frames: FrameOrigin
    dropped: Mapping[UserId, int] = attrs.field(factory=dict)


def make_source(
    data: DataConfig,
    split: str | Path | UserSplit,
    *,
    video_dir: str | Path,
    cache_dir: str | Path | None,
    users: Sequence[UserId] | None = None,
    short_side: int | None = None,
) -> Ego4dSource:
    """The one clip source of every command that decodes (stream, baseline, pretraining,
    hindsight, summarize): path-safety check, ``data.skip_missing_videos``, the resized cache at
    ``cache_dir`` (``None`` = decode the source), one decoder thread per reader."""
    return Ego4dSource(
        split_file=split,
        video_dir=video_dir,
        cache_dir=cache_dir,
        cache_short_side=data.cache_short_side,
        users=users,
        skip_missing_videos=data.skip_missing_videos,
        allow_outside_symlinks=data.allow_outside_symlinks,
        short_side=short_side,
        thread_count=1,
    )


@functools.lru_cache(maxsize=2)
def load_inputs(cfg: StreamRunConfig, inputs: Inputs) -> RunInputs:
    """Load split files, pretrain label sets, the network and the source (cached per process).

    ``users`` holds each user's annotations whose videos exist (``data.skip_missing_videos``
    drops the others before any stream is built; the source logs how many per user).

    What is loaded lives as long as the process: in a process ego_cl owns (a command, a pool
    worker) it is then frozen out of the cyclic garbage collector's reach
    (:func:`~ego_cl.runners.heap.long_lived`).

    Raises:
        InputError: A missing or malformed file, an unsafe clip path, missing videos, or a
            checkpoint that does not fit.
    """
    with long_lived():  # see the docstring
        return _load_inputs(cfg, inputs)


def _load_inputs(cfg: StreamRunConfig, inputs: Inputs) -> RunInputs:
    split = load_user_split(find_split_file(inputs.split_dir, cfg.data.subset))
    pretrain = load_user_split(find_split_file(inputs.split_dir, PRETRAIN_SPLIT))
    if cfg.run.users is not None:
        unknown = sorted(set(cfg.run.users) - set(split.users))
        if unknown:
            raise InputError(f"run.users: {unknown} not in the {cfg.data.subset} split ({split.path})")
    source = make_source(
        cfg.data,
        split,
        video_dir=inputs.video_dir,
        cache_dir=inputs.cache_dir,
        users=cfg.run.users,
        short_side=cfg.stream.side_px,
    )
    users = {u: source.annotations(u) for u in source.users()}
    taxonomy = find_taxonomy(
        inputs.ego4d_root,
        infer_from=[*split.annotations(), *pretrain.annotations()],
        annotations_dir=inputs.annotations_dir,
    )
    network = load_network(
        inputs.checkpoint,
        kind=cfg.model.kind,
        n_verbs=taxonomy.n_verbs,
        n_nouns=taxonomy.n_nouns,
        dropout=cfg.model.dropout,
        fusion_kernel=cfg.model.fusion_kernel,
    )
    labels = _pretrain_labels(pretrain)  # the split file read above, not a second time
    return RunInputs(
        users=users,
        pretrain_actions=labels.actions,
        seen_verbs=labels.verbs,
        seen_nouns=labels.nouns,
        network=network,
        source=source,
        frames=source.frames,
        dropped={u: source.dropped[u] for u in users},
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
