"""Reservoir sampling over stream indices (Vitter's algorithm R), with the original's batch quirk.

The memory keeps stream positions only; the runner's ``fetch`` turns them back into clips.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch

from ego_cl.types import Action

__all__ = ["ReservoirMemory", "randint"]


def randint(high: int, generator: torch.Generator) -> int:
    """A uniform integer in ``[0, high)`` drawn from ``generator`` (never the global RNG).

    Example:
        >>> g = torch.Generator().manual_seed(0)
        >>> 0 <= randint(5, g) < 5
        True
    """
    return int(torch.randint(high, (1,), generator=generator).item())


class ReservoirMemory:
    """A uniform sample of everything seen so far: each of the ``n`` indices seen is in memory
    with probability ``capacity / n``.

    Args:
        capacity: Memory size in samples; ``0`` = unlimited (keeps everything).
        seed: Seed of the memory's own generator (the eviction draws).
        upstream_batch_nobs: The original's quirk: the seen-count is advanced by the whole batch
            before any sample of it is stored, so every sample of a batch uses the batch-end
            count ``n`` (``j ~ U{0..n-1}``) instead of its own position.

    Example:
        >>> m = ReservoirMemory(capacity=2, seed=0)
        >>> m.add([0, 1], [(0, 0), (1, 1)])
        >>> m.contents(), m.n_seen
        ([0, 1], 2)
    """

    def __init__(self, *, capacity: int, seed: int, upstream_batch_nobs: bool = False):
        if capacity < 0:
            raise ValueError(f"capacity must be >= 0 (0 = unlimited), got {capacity}")
        self.capacity = capacity
        self.upstream_batch_nobs = upstream_batch_nobs
        self.n_seen = 0
        self._slots: list[int] = []
        self._generator = torch.Generator().manual_seed(seed)

    def _randint(self, high: int) -> int:
        return randint(high, self._generator)

    def _is_full(self) -> bool:
        return self.capacity > 0 and len(self._slots) >= self.capacity

    def add(self, indices: Sequence[int], actions: Sequence[Action]) -> None:
        """Offer the samples of one batch, in stream order (``actions`` is unused here)."""
        if self.upstream_batch_nobs:
            self.n_seen += len(indices)
        for index in indices:
            if not self.upstream_batch_nobs:
                self.n_seen += 1
            if not self._is_full():
                self._slots.append(int(index))
                continue
            slot = self._randint(self.n_seen)
            if slot < self.capacity:
                self._slots[slot] = int(index)

    def contents(self) -> list[int]:
        """The stored stream indices, in slot order."""
        return list(self._slots)

    def __len__(self) -> int:
        return len(self._slots)

    def state_dict(self) -> dict[str, Any]:
        """Slots, seen-count and generator state (plain containers and tensors only)."""
        return {
            "slots": list(self._slots),
            "n_seen": self.n_seen,
            "generator": self._generator.get_state(),
        }

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore what :meth:`state_dict` returned."""
        self._slots = [int(i) for i in state["slots"]]
        self.n_seen = int(state["n_seen"])
        self._generator.set_state(state["generator"])
