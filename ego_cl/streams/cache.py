"""A bounded, least-recently-used cache of decoded clips, sized in bytes."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Hashable

import torch

__all__ = ["ClipCache"]


class ClipCache:
    """LRU map from a key (a stream index) to a clip tensor, holding at most ``capacity_bytes``.

    A tensor larger than the whole capacity is not stored. ``capacity_bytes=0`` disables caching.
    Lives in one process (the loader's); share one instance between loaders of the same stream so
    prediction, replay and look-ahead reuse each other's decodes.

    Example:
        >>> cache = ClipCache(capacity_bytes=8)
        >>> cache.put(0, torch.zeros(4, dtype=torch.uint8)); cache.put(1, torch.zeros(4, dtype=torch.uint8))
        >>> _ = cache.get(0)  # 0 is now the most recently used
        >>> cache.put(2, torch.zeros(4, dtype=torch.uint8))  # evicts 1
        >>> sorted(cache.keys()), cache.n_bytes
        ([0, 2], 8)
    """

    def __init__(self, capacity_bytes: int):
        if capacity_bytes < 0:
            raise ValueError(f"capacity_bytes must be >= 0, got {capacity_bytes}")
        self.capacity_bytes = capacity_bytes
        self.n_bytes = 0
        self.hits = 0
        self.misses = 0
        self._items: OrderedDict[Hashable, torch.Tensor] = OrderedDict()

    def __len__(self) -> int:
        return len(self._items)

    def __contains__(self, key: Hashable) -> bool:
        return key in self._items

    def keys(self) -> list[Hashable]:
        """Keys from least to most recently used."""
        return list(self._items)

    def get(self, key: Hashable) -> torch.Tensor | None:
        """The cached tensor (and mark it most recently used), or ``None``."""
        value = self._items.get(key)
        if value is None:
            self.misses += 1
            return None
        self._items.move_to_end(key)
        self.hits += 1
        return value

    def put(self, key: Hashable, value: torch.Tensor) -> None:
        """Store ``value``, evicting least recently used entries to stay within capacity."""
        size = value.element_size() * value.nelement()
        if size > self.capacity_bytes:
            return
        old = self._items.pop(key, None)
        if old is not None:
            self.n_bytes -= old.element_size() * old.nelement()
        while self.n_bytes + size > self.capacity_bytes:
            _, evicted = self._items.popitem(last=False)
            self.n_bytes -= evicted.element_size() * evicted.nelement()
        self._items[key] = value
        self.n_bytes += size
