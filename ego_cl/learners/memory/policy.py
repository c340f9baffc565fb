"""Replay memories of stream indices: the shared interface, the builder, the uniform draw and
:class:`MemoryOptions` (the memory keys of the replay learners' configs).

A memory stores stream positions only (never clips); learners turn drawn positions back into a
labelled batch through the ``fetch`` callable the runner passes in.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Literal, Protocol

import attrs
import torch

from ego_cl.learners.memory.cbrs import ClassBalancedMemory
from ego_cl.learners.memory.fifo import FifoMemory
from ego_cl.learners.memory.reservoir import ReservoirMemory
from ego_cl.types import Action

__all__ = ["MemoryOptions", "MemoryPolicy", "ReplayMemory", "build_memory", "draw"]

MemoryPolicy = Literal["fifo", "reservoir", "class_balanced"]


@attrs.frozen(kw_only=True, slots=False)  # no slots: configs combine it with OptimOptions
class MemoryOptions:
    """The memory options of the replay learners' configs, defined once (flat keys, data only).

    Attributes:
        memory: Memory policy: ``fifo``, ``reservoir`` or ``class_balanced`` (CBRS by action;
            the original's ``hybrid_CBRS``, Chrysakis & Moens 2020). Default ``reservoir``, one of
            the original's test settings (spec §5).
        capacity: Memory size in samples; ``0`` = unlimited (the original's 1e6 "full replay");
            default 64, the original's small test memory.
        replay_batch_size: Memory samples per update (per draw); ``None`` = the new batch's size
            (the original's ``min(b_new, |memory|)``).
        resample_each_update: Fresh memory draw for each of the ``k_updates`` (else reuse the
            first); true = the original's ``RESAMPLE_MULTI_ITER``.
    """

    memory: MemoryPolicy = "reservoir"
    capacity: int = attrs.field(default=64, validator=attrs.validators.ge(0))
    replay_batch_size: int | None = None
    resample_each_update: bool = True


class ReplayMemory(Protocol):
    """A bounded set of stream indices updated after every learned batch."""

    def add(self, indices: Sequence[int], actions: Sequence[Action]) -> None:
        """Offer one batch's samples (stream order) with their primary actions."""
        ...

    def contents(self) -> list[int]:
        """The stored stream indices (a deterministic order)."""
        ...

    def __len__(self) -> int: ...

    def state_dict(self) -> dict[str, Any]: ...

    def load_state_dict(self, state: Mapping[str, Any]) -> None: ...


def build_memory(
    policy: MemoryPolicy,
    *,
    capacity: int,
    seed: int,
    upstream_fifo_lag: bool = False,
    upstream_batch_nobs: bool = False,
) -> ReplayMemory:
    """The memory for ``policy`` (``fifo``, ``reservoir`` or ``class_balanced``).

    Example:
        >>> type(build_memory("fifo", capacity=4, seed=0)).__name__
        'FifoMemory'
    """
    if policy == "fifo":
        return FifoMemory(capacity=capacity, upstream_fifo_lag=upstream_fifo_lag)
    if policy == "reservoir":
        return ReservoirMemory(capacity=capacity, seed=seed, upstream_batch_nobs=upstream_batch_nobs)
    if policy == "class_balanced":
        return ClassBalancedMemory(capacity=capacity, seed=seed, upstream_batch_nobs=upstream_batch_nobs)
    raise ValueError(f"unknown memory policy {policy!r}; choose fifo, reservoir or class_balanced")


def draw(pool: Sequence[int], n: int, generator: torch.Generator) -> list[int]:
    """``min(n, len(pool))`` distinct members of ``pool``, uniformly without replacement.

    Example:
        >>> g = torch.Generator().manual_seed(0)
        >>> sorted(draw([5, 6, 7], 10, g))
        [5, 6, 7]
    """
    if n <= 0 or not pool:
        return []
    order = torch.randperm(len(pool), generator=generator)[: min(n, len(pool))]
    return [int(pool[i]) for i in order.tolist()]
