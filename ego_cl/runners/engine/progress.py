"""Progress of a stream run: rich bars (overall + one per slot) on a TTY, log lines otherwise.

Either way, every finished user gets one canonical ``user_finished`` (or ``user_failed``) log
line with its headline metrics.
"""

from __future__ import annotations

import re
import sys
from typing import Any

import structlog

__all__ = ["LABEL_WIDTH", "Progress", "slot_label"]

log = structlog.get_logger(__name__)

LABEL_WIDTH = 34
"""Characters of a bar's label: with a 20-column bar, ``12345/12345`` and ``0:00:00`` a row
takes at most 76 columns, so it fits an 80-column terminal."""

BAR_WIDTH = 20

_UNPRINTABLE = re.compile(r"[^\x20-\x7e]")
_STAMP = re.compile(r"^\d{4}-\d\d-\d\d_\d\d-\d\d-\d\d_")


def slot_label(slot: int, key: str, width: int = LABEL_WIDTH) -> str:
    """A slot's bar label from its job key: slot, role, user and (grids) the combination,
    printable ASCII only, shortened to ``width`` characters (the end gives way to ``...``).

    Example:
        >>> slot_label(0, "users/P01@2025-01-01_00-00-00_learner.kind=replay")
        '0 P01 learner.kind=replay'
        >>> slot_label(3, "baseline/5430eb3b600e6af0/P01")
        '3 P01 baseline'
        >>> len(slot_label(1, "users/" + "x" * 200 + "@GRID_learner.lr=0.1"))
        34
    """
    role, _, rest = key.partition("/")
    if role == "baseline":
        label = f"{slot} {rest.rpartition('/')[2]} baseline"
    else:
        user, _, run = rest.partition("@")
        run = _STAMP.sub("", run).removeprefix("GRID_")
        label = f"{slot} {user} {run}".rstrip()
    label = _UNPRINTABLE.sub("?", label)  # one column per character: wide or control ones are replaced
    return label if len(label) <= width else label[: width - 3] + "..."


_HEADLINE = ("online/action/balanced_top1", "online/verb/balanced_top1", "online/noun/balanced_top1")


class Progress:
    """Context manager fed by the pool's callbacks.

    Args:
        total: Number of jobs.
        pretty: rich bars (True) or log lines only (False); default: whether stderr is a TTY.
    """

    def __init__(self, total: int, pretty: bool | None = None, console: Any = None):
        self.total = total
        self.pretty = sys.stderr.isatty() if pretty is None else pretty
        self.console = console
        self._bars: Any = None
        self._overall: Any = None
        self._slots: dict[int, Any] = {}

    def __enter__(self) -> Progress:
        if self.pretty:
            # rich is imported only for a terminal (workers and piped runs never need it)
            from rich.progress import BarColumn, MofNCompleteColumn, TimeElapsedColumn
            from rich.progress import Progress as Bars  # (same reason)

            self._bars = Bars(  # label, bar, n/m and time fit in 80 columns (LABEL_WIDTH)
                "[progress.description]{task.description}",
                BarColumn(bar_width=BAR_WIDTH),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                console=self.console,
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
        self._bars.update(self._slots[slot], completed=done, total=total, description=slot_label(slot, key))

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
