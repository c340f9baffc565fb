"""Running stream runs: plans → one pool → summaries (the engine behind ``stream`` and ``--grid``).

:func:`run_stream` runs (or resumes) one run directory; :func:`run_plans` runs the jobs of
several plans in one pool (a baseline shared by several plans runs once), records failures,
writes each plan's summary and the ``run.copy_final_to`` copies.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import attrs
import structlog

from ego_cl.runners.config import StreamRunConfig
from ego_cl.runners.copy_final import copy_final
from ego_cl.runners.engine.dispatch import run_on_backend, start_workers_early
from ego_cl.runners.engine.job import UserJob, run_user_job
from ego_cl.runners.engine.plan import RunPlan, plan_run, prepare_run_dir
from ego_cl.runners.engine.pool import Job, Outcome
from ego_cl.runners.engine.preflight import check_before_run, check_devices, check_users_in_split
from ego_cl.runners.engine.progress import Progress
from ego_cl.runners.engine.stopping import resumable, resume_command
from ego_cl.runners.engine.summary import HEADLINE, summarize
from ego_cl.runners.engine.threads import pin_threads
from ego_cl.runners.inputs import DefaultCheckpoint, pin_inputs, resolve_inputs
from ego_cl.runners.provenance import now_iso, provenance
from ego_cl.runners.results import RunDir, UserDir

__all__ = ["UserTarget", "run_plans", "run_stream"]

log = structlog.get_logger(__name__)

UserTarget = Callable[[UserJob, str, Callable[[int, int], None]], dict[str, Any]]
"""A pool target for user jobs (:func:`~ego_cl.runners.engine.job.run_user_job` or a wrapper)."""


def run_plans(
    plans: Sequence[RunPlan],
    cfg: StreamRunConfig,
    *,
    progress: Progress | None = None,
    target: UserTarget | None = None,
    log_file: Path | None = None,
) -> list[dict]:
    """Run the jobs of several plans in one pool; write and return each plan's summary.

    ``cfg`` gives the pool and stream settings; ``target`` replaces
    :func:`~ego_cl.runners.engine.job.run_user_job` (a module-level function with the same
    signature, e.g. one that wraps it). Each job's events go to the ``log.jsonl`` of every run
    it belongs to (``log_to``); events of no run (the pool's) go to ``log_file`` (default: the
    only plan's log).
    """
    routes: dict[str, tuple[str, ...]] = {}
    for plan in plans:
        for job in plan.jobs:
            routes[job.key] = (*routes.get(job.key, ()), str(plan.run_dir))
    by_key = {job.key: _routed(job, routes[job.key]) for plan in plans for job in plan.jobs}
    jobs = list(by_key.values())  # a shared baseline runs once
    progress = progress or Progress(total=len(jobs), pretty=False)

    def on_outcome(outcome: Outcome) -> None:
        job = by_key[outcome.key].payload
        with structlog.contextvars.bound_contextvars(log_to=routes[outcome.key]):
            if not outcome.ok:
                UserDir(Path(job.user_dir)).record_failure(
                    {"error": outcome.error, "traceback": outcome.traceback, "exit_code": outcome.exit_code}
                )
            progress.finished(outcome, job)

    started, clock = now_iso(), time.perf_counter()
    first = RunDir(plans[0].run_dir)
    if log_file is None and len(plans) == 1:
        log_file = first.log_file
    with progress:
        outcomes = run_on_backend(
            jobs,
            target or run_user_job,
            pool=cfg.pool,
            folder=first.slurm,
            log_file=str(log_file) if log_file is not None else None,
            on_outcome=on_outcome,
            on_progress=progress.update,
            decode_workers=cfg.stream.workers,  # the default torch threads leave them their cores
        )
    failed = {o.key: o for o in outcomes if not o.ok}
    record = {
        **provenance(cfg.pool.devices),
        "started": started,
        "finished": now_iso(),
        "wall_s": round(time.perf_counter() - clock, 3),
    }
    summaries = [_summarize_logged(plan, failed, record) for plan in plans]
    for plan in plans:  # run.copy_final_to: a second copy of the final summary files
        if plan.cfg.run.copy_final_to:
            copy_final(plan.run_dir, plan.cfg.run.copy_final_to, experiment=plan.cfg.run.experiment)
    return summaries


def run_stream(
    cfg: StreamRunConfig,
    overrides: Sequence[str] = (),
    *,
    resume: str | Path | None = None,
    target: UserTarget | None = None,
    default_checkpoint: DefaultCheckpoint | None = None,
) -> dict:
    """Run (or resume) one stream run; returns its summary (also in ``summary.json``).

    Args:
        cfg: The run config (ignored when resuming: the run's own ``config.yaml`` is used).
        overrides: The overrides it came from (name the run directory).
        resume: A run directory to continue.
        target: Replaces :func:`~ego_cl.runners.engine.job.run_user_job` (tests).
        default_checkpoint: Supplies the checkpoint when ``model.checkpoint`` is unset.
    """
    if resume is None:
        check_before_run(cfg)  # devices, out_dir, copy_final_to: before any work
        start_workers_early(cfg.pool, target or run_user_job)  # imports while inputs are read
        cfg = pin_inputs(cfg, resolve_inputs(cfg, default_checkpoint=default_checkpoint))
        check_users_in_split(cfg)  # before the run directory exists
        cfg = pin_threads(cfg)  # recorded in config.yaml: --resume uses it on any machine
    run_dir, cfg = prepare_run_dir(cfg, overrides, resume=resume)
    cfg = pin_threads(cfg, resumed=True)  # no-op unless an older config.yaml lacks the count
    if resume is not None:
        check_devices(cfg.pool)  # the machine may differ from the run's first one
        start_workers_early(cfg.pool, target or run_user_job)
    with structlog.contextvars.bound_contextvars(log_to=(str(run_dir),)), resumable(resume_command(run_dir)):
        inputs = resolve_inputs(cfg, default_checkpoint=default_checkpoint)
        plan = plan_run(cfg, inputs, run_dir)
        log.info("stream_run_started", run_dir=str(run_dir), n_jobs=len(plan.jobs), learner=cfg.learner.kind)
        (summary,) = run_plans([plan], cfg, progress=Progress(total=len(plan.jobs)), target=target)
    return summary


def _routed(job: Job, log_to: tuple[str, ...]) -> Job:
    """``job`` whose payload names the runs its events belong to (user jobs only)."""
    if not isinstance(job.payload, UserJob):
        return job
    return attrs.evolve(job, payload=attrs.evolve(job.payload, log_to=log_to))


def _summarize_logged(plan: RunPlan, failed: dict[str, Outcome], record: dict[str, Any]) -> dict:
    with structlog.contextvars.bound_contextvars(log_to=(str(plan.run_dir),)):
        summary = summarize(plan, failed, {"provenance": {**record, "timestamp": plan.cfg.run.timestamp}})
        headline = {name: summary["oag"].get(name, {}).get("mean") for name in HEADLINE}
        log.info(
            "run_finished",
            run_dir=str(plan.run_dir),
            learner=plan.cfg.learner.kind,
            n_users=summary["n_users"],
            n_done=summary["n_done"],
            n_failed=len(summary["failed"]),
            **headline,
        )
    return summary
