"""Pool targets and a command driver for the process tests (signals, orphans, stderr, disk).

Module-level so that spawned pool workers can import them by name.
"""

from __future__ import annotations

import ctypes
import os
import sys
import time
from pathlib import Path
from typing import Any

import torch

SLOW_ENV = "EGO_CL_TEST_SLOW_S"
"""Seconds the slow target sleeps at each progress report after the first batch."""

THREADS_ENV = "EGO_CL_TEST_THREADS_FILE"


def slow_user_target(job: Any, device: str, report: Any) -> dict[str, Any]:
    """The real user job, slowed down after its first batch (room to signal a run mid-way);
    every worker writes its pid to ``<user_dir>/worker.pid``."""
    from ego_cl.runners.engine.job import run_user_job

    Path(job.user_dir).mkdir(parents=True, exist_ok=True)
    (Path(job.user_dir) / "worker.pid").write_text(str(os.getpid()))
    pause = float(os.environ.get(SLOW_ENV, "0"))
    calls = [0]

    def slow(done: int, total: int) -> None:
        calls[0] += 1
        report(done, total)
        if calls[0] > 1:
            time.sleep(pause)

    return run_user_job(job, device, slow)


def threads_target(job: Any, device: str, report: Any) -> dict[str, Any]:
    """The real user job; writes the torch thread count it ran with to ``<user_dir>/threads.txt``."""
    from ego_cl.runners.engine.job import run_user_job

    Path(job.user_dir).mkdir(parents=True, exist_ok=True)
    (Path(job.user_dir) / "threads.txt").write_text(str(torch.get_num_threads()))
    return run_user_job(job, device, report)


def context_target(payload: dict[str, Any], device: str, report: Any) -> dict[str, Any]:
    """Writes ``payload['marker']`` to descriptors 1 and 2; returns what the worker sees: the
    variable ``payload['env']``, whether its starting process counts as alive, its parent, how
    many objects are frozen out of the cyclic GC."""
    from ego_cl.runners.engine.lifeline import parent_alive

    os.write(1, f"stdout {payload['marker']}\n".encode())
    os.write(2, f"stderr {payload['marker']}\n".encode())
    import gc

    return {
        "frozen": gc.get_freeze_count(),
        "env": os.environ.get(payload["env"]),
        "pool_alive": parent_alive(payload["pool_pid"]),
        "parent": os.getppid(),
        "pid": os.getpid(),
    }


def crashing_target(payload: dict[str, Any], device: str, report: Any) -> dict[str, Any]:
    """Writes a line to descriptor 2, then dies the way ``payload['how']`` says."""
    os.write(2, f"native message before {payload['how']}\n".encode())
    if payload["how"] == "segfault":
        ctypes.string_at(0)  # SIGSEGV: faulthandler dumps the Python stack to descriptor 2
    if payload["how"] == "exit":
        os._exit(3)
    return {"ok": True}


def drive_stream(argv: list[str]) -> int:
    """``python -m ego_cl.runners.stream ARGV`` with :func:`slow_user_target` as the pool target."""
    from ego_cl.runners.cli import guarded_main
    from ego_cl.runners.engine import run as engine_run
    from ego_cl.runners.stream import main
    from tests.runners.process_fakes import slow_user_target as target  # by module name, not __main__

    engine_run.run_user_job = target  # run_plans looks the default target up at call time
    return guarded_main(main, argv)


if __name__ == "__main__":
    sys.exit(drive_stream(sys.argv[1:]))
