"""``run.copy_final_to``: copy a run's final summary files to a second location (seed notes).

Copied (those that exist): ``config.yaml``, ``summary.json``, ``summary.csv``, ``summary.md``,
``summary.tex`` and the ``report/`` directory (tables, CSVs, plots), into
``<copy_final_to>/<experiment>/<run directory name>/``. Prediction logs, checkpoints and learner
states stay in the run directory. Each file is copied to a temporary name and renamed, so a
reader of the second location never sees half a file; copying again replaces older copies.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import structlog

from ego_cl.runners.results import RunDir

__all__ = ["FINAL_FILES", "copy_final", "final_destination"]

log = structlog.get_logger(__name__)

FINAL_FILES = ("config.yaml", "summary.json", "summary.csv", "summary.md", "summary.tex")
"""Files of the run directory that are copied; plus everything under ``report/``."""


def final_destination(run_dir: Path, copy_to: str | Path, experiment: str) -> Path:
    """``<copy_to>/<experiment>/<run directory name>``.

    Example:
        >>> final_destination(Path("runs/exp/2025-01-01_00-00-00_defaults"), "/backup", "exp").as_posix()
        '/backup/exp/2025-01-01_00-00-00_defaults'
    """
    return Path(copy_to) / experiment / Path(run_dir).name


def _copy_file(source: Path, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.tmp-{os.getpid()}")
    shutil.copy2(source, tmp)
    os.replace(tmp, target)


def copy_final(run_dir: str | Path, copy_to: str | Path, *, experiment: str) -> list[Path]:
    """Copy the final summary files of ``run_dir``; returns the written paths.

    Raises:
        OSError: The destination cannot be written (the run directory is never touched).
    """
    run_dir = Path(run_dir)
    dest = final_destination(run_dir, copy_to, experiment)
    if dest.resolve() == run_dir.resolve():
        return []
    written = []
    for name in FINAL_FILES:
        if (run_dir / name).is_file():
            _copy_file(run_dir / name, dest / name)
            written.append(dest / name)
    report = RunDir(run_dir).report
    if report.is_dir():
        for source in sorted(p for p in report.rglob("*") if p.is_file() and not p.name.startswith(".")):
            target = RunDir(dest).report / source.relative_to(report)
            _copy_file(source, target)
            written.append(target)
    log.info("final_files_copied", run_dir=str(run_dir), destination=str(dest), n_files=len(written))
    return written
