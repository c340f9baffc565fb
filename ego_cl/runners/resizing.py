"""Building the resized-clip cache (the engine behind ``python -m ego_cl.runners.resize``).

Every ``<video_dir>/*.mp4`` without an up-to-date copy (at least as new as its source) is
re-encoded by :func:`ego_cl.data.cache.resize_video` in a pool of ``workers`` processes (spawned;
``workers=1`` runs in this process). Each copy is written to a temporary name and renamed, so an
interrupted build leaves only whole files and a rerun resumes where it stopped. A file that fails
is recorded and the others continue; :class:`ResizeSummary` says what was done, skipped and failed.
"""

from __future__ import annotations

import multiprocessing
import os
import sys
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path

import attrs
import structlog

from ego_cl.data.cache import cache_dir_for, resize_video
from ego_cl.runners.files import atomic_write_bytes
from ego_cl.types import InputError

__all__ = ["ResizeSummary", "build_cache"]

log = structlog.get_logger(__name__)


@attrs.frozen(kw_only=True)
class ResizeSummary:
    """What a cache build did.

    Attributes:
        out_dir: The cache directory.
        done: File names re-encoded now.
        skipped: File names whose copy was already up to date.
        failed: File name -> one-line reason.
    """

    out_dir: str
    done: tuple[str, ...] = ()
    skipped: tuple[str, ...] = ()
    failed: dict[str, str] = attrs.field(factory=dict)

    def describe(self) -> str:
        """One line: ``resized 3 clip(s), 5 already up to date, 1 failed``."""
        return (
            f"resized {len(self.done)} clip(s), {len(self.skipped)} already up to date, "
            f"{len(self.failed)} failed ({self.out_dir})"
        )


def _up_to_date(src: Path, dst: Path) -> bool:
    return dst.is_file() and dst.stat().st_mtime >= src.stat().st_mtime


def resize_one(src: str, dst: str, short_side: int, crf: int, gop: int | None) -> str | None:
    """Re-encode one clip into ``dst`` atomically; returns ``None`` or a one-line failure reason
    (module level: the pool target)."""
    try:
        atomic_write_bytes(Path(dst), resize_video(src, short_side=short_side, crf=crf, gop=gop))
    except (InputError, OSError) as exc:
        return str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return None


def build_cache(
    video_dir: str | Path,
    out_dir: str | Path | None = None,
    *,
    short_side: int = 320,
    crf: int = 28,
    gop: int | None = None,
    workers: int | None = None,
    on_file: Callable[[str, str, int, int], None] | None = None,
) -> ResizeSummary:
    """Resize every video of ``video_dir`` that has no up-to-date copy in ``out_dir``.

    Args:
        video_dir: The source clips.
        out_dir: The cache (default ``<video_dir>_resized_<short_side>``).
        short_side: Target short side in pixels.
        crf: x264 quality.
        gop: Keyframe interval in frames (``None`` = x264's default).
        workers: Processes (default: all cores; 1 = in this process).
        on_file: Called with ``(file name, "done" | "failed", finished, to do)`` as each file
            finishes (progress; skipped files are not reported one by one).

    Raises:
        InputError: ``video_dir`` is not a directory.
    """
    src_dir = Path(video_dir)
    if not src_dir.is_dir():
        raise InputError(f"{src_dir}: no such video directory")
    out = Path(out_dir) if out_dir is not None else cache_dir_for(src_dir, short_side)
    todo, skipped = [], []
    for src in sorted(src_dir.glob("*.mp4")):
        (skipped if _up_to_date(src, out / src.name) else todo).append(src)
    workers = max(1, min(workers or os.cpu_count() or 1, len(todo) or 1))
    started = time.perf_counter()
    done, failed = [], {}

    def finish(name: str, error: str | None) -> None:
        (done.append(name) if error is None else failed.__setitem__(name, error))
        if error is not None:
            log.error("clip_resize_failed", clip=name, error=error)
        if on_file is not None:
            on_file(name, "done" if error is None else "failed", len(done) + len(failed), len(todo))

    args = [(str(src), str(out / src.name), short_side, crf, gop) for src in todo]
    if workers == 1:
        for a in args:
            finish(Path(a[0]).name, resize_one(*a))
    else:
        context = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
            futures = {pool.submit(resize_one, *a): Path(a[0]).name for a in args}
            for future in as_completed(futures):
                try:
                    error = future.result()
                except Exception as exc:
                    error = f"worker failed ({type(exc).__name__}: {exc})"
                finish(futures[future], error)
    summary = ResizeSummary(
        out_dir=str(out), done=tuple(sorted(done)), skipped=tuple(p.name for p in skipped), failed=failed
    )
    log.info(
        "cache_built",
        out_dir=str(out),
        done=len(done),
        skipped=len(skipped),
        failed=len(failed),
        workers=workers,
        seconds=round(time.perf_counter() - started, 1),
    )
    return summary


def print_progress(name: str, status: str, finished: int, total: int) -> None:
    """A progress line on stderr per finished file (``[3/10] clip.mp4 done``; one updating line on a
    terminal)."""
    end = "\n" if finished == total or not sys.stderr.isatty() else "\r"
    print(f"[{finished}/{total}] {name} {status}", end=end, file=sys.stderr, flush=True)
