"""``python -m ego_cl.runners.split``: build the train / test / pretrain user split of an Ego4D root.

Reads ``<root>/ego4d.json``, ``<root>/v1/annotations/fho_lta_{train,val}.json`` (val optional)
and the taxonomy if present; writes ``ego4d_LTA_{train,test,pretrain_incl_nanusers}_usersplit_
<N>users.json`` and ``split_summary.json`` into ``--out`` (each file atomically).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Literal

import structlog

from ego_cl.data.records import load_lta_file, load_metadata
from ego_cl.data.split import UserSplitResult, build_user_split
from ego_cl.data.taxonomy import TAXONOMY_FILE, load_taxonomy
from ego_cl.runners.cli import guarded_main
from ego_cl.runners.logs import configure_logging
from ego_cl.runners.results import atomic_write_text

__all__ = ["SUMMARY_FILE", "main", "write_user_split"]

log = structlog.get_logger(__name__)

SUMMARY_FILE = "split_summary.json"


def write_user_split(
    ego4d_root: str | Path,
    out_dir: str | Path,
    *,
    criterion: Literal["paper", "random"] = "random",
    n_eval: int = 50,
    n_train: int = 10,
    seed: int = 0,
) -> UserSplitResult:
    """Build the split of ``ego4d_root`` and write its files into ``out_dir``.

    Raises:
        InputError: Malformed input files (all problems of a file at once) or an impossible split.
    """
    root = Path(ego4d_root)
    taxonomy_path = root / TAXONOMY_FILE
    taxonomy = load_taxonomy(taxonomy_path) if taxonomy_path.is_file() else None
    metadata = load_metadata(root / "ego4d.json")
    records = [
        load_lta_file(root / "v1/annotations/fho_lta_train.json", taxonomy=taxonomy, metadata=metadata)
    ]
    val_path = root / "v1/annotations/fho_lta_val.json"
    if val_path.is_file():
        records.append(load_lta_file(val_path, taxonomy=taxonomy, metadata=metadata))
    result = build_user_split(records, criterion=criterion, n_eval=n_eval, n_train=n_train, seed=seed)
    out = Path(out_dir)
    for name, document in result.documents.items():
        atomic_write_text(out / name, json.dumps(document, indent=1))
    atomic_write_text(out / SUMMARY_FILE, json.dumps(result.summary, indent=1))
    log.info(
        "user_split_written",
        out_dir=str(out),
        train=len(result.train),
        test=len(result.test),
        pretrain=len(result.pretrain),
    )
    return result


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
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the exit code (2 on bad input)."""
    args = _parser().parse_args(argv)
    configure_logging()
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
