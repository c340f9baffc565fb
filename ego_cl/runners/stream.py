"""``python -m ego_cl.runners.stream``: online per-user adaptation, the main command."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from ego_cl.runners.cli import EXIT_FAILED, add_config_arguments, config_from_args, guarded_main
from ego_cl.runners.config import StreamRunConfig

__all__ = ["main"]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m ego_cl.runners.stream",
        description="Stream each user's video in recorded order; predict, then learn, per batch.",
    )
    add_config_arguments(parser)
    parser.add_argument("--resume", metavar="RUN_DIR", help="continue an interrupted run")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the process exit code."""
    args = _parser().parse_args(argv)
    config_from_args(StreamRunConfig, args)
    print("error: the online loop is not implemented yet (issue: the stream runner)", file=sys.stderr)
    return EXIT_FAILED


if __name__ == "__main__":
    sys.exit(guarded_main(main))
