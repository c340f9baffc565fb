"""``python -m ego_cl.runners.hindsight RUN_DIR [--transfer]``: final models over whole streams.

Each finished user's final learner state (``users/<uid>/learner.pt``) predicts, in eval mode and
without learning, every sample of its own stream (built exactly as in the online run): the
hindsight pass behind HAG (spec §1.4, §6.6). With ``--transfer`` every user's final model runs
on every user's stream, and the pretrained model on every stream (the reference row of the
transfer matrix and of HAG). Pairs run in the run's pool (``pool.*``; ``--processes 0`` runs
in-process); each writes its prediction log like the online ones, ``metrics.json`` and
``DONE`` into ``RUN_DIR/hindsight/<model>/<stream>/`` (``<model>`` = user id or
``_pretrained``); a finished pair is skipped, so an interrupted evaluation resumes.
``python -m ego_cl.runners.report RUN_DIR`` then adds HAG and the transfer heatmap.
"""

from __future__ import annotations

__all__ = ["main"]

import argparse
import sys
from collections.abc import Sequence

import structlog

from ego_cl.runners.cli import EXIT_FAILED, add_log_arguments, doc_summary, guarded_main, setup_logging
from ego_cl.runners.demo import demo_checkpoint
from ego_cl.runners.engine.hindsight import run_hindsight


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m ego_cl.runners.hindsight", description=doc_summary(__doc__)
    )
    parser.add_argument("run_dir", metavar="RUN_DIR", help="a stream run directory")
    parser.add_argument("--transfer", action="store_true", help="every model on every stream + pretrained")
    parser.add_argument(
        "--processes", type=int, help="pool processes (default: the run's pool.processes; 0 = in-process)"
    )
    add_log_arguments(parser)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the exit code (1 if a pair failed)."""
    args = _parser().parse_args(argv)
    setup_logging(args)
    with structlog.contextvars.bound_contextvars(log_to=(args.run_dir,)):  # into the run's log.jsonl
        outcomes = run_hindsight(
            args.run_dir, transfer=args.transfer, processes=args.processes, default_checkpoint=demo_checkpoint
        )
    failed = [o.key for o in outcomes if not o.ok]
    skipped = sum(1 for o in outcomes if o.ok and o.result and o.result.get("skipped"))
    print(f"hindsight: {len(outcomes)} pairs, {skipped} already done, {len(failed)} failed")
    for key in failed:
        print(f"FAILED {key}: see FAILED.json in {args.run_dir}/{key}")
    print(f"tables and plots: python -m ego_cl.runners.report {args.run_dir}")
    return EXIT_FAILED if failed else 0


if __name__ == "__main__":
    sys.exit(guarded_main(main))
