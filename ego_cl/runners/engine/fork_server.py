"""The pool's fork server: one clean process that imports what workers need once, then forks them.

The fork server (multiprocessing's ``forkserver`` start method) imports torch, ``torch._dynamo``
(which the first optimiser imports) and the target's module once, about 3 s; each worker is then a
fork of it and starts in about 0.04 s, recycled workers included, and leaves with ``os._exit``. A
spawned worker is a fresh interpreter that imports all of it again (about 3 s each).
:func:`start_fork_server` starts the server early, so its imports overlap the caller's own set-up;
:func:`start_method` picks the method for a pool's devices.
"""

from __future__ import annotations

import multiprocessing.forkserver
import multiprocessing.resource_tracker
import sys
from collections.abc import Sequence

import torch.multiprocessing as mp

from ego_cl.runners.engine.lifeline import interrupts_blocked

__all__ = ["WORKER_PRELOAD", "start_fork_server", "start_method"]


WORKER_PRELOAD = ("torch", "torch._dynamo", "ego_cl.runners.engine.pool_worker")
"""Modules the fork server imports once for every worker (``torch._dynamo``: about 1 s, imported by
the first ``torch.optim`` optimiser a worker builds; importing it touches no device)."""


def start_method(method: str, devices: Sequence[str]) -> str:
    """How workers start: ``method``, or for ``"auto"`` a fork server on Linux when every device
    is a CPU (with a GPU the workers are spawned, the start method PyTorch documents for CUDA).

    Examples:
        >>> start_method("auto", ["cpu", "cpu"]) == ("forkserver" if sys.platform == "linux" else "spawn")
        True
        >>> start_method("auto", ["cuda:0"]), start_method("forkserver", ["cuda:0"])
        ('spawn', 'forkserver')
    """
    if method != "auto":
        return method
    if sys.platform.startswith("linux") and all(d == "cpu" for d in devices):
        return "forkserver"
    return "spawn"


def start_fork_server(preload: Sequence[str] = ()) -> None:
    """Start the fork server now, importing :data:`WORKER_PRELOAD` and ``preload`` (module names;
    ``__main__`` is left to each worker, which imports it as a spawned one does).

    It returns at once: the server imports while this process goes on (reading annotations,
    planning), and the first worker waits for it. A server already running is kept as it is
    (one per process; it stops when this process exits). It starts with ``SIGINT`` blocked, so
    its workers do too until they ignore it (:mod:`~ego_cl.runners.engine.lifeline`).
    """
    context = mp.get_context("forkserver")
    modules = [m for m in dict.fromkeys([*WORKER_PRELOAD, *preload]) if m != "__main__"]
    context.set_forkserver_preload(modules)
    multiprocessing.resource_tracker.ensure_running()  # first: starting it unblocks SIGINT here
    with interrupts_blocked():
        multiprocessing.forkserver.ensure_running()
