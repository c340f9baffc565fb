"""One user job of a stream run: load the inputs, build the parts, stream, write results.

:func:`run_user_job` is the pool target (module level, picklable arguments). Inputs (split
files, pretrain label sets, the pretrained network, the clip source) are loaded once per worker
process and reused for its next users; each user gets a fresh copy of the network.
"""

from __future__ import annotations

import copy
import functools
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

import attrs
import structlog
import torch

from ego_cl.data.taxonomy import TAXONOMY_FILE, infer_taxonomy, load_taxonomy
from ego_cl.data.usersplit import find_split_file, load_user_split, pretrain_action_set, seen_labels
from ego_cl.learners.registry import LearnerConfig
from ego_cl.protocols import StreamSource
from ego_cl.runners.checkpoint_io import load_network
from ego_cl.runners.config import StreamRunConfig
from ego_cl.runners.engine.build import build_user_parts
from ego_cl.runners.engine.user import seed_everything, stream_user
from ego_cl.runners.results import UserDir
from ego_cl.types import Action, ActionAnnotation, InputError, UserId

__all__ = ["Inputs", "RunInputs", "UserJob", "load_inputs", "run_user_job"]

log = structlog.get_logger(__name__)


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


@attrs.frozen(kw_only=True)
class UserJob:
    """One user stream to run (the pool payload).

    Attributes:
        cfg: The frozen run config.
        inputs: Resolved input paths.
        user_id: The user.
        role: ``users`` (the configured learner) or ``baseline`` (the frozen pretrained model).
        learner: The learner config of this job.
        user_dir: Where its results go.
        tb_dir: TensorBoard directory, or ``None``.
    """

    cfg: StreamRunConfig
    inputs: Inputs
    user_id: UserId
    role: Literal["users", "baseline"]
    learner: LearnerConfig
    user_dir: str
    tb_dir: str | None


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
        from ego_cl.data.video import ClipReader

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
    pretrain = load_user_split(find_split_file(inputs.split_dir, "pretrain_incl_nanusers"))
    users = dict(split.users)
    if cfg.run.users is not None:
        unknown = sorted(set(cfg.run.users) - set(users))
        if unknown:
            raise InputError(f"run.users: {unknown} not in the {cfg.data.subset} split ({split.path})")
        users = {u: users[u] for u in cfg.run.users}
    taxonomy_path = Path(inputs.ego4d_root) / TAXONOMY_FILE
    if taxonomy_path.is_file():
        taxonomy = load_taxonomy(taxonomy_path)
    else:
        taxonomy = infer_taxonomy([*split.annotations(), *pretrain.annotations()])
    network = load_network(
        inputs.checkpoint,
        kind=cfg.model.kind,
        n_verbs=taxonomy.n_verbs,
        n_nouns=taxonomy.n_nouns,
        dropout=cfg.model.dropout,
    )
    verbs, nouns = seen_labels(pretrain.annotations())
    return RunInputs(
        users=users,
        pretrain_actions=pretrain_action_set(pretrain.annotations()),
        seen_verbs=verbs,
        seen_nouns=nouns,
        network=network,
        source=make(inputs, users, cfg.stream.side_px),
    )


def run_user_job(job: UserJob, device: str, report: Callable[[int, int], None]) -> dict[str, Any]:
    """Pool target: run (or resume, or skip) one user and return its summary."""
    udir = UserDir(Path(job.user_dir))
    if udir.is_done:
        return {**udir.read_json("summary.json"), "role": job.role, "skipped": True}
    with structlog.contextvars.bound_contextvars(user_id=job.user_id, role=job.role):
        loaded = load_inputs(job.cfg, job.inputs)
        seed_everything(job.cfg.run.seed)
        parts = build_user_parts(
            job.cfg,
            user_id=job.user_id,
            annotations=loaded.users[job.user_id],
            source=loaded.source,
            network=copy.deepcopy(loaded.network),
            pretrain_actions=loaded.pretrain_actions,
            seen_verbs=loaded.seen_verbs,
            seen_nouns=loaded.seen_nouns,
            device=device,
            learner=job.learner,
        )
        summary = stream_user(
            parts,
            udir,
            checkpoint_every=job.cfg.run.checkpoint_every,
            seed=job.cfg.run.seed,
            tb_dir=Path(job.tb_dir) if job.tb_dir else None,
            paranoid=job.cfg.run.paranoid,
            report=report,
        )
    return {**summary, "role": job.role}
