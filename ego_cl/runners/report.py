"""``python -m ego_cl.runners.report RUN_DIR [RUN_DIR ...]``: tables and plots of finished runs.

Each argument is a run directory or a directory above several (e.g. a grid's parent: one
comparison table, best setting marked). Every number is computed from the saved prediction
logs by the metrics package: per user the method's online values, the frozen baseline's, OAG,
decorrelated/correlated gains and (after ``python -m ego_cl.runners.hindsight``) HAG; then
mean ± SE over users. The blind label-window baseline is replayed from the same logs.

Writes into ``--out`` (default ``<RUN_DIR>/report`` for one run, else ``<common parent>/report``):
``summary.md`` (also printed), ``summary.csv`` (mean, SE per method and metric),
``per_user.csv``, ``summary.tex`` (booktabs) and ``plots/*.png|pdf`` (unless ``--no-plots``).
"""

from __future__ import annotations

__all__ = ["main"]

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from ego_cl.runners.cli import add_log_arguments, doc_summary, guarded_main, setup_logging
from ego_cl.runners.reporting.report import collect, copy_report, default_out_dir, write_report


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m ego_cl.runners.report", description=doc_summary(__doc__))
    parser.add_argument("run_dirs", nargs="+", metavar="RUN_DIR", help="run directories or their parents")
    parser.add_argument(
        "--out", help="output directory (default: <RUN_DIR>/report or <common parent>/report)"
    )
    parser.add_argument("--label-window", type=int, default=4, help="window of the blind baseline (0 = off)")
    parser.add_argument("--no-plots", action="store_true", help="tables only")
    add_log_arguments(parser)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the exit code."""
    args = _parser().parse_args(argv)
    setup_logging(args)
    methods = collect(args.run_dirs, label_window=args.label_window or None)
    out_dir = Path(args.out) if args.out else default_out_dir(sorted({m.run_dir for m in methods}))
    sys.stdout.write(write_report(methods, out_dir, plots=not args.no_plots))
    print(f"report written to {out_dir}")
    copy_report(methods, out_dir)
    return 0


if __name__ == "__main__":
    sys.exit(guarded_main(main))
