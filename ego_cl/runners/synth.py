"""``python -m ego_cl.runners.synth``: write the synthetic Ego4D-format dataset to a directory.

The directory is built under a temporary name next to ``--out`` and renamed into place when
complete, so ``--out`` is either absent or a whole dataset. ``synthetic.json`` in it records the
config it was generated from; :func:`ensure_dataset` reuses a directory whose record matches.
``ensure_default_dataset`` is the one call behind the embedded demo: dataset + user split.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import attrs
import structlog

from ego_cl.data.config import SyntheticConfig
from ego_cl.data.synthetic import dataset_files, plan_dataset
from ego_cl.runners.cli import add_config_arguments, config_from_args, guarded_main
from ego_cl.runners.config import converter
from ego_cl.runners.logs import configure_logging
from ego_cl.runners.split import write_user_split
from ego_cl.types import InputError

__all__ = ["MANIFEST", "ensure_dataset", "ensure_default_dataset", "generate_dataset", "main"]

log = structlog.get_logger(__name__)

MANIFEST = "synthetic.json"
"""File in a generated dataset holding the config it was generated from."""


def generate_dataset(out_dir: str | Path, config: SyntheticConfig | None = None) -> Path:
    """Write the dataset of ``config`` to ``out_dir`` (which must not exist), atomically.

    Raises:
        InputError: ``out_dir`` already exists.
    """
    config = config or SyntheticConfig()
    out = Path(out_dir)
    if out.exists():
        raise InputError(f"{out}: already exists (remove it, or pick another --out)")
    started = time.perf_counter()
    tmp = out.with_name(f".{out.name}.tmp-{os.getpid()}")
    if tmp.exists():
        shutil.rmtree(tmp)
    n_bytes = 0
    try:
        for rel, data in dataset_files(plan_dataset(config)):
            path = tmp / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
            n_bytes += len(data)
        (tmp / MANIFEST).write_text(json.dumps(converter.unstructure(config), indent=1))
        os.replace(tmp, out)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp)
    log.info(
        "synthetic_dataset_written",
        out_dir=str(out),
        mb=round(n_bytes / 1e6, 1),
        seconds=round(time.perf_counter() - started, 1),
    )
    return out


def ensure_dataset(out_dir: str | Path, config: SyntheticConfig | None = None) -> Path:
    """``out_dir`` holding the dataset of ``config``: reused if its manifest matches, else generated.

    Raises:
        InputError: ``out_dir`` exists but holds something else.
    """
    config = config or SyntheticConfig()
    out = Path(out_dir)
    manifest = out / MANIFEST
    if out.exists():
        if manifest.is_file() and json.loads(manifest.read_text()) == converter.unstructure(config):
            return out
        raise InputError(f"{out}: exists but is not the synthetic dataset of this config")
    return generate_dataset(out, config)


def ensure_default_dataset(home: str | Path, config: SyntheticConfig | None = None) -> tuple[Path, Path]:
    """The embedded demo data: the dataset under ``home`` plus its user split.

    The directory name carries the seed and a digest of the config, so a changed config never
    reuses stale data. The split is ``criterion=random``, ``n_eval=config.n_eval_users``,
    ``n_train=config.n_train_users``, seed 0, written to ``<dataset>/usersplits``.

    Returns:
        ``(ego4d_root, split_dir)``.
    """
    config = config or SyntheticConfig()
    digest = _digest(config)
    root = ensure_dataset(Path(home) / f"synthetic-{config.seed}-{digest}", config)
    split_dir = root / "usersplits"
    if not (split_dir / "split_summary.json").is_file():
        write_user_split(
            root,
            split_dir,
            criterion="random",
            n_eval=config.n_eval_users,
            n_train=config.n_train_users,
            seed=0,
        )
    return root, split_dir


def _digest(config: SyntheticConfig) -> str:
    import hashlib

    text = json.dumps(converter.unstructure(config), sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:8]


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
    add_config_arguments(parser)
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
    configure_logging()
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
