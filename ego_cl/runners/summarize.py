"""``python -m ego_cl.runners.summarize [--config F] [key=value ...]``: what the user streams hold.

Builds every evaluation user's stream exactly as a stream run with the same config would (no
model, no learning) and writes into ``--out`` (default ``<run.out_dir>/summaries/<data.subset>``):
``streams.md`` (printed) and ``streams.csv`` with per-user statistics (clips, minutes,
recordings, unique verbs/nouns/actions, overlap-policy counts, unseen-filter counts, share of
samples whose labels were seen in pretraining), ``plots/labels_<user>.png|pdf`` label histograms
with the pretrain-seen classes highlighted, and ``contact_<user>.png``: the first ``--clips``
clips of ``--user`` (default: the first user) with their labels.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from ego_cl.runners.cli import add_config_arguments, doc_summary, guarded_main, setup_logging
from ego_cl.runners.config import StreamRunConfig, dump_yaml, load_config
from ego_cl.runners.demo import demo_checkpoint
from ego_cl.runners.reporting.streams import summarize_streams

__all__ = ["main"]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m ego_cl.runners.summarize", description=doc_summary(__doc__)
    )
    add_config_arguments(parser, example="data.subset=train run.users=[68]")
    parser.add_argument("--out", help="output directory (default: <run.out_dir>/summaries/<data.subset>)")
    parser.add_argument("--user", help="user of the contact sheet (default: the first)")
    parser.add_argument("--clips", type=int, default=16, help="clips on the contact sheet")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the exit code."""
    args = _parser().parse_args(argv)
    cfg = load_config(StreamRunConfig, args.config, args.overrides)
    if args.print_config:
        sys.stdout.write(dump_yaml(cfg))
        return 0
    setup_logging(args, cfg.run)
    out = Path(args.out) if args.out else Path(cfg.run.out_dir) / "summaries" / cfg.data.subset
    markdown = summarize_streams(
        cfg, out, contact_user=args.user, n_clips=args.clips, default_checkpoint=demo_checkpoint
    )
    sys.stdout.write(markdown)
    print(f"stream summaries written to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(guarded_main(main))
