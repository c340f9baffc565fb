"""First-in-first-out replay memory over stream indices: the most recent samples."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ego_cl.types import Action

__all__ = ["FifoMemory"]


class FifoMemory:
    """Keeps the last ``capacity`` stream indices offered to it.

    Args:
        capacity: Memory size in samples; ``0`` = unlimited (keeps everything).
        upstream_fifo_lag: The original's quirk: after learning batch ``t`` the memory holds the
            ``capacity`` samples *preceding* batch ``t`` (stream indices ``[i_min - M, i_min)``),
            so the batch just learned enters memory one batch later.

    Example:
        >>> m = FifoMemory(capacity=3)
        >>> m.add([0, 1], [(0, 0), (0, 0)]); m.add([2, 3], [(0, 0), (0, 0)])
        >>> m.contents()
        [1, 2, 3]
        >>> lagged = FifoMemory(capacity=3, upstream_fifo_lag=True)
        >>> lagged.add([0, 1], [(0, 0), (0, 0)]); lagged.add([2, 3], [(0, 0), (0, 0)])
        >>> lagged.contents()
        [0, 1]
    """

    def __init__(self, *, capacity: int, upstream_fifo_lag: bool = False):
        if capacity < 0:
            raise ValueError(f"capacity must be >= 0 (0 = unlimited), got {capacity}")
        self.capacity = capacity
        self.upstream_fifo_lag = upstream_fifo_lag
        self._slots: list[int] = []
        self._pending: list[int] = []

    def add(self, indices: Sequence[int], actions: Sequence[Action]) -> None:
        """Append one batch's indices (``actions`` is unused here), dropping the oldest."""
        incoming = [int(i) for i in indices]
        if self.upstream_fifo_lag:
            incoming, self._pending = self._pending, incoming
        self._slots.extend(incoming)
        if self.capacity > 0 and len(self._slots) > self.capacity:
            del self._slots[: len(self._slots) - self.capacity]

    def contents(self) -> list[int]:
        """The stored stream indices, oldest first."""
        return list(self._slots)

    def __len__(self) -> int:
        return len(self._slots)

    def state_dict(self) -> dict[str, Any]:
        """Slots and the lagged batch (plain lists)."""
        return {"slots": list(self._slots), "pending": list(self._pending)}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore what :meth:`state_dict` returned."""
        self._slots = [int(i) for i in state["slots"]]
        self._pending = [int(i) for i in state["pending"]]
