"""The torch thread count of a run: resolved once, recorded in ``config.yaml``, reused on resume.

Float reductions (matrix products, convolutions) split their work by the intra-op thread count,
so a different count changes the last bits of every update. The default (``pool.threads_per_slot
= null``: the slot's share of the cores minus its decode workers, see
:func:`~ego_cl.runners.engine.pool.slot_threads`) depends on the machine; a new run therefore
records the resolved number in its ``config.yaml`` and ``--resume`` uses that number on any
machine, so the resumed users give the same numbers as an uninterrupted run.
"""

from __future__ import annotations

import attrs
import structlog

from ego_cl.runners.config import StreamRunConfig
from ego_cl.runners.engine.pool import available_cores, slot_devices, slot_threads

__all__ = ["pin_threads", "resolve_threads"]

log = structlog.get_logger(__name__)


def resolve_threads(cfg: StreamRunConfig) -> int:
    """The torch threads per slot this machine gives ``cfg`` (``pool.threads_per_slot`` if set)."""
    pool = cfg.pool
    if pool.threads_per_slot is not None:
        return pool.threads_per_slot
    slots = len(slot_devices(pool.devices, pool.users_per_device))
    if pool.processes is not None:
        slots = max(1, min(slots, pool.processes))  # processes=0: one slot, this process
    return slot_threads(available_cores(), slots, cfg.stream.workers)


def pin_threads(
    cfg: StreamRunConfig, *, resumed: bool = False, like: StreamRunConfig | None = None
) -> StreamRunConfig:
    """``cfg`` with ``pool.threads_per_slot`` resolved (local pool; SLURM tasks use
    ``pool.slurm.cpus_per_task``, already fixed by the config). A count already set is kept.

    Args:
        cfg: The run config.
        resumed: ``cfg`` is the ``config.yaml`` of a run being resumed; one without a recorded
            count (written before counts were recorded) is resolved here, with a warning.
        like: The saved config of the same run (grid resume): its count is taken as it is.
    """
    if cfg.pool.backend != "local" or cfg.pool.threads_per_slot is not None:
        return cfg
    if like is not None:
        threads = like.pool.threads_per_slot
    else:
        threads = resolve_threads(cfg)
        if resumed:
            log.warning(
                "threads_not_recorded",
                threads=threads,
                note="this run's config.yaml has no pool.threads_per_slot; resolved from this "
                "machine's cores, so resumed users match the first attempt only if it resolved the same",
            )
    return attrs.evolve(cfg, pool=attrs.evolve(cfg.pool, threads_per_slot=threads))
