"""Tensors stored per stream index next to a replay memory (DER++ logits, replayed features).

The memory decides *which* indices are kept; this store keeps their tensors and is pruned to the
memory's contents after every update.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import torch

__all__ = ["IndexedTensors"]


class IndexedTensors:
    """Named per-sample tensors keyed by stream index (kept on the CPU).

    Example:
        >>> store = IndexedTensors()
        >>> store.put([3, 4], logits=torch.tensor([[1.0], [2.0]]))
        >>> store.keep_only([4])
        >>> store.stack([4], "logits").tolist(), len(store)
        ([[2.0]], 1)
    """

    def __init__(self) -> None:
        self._rows: dict[int, dict[str, torch.Tensor]] = {}

    def __len__(self) -> int:
        return len(self._rows)

    def put(self, indices: Sequence[int], **columns: torch.Tensor) -> None:
        """Store row ``i`` of every column under ``indices[i]`` (replacing what was there)."""
        for row, index in enumerate(indices):
            self._rows[int(index)] = {name: t[row].detach().cpu().clone() for name, t in columns.items()}

    def get(self, index: int, name: str) -> torch.Tensor:
        """The ``name`` tensor of one index."""
        return self._rows[int(index)][name]

    def stack(self, indices: Sequence[int], name: str) -> torch.Tensor:
        """``name`` tensors of ``indices`` stacked along a new first dimension."""
        return torch.stack([self.get(i, name) for i in indices])

    def keep_only(self, indices: Iterable[int]) -> None:
        """Drop every index not in ``indices``."""
        keep = {int(i) for i in indices}
        self._rows = {i: row for i, row in self._rows.items() if i in keep}

    def state_dict(self) -> dict[str, Any]:
        """``{"indices": [...], "rows": [{name: tensor}, ...]}``."""
        return {"indices": list(self._rows), "rows": [dict(r) for r in self._rows.values()]}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore what :meth:`state_dict` returned."""
        self._rows = {int(i): dict(r) for i, r in zip(state["indices"], state["rows"])}
