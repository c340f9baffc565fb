"""One user job of a stream run: load the inputs, build the parts, stream, write results.

:func:`run_user_job` is the pool target (module level, picklable arguments). Inputs (split
files, pretrain label sets, the pretrained network, the clip source) are loaded once per worker
process by :func:`ego_cl.runners.inputs.load_inputs` and reused for its next users; each user's
learner trains its own copy of the network (learners never change the network they are given).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

import attrs
import structlog

from ego_cl.learners.registry import LearnerConfig
from ego_cl.runners.config import StreamRunConfig
from ego_cl.runners.engine.build import user_parts_from
from ego_cl.runners.engine.user import seed_everything, stream_user
from ego_cl.runners.inputs import Inputs, load_inputs
from ego_cl.runners.results import UserDir
from ego_cl.types import UserId

__all__ = ["UserJob", "run_user_job"]

log = structlog.get_logger(__name__)


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
        log_to: Run directories whose ``log.jsonl`` gets this job's events (a shared baseline
            belongs to several runs).
    """

    cfg: StreamRunConfig
    inputs: Inputs
    user_id: UserId
    role: Literal["users", "baseline"]
    learner: LearnerConfig
    user_dir: str
    tb_dir: str | None
    log_to: tuple[str, ...] = ()


def run_user_job(job: UserJob, device: str, report: Callable[[int, int], None]) -> dict[str, Any]:
    """Pool target: run (or resume, or skip) one user and return its summary."""
    started = time.perf_counter()
    udir = UserDir(Path(job.user_dir))
    if udir.is_done:
        return {**udir.read_json("summary.json"), "role": job.role, "skipped": True}
    routes = {"log_to": job.log_to} if job.log_to else {}
    with structlog.contextvars.bound_contextvars(user_id=job.user_id, role=job.role, **routes):
        loaded = load_inputs(job.cfg, job.inputs)
        seed_everything(job.cfg.run.seed)
        fresh = not udir.has_checkpoint  # its stream starts at batch 0: decode it while the learner builds
        parts = user_parts_from(
            job.cfg, loaded, job.user_id, device=device, learner=job.learner, prefetch=fresh
        )
        setup_s = round(time.perf_counter() - started, 3)
        summary = stream_user(
            parts,
            udir,
            checkpoint_every=job.cfg.run.checkpoint_every,
            seed=job.cfg.run.seed,
            tb_dir=Path(job.tb_dir) if job.tb_dir else None,
            tb_every=job.cfg.run.tb_every,
            paranoid=job.cfg.run.paranoid,
            report=report,
            setup_s=setup_s,
        )
    return {**summary, "role": job.role}
