"""``python -m ego_cl.runners.pretrain``: population pretraining of a video network.

Trains on the pretraining users' annotations (one random clip per annotation per epoch, seeded
training transform), validates on the ``train`` users' split after every epoch (action, verb and
noun loss and top-1), writes ``last.pt`` (atomic, every epoch) and ``best.pt`` (lowest
validation action loss), TensorBoard scalars under ``tb/`` and ``summary.json``. Rerunning the
same command resumes from ``last.pt`` and continues exactly as an uninterrupted run would.

Run directory: ``<run.out_dir>/<run.name or network kind>/``.
"""

from __future__ import annotations

__all__ = ["main"]

import argparse
import sys
from collections.abc import Sequence

from ego_cl.runners.cli import add_config_arguments, config_from_args, guarded_main, setup_logging
from ego_cl.runners.engine.preflight import check_pretrain_dir
from ego_cl.runners.pretraining.cache import decode_side
from ego_cl.runners.pretraining.config import PretrainConfig
from ego_cl.runners.pretraining.run import pretrain, print_summary, run_dir_of
from ego_cl.runners.pretraining.splits import resolve_data


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m ego_cl.runners.pretrain",
        description="Pretrain the population model on the pretraining users (validation: train users).",
    )
    add_config_arguments(parser, example="optim.lr=1e-2 optim.epochs=3")
    parser.add_argument("--home", help="where the embedded synthetic dataset lives (default $EGO_CL_HOME)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the process exit code."""
    args = _parser().parse_args(argv)
    cfg = config_from_args(PretrainConfig, args)
    setup_logging(args)
    check_pretrain_dir(run_dir_of(cfg))  # before the data is resolved (maybe generated)
    summary = pretrain(cfg, resolve_data(cfg.data, home=args.home, short_side=decode_side(cfg)))
    print_summary(summary)
    return 0


if __name__ == "__main__":
    sys.exit(guarded_main(main))
