"""structlog configuration: only here, and only when a command (or an embedding host) asks.

Console lines are pretty on a TTY and JSON lines otherwise (``log_format="auto"``), or forced
with ``console``/``json``; the console shows ``log_level`` and up (``info`` by default: no debug
lines). Every event from ``debug`` up is also appended, as one JSON line, to the ``log.jsonl`` of
each run directory it belongs to: the engine binds ``log_to`` (a tuple of directories) with
``structlog.contextvars`` around a run's work, so in a multi-run invocation (``--grid``) each run
directory holds exactly its own events, and a frozen baseline shared by several runs is logged
into each of them. Events without ``log_to`` go to ``log_file`` (if given). ``log_to`` never
reaches the console.

Library code never calls :func:`configure_logging`: embedding ego_cl leaves the host program's
logging alone unless the host calls it. Worker processes inherit the settings of the process that
configured logging (through the ``EGO_CL_LOGGING`` environment variable, since they are spawned).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import sys
from pathlib import Path
from typing import Any, Literal, TextIO

import structlog

__all__ = [
    "LOG_FORMATS",
    "LOG_LEVELS",
    "LogFormat",
    "LogLevel",
    "configure_logging",
    "configure_worker_logging",
]

LogFormat = Literal["auto", "console", "json"]
LogLevel = Literal["debug", "info", "warning", "error"]
LOG_FORMATS: tuple[str, ...] = ("auto", "console", "json")
LOG_LEVELS: tuple[str, ...] = ("debug", "info", "warning", "error")

_ENV = "EGO_CL_LOGGING"
_LOG_NAME = "log.jsonl"


class _RoutedJsonSink:
    """Appends each event as one JSON line to ``<d>/log.jsonl`` for every ``d`` in its
    ``log_to`` (removed from the event), or to ``default`` when it has none."""

    def __init__(self, default: Path | None):
        self.default = default
        self._files: dict[Path, TextIO] = {}
        self._warned: set[Path] = set()

    def __call__(self, _logger: Any, _name: str, event_dict: dict[str, Any]) -> dict[str, Any]:
        routes = event_dict.pop("log_to", None)
        if routes:  # run directories exist before their events; a wrong path never creates one
            paths = [Path(d) / _LOG_NAME for d in routes if Path(d).is_dir()]
        else:
            paths = [self.default] if self.default else []
        if paths:
            line = json.dumps(event_dict, default=str) + "\n"
            for path in paths:
                try:
                    self._file(path).write(line)
                except OSError as exc:  # e.g. a full disk: the run goes on, the line is dropped
                    self._write_failed(path, exc)
        return event_dict

    def _write_failed(self, path: Path, exc: OSError) -> None:
        fh = self._files.pop(path, None)
        if fh is not None:
            with contextlib.suppress(OSError):
                fh.close()
        if path not in self._warned:
            self._warned.add(path)
            print(f"warning: {path}: log lines not written ({exc.strerror or exc})", file=sys.stderr)

    def _file(self, path: Path) -> TextIO:
        if path not in self._files:
            if len(self._files) >= 64:  # a long grid: do not hold every run's file open
                for fh in self._files.values():
                    fh.close()
                self._files.clear()
            path.parent.mkdir(parents=True, exist_ok=True)
            self._files[path] = path.open("a", buffering=1)
        return self._files[path]


class _ConsoleLevel:
    """Drops events below the console level after the file sink has seen them."""

    def __init__(self, level: int):
        self.level = level

    def __call__(self, _logger: Any, _name: str, event_dict: dict[str, Any]) -> dict[str, Any]:
        name = str(event_dict.get("level", "info")).upper()
        if logging.getLevelNamesMapping().get(name, logging.INFO) < self.level:
            raise structlog.DropEvent
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


def _level_number(level: str) -> int:
    if level.lower() not in LOG_LEVELS:
        raise ValueError(f"unknown log level {level!r}; choose one of {list(LOG_LEVELS)}")
    return logging.getLevelNamesMapping()[level.upper()]


def configure_logging(
    level: str = "info",
    log_file: str | Path | None = None,
    stream: TextIO | None = None,
    pretty: bool | None = None,
    *,
    log_format: str = "auto",
) -> None:
    """Configure structlog for this process (call again to change it).

    Args:
        level: Minimum console level (``debug``, ``info``, ``warning``, ``error``); files get
            every event from ``debug`` up.
        log_file: Append JSON lines of events without a bound ``log_to`` to this file.
        stream: Where console lines go (default: the current ``sys.stderr`` at each write).
        pretty: Force console (True) or JSON (False) rendering; overrides ``log_format``.
        log_format: ``auto`` (console on a TTY, JSON otherwise), ``console`` or ``json``.

    Raises:
        ValueError: An unknown level or format.
    """
    if log_format not in LOG_FORMATS:
        raise ValueError(f"unknown log format {log_format!r}; choose one of {list(LOG_FORMATS)}")
    console_level = _level_number(level)
    stream = stream or _CurrentStderr()
    if pretty is None:
        pretty = stream.isatty() if log_format == "auto" else log_format == "console"
    os.environ[_ENV] = json.dumps({"level": level.lower(), "log_format": log_format})
    renderer = (
        structlog.dev.ConsoleRenderer(colors=stream.isatty())
        if pretty
        else structlog.processors.JSONRenderer(default=str)
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            _RoutedJsonSink(Path(log_file) if log_file is not None else None),
            _ConsoleLevel(console_level),
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.DEBUG),
        logger_factory=structlog.PrintLoggerFactory(file=stream),
        cache_logger_on_first_use=False,
    )


def configure_worker_logging(log_file: str | Path | None = None) -> None:
    """Configure a worker process like the process that started it (JSON console lines when
    nothing was configured there)."""
    inherited = json.loads(os.environ.get(_ENV) or "{}")
    configure_logging(
        level=inherited.get("level", "info"),
        log_file=log_file,
        log_format=inherited.get("log_format", "json"),
    )
