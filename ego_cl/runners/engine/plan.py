"""From a config and its resolved inputs to the jobs of a stream run: run directory, user jobs,
baseline cache.

Everything that can be checked before a worker starts is checked here (or in
:mod:`ego_cl.runners.inputs`), so bad input gives one clear message (exit code 2) instead of one
failure per user: a split file that does not load or names videos that are not there, an
unreadable checkpoint.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from pathlib import Path

import attrs
import structlog

from ego_cl.data.source import FrameOrigin
from ego_cl.learners.registry import LearnerConfig
from ego_cl.runners.config import StreamRunConfig, converter, dump_yaml, load_config
from ego_cl.runners.engine.build import baseline_learner
from ego_cl.runners.engine.job import UserJob
from ego_cl.runners.engine.pool import Job
from ego_cl.runners.files import atomic_write_text
from ego_cl.runners.inputs import Inputs, load_inputs
from ego_cl.runners.provenance import config_header, now_iso, provenance, resolve_timestamp
from ego_cl.runners.results import RunDir, UserDir, run_dir_name, safe_name
from ego_cl.types import InputError

__all__ = ["RunPlan", "baseline_key", "config_text", "plan_run", "prepare_run_dir"]

log = structlog.get_logger(__name__)

_RUNTIME_STREAM_KEYS = ("workers", "fetch_workers", "predict_workers", "prefetch_batches", "decode_cache_mb")


@attrs.frozen(kw_only=True)
class RunPlan:
    """The jobs of one run directory.

    Attributes:
        run_dir: The run directory.
        cfg: Its config.
        jobs: Pool jobs (method users, then baseline users not yet cached).
        users: Evaluation user ids.
        baseline_dirs: User id → baseline result directory (``None`` without baseline).
        frames: Where the frames come from (``FrameOrigin`` fields plus ``describe``).
    """

    run_dir: Path
    cfg: StreamRunConfig
    jobs: tuple[Job, ...]
    users: tuple[str, ...]
    baseline_dirs: dict[str, Path] | None
    frames: dict | None = None


def prepare_run_dir(
    cfg: StreamRunConfig, overrides: Sequence[str], *, resume: str | Path | None = None
) -> tuple[Path, StreamRunConfig]:
    """Create the run directory with its ``config.yaml`` (or reopen one to resume).

    ``run.timestamp`` is resolved to the value the directory is named with, and ``config.yaml``
    starts with a provenance comment block (versions, git commit, host, devices, time).
    """
    if resume is not None:
        run = RunDir(resume)
        if not run.config.is_file():
            raise InputError(f"--resume {run.path}: not a run directory (no config.yaml)")
        return run.path, load_config(StreamRunConfig, run.config)
    cfg = resolve_timestamp(cfg)
    run = RunDir(Path(cfg.run.out_dir) / cfg.run.experiment / run_dir_name(cfg.run.timestamp, overrides))
    if run.config.exists():
        raise InputError(f"{run.path}: already exists; continue it with --resume {run.path}")
    if run.path.exists() and (not run.path.is_dir() or any(run.path.iterdir())):
        raise InputError(f"{run.path}: exists and is not an ego_cl run directory (no config.yaml)")
    atomic_write_text(run.config, config_text(cfg))
    return run.path, cfg


def config_text(cfg: StreamRunConfig) -> str:
    """``config.yaml``: a provenance comment block, then the resolved config."""
    record = {"created": now_iso(), **provenance(cfg.pool.devices)}
    return config_header(record) + dump_yaml(cfg)


def _file_digest(path: str | Path) -> str:
    digest = hashlib.sha256()
    with Path(path).open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def baseline_key(cfg: StreamRunConfig, inputs: Inputs, learner, frames: FrameOrigin | None = None) -> str:
    """Cache key of the frozen baseline: checkpoint bytes, split files, stream/model/metric config,
    and what the frames are decoded from (``frames``: the resized cache and which clips it covers,
    or the source), so a baseline decoded from the source is not reused for a run on the cache.

    Runtime-only settings (decode workers, prefetch, cache size, pool) do not change the key.
    """
    stream = {k: v for k, v in converter.unstructure(cfg.stream).items() if k not in _RUNTIME_STREAM_KEYS}
    splits = sorted(Path(inputs.split_dir).glob("ego4d_LTA_*_usersplit_*users.json"))
    identity = {
        "checkpoint": _file_digest(inputs.checkpoint),
        "splits": {p.name: _file_digest(p) for p in splits},
        "video_dir": str(Path(inputs.video_dir).resolve()),
        "subset": cfg.data.subset,
        "stream": stream,
        "model": converter.unstructure(cfg.model),
        "metrics": converter.unstructure(cfg.metrics),
        "learner": converter.unstructure(learner),
        "seed": cfg.run.seed,
    }
    if frames is not None and frames.n_cache:
        identity["frames"] = {
            "cache_dir": str(Path(frames.cache_dir or "").resolve()),
            "short_side": frames.cache_short_side,
            "cached": frames.cached_digest,
        }
    text = repr(sorted(identity.items()))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def plan_run(cfg: StreamRunConfig, inputs: Inputs, run_dir: Path) -> RunPlan:
    """The jobs of ``run_dir``: one per user, plus baseline users not cached yet.

    Raises:
        InputError: Bad split, missing videos (unless ``data.skip_missing_videos``), bad checkpoint.
    """
    loaded = load_inputs(cfg, inputs)
    users = tuple(loaded.users)
    run = RunDir(run_dir)

    def job(key: str, uid: str, role: str, learner: LearnerConfig, udir: UserDir, tb: Path) -> Job:
        """One user's stream (``role`` users or baseline) written to ``udir``; the worker's stderr
        goes to the user's log while it runs it."""
        tb_dir = str(tb) if cfg.run.tensorboard else None
        payload = UserJob(
            cfg=cfg,
            inputs=inputs,
            user_id=uid,
            role=role,
            learner=learner,
            user_dir=str(udir.path),
            tb_dir=tb_dir,
        )
        return Job(key=key, size=len(loaded.users[uid]), payload=payload, stderr_path=str(udir.stderr_log))

    jobs = [
        job(f"users/{uid}@{run_dir.name}", uid, "users", cfg.learner, run.user(uid), run.tb(uid))
        for uid in users
    ]
    baseline_dirs = None
    if cfg.run.baseline:
        learner = baseline_learner(cfg)
        key = baseline_key(cfg, inputs, learner, loaded.frames)
        cache = Path(cfg.run.baseline_cache or Path(cfg.run.out_dir) / "baseline-cache") / key
        baseline_dirs = {}
        for uid in users:
            bdir = cache / safe_name(uid)
            baseline_dirs[uid] = bdir
            _link(run.baseline(uid).path, bdir)
            if cfg.run.tensorboard:
                _link(run.baseline_tb(uid), UserDir(bdir).tb)
            if UserDir(bdir).is_done:
                continue
            jobs.append(
                job(f"baseline/{key}/{uid}", uid, "baseline", learner, UserDir(bdir), UserDir(bdir).tb)
            )
    frames = {**attrs.asdict(loaded.frames), "describe": loaded.frames.describe()}
    frames["skipped_missing"] = {u: n for u, n in loaded.dropped.items() if n}
    log.info("frames_from", run_dir=str(run_dir), frames=frames["describe"], cache_dir=inputs.cache_dir)
    return RunPlan(
        run_dir=run_dir, cfg=cfg, jobs=tuple(jobs), users=users, baseline_dirs=baseline_dirs, frames=frames
    )


def _link(link: Path, target: Path) -> None:
    """``run_dir/baseline/<uid>`` → the cached baseline directory (a relative symlink)."""
    if link.is_symlink() or link.exists():
        return
    link.parent.mkdir(parents=True, exist_ok=True)
    target.mkdir(parents=True, exist_ok=True)
    link.symlink_to(os.path.relpath(target.resolve(), link.parent.resolve()), target_is_directory=True)
