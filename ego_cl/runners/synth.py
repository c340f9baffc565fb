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
from typing import Any

from ego_cl.data.config import SyntheticConfig
from ego_cl.runners.cli import add_config_arguments, guarded_main, setup_logging
from ego_cl.runners.config import ConfigError, apply_overrides, dump_yaml, read_config_file, structure
from ego_cl.runners.datasets import generate_dataset, write_user_split
from ego_cl.types import InputError


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m ego_cl.runners.synth",
        description="Write a synthetic dataset in the Ego4D layout (ego4d.json, v1/annotations, v1/clips).",
    )
    parser.add_argument("--out", required=True, metavar="DIR", help="dataset directory to create")
    parser.add_argument(
        "--users",
        type=int,
        metavar="N",
        help="N users with a participant id: half evaluation users, the rest pretraining users",
    )
    parser.add_argument("--seed", type=int, help="seed of everything (default 0)")
    parser.add_argument("--split", action="store_true", help="also write the user split to DIR/usersplits")
    add_config_arguments(parser, example="eval_user_s=600 width=160")
    return parser


_USER_KEYS = ("n_eval_users", "n_train_users", "n_pretrain_users")


def _with_users(raw: dict[str, Any], n_users: int) -> dict[str, Any]:
    """``raw`` with ``N`` users with a participant id: half evaluation users (at most 2 of them
    train users), the rest pretraining users; evaluation streams lengthened if needed."""
    if n_users < 2:
        raise InputError(f"--users {n_users}: need at least 2 (evaluation and pretraining users)")
    given = [k for k in _USER_KEYS if k in raw]
    if given:
        raise ConfigError([f"--users {n_users} sets {', '.join(_USER_KEYS)}; drop {', '.join(given)}"])
    defaults = SyntheticConfig()
    n_eval = n_users // 2
    pretrain_s = raw.get("pretrain_user_s", defaults.pretrain_user_s)
    out = {**raw, "n_eval_users": n_eval, "n_pretrain_users": n_users - n_eval}
    out["n_train_users"] = min(defaults.n_train_users, n_eval - 1)
    if "eval_user_s" not in raw and isinstance(pretrain_s, int):
        out["eval_user_s"] = max(defaults.eval_user_s, pretrain_s + 6 * n_eval + 10)
    return out


def _config(args: argparse.Namespace) -> SyntheticConfig:
    """The config from the file, the overrides, ``--seed`` and ``--users`` (validated once, so
    ``--users`` may change what the defaults would refuse)."""
    raw = apply_overrides(read_config_file(args.config) if args.config else {}, args.overrides)
    if args.seed is not None:
        raw["seed"] = args.seed
    if args.users is not None:
        raw = _with_users(raw, args.users)
    config = structure(raw, SyntheticConfig)
    if args.print_config:
        sys.stdout.write(dump_yaml(config))
        raise SystemExit(0)
    return config


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the exit code (2 on bad arguments)."""
    args = _parser().parse_args(argv)
    config = _config(args)
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
