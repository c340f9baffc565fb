"""``python -m ego_cl.runners.stream``: online per-user adaptation, the main command.

Usage::

    python -m ego_cl.runners.stream                          # the embedded synthetic demo
    python -m ego_cl.runners.stream [--config F] [key=value ...]
    python -m ego_cl.runners.stream --resume RUN_DIR         # continue an interrupted run
    python -m ego_cl.runners.stream --print-config [key=value ...]
    python -m ego_cl.runners.stream [key=value ...] --grid a.b=1,2 c.d=x,y   # one run per combination

Every evaluation user of ``data.subset`` is streamed with ``learner`` (and, unless
``run.baseline=false``, with the frozen pretrained model, cached by checkpoint + stream config)
in a pool of ``pool.devices x pool.users_per_device`` slots. The run directory gets one result
directory per user, ``summary.json`` with OAG per user and mean ± SE over users, and the exit
code is 1 if any user failed (each failure recorded in its ``FAILED.json``).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

import structlog

from ego_cl.runners.cli import EXIT_FAILED, add_config_arguments, guarded_main
from ego_cl.runners.config import ConfigError, StreamRunConfig, dump_yaml, load_config
from ego_cl.runners.copy_final import copy_final
from ego_cl.runners.engine.plan import RunPlan, pin_inputs, plan_run, prepare_run_dir, resolve_inputs
from ego_cl.runners.engine.progress import Progress
from ego_cl.runners.engine.slurm import dispatch_jobs
from ego_cl.runners.engine.summary import format_table, summarize
from ego_cl.runners.logs import configure_logging

__all__ = ["main", "run_plans", "run_stream"]

log = structlog.get_logger(__name__)


def run_plans(
    plans: Sequence[RunPlan], cfg: StreamRunConfig, *, progress: Progress | None = None, target=None
) -> list[dict]:
    """Run the jobs of several plans in one pool; write and return each plan's summary.

    ``target`` replaces :func:`ego_cl.runners.engine.job.run_user_job` (a module-level function with
    the same signature, e.g. one that wraps it).
    """
    by_key = {job.key: job for plan in plans for job in plan.jobs}  # a shared baseline runs once
    jobs = list(by_key.values())
    progress = progress or Progress(total=len(jobs), pretty=False)

    def on_outcome(outcome) -> None:
        job = by_key[outcome.key].payload
        if not outcome.ok:
            from ego_cl.runners.results import UserDir

            UserDir(Path(job.user_dir)).record_failure(
                {"error": outcome.error, "traceback": outcome.traceback, "exit_code": outcome.exit_code}
            )
        progress.finished(outcome, job)

    with progress:
        outcomes = dispatch_jobs(  # pool.backend: local spawn pool or a SLURM job array
            jobs,
            target or _target(),
            pool=cfg.pool,
            folder=plans[0].run_dir / "slurm",
            log_file=str(plans[0].run_dir / "log.jsonl"),
            on_outcome=on_outcome,
            on_progress=progress.update,
            decode_workers=cfg.stream.workers,  # the default torch threads leave them their cores
        )
    failed = {o.key: o for o in outcomes if not o.ok}
    summaries = [summarize(plan, failed) for plan in plans]
    for plan in plans:  # run.copy_final_to: a second copy of the final summary files
        if plan.cfg.run.copy_final_to:
            copy_final(plan.run_dir, plan.cfg.run.copy_final_to, experiment=plan.cfg.run.experiment)
    return summaries


def _target():
    from ego_cl.runners.engine.job import run_user_job

    return run_user_job


def run_stream(
    cfg: StreamRunConfig, overrides: Sequence[str] = (), *, resume: str | Path | None = None, target=None
) -> dict:
    """Run (or resume) one stream run; returns its summary (also in ``summary.json``).

    Example (embedding; the frozen baseline is run or reused automatically)::

        cfg = load_config(StreamRunConfig, overrides=["data.ego4d_root=/data/ego4d", "learner.kind=replay"])
        summary = run_stream(cfg)
        summary["oag"]["oag/action/balanced_top1"]  # {"mean": ..., "se": ..., "n_users": ...}
    """
    if resume is None:
        cfg = pin_inputs(cfg, resolve_inputs(cfg))
    run_dir, cfg = prepare_run_dir(cfg, overrides, resume=resume)
    configure_logging(log_file=run_dir / "log.jsonl")
    inputs = resolve_inputs(cfg)
    plan = plan_run(cfg, inputs, run_dir)
    log.info("stream_run_started", run_dir=str(run_dir), n_jobs=len(plan.jobs), learner=cfg.learner.kind)
    (summary,) = run_plans([plan], cfg, progress=Progress(total=len(plan.jobs)), target=target)
    return summary


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m ego_cl.runners.stream",
        description="Stream each user's video in recorded order; predict, then learn, per batch.",
    )
    add_config_arguments(parser)
    parser.add_argument("--resume", metavar="RUN_DIR", help="continue an interrupted run (or grid)")
    parser.add_argument(
        "--grid",
        nargs="+",
        metavar="key=v1,v2",
        help="one run per combination (put it last; see runners.engine.grid)",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the process exit code."""
    args = _parser().parse_args(argv)
    if args.grid:
        from ego_cl.runners.engine.grid import grid_main

        return grid_main(args)
    if args.resume and (args.config or args.overrides):
        raise ConfigError(["--resume takes the run's own config.yaml; drop --config and overrides"])
    if not (args.config or args.overrides or args.resume or args.print_config):
        from ego_cl.runners.demo import run_demo

        return run_demo()
    cfg = load_config(StreamRunConfig, args.config, args.overrides)
    if args.print_config:
        sys.stdout.write(dump_yaml(cfg))
        return 0
    configure_logging()
    summary = run_stream(cfg, args.overrides, resume=args.resume)
    print(format_table([summary]))
    return EXIT_FAILED if summary["failed"] else 0


if __name__ == "__main__":
    sys.exit(guarded_main(main))
