"""Running micro top-k accuracy (river-style :class:`~ego_cl.protocols.Metric`)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from ego_cl.metrics.scores import MODES, Mode, SampleScores, step_scores
from ego_cl.types import Batch, Prediction

__all__ = ["TopKAccuracy", "top_k_accuracy"]


def top_k_accuracy(n_correct: int, n: int) -> float:
    """Accuracy in percent from integer counts (``nan`` when ``n == 0``).

    Example:
        >>> top_k_accuracy(1, 3)
        33.333333333333336
    """
    return 100 * n_correct / n if n else math.nan


class TopKAccuracy:
    """Micro top-k accuracy in percent over every sample seen so far.

    ``(1/n) Σ_i 1[a label of sample i is among its k best] × 100`` (the original's
    ``top{k}_acc_running_avg``). For ``mode="action"`` the ranking is over actions (see
    ``ego_cl.metrics.prediction_log``); top-1 action = (top-1 verb, top-1 noun).

    Args:
        mode: ``"verb"``, ``"noun"`` or ``"action"``.
        k: How many of the best classes count as a hit.

    Example:
        >>> import torch
        >>> from ego_cl.types import Target
        >>> m = TopKAccuracy("verb", k=1)
        >>> batch = Batch(indices=torch.tensor([0, 1]), clips=torch.zeros(2, 0),
        ...               target=Target.from_label_sets([[(1, 0)], [(0, 0)]]))
        >>> logits = torch.tensor([[0.0, 1.0], [0.0, 1.0]])
        >>> m.update(Prediction(indices=batch.indices, verb_logits=logits, noun_logits=logits), batch)
        >>> m.get()
        50.0
    """

    def __init__(self, mode: Mode = "action", k: int = 1):
        if mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
        if k < 1:
            raise ValueError(f"k must be >= 1, got {k}")
        self.mode, self.k = mode, k
        self.n_correct = 0
        self.n = 0

    def __repr__(self) -> str:
        return f"TopKAccuracy(mode={self.mode!r}, k={self.k}, n_correct={self.n_correct}, n={self.n})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, TopKAccuracy) and repr(self) == repr(other)

    def update(self, prediction: Prediction, batch: Batch) -> None:
        """Add one step's samples."""
        self.update_scores(step_scores(prediction, batch, k=self.k))

    def update_scores(self, scores: SampleScores) -> None:
        """Add already decoded samples (see :func:`~ego_cl.metrics.scores.sample_scores`)."""
        self.n_correct += int(np.count_nonzero(scores.correct(self.mode, self.k)))
        self.n += len(scores)

    def get(self) -> float:
        """Accuracy in percent; ``nan`` before any sample."""
        return top_k_accuracy(self.n_correct, self.n)

    def merge(self, other: TopKAccuracy) -> TopKAccuracy:
        """A new metric equal to having seen both streams."""
        if not isinstance(other, TopKAccuracy) or (other.mode, other.k) != (self.mode, self.k):
            raise ValueError(f"cannot merge {self!r} with {other!r}")
        out = TopKAccuracy(self.mode, self.k)
        out.n_correct, out.n = self.n_correct + other.n_correct, self.n + other.n
        return out

    def state_dict(self) -> dict[str, Any]:
        """Plain ints: ``{"n_correct", "n"}``."""
        return {"n_correct": self.n_correct, "n": self.n}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore :meth:`state_dict`."""
        self.n_correct, self.n = int(state["n_correct"]), int(state["n"])
