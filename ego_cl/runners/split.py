"""``python -m ego_cl.runners.split``: build the train / test / pretrain user split of an Ego4D root.

Reads ``<root>/ego4d.json``, ``<root>/v1/annotations/fho_lta_{train,val}.json`` (val optional)
and the taxonomy if present; writes ``ego4d_LTA_{train,test,pretrain_incl_nanusers}_usersplit_
<N>users.json`` and ``split_summary.json`` into ``--out`` (each file atomically).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

import structlog

from ego_cl.runners.cli import add_log_arguments, guarded_main, setup_logging
from ego_cl.runners.datasets import write_user_split

__all__ = ["main"]

log = structlog.get_logger(__name__)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m ego_cl.runners.split",
        description="Split Ego4D LTA users into train / test (most minutes) and pretrain users.",
    )
    parser.add_argument(
        "--ego4d-root", required=True, metavar="DIR", help="has ego4d.json and v1/annotations"
    )
    parser.add_argument("--out", required=True, metavar="DIR", help="where the split JSON files go")
    parser.add_argument("--criterion", choices=["paper", "random"], default="paper")
    parser.add_argument("--n-eval", type=int, default=50, help="evaluation users (train + test)")
    parser.add_argument("--n-train", type=int, default=10, help="train users among them (random only)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the random criterion")
    add_log_arguments(parser)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the exit code (2 on bad input)."""
    args = _parser().parse_args(argv)
    setup_logging(args)
    result = write_user_split(
        args.ego4d_root,
        args.out,
        criterion=args.criterion,
        n_eval=args.n_eval,
        n_train=args.n_train,
        seed=args.seed,
    )
    print(f"train: {' '.join(result.train)}")
    print(f"test: {' '.join(result.test)}")
    print(f"pretrain: {len(result.pretrain)} users")
    for name in sorted(result.documents):
        print(f"wrote {Path(args.out) / name}")
    return 0


if __name__ == "__main__":
    sys.exit(guarded_main(main))
