"""``python -m ego_cl.runners.resize``: build the resized-clip cache of an Ego4D root.

Every ``<video-dir>/<clip_uid>.mp4`` is re-encoded once to ``--short-side`` pixels into
``--out`` (default ``<video-dir>_resized_<side>``, which ``Ego4dSource`` reads when the run's
``data.use_cache`` is on). Outputs newer than their source are skipped; each output is written
to a temporary name and renamed, so an interrupted run leaves only whole files.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

import structlog

from ego_cl.runners.cli import guarded_main
from ego_cl.runners.datasets import build_cache
from ego_cl.runners.logs import configure_logging
from ego_cl.types import InputError

__all__ = ["main"]

log = structlog.get_logger(__name__)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m ego_cl.runners.resize",
        description="Re-encode every clip once at a small short side (the resized-clip cache).",
    )
    parser.add_argument(
        "--ego4d-root", required=True, metavar="DIR", help="has v1/clips (or use --video-dir)"
    )
    parser.add_argument("--video-dir", metavar="DIR", help="clip videos (default <root>/v1/clips)")
    parser.add_argument("--out", metavar="DIR", help="cache directory (default <video-dir>_resized_<side>)")
    parser.add_argument("--short-side", type=int, default=320, help="short side in pixels (default 320)")
    parser.add_argument("--crf", type=int, default=28, help="x264 quality (default 28, as Ego4D)")
    parser.add_argument("--gop", type=int, help="keyframe interval in frames (default: x264's)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the exit code (2 on bad input)."""
    args = _parser().parse_args(argv)
    if args.short_side < 16:
        raise InputError(f"--short-side {args.short_side}: must be at least 16")
    configure_logging()
    video_dir = Path(args.video_dir) if args.video_dir else Path(args.ego4d_root) / "v1" / "clips"
    written, skipped = build_cache(
        video_dir, args.out, short_side=args.short_side, crf=args.crf, gop=args.gop
    )
    print(f"resized {written} clip(s), {skipped} already up to date")
    return 0


if __name__ == "__main__":
    sys.exit(guarded_main(main))
