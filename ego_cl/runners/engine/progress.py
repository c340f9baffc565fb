"""Progress of a stream run: rich bars (overall + one per slot) on a TTY, log lines otherwise.

Either way, every finished user gets one canonical ``user_finished`` (or ``user_failed``) log
line with its headline metrics.
"""

from __future__ import annotations

import sys
from typing import Any

import structlog

__all__ = ["Progress"]

log = structlog.get_logger(__name__)

_HEADLINE = ("online/action/balanced_top1", "online/verb/balanced_top1", "online/noun/balanced_top1")


class Progress:
    """Context manager fed by the pool's callbacks.

    Args:
        total: Number of jobs.
        pretty: rich bars (True) or log lines only (False); default: whether stderr is a TTY.
    """

    def __init__(self, total: int, pretty: bool | None = None):
        self.total = total
        self.pretty = sys.stderr.isatty() if pretty is None else pretty
        self._bars: Any = None
        self._overall: Any = None
        self._slots: dict[int, Any] = {}

    def __enter__(self) -> Progress:
        if self.pretty:
            # rich is imported only for a terminal (workers and piped runs never need it)
            from rich.progress import BarColumn, MofNCompleteColumn, TimeElapsedColumn
            from rich.progress import Progress as Bars  # (same reason)

            self._bars = Bars(
                "[progress.description]{task.description}",
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
            )
            self._bars.start()
            self._overall = self._bars.add_task("users", total=self.total)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._bars is not None:
            self._bars.stop()

    def update(self, slot: int, key: str, done: int, total: int) -> None:
        """A worker reports ``done`` of ``total`` samples of job ``key``."""
        if self._bars is None:
            return
        if slot not in self._slots:
            self._slots[slot] = self._bars.add_task(f"slot {slot}", total=total)
        self._bars.update(self._slots[slot], completed=done, total=total, description=f"slot {slot}: {key}")

    def finished(self, outcome: Any, job: Any) -> None:
        """One line per finished (or failed) user."""
        if self._bars is not None:
            self._bars.advance(self._overall)
        if not outcome.ok:
            log.error(
                "user_failed", user_id=job.user_id, role=job.role, error=outcome.error, user_dir=job.user_dir
            )
            return
        result = outcome.result or {}
        metrics = result.get("metrics", {})
        log.info(
            "user_finished",
            user_id=job.user_id,
            role=job.role,
            learner=job.learner.kind,
            n_samples=result.get("n_samples"),
            seconds=result.get("seconds"),
            **{
                name.split("/")[1] + "_balanced_top1": round(metrics.get(name, float("nan")), 2)
                for name in _HEADLINE
            },
        )
