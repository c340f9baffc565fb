"""Class-balanced reservoir sampling (CBRS, Chrysakis & Moens 2020) keyed by action.

Bins are keyed by the sample's primary ``(verb, noun)`` action. While the memory is not full
every sample is stored. Once it is full, a sample of a class that has never been the largest
replaces a random member of the currently largest bin (which is then marked *full*); a sample of
a full class replaces, by reservoir sampling within its own bin, a member of its own class. So a
bin only ever shrinks while it is the largest one. When there are at least as many classes as
memory slots, class balance is meaningless (at most one sample per class) and the memory turns
once into a plain :class:`~ego_cl.learners.memory.reservoir.ReservoirMemory` over everything seen, as
the original does.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch

from ego_cl.learners.memory.reservoir import ReservoirMemory, randint
from ego_cl.types import Action

__all__ = ["ClassBalancedMemory"]


class ClassBalancedMemory:
    """Class-balanced reservoir memory of stream indices.

    Args:
        capacity: Memory size in samples; ``0`` = unlimited (keeps everything, never converts).
        seed: Seed of the memory's own generator.
        upstream_batch_nobs: Passed on to the plain reservoir after conversion (the original's
            batch-end seen-count quirk, see :class:`ReservoirMemory`).

    Example:
        >>> m = ClassBalancedMemory(capacity=3, seed=0)
        >>> m.add([0, 1, 2], [(0, 0), (0, 0), (0, 0)])
        >>> m.add([3], [(1, 1)])  # class (1, 1) takes a slot from the largest bin (0, 0)
        >>> sorted(m.bin_sizes().items())
        [((0, 0), 2), ((1, 1), 1)]
    """

    def __init__(self, *, capacity: int, seed: int, upstream_batch_nobs: bool = False):
        if capacity < 0:
            raise ValueError(f"capacity must be >= 0 (0 = unlimited), got {capacity}")
        self.capacity = capacity
        self.upstream_batch_nobs = upstream_batch_nobs
        self._bins: dict[Action, list[int]] = {}
        self._n_seen: dict[Action, int] = {}
        self._full: set[Action] = set()
        self._generator = torch.Generator().manual_seed(seed)
        self._reservoir: ReservoirMemory | None = None

    @property
    def is_reservoir(self) -> bool:
        """Whether the memory has turned into a plain reservoir (classes >= capacity)."""
        return self._reservoir is not None

    def _randint(self, high: int) -> int:
        return randint(high, self._generator)

    def _size(self) -> int:
        return sum(len(b) for b in self._bins.values())

    def add(self, indices: Sequence[int], actions: Sequence[Action]) -> None:
        """Offer one batch: ``indices[i]`` is a sample of class ``actions[i]``."""
        if len(indices) != len(actions):
            raise ValueError(f"got {len(indices)} indices but {len(actions)} actions")
        if self._reservoir is None:
            for action in actions:
                self._bins.setdefault(_action(action), [])
                self._n_seen.setdefault(_action(action), 0)
            if self.capacity > 0 and len(self._bins) >= self.capacity:
                self._convert()
        if self._reservoir is not None:
            self._reservoir.add(indices, actions)
            return
        for index, action in zip(indices, actions):
            self._add_one(int(index), _action(action))

    def _add_one(self, index: int, action: Action) -> None:
        self._n_seen[action] += 1
        if self.capacity == 0 or self._size() < self.capacity:
            self._bins[action].append(index)
            return
        largest = max(self._bins, key=lambda a: len(self._bins[a]))  # first largest, by creation
        self._full.add(largest)
        if action not in self._full:
            del self._bins[largest][self._randint(len(self._bins[largest]))]
            self._bins[action].append(index)
            return
        slot = self._randint(self._n_seen[action])
        if slot < len(self._bins[action]):
            self._bins[action][slot] = index

    def _convert(self) -> None:
        reservoir = ReservoirMemory(
            capacity=self.capacity, seed=0, upstream_batch_nobs=self.upstream_batch_nobs
        )
        reservoir.load_state_dict(
            {
                "slots": self.contents(),
                "n_seen": sum(self._n_seen.values()),
                "generator": self._generator.get_state(),
            }
        )
        self._reservoir = reservoir
        self._bins, self._n_seen, self._full = {}, {}, set()

    def contents(self) -> list[int]:
        """All stored indices: bins in order of first appearance of their class."""
        if self._reservoir is not None:
            return self._reservoir.contents()
        return [i for members in self._bins.values() for i in members]

    def bin_sizes(self) -> dict[Action, int]:
        """Stored samples per class (empty after the conversion to a plain reservoir)."""
        if self._reservoir is not None:
            return {}
        return {a: len(m) for a, m in self._bins.items()}

    def __len__(self) -> int:
        return len(self.contents())

    def state_dict(self) -> dict[str, Any]:
        """Bins as ``[verb, noun, n_seen, is_full, indices]`` rows, or the reservoir's state."""
        if self._reservoir is not None:
            return {"reservoir": self._reservoir.state_dict()}
        rows = [[a[0], a[1], self._n_seen[a], a in self._full, list(m)] for a, m in self._bins.items()]
        return {"bins": rows, "generator": self._generator.get_state()}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore what :meth:`state_dict` returned."""
        if "reservoir" in state:
            self._convert()
            assert self._reservoir is not None
            self._reservoir.load_state_dict(state["reservoir"])
            return
        self._reservoir = None
        self._bins = {(int(v), int(n)): [int(i) for i in m] for v, n, _, _, m in state["bins"]}
        self._n_seen = {(int(v), int(n)): int(c) for v, n, c, _, _ in state["bins"]}
        self._full = {(int(v), int(n)) for v, n, _, full, _ in state["bins"] if full}
        self._generator.set_state(state["generator"])


def _action(action: Sequence[int]) -> Action:
    return (int(action[0]), int(action[1]))
