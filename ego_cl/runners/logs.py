"""structlog configuration: once per process, only here.

Pretty console output on a TTY, JSON lines otherwise, and optionally a JSON-lines file inside
a run directory. Context (``run_id``, ``user_id``, ``device``) is bound with
``structlog.contextvars`` where it becomes true, so library log lines carry it.
"""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path
from typing import Any, TextIO

import structlog

__all__ = ["configure_logging"]


class _JsonFileSink:
    """Appends each event as one JSON line to a file (opened lazily, line-buffered)."""

    def __init__(self, path: Path):
        self.path = path
        self._fh: TextIO | None = None

    def __call__(self, _logger: Any, _name: str, event_dict: dict[str, Any]) -> dict[str, Any]:
        if self._fh is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._fh = self.path.open("a", buffering=1)
        self._fh.write(json.dumps(event_dict, default=str) + "\n")
        return event_dict


class _CurrentStderr:
    """Writes to whatever ``sys.stderr`` is at write time (it may be swapped after configuring,
    e.g. by pytest's capture or a daemon's redirection), never to a stale, closed stream."""

    def write(self, text: str) -> int:
        return sys.stderr.write(text)

    def flush(self) -> None:
        sys.stderr.flush()

    def isatty(self) -> bool:
        return sys.stderr.isatty()


def configure_logging(
    level: str = "info",
    log_file: str | Path | None = None,
    stream: TextIO | None = None,
    pretty: bool | None = None,
) -> None:
    """Configure structlog for this process (call again to change the log file).

    Args:
        level: Minimum level name (``debug``, ``info``, ``warning``, ``error``).
        log_file: Also append JSON lines to this file (e.g. ``<run dir>/log.jsonl``).
        stream: Where console lines go (default: the current ``sys.stderr`` at each write).
        pretty: Force console (True) or JSON (False) rendering; default: console on a TTY.
    """
    stream = stream or _CurrentStderr()
    if pretty is None:
        pretty = stream.isatty()
    processors: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.processors.format_exc_info,
    ]
    if log_file is not None:
        processors.append(_JsonFileSink(Path(log_file)))
    renderer = (
        structlog.dev.ConsoleRenderer(colors=stream.isatty())
        if pretty
        else structlog.processors.JSONRenderer(default=str)
    )
    processors.append(renderer)
    structlog.configure(
        processors=processors,
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelNamesMapping()[level.upper()]),
        logger_factory=structlog.PrintLoggerFactory(file=stream),
        cache_logger_on_first_use=False,
    )
