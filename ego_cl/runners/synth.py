"""``python -m ego_cl.runners.synth``: write the synthetic Ego4D-format dataset to a directory.

The directory is built under a temporary name next to ``--out`` and renamed into place when
complete, so ``--out`` is either absent or a whole dataset. ``synthetic.json`` in it records the
config it was generated from; :func:`ensure_dataset` reuses a directory whose record matches.
``ensure_default_dataset`` is the one call behind the embedded demo: dataset + user split.
"""

from __future__ import annotations

__all__ = ["main"]

import argparse
import sys
from collections.abc import Sequence

import attrs

from ego_cl.data.config import SyntheticConfig
from ego_cl.runners.cli import add_config_arguments, config_from_args, guarded_main, setup_logging
from ego_cl.runners.datasets import generate_dataset, write_user_split
from ego_cl.types import InputError


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m ego_cl.runners.synth",
        description="Write a synthetic dataset in the Ego4D layout (ego4d.json, v1/annotations, v1/clips).",
    )
    parser.add_argument("--out", required=True, metavar="DIR", help="dataset directory to create")
    parser.add_argument(
        "--users", type=int, metavar="N", help="users with a participant id (about half eval)"
    )
    parser.add_argument("--seed", type=int, help="seed of everything (default 0)")
    parser.add_argument("--split", action="store_true", help="also write the user split to DIR/usersplits")
    add_config_arguments(parser, example="eval_user_s=600 width=160")
    return parser


def _with_users(config: SyntheticConfig, n_users: int) -> SyntheticConfig:
    if n_users < 2:
        raise InputError(f"--users {n_users}: need at least 2 (evaluation and pretraining users)")
    n_eval = max(1, n_users // 2)
    eval_s = max(config.eval_user_s, config.pretrain_user_s + 6 * n_eval + 10)
    return attrs.evolve(
        config,
        n_eval_users=n_eval,
        n_train_users=min(config.n_train_users, n_eval - 1),
        n_pretrain_users=n_users - n_eval,
        eval_user_s=eval_s,
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the exit code (2 on bad arguments)."""
    args = _parser().parse_args(argv)
    config = config_from_args(SyntheticConfig, args)
    if args.seed is not None:
        config = attrs.evolve(config, seed=args.seed)
    if args.users is not None:
        config = _with_users(config, args.users)
    setup_logging(args)
    out = generate_dataset(args.out, config)
    print(f"wrote {out}")
    if args.split:
        result = write_user_split(
            out,
            out / "usersplits",
            criterion="random",
            n_eval=config.n_eval_users,
            n_train=config.n_train_users,
            seed=0,
        )
        counts = (len(result.train), len(result.test), len(result.pretrain))
        print("split: {} train, {} test, {} pretrain users".format(*counts))
    return 0


if __name__ == "__main__":
    sys.exit(guarded_main(main))
