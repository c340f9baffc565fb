"""More than one machine: the same idempotent per-user jobs as a submitit job array on SLURM.

``pool.backend=slurm`` submits every job of a run (user streams, shared baselines, hindsight
pairs) as one array (``pool.slurm.*``: partition, time limit, GPUs/CPUs per task, array
parallelism), waits, and turns each job's result or error into the same
:class:`~ego_cl.runners.engine.pool.Outcome` the local pool gives. Jobs write into the run directory
themselves (shared filesystem), so resume and reports are unchanged; a job that finds its
``DONE`` returns at once, so resubmitting a half-finished run is safe.
``pool.slurm.local=true`` uses submitit's local executor (separate processes on this machine),
which is how this module is tested.
"""

from __future__ import annotations

import time
import traceback
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import structlog
import torch

from ego_cl.runners.config import SlurmConfig
from ego_cl.runners.engine.pool import Job, Outcome
from ego_cl.runners.logs import configure_worker_logging

__all__ = ["executor_parameters", "run_jobs_slurm", "slurm_entry"]

log = structlog.get_logger(__name__)


def executor_parameters(cfg: SlurmConfig, *, name: str) -> dict[str, Any]:
    """submitit ``update_parameters`` arguments (generic + ``slurm_`` ones).

    Example:
        >>> p = executor_parameters(SlurmConfig(partition="gpu", time_min=60), name="ego_cl")
        >>> p["timeout_min"], p["slurm_partition"], p["slurm_array_parallelism"]
        (60, 'gpu', 16)
    """
    params: dict[str, Any] = {
        "name": name,
        "timeout_min": cfg.time_min,
        "gpus_per_node": cfg.gpus_per_task,
        "cpus_per_task": cfg.cpus_per_task,
        "tasks_per_node": 1,
        "nodes": 1,
        "slurm_array_parallelism": cfg.array_parallelism,
    }
    if cfg.partition:
        params["slurm_partition"] = cfg.partition
    return params


def slurm_entry(
    target: Callable[..., dict[str, Any]], payload: Any, log_file: str | None, threads: int
) -> dict[str, Any]:
    """What runs inside one array task: logging, torch threads (as a local pool slot, so
    results match bit for bit), the device, then the target."""
    configure_worker_logging(log_file)
    torch.set_num_threads(threads)
    device = "cuda" if torch.cuda.is_available() else "cpu"
    return target(payload, device, lambda n_done, n_total: None)


def _executor(cfg: SlurmConfig, folder: Path) -> Any:
    import submitit  # optional dependency (the slurm extra), needed only with pool.backend=slurm

    cluster = "local" if cfg.local else "slurm"
    executor = submitit.AutoExecutor(folder=str(folder), cluster=cluster)
    executor.update_parameters(**executor_parameters(cfg, name="ego_cl"))
    return executor


def _outcome(key: str, submitted: Any) -> Outcome:
    try:
        return Outcome(key=key, ok=True, result=submitted.result())
    except Exception as err:  # submitit re-raises the job's error (or a failure to run it)
        first = str(err).strip().splitlines()
        return Outcome(
            key=key,
            ok=False,
            error=f"{type(err).__name__}: {first[-1] if first else ''}",
            traceback="".join(traceback.format_exception(err)),
        )


def run_jobs_slurm(
    jobs: Sequence[Job],
    target: Callable[..., dict[str, Any]],
    *,
    cfg: SlurmConfig,
    folder: Path,
    log_file: str | None = None,
    on_outcome: Callable[[Outcome], None] | None = None,
    threads: int | None = None,
    poll_s: float = 2.0,
) -> list[Outcome]:
    """Submit ``jobs`` as one array, wait for all; one :class:`Outcome` each, in completion order.

    ``threads``: torch threads per task (default ``cfg.cpus_per_task``).
    """
    if not jobs:
        return []
    executor = _executor(cfg, folder)
    ordered = sorted(jobs, key=lambda j: -j.size)
    with executor.batch():
        n_threads = threads or cfg.cpus_per_task
        handles = [executor.submit(slurm_entry, target, job.payload, log_file, n_threads) for job in ordered]
    log.info("slurm_array_submitted", n_jobs=len(ordered), folder=str(folder), local=cfg.local)
    pending = dict(zip((j.key for j in ordered), handles))
    outcomes = []
    while pending:
        finished = [key for key, handle in pending.items() if handle.done()]
        for key in finished:
            outcome = _outcome(key, pending.pop(key))
            if on_outcome is not None:
                on_outcome(outcome)
            outcomes.append(outcome)
        if pending and not finished:
            time.sleep(poll_s)
    return outcomes
