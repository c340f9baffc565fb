"""``python -m ego_cl.runners.stream``: online per-user adaptation, the main command.

Usage::

    python -m ego_cl.runners.stream                          # the embedded synthetic demo
    python -m ego_cl.runners.stream [--config F] [key=value ...]
    python -m ego_cl.runners.stream --resume RUN_DIR         # continue an interrupted run
    python -m ego_cl.runners.stream --print-config [key=value ...]
    python -m ego_cl.runners.stream --dry-run [key=value ...]   # check inputs, per-user table, time estimate
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

from ego_cl.runners.cli import EXIT_FAILED, add_config_arguments, guarded_main, setup_logging
from ego_cl.runners.config import ConfigError, StreamRunConfig, dump_yaml, load_config
from ego_cl.runners.demo import demo_checkpoint, run_demo
from ego_cl.runners.engine import run as engine_run
from ego_cl.runners.engine.dryrun import dry_run, format_report
from ego_cl.runners.engine.grid import prepare_grid_configs, run_grid
from ego_cl.runners.engine.run import UserTarget
from ego_cl.runners.engine.stopping import sigterm_interrupts
from ego_cl.runners.engine.summary import format_table

__all__ = ["grid_main", "main", "run_stream"]


def run_stream(
    cfg: StreamRunConfig,
    overrides: Sequence[str] = (),
    *,
    resume: str | Path | None = None,
    target: UserTarget | None = None,
) -> dict:
    """Run (or resume) one stream run; returns its summary (also in ``summary.json``). Without
    ``model.checkpoint`` the demo's pretrained ``tiny3d`` (pretrained on ``data``, cached) is used.

    Example (embedding; the frozen baseline is run or reused automatically)::

        cfg = load_config(StreamRunConfig, overrides=["data.ego4d_root=/data/ego4d", "learner.kind=replay"])
        summary = run_stream(cfg)
        summary["oag"]["oag/action/balanced_top1"]  # {"mean": ..., "se": ..., "n_users": ...}
    """
    return engine_run.run_stream(
        cfg, overrides, resume=resume, target=target, default_checkpoint=demo_checkpoint
    )


TEST_GRID_NOTE = (
    "note: this grid compared its settings on the test users (data.subset=test): picking the best "
    "one here tunes on the test set. Tune with data.subset=train, then run the chosen setting once "
    "on test."
)
"""Printed under a grid's table when the grid ran on the test users."""


def grid_main(args: argparse.Namespace) -> int:
    """``stream --grid ...``: run the grid, print its table and the grid directory (exit 1 on failures)."""
    if args.print_config:
        for _, cfg in prepare_grid_configs(args.config, args.overrides, args.grid):
            sys.stdout.write(dump_yaml(cfg) + "---\n")
        return 0
    base = load_config(StreamRunConfig, args.config, args.overrides)
    setup_logging(args, base.run)
    parent, summaries = run_grid(
        args.config, args.overrides, args.grid, resume=args.resume, default_checkpoint=demo_checkpoint
    )
    print(format_table(summaries))
    if base.data.subset == "test" and len(summaries) > 1:
        print(TEST_GRID_NOTE)
    print(f"grid directory: {parent}  (comparison table: python -m ego_cl.runners.report {parent})")
    return EXIT_FAILED if any(s["failed"] for s in summaries) else 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m ego_cl.runners.stream",
        description="Stream each user's video in recorded order; predict, then learn, per batch.",
    )
    add_config_arguments(parser)
    parser.add_argument("--resume", metavar="RUN_DIR", help="continue an interrupted run (or grid)")
    parser.add_argument(
        "--dry-run",
        action="store_true",
        help="validate every input, build every user stream, print a per-user table and a time "
        "estimate; write no results",
    )
    parser.add_argument(
        "--grid",
        nargs="+",
        metavar="key=v1,v2",
        help="one run per combination of the values, e.g. --grid learner.lr=0.1,0.01 "
        "learner.momentum=0,0.9 (put it last; tune with data.subset=train)",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the process exit code. ``SIGTERM`` stops a run like Ctrl-C: workers
    stopped, last checkpoints kept, the ``--resume`` command printed (by ``guarded_main``)."""
    with sigterm_interrupts():
        return _main(argv)


def _main(argv: Sequence[str] | None) -> int:
    args = _parser().parse_args(argv)
    if args.grid:
        return grid_main(args)
    if args.resume and (args.config or args.overrides):
        raise ConfigError(["--resume takes the run's own config.yaml; drop --config and overrides"])
    if args.dry_run and args.resume:
        raise ConfigError(["--dry-run checks a new run; drop --resume"])
    if not (args.config or args.overrides or args.resume or args.print_config or args.dry_run):
        setup_logging(args)
        return run_demo()
    cfg = load_config(StreamRunConfig, args.config, args.overrides)
    if args.print_config:
        sys.stdout.write(dump_yaml(cfg))
        return 0
    setup_logging(args, cfg.run)
    if args.dry_run:
        sys.stdout.write(format_report(dry_run(cfg, default_checkpoint=demo_checkpoint)))
        return 0
    summary = run_stream(cfg, args.overrides, resume=args.resume)
    print(format_table([summary]))
    return EXIT_FAILED if summary["failed"] else 0


if __name__ == "__main__":
    sys.exit(guarded_main(main))
