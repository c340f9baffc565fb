"""Stopping a run on purpose: ``SIGTERM`` like Ctrl-C, and the command that continues it.

SLURM, ``kill`` and container runtimes send ``SIGTERM``; a terminal sends ``SIGINT`` to the
whole process group. Both stop a run the same way: the pool stops its workers (they ignore
``SIGINT`` themselves), every user keeps its last checkpoint, and the command prints the exact
``--resume`` command and exits with ``128 + signal`` (130 for Ctrl-C, 143 for ``SIGTERM``).

:func:`sigterm_interrupts` turns ``SIGTERM`` into :class:`Terminated` (a ``KeyboardInterrupt``,
so every ``except KeyboardInterrupt`` cleanup runs) while a command runs; the engine attaches the
resume command to the interrupt on its way out (:func:`resumable`), and
:func:`~ego_cl.runners.cli.guarded_main` prints it (``exc.signum``, ``exc.resume``).
"""

from __future__ import annotations

import contextlib
import shlex
import signal
from collections.abc import Iterator, Sequence
from pathlib import Path

__all__ = ["Terminated", "resumable", "resume_command", "sigterm_interrupts"]


class Terminated(KeyboardInterrupt):
    """The process received ``SIGTERM``; stops the run like Ctrl-C does."""

    signum = signal.SIGTERM


def _raise_terminated(signum: int, frame: object) -> None:
    del frame
    signal.signal(signal.SIGTERM, signal.SIG_IGN)  # a second SIGTERM must not break the clean-up
    raise Terminated(signal.Signals(signum).name)


@contextlib.contextmanager
def sigterm_interrupts() -> Iterator[None]:
    """While inside, ``SIGTERM`` raises :class:`Terminated` in the main thread (no-op elsewhere)."""
    try:
        previous = signal.signal(signal.SIGTERM, _raise_terminated)
    except ValueError:  # not the main thread: leave signals to whoever owns them
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def resume_command(run_dir: str | Path, before: Sequence[str] = (), after: Sequence[str] = ()) -> str:
    """The shell command that continues ``run_dir`` (quoted, absolute path).

    Example:
        >>> resume_command("/runs/a b")
        "python -m ego_cl.runners.stream --resume '/runs/a b'"
    """
    words = [
        "python",
        "-m",
        "ego_cl.runners.stream",
        *before,
        "--resume",
        str(Path(run_dir).absolute()),
        *after,
    ]
    return shlex.join(words)


@contextlib.contextmanager
def resumable(command: str) -> Iterator[None]:
    """An interrupt leaving this block carries ``command`` (``.resume``), unless it already has one."""
    try:
        yield
    except KeyboardInterrupt as exc:
        if getattr(exc, "resume", None) is None:
            exc.resume = command  # type: ignore[attr-defined]
        raise
