"""The worker side of the process pool, and the types both sides share.

A worker (:func:`worker_main`, started by :mod:`~ego_cl.runners.engine.pool`, forked from its fork
server or spawned) arms its lifeline (dies with the parent, ignores Ctrl-C), takes the pool
process's environment and standard streams (:class:`StandardStreams`; a fork server's are those of
the moment it started), configures logging, threads and its device, then runs the jobs it receives
on its task queue until told to stop, asked to retire or orphaned. Messages back to the pool are
:class:`Progressed` and :class:`Finished`. A set-up error (e.g. a device that cannot be used) is
reported as the outcome of the job it was given, with its traceback, instead of a bare exit code.
"""

from __future__ import annotations

import gc
import os
import queue
import sys
import time
import traceback
from collections.abc import Callable
from multiprocessing import reduction
from typing import Any

import attrs
import structlog
import torch

from ego_cl.runners.engine.lifeline import (
    die_with_parent,
    ignore_interrupts,
    keep_console_stderr,
    native_stderr_to,
    parent_alive,
    release_fork_server,
)
from ego_cl.runners.heap import own_process
from ego_cl.runners.logs import configure_worker_logging

__all__ = [
    "Finished",
    "Job",
    "Outcome",
    "Progressed",
    "Report",
    "StandardStreams",
    "Target",
    "attempt",
    "worker_main",
]

Report = Callable[[int, int], None]
"""``report(n_done, n_total)``: progress of the running job, in samples."""

Target = Callable[[Any, str, Report], dict[str, Any]]
"""``target(payload, device, report) -> result dict``; must be a module-level function."""


@attrs.frozen(kw_only=True)
class Job:
    """One unit of work (a user stream).

    Attributes:
        key: Unique name, e.g. ``"users/68"`` or ``"baseline/68"``.
        size: Work estimate (stream length); larger jobs start first.
        payload: Picklable argument of the target.
        stderr_path: File that receives the worker's stderr while it runs this job (read back
            into the outcome when the worker dies hard), or ``None``.
    """

    key: str
    size: int
    payload: Any
    stderr_path: str | None = None


@attrs.frozen(kw_only=True)
class Outcome:
    """What became of one job.

    Attributes:
        key: The job's key.
        ok: Whether the target returned.
        result: The target's result dict (``None`` on failure).
        error: One-line error (exception or exit signal).
        traceback: The formatted traceback; for a hard death the tail of the worker's stderr.
        exit_code: Exit code of a worker that died, else ``None``.
        device: Where it ran.
    """

    key: str
    ok: bool
    result: dict[str, Any] | None = None
    error: str | None = None
    traceback: str | None = None
    exit_code: int | None = None
    device: str = "cpu"


def attempt(job: Job, target: Target, device: str, report: Report) -> Outcome:
    with structlog.contextvars.bound_contextvars(job=job.key):
        try:
            result = target(job.payload, device, report)
        except Exception as exc:  # a failing user is a result, not a crash of the pool
            return Outcome(
                key=job.key,
                ok=False,
                error=f"{type(exc).__name__}: {exc}",
                traceback=traceback.format_exc(),
                device=device,
            )
    return Outcome(key=job.key, ok=True, result=result, device=device)


def worker_main(
    slot: int,
    device: str,
    threads: int,
    recycle_after: int,
    log_file: str | None,
    target: Target,
    tasks: Any,
    results: Any,
    parent_pid: int | None = None,
    environ: dict[str, str] | None = None,
    streams: tuple[int, int] | None = None,
) -> None:
    die_with_parent(parent_pid)
    forked = release_fork_server()  # the server exits with the pool's process, and this with it
    ignore_interrupts()  # Ctrl-C reaches the whole process group; the parent stops this worker
    adopt_parent_context(environ, streams)
    keep_console_stderr()  # log lines stay on the console; descriptor 2 goes to the user's file
    own_process()  # this process is ego_cl's: loaded inputs may be frozen out of the GC
    if forked:  # the server's imports live as long as this process: a collection that walked
        gc.freeze()  # them would copy every page they share with the server (about 0.2 s)
    setup_error = None
    try:
        configure_worker_logging(log_file)
        structlog.contextvars.bind_contextvars(slot=slot, device=device, pid=os.getpid())
        torch.set_num_threads(threads)
        if device.startswith("cuda"):
            torch.cuda.set_device(torch.device(device))
    except Exception as exc:  # e.g. a device that cannot be used: every job says why, not "exit code 1"
        setup_error = (
            f"worker set-up on {device} failed: {type(exc).__name__}: {exc}",
            traceback.format_exc(),
        )
    for n_done in range(1, recycle_after + 1):
        job = _next_job(tasks, parent_pid)
        if job is None:
            return
        if setup_error is not None:
            outcome = Outcome(
                key=job.key, ok=False, error=setup_error[0], traceback=setup_error[1], device=device
            )
            results.put(Finished(slot=slot, outcome=outcome, retiring=True))
            return
        report = Reporter(results, slot, job.key, parent_pid)
        with native_stderr_to(job.stderr_path):
            outcome = attempt(job, target, device, report)
        results.put(Finished(slot=slot, outcome=outcome, retiring=n_done >= recycle_after))


class StandardStreams:
    """The starting process's standard output and error, handed to a worker as it starts.

    Pickled only while a worker starts (its descriptors travel with the process, as its queues'
    do); unpickled in the worker as ``(stdout_fd, stderr_fd)`` for :func:`adopt_parent_context`.
    """

    def __reduce__(self):
        return _received_fds, (reduction.DupFd(1), reduction.DupFd(2))


def _received_fds(stdout: Any, stderr: Any) -> tuple[int, int]:
    return stdout.detach(), stderr.detach()


def adopt_parent_context(environ: dict[str, str] | None, streams: tuple[int, int] | None) -> None:
    """This worker's environment and descriptors 1 and 2 become those the pool passed (a forked
    worker would otherwise keep its fork server's, from when the server started)."""
    if environ is not None and environ != dict(os.environ):
        os.environ.clear()
        os.environ.update(environ)
    for fd, target in zip(streams or (), (1, 2), strict=False):
        if fd != target:
            (sys.stdout if target == 1 else sys.stderr).flush()
            os.dup2(fd, target)
            os.close(fd)


def _next_job(tasks: Any, parent_pid: int | None, poll_s: float = 1.0) -> Job | None:
    """The next job, or ``None`` to stop (asked to, or the parent is gone)."""
    while True:
        if parent_pid is not None and not parent_alive(parent_pid):
            return None
        try:
            return tasks.get(timeout=poll_s)
        except queue.Empty:
            continue


@attrs.frozen(kw_only=True)
class Progressed:
    """Worker → master: ``done`` of ``total`` samples of job ``key`` on ``slot``."""

    slot: int
    key: str
    done: int
    total: int


@attrs.frozen(kw_only=True)
class Finished:
    """Worker → master: the outcome of the job on ``slot``; ``retiring``: the worker exits next."""

    slot: int
    outcome: Outcome
    retiring: bool


class Reporter:
    """Progress messages from a worker, at most two per second."""

    def __init__(self, results: Any, slot: int, key: str, parent_pid: int | None = None):
        self.results, self.slot, self.key, self.last = results, slot, key, 0.0
        self.parent_pid = parent_pid

    def __call__(self, done: int, total: int) -> None:
        if self.parent_pid is not None and not parent_alive(self.parent_pid):
            os._exit(1)  # orphaned mid-job (no parent-death signal here): stop writing at once
        now = time.monotonic()
        if now - self.last > 0.5 or done >= total:
            self.last = now
            self.results.put(Progressed(slot=self.slot, key=self.key, done=done, total=total))
