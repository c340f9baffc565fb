"""``python -m ego_cl.runners.resize``: build the resized-clip cache of an Ego4D root.

Every ``<video-dir>/<clip_uid>.mp4`` is re-encoded once to ``--short-side`` pixels into
``--out`` (default ``<video-dir>_resized_<side>``, which a run reads when ``data.use_cache`` is on
and ``data.cache_short_side`` is that side) by ``--workers`` processes (default: all cores), with
a progress line per file. Outputs at least as new as their source are skipped; each output is
written to a temporary name and renamed, so an interrupted run leaves only whole files and a rerun
resumes. A file that fails does not stop the others: the summary lists done / skipped / failed,
and the exit code is 1 naming the failed files.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

import structlog

from ego_cl.runners.cli import EXIT_FAILED, add_log_arguments, guarded_main, setup_logging
from ego_cl.runners.resizing import build_cache, print_progress
from ego_cl.types import InputError

__all__ = ["main"]

log = structlog.get_logger(__name__)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m ego_cl.runners.resize",
        description="Re-encode every clip once at a small short side (the resized-clip cache).",
    )
    parser.add_argument("--ego4d-root", metavar="DIR", help="has v1/clips or v2/clips (or give --video-dir)")
    parser.add_argument(
        "--video-dir", metavar="DIR", help="clip videos (default <root>/v1/clips or v2/clips)"
    )
    parser.add_argument("--out", metavar="DIR", help="cache directory (default <video-dir>_resized_<side>)")
    parser.add_argument("--short-side", type=int, default=320, help="short side in pixels (default 320)")
    parser.add_argument("--crf", type=int, default=28, help="x264 quality (default 28, as Ego4D)")
    parser.add_argument("--gop", type=int, help="keyframe interval in frames (default: x264's)")
    parser.add_argument("--workers", type=int, help="parallel processes (default: all cores)")
    add_log_arguments(parser)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the exit code (2 on bad input)."""
    args = _parser().parse_args(argv)
    if args.short_side < 16:
        raise InputError(f"--short-side {args.short_side}: must be at least 16")
    if args.workers is not None and args.workers < 1:
        raise InputError(f"--workers {args.workers}: must be at least 1")
    setup_logging(args)
    video_dir = _video_dir(args)
    summary = build_cache(
        video_dir,
        args.out,
        short_side=args.short_side,
        crf=args.crf,
        gop=args.gop,
        workers=args.workers,
        on_file=print_progress,
    )
    print(summary.describe())
    for name, reason in sorted(summary.failed.items()):
        print(f"FAILED {name}: {reason}")
    return EXIT_FAILED if summary.failed else 0


def _video_dir(args: argparse.Namespace) -> Path:
    if args.video_dir:
        return Path(args.video_dir)
    if not args.ego4d_root:
        raise InputError("give --ego4d-root or --video-dir")
    root = Path(args.ego4d_root)
    found = [root / v / "clips" for v in ("v1", "v2") if (root / v / "clips").is_dir()]
    if len(found) > 1:
        raise InputError(f"{root}: both v1/clips and v2/clips exist; choose one with --video-dir")
    return found[0] if found else root / "v1" / "clips"


if __name__ == "__main__":
    sys.exit(guarded_main(main))
