"""A hand-written process pool over device slots: one user stream per job.

Slots are ``devices x users_per_device``. Each slot holds one non-daemon worker process (so
DataLoader workers may start inside it) that configures logging, pins its device, limits its
threads and runs jobs it receives on its own task queue; results, failure records and
progress come back on one shared queue.

Workers are forked from a fork server (:mod:`~ego_cl.runners.engine.fork_server`: on Linux, for
CPU slots) or spawned. Either way a worker gets this process's environment and standard output
and error as they are when it starts.

A job that raises is reported with its error and traceback; a worker that dies hard (segfault,
SIGKILL, OOM kill) is detected, its job is reported failed with the exit code and the tail of its
stderr file (``Job.stderr_path``), and a fresh process takes the slot. Workers retire after
``recycle_after`` jobs (GPU memory creep). ``processes=0`` runs the jobs in this process.

Workers never outlive the pool (:mod:`~ego_cl.runners.engine.lifeline`): they die with this
process (parent-death signal, and a liveness check between jobs and on progress), ignore Ctrl-C
(the whole process group gets it; this process stops them, quietly) and are terminated, then
killed, when the pool stops on an interrupt or ``SIGTERM``.
"""

from __future__ import annotations

import contextlib
import os
import queue
import signal
from collections import deque
from collections.abc import Callable, Sequence
from typing import Any

import attrs
import structlog
import torch
import torch.multiprocessing as mp

from ego_cl.runners.engine.fork_server import start_fork_server, start_method
from ego_cl.runners.engine.lifeline import interrupts_blocked, stderr_tail
from ego_cl.runners.engine.pool_worker import (
    Finished,
    Job,
    Outcome,
    Progressed,
    Report,
    StandardStreams,
    Target,
    attempt,
    worker_main,
)

__all__ = ["Job", "Outcome", "Report", "available_cores", "run_jobs", "slot_devices", "slot_threads"]

log = structlog.get_logger(__name__)


def slot_devices(devices: Sequence[str], users_per_device: int) -> list[str]:
    """Device of every slot, round-robin over devices.

    Example:
        >>> slot_devices(["cuda:0", "cuda:1"], 2)
        ['cuda:0', 'cuda:1', 'cuda:0', 'cuda:1']
    """
    return [d for _ in range(users_per_device) for d in devices]


def slot_threads(cores: int, slots: int, decode_workers: int = 0) -> int:
    """Default torch threads of one slot: its share of the cores minus its decode processes.

    Each decode worker process uses one core (1 torch thread, 1 decoder thread), so a slot's
    busy threads are ``threads + decode_workers`` and all slots together stay within ``cores``
    (oversubscribing 2 cores made training steps up to 5x slower). At least 1.

    Examples:
        >>> slot_threads(2, 1, decode_workers=1)
        1
        >>> slot_threads(16, 2, decode_workers=2)
        6
        >>> slot_threads(2, 2, decode_workers=1)
        1
    """
    return max(1, cores // max(slots, 1) - decode_workers)


def run_jobs(
    jobs: Sequence[Job],
    target: Target,
    *,
    devices: Sequence[str] = ("cpu",),
    users_per_device: int = 1,
    processes: int | None = None,
    recycle_after: int = 8,
    threads_per_slot: int | None = None,
    decode_workers: int = 0,
    method: str = "auto",
    log_file: str | None = None,
    on_outcome: Callable[[Outcome], None] | None = None,
    on_progress: Callable[[int, str, int, int], None] | None = None,
) -> list[Outcome]:
    """Run every job, largest first; never raises for a failing job.

    Args:
        jobs: The jobs (unique keys).
        target: Module-level function run for each job.
        devices: Device names, e.g. ``["cpu"]`` or ``["cuda:0", "cuda:1"]``.
        users_per_device: Concurrent jobs per device.
        processes: ``None`` = one process per slot; ``0`` = in this process; ``n`` = at most n
            processes.
        recycle_after: Replace a worker after this many jobs.
        threads_per_slot: torch threads per worker (default: :func:`slot_threads`, i.e. CPU
            cores / slots minus ``decode_workers``, at least 1).
        decode_workers: Decode worker processes each job starts (for the default thread count).
        method: How workers start: ``"auto"``, ``"forkserver"`` or ``"spawn"`` (:func:`start_method`).
        log_file: JSON-lines log file workers append to.
        on_outcome: Called in this process as each job finishes or fails.
        on_progress: ``on_progress(slot, key, n_done, n_total)`` as workers report.

    Returns:
        One :class:`Outcome` per job, in completion order.
    """
    ordered = sorted(jobs, key=lambda j: -j.size)
    devs = slot_devices(devices, users_per_device)
    if processes is not None:
        devs = devs[: max(processes, 0)]
    if not devs:
        previous = torch.get_num_threads()
        if threads_per_slot:  # the same thread count as a worker: bit-identical float reductions
            torch.set_num_threads(threads_per_slot)
        try:
            return _run_inline(ordered, target, devices[0], on_outcome, on_progress)
        finally:
            torch.set_num_threads(previous)
    threads = threads_per_slot or slot_threads(available_cores(), len(devs), decode_workers)
    pool = _Pool(target, devs, threads, recycle_after, log_file, start_method(method, devs))
    return pool.run(ordered, on_outcome or (lambda o: None), on_progress or (lambda *a: None))


def available_cores() -> int:
    """CPUs this process may run on."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def _run_inline(
    jobs: Sequence[Job],
    target: Target,
    device: str,
    on_outcome: Callable[[Outcome], None] | None,
    on_progress: Callable[[int, str, int, int], None] | None,
) -> list[Outcome]:
    outcomes = []
    for job in jobs:
        report = (lambda d, t, key=job.key: on_progress(0, key, d, t)) if on_progress else (lambda d, t: None)
        outcome = attempt(job, target, device, report)
        if on_outcome:
            on_outcome(outcome)
        outcomes.append(outcome)
    return outcomes


@attrs.define
class _Slot:
    device: str
    proc: Any = None
    tasks: Any = None
    job: Job | None = None
    retiring: bool = False


class _Pool:
    """Master side: assigns jobs to slots, watches workers, replaces the dead and retired."""

    def __init__(
        self, target: Target, devices: list[str], threads: int, recycle_after: int, log_file, method: str
    ):
        if method == "forkserver":
            start_fork_server([target.__module__])
        self.ctx = mp.get_context(method)
        with interrupts_blocked():  # the queue may start multiprocessing's resource tracker
            self.results = self.ctx.Queue()
        self.target, self.threads, self.recycle_after, self.log_file = (
            target,
            threads,
            recycle_after,
            log_file,
        )
        self.slots = [_Slot(device=d) for d in devices]

    def _start(self, index: int) -> None:
        slot = self.slots[index]
        with interrupts_blocked():
            slot.tasks = self.ctx.Queue()
        slot.retiring = False
        args = (index, slot.device, self.threads, self.recycle_after, self.log_file, self.target)
        args = (*args, slot.tasks, self.results, os.getpid(), dict(os.environ), StandardStreams())
        proc = self.ctx.Process(target=worker_main, args=args, daemon=False)
        with interrupts_blocked():  # the child starts with SIGINT blocked, then ignores it
            proc.start()
        slot.proc = proc  # only a started process: one that failed to start is never joined
        log.debug("worker_started", slot=index, device=slot.device, pid=proc.pid)

    def run(self, jobs: Sequence[Job], on_outcome, on_progress) -> list[Outcome]:
        pending, outcomes = deque(jobs), []
        try:
            while pending or any(s.job for s in self.slots):
                self._assign(pending)
                for outcome in self._collect(on_progress):
                    on_outcome(outcome)
                    outcomes.append(outcome)
        except BaseException:
            self._terminate()
            raise
        self._shutdown()
        return outcomes

    def _assign(self, pending: deque) -> None:
        for index, slot in enumerate(self.slots):
            if slot.job is not None or not pending:
                continue
            if slot.proc is None or slot.retiring or not slot.proc.is_alive():
                self._reap(slot)
                self._start(index)
            slot.job = pending.popleft()
            slot.tasks.put(slot.job)

    def _collect(self, on_progress) -> list[Outcome]:
        done: list[Outcome] = []
        with contextlib.suppress(queue.Empty):
            done += self._handle(self.results.get(timeout=0.2), on_progress)
        dead = [s for s in self.slots if s.job is not None and not s.proc.is_alive()]
        if dead:  # drain first: a worker may have posted its outcome just before exiting
            while True:
                try:
                    done += self._handle(self.results.get(timeout=0.2), on_progress)
                except queue.Empty:
                    break
            done += [self._died(s) for s in dead if s.job is not None]
        return done

    def _handle(self, message: Progressed | Finished, on_progress) -> list[Outcome]:
        if isinstance(message, Progressed):
            on_progress(message.slot, message.key, message.done, message.total)
            return []
        slot = self.slots[message.slot]
        slot.retiring = message.retiring
        slot.job = None
        return [message.outcome]

    def _died(self, slot: _Slot) -> Outcome:
        code = slot.proc.exitcode
        name = signal.Signals(-code).name if code is not None and code < 0 else f"exit code {code}"
        job, slot.job = slot.job, None
        log.error("worker_died", job=job.key, device=slot.device, exit_code=code, pid=slot.proc.pid)
        self._reap(slot)
        tail = stderr_tail(job.stderr_path)
        return Outcome(
            key=job.key,
            ok=False,
            error=f"worker process died ({name})" + ("" if tail else "; it wrote nothing to stderr"),
            traceback=f"last lines of {job.stderr_path}:\n{tail}" if tail else None,
            exit_code=code,
            device=slot.device,
        )

    def _reap(self, slot: _Slot) -> None:
        if slot.proc is not None:
            slot.proc.join(timeout=5)
            if slot.proc.is_alive():
                slot.proc.terminate()
                slot.proc.join(timeout=5)
            if slot.proc.is_alive():
                slot.proc.kill()
                slot.proc.join(timeout=5)
        slot.proc = None

    def _shutdown(self) -> None:
        for slot in self.slots:
            if slot.proc is not None and slot.proc.is_alive() and not slot.retiring:
                slot.tasks.put(None)
        for slot in self.slots:
            self._reap(slot)

    def _terminate(self) -> None:
        for slot in self.slots:
            if slot.proc is not None and slot.proc.is_alive():
                slot.proc.terminate()
        for slot in self.slots:
            self._reap(slot)
