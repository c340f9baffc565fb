"""Where a run's jobs execute: the local process pool or a SLURM job array (``pool.backend``).

Both backends take the same :class:`~ego_cl.runners.engine.pool.Job` list and target and give
back the same :class:`~ego_cl.runners.engine.pool.Outcome` per job; stream runs and hindsight
passes call :func:`run_on_backend` and never a backend directly. :func:`start_workers_early`
lets the local pool's fork server import torch while the run reads its inputs and plans.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from ego_cl.runners.config import PoolConfig
from ego_cl.runners.engine.fork_server import start_fork_server, start_method
from ego_cl.runners.engine.pool import Job, Outcome, run_jobs
from ego_cl.runners.engine.slurm import run_jobs_slurm

__all__ = ["run_on_backend", "start_workers_early"]


def start_workers_early(pool: PoolConfig, target: Callable[..., Any]) -> None:
    """Start the fork server of a local pool that will use one, importing ``target``'s module too
    (it returns at once; nothing happens for ``processes=0``, spawned workers or SLURM)."""
    if pool.backend != "local" or pool.processes == 0:
        return
    if start_method(pool.start_method, pool.devices) == "forkserver":
        start_fork_server([target.__module__])


def run_on_backend(
    jobs: Sequence[Job],
    target: Callable[..., dict[str, Any]],
    *,
    pool: PoolConfig,
    folder: Path,
    log_file: str | None = None,
    on_outcome: Callable[[Outcome], None] | None = None,
    on_progress: Callable[[int, str, int, int], None] | None = None,
    decode_workers: int = 0,
) -> list[Outcome]:
    """Run ``jobs`` on ``pool.backend``.

    Args:
        jobs: The jobs.
        target: ``target(payload, device, report)``, a module-level function.
        pool: Devices, slots, processes (local) or ``pool.slurm`` (SLURM).
        folder: submitit's folder when ``pool.slurm.folder`` is unset.
        log_file: Structured log the workers append to.
        on_outcome: Called with each outcome as it arrives.
        on_progress: ``(slot, key, done, total)`` progress of the local pool.
        decode_workers: Decode processes per job (lowers the default torch threads per slot).
    """
    if pool.backend == "slurm":
        slurm_folder = Path(pool.slurm.folder) if pool.slurm.folder else folder
        return run_jobs_slurm(
            jobs, target, cfg=pool.slurm, folder=slurm_folder, log_file=log_file, on_outcome=on_outcome
        )
    return run_jobs(
        jobs,
        target,
        devices=pool.devices,
        users_per_device=pool.users_per_device,
        processes=pool.processes,
        recycle_after=pool.recycle_after,
        threads_per_slot=pool.threads_per_slot,
        decode_workers=decode_workers,
        method=pool.start_method,
        log_file=log_file,
        on_outcome=on_outcome,
        on_progress=on_progress,
    )
