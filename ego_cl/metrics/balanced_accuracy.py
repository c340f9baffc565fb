"""Running class-balanced (macro) top-k accuracy: the headline metric."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import torch

from ego_cl.metrics.scores import MODES, Mode, SampleScores, step_scores
from ego_cl.types import Batch, Prediction

__all__ = ["BalancedAccuracy", "balanced_accuracy", "class_counts"]


def class_counts(classes: np.ndarray, correct: np.ndarray) -> dict[int, tuple[int, int]]:
    """Per class: ``(n_correct, n)`` over the samples of that class.

    Example:
        >>> class_counts(np.array([3, 1, 3]), np.array([True, False, False]))
        {1: (0, 1), 3: (1, 2)}
    """
    keys, inverse, seen = np.unique(classes, return_inverse=True, return_counts=True)
    hits = np.bincount(inverse, weights=correct.astype(np.int64), minlength=len(keys)).astype(np.int64)
    return {int(c): (int(h), int(n)) for c, h, n in zip(keys.tolist(), hits.tolist(), seen.tolist())}


def balanced_accuracy(counts: Mapping[int, tuple[int, int]]) -> float:
    """Mean over classes of per-class accuracy, in percent (``nan`` without classes).

    The per-class ratios are summed with ``math.fsum`` (correctly rounded), so the value does not
    depend on the order of the classes.

    Example:
        >>> balanced_accuracy({1: (0, 1), 3: (1, 2)})
        25.0
    """
    if not counts:
        return math.nan
    return 100 * math.fsum(hit / n for hit, n in counts.values()) / len(counts)


class BalancedAccuracy:
    """Class-balanced top-k accuracy in percent over the classes seen so far.

    ``(1/|C|) Σ_{c∈C} mean_{i: y_i = c} 1[correct_i] × 100`` where ``C`` is the set of classes
    among the samples seen so far and a sample's class is its primary label (verb, noun or the
    ``(verb, noun)`` pair). A class that first appears late enters the mean from then on. This is
    the original's ``top1_acc_balanced_running_avg``.

    Args:
        mode: ``"verb"``, ``"noun"`` or ``"action"``.
        k: Top-k correctness (1 for the headline metric).
    """

    def __init__(self, mode: Mode = "action", k: int = 1):
        if mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
        if k < 1:
            raise ValueError(f"k must be >= 1, got {k}")
        self.mode, self.k = mode, k
        self.counts: dict[int, tuple[int, int]] = {}

    def __repr__(self) -> str:
        return f"BalancedAccuracy(mode={self.mode!r}, k={self.k}, classes={len(self.counts)})"

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, BalancedAccuracy)
            and (other.mode, other.k) == (self.mode, self.k)
            and other.counts == self.counts
        )

    def update(self, prediction: Prediction, batch: Batch) -> None:
        """Add one step's samples."""
        self.update_scores(step_scores(prediction, batch, k=self.k))

    def update_scores(self, scores: SampleScores) -> None:
        """Add already decoded samples."""
        new = class_counts(scores.primary[self.mode], scores.correct(self.mode, self.k))
        self.counts = _add(self.counts, new)

    def get(self) -> float:
        """Balanced accuracy in percent; ``nan`` before any sample."""
        return balanced_accuracy(self.counts)

    def merge(self, other: BalancedAccuracy) -> BalancedAccuracy:
        """A new metric equal to having seen both streams."""
        if not isinstance(other, BalancedAccuracy) or (other.mode, other.k) != (self.mode, self.k):
            raise ValueError(f"cannot merge {self!r} with {other!r}")
        out = BalancedAccuracy(self.mode, self.k)
        out.counts = _add(self.counts, other.counts)
        return out

    def state_dict(self) -> dict[str, Any]:
        """``{"classes", "n_correct", "n"}`` as ``LongTensor[C]`` sorted by class key."""
        keys = sorted(self.counts)
        return {
            "classes": torch.tensor(keys, dtype=torch.long),
            "n_correct": torch.tensor([self.counts[c][0] for c in keys], dtype=torch.long),
            "n": torch.tensor([self.counts[c][1] for c in keys], dtype=torch.long),
        }

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore :meth:`state_dict`."""
        rows = zip(state["classes"].tolist(), state["n_correct"].tolist(), state["n"].tolist())
        self.counts = {int(c): (int(h), int(n)) for c, h, n in rows}


def _add(a: Mapping[int, tuple[int, int]], b: Mapping[int, tuple[int, int]]) -> dict[int, tuple[int, int]]:
    out = dict(a)
    for c, (hit, n) in b.items():
        old_hit, old_n = out.get(c, (0, 0))
        out[c] = (old_hit + hit, old_n + n)
    return out
