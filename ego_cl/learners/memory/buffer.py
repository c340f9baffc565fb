"""A replay buffer: a memory of stream indices plus the seeded draw and the runner's ``fetch``.

Learners never open files: ``fetch(indices) -> Batch`` (labelled, clips in the order asked) is
passed in by the runner, which decodes (or serves from its cache) the clips of those stream
positions.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import torch

from ego_cl.learners.memory.policy import MemoryPolicy, build_memory, draw
from ego_cl.types import Batch, Target

__all__ = ["Fetch", "ReplayBuffer", "concat_targets"]

Fetch = Callable[[Sequence[int]], Batch]
"""Labelled batch of the given stream indices, in that order."""


def concat_targets(first: Target, second: Target) -> Target:
    """Stack two targets along the batch, padding label rows with ``-1``.

    Example:
        >>> t = concat_targets(Target.from_label_sets([[(1, 2)]]), Target.from_label_sets([[(3, 4), (5, 6)]]))
        >>> t.label_sets()
        (((1, 2),), ((3, 4), (5, 6)))
    """
    width = max(first.actions.shape[1], second.actions.shape[1])

    def padded(actions: torch.Tensor) -> torch.Tensor:
        pad = torch.full((actions.shape[0], width - actions.shape[1], 2), -1, dtype=actions.dtype)
        return torch.cat([actions, pad.to(actions.device)], dim=1)

    return Target(actions=torch.cat([padded(first.actions), padded(second.actions).to(first.actions.device)]))


def primary_actions(target: Target) -> list[tuple[int, int]]:
    """Each sample's primary ``(verb, noun)`` (row 0 of its label set)."""
    return [(int(v), int(n)) for v, n in target.actions[:, 0].tolist()]


class ReplayBuffer:
    """Stores stream indices after each learned batch; draws and fetches replay batches.

    Args:
        policy: ``fifo``, ``reservoir`` or ``class_balanced``.
        capacity: Memory size in samples; ``0`` = unlimited.
        fetch: The runner's ``fetch(indices) -> Batch``.
        seed: Seeds the memory's eviction draws and the replay draws (two separate streams).
        upstream_fifo_lag: See :class:`~ego_cl.learners.memory.fifo.FifoMemory`.
        upstream_batch_nobs: See :class:`~ego_cl.learners.memory.reservoir.ReservoirMemory`.
    """

    def __init__(
        self,
        *,
        policy: MemoryPolicy,
        capacity: int,
        fetch: Fetch,
        seed: int,
        upstream_fifo_lag: bool = False,
        upstream_batch_nobs: bool = False,
    ):
        self.memory = build_memory(
            policy,
            capacity=capacity,
            seed=2 * seed + 1,
            upstream_fifo_lag=upstream_fifo_lag,
            upstream_batch_nobs=upstream_batch_nobs,
        )
        self._fetch = fetch
        self._generator = torch.Generator().manual_seed(2 * seed)

    def __len__(self) -> int:
        return len(self.memory)

    def draw_indices(self, n: int) -> list[int]:
        """``min(n, len(self))`` stored indices, uniformly without replacement."""
        return draw(self.memory.contents(), n, self._generator)

    def fetch(self, indices: Sequence[int]) -> Batch | None:
        """The labelled batch of ``indices`` (``None`` when empty), checked against the request."""
        if not indices:
            return None
        batch = self._fetch(list(indices))
        got = [int(i) for i in batch.indices.tolist()]
        if got != list(indices):
            raise ValueError(f"fetch returned indices {got}, asked for {list(indices)}")
        batch.labelled()
        return batch

    def sample(self, n: int) -> Batch | None:
        """Draw and fetch up to ``n`` memory samples (``None`` while the memory is empty)."""
        return self.fetch(self.draw_indices(n))

    def add(self, batch: Batch) -> None:
        """Offer a learned batch's indices (with primary actions, for class balancing)."""
        self.memory.add([int(i) for i in batch.indices.tolist()], primary_actions(batch.labelled()))

    def state_dict(self) -> dict[str, Any]:
        """Memory contents and both generator states."""
        return {"memory": self.memory.state_dict(), "generator": self._generator.get_state()}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore what :meth:`state_dict` returned."""
        self.memory.load_state_dict(state["memory"])
        self._generator.set_state(state["generator"])
