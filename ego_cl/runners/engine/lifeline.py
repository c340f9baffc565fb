"""Process lifetime of pool and decode workers: die with the parent, stop quietly, keep stderr.

* :func:`die_with_parent`: on Linux the kernel sends ``SIGKILL`` when the parent dies
  (``prctl(PR_SET_PDEATHSIG)``); everywhere, :func:`parent_alive` is the liveness check a worker
  polls between jobs and on progress. A worker forked from a fork server has the server as its
  parent; the server exits when the pool's process dies (once :func:`release_fork_server` let go
  of its pipe), and the worker with it. After ``kill -9`` of a run no worker keeps running (and
  holding GPU memory, and writing).
* Ctrl-C goes to the whole process group: workers ignore ``SIGINT`` and the parent stops them.
  :func:`interrupts_blocked` blocks ``SIGINT`` in the parent while a worker is started, so the
  child begins with it blocked (the mask survives fork and exec), turns it to ``SIG_IGN`` in
  :func:`ignore_interrupts` and only then unblocks it: an interrupt during worker start-up prints
  no traceback from the worker (the parent handles it as usual).
* :func:`native_stderr_to`: a worker's file descriptor 2 (C/C++ messages, CUDA errors, the
  ``faulthandler`` dump of a crash) goes to a file in the user directory while it runs that
  user; :func:`stderr_tail` reads the end of it for ``FAILED.json`` when the worker died hard.
"""

from __future__ import annotations

import contextlib
import ctypes
import faulthandler
import multiprocessing.forkserver
import os
import signal
import sys
from collections.abc import Iterator
from pathlib import Path

__all__ = [
    "decode_worker_init",
    "die_with_parent",
    "ignore_interrupts",
    "interrupts_blocked",
    "keep_console_stderr",
    "native_stderr_to",
    "parent_alive",
    "release_fork_server",
    "stderr_tail",
]

_PR_SET_PDEATHSIG = 1


def die_with_parent(parent_pid: int | None) -> bool:
    """Ask the kernel to ``SIGKILL`` this process when its parent dies (Linux); exit at once if
    the parent is already gone. Returns whether the parent-death signal is armed."""
    armed = False
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            libc = ctypes.CDLL(None, use_errno=True)
            armed = libc.prctl(_PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0) == 0
    if parent_pid is not None and not parent_alive(parent_pid):
        os._exit(1)  # the parent died before the signal was armed
    return armed


def release_fork_server() -> bool:
    """Close the copy of the fork server's "alive" pipe that a process forked by the server holds;
    returns whether this process was forked by a fork server.

    multiprocessing's fork server exits when the last writer of that pipe closes it: the process
    that started the server, and every process the server forked. Released by each worker, the
    pipe closes when the pool's process dies, so the server exits and its workers get their
    parent-death signal at once (not at their next liveness check, which a long batch delays).
    Nothing happens in a process the server did not fork. The descriptor lives in a private
    attribute of ``multiprocessing.forkserver`` (Python 3.10 to 3.13); where it is missing, the
    liveness check still stops the worker.
    """
    server = getattr(multiprocessing.forkserver, "_forkserver", None)
    fd = getattr(server, "_forkserver_alive_fd", None)
    if fd is None or getattr(server, "_forkserver_pid", None) is not None:
        return False  # not forked by a server (the process that started one holds its pid)
    with contextlib.suppress(OSError):
        os.close(fd)
    server._forkserver_alive_fd = None
    return True


def parent_alive(parent_pid: int) -> bool:
    """Whether the process that started this one is alive: it is still this process's parent, or
    it is the parent of this process's parent, a fork server it started (an orphan is re-parented,
    and so is the fork server, which exits with the process that started it)."""
    parent = os.getppid()
    if parent == parent_pid:
        return True
    if parent <= 1:
        return False
    grandparent = _parent_of(parent)
    if grandparent is not None:
        return grandparent == parent_pid
    return _exists(parent_pid)  # no /proc: the starting process still exists


def _parent_of(pid: int) -> int | None:
    """The parent of process ``pid`` (Linux ``/proc``; ``None`` elsewhere or when it is gone)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return int(stat.rsplit(")", 1)[1].split()[1])  # the name, in parentheses, may hold spaces


def _exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def ignore_interrupts() -> None:
    """``SIGINT`` ignored (the parent stops this worker), then unblocked (any pending one is dropped)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})


@contextlib.contextmanager
def interrupts_blocked() -> Iterator[None]:
    """Block ``SIGINT`` in this thread while starting a worker, so the worker starts with it
    blocked (a Ctrl-C to this process is still handled here, by this or another thread)."""
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


def decode_worker_init(worker_id: int) -> None:
    """``worker_init`` of a pool worker's DataLoader decode workers: die with the pool worker,
    leave Ctrl-C to it."""
    del worker_id
    die_with_parent(os.getppid())
    ignore_interrupts()


def keep_console_stderr() -> None:
    """Point ``sys.stderr`` at a copy of descriptor 2, so Python-level output (log lines) still
    reaches the console after :func:`native_stderr_to` moves descriptor 2 to a file."""
    sys.stderr.flush()
    sys.stderr = os.fdopen(os.dup(2), "w", buffering=1, encoding="utf-8", errors="replace")


@contextlib.contextmanager
def native_stderr_to(path: str | Path | None) -> Iterator[None]:
    """Send descriptor 2 and crash dumps (``faulthandler``) to ``path`` (appended) meanwhile.

    The file is removed afterwards when it stayed empty. ``None``, or a file that cannot be
    created: no redirection.
    """
    fh = None
    if path is not None:
        path = Path(path)
        with contextlib.suppress(OSError):  # no file (a full disk): stderr stays, the job still runs
            path.parent.mkdir(parents=True, exist_ok=True)
            fh = path.open("ab")
    if fh is None:
        yield
        return
    saved = os.dup(2)
    with fh:
        os.dup2(fh.fileno(), 2)
        faulthandler.enable(file=fh, all_threads=True)
        try:
            yield
        finally:
            faulthandler.disable()
            os.dup2(saved, 2)
            os.close(saved)
    with contextlib.suppress(OSError):
        if path.stat().st_size == 0:
            path.unlink()


def stderr_tail(path: str | Path | None, max_bytes: int = 4000) -> str | None:
    """The last ``max_bytes`` of a worker's stderr file (``None`` when there is none or it is empty)."""
    if path is None:
        return None
    try:
        with Path(path).open("rb") as fh:
            fh.seek(0, os.SEEK_END)
            fh.seek(max(0, fh.tell() - max_bytes))
            text = fh.read().decode(errors="replace")
    except OSError:
        return None
    return text.strip() or None
