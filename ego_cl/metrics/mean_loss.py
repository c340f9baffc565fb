"""Running mean of per-sample losses, summed exactly so merging and resuming are exact."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ego_cl.metrics.exact_sum import ExactSum
from ego_cl.metrics.scores import MODES, Mode, SampleScores, step_scores
from ego_cl.types import Batch, Prediction

__all__ = ["MeanLoss"]


class MeanLoss:
    """Mean per-sample loss over every sample seen so far (the original's ``loss_running_avg``).

    Per-sample losses are the prediction log's: CE of the logits as given (action = CE_verb +
    CE_noun; multi-label = mean over the sample's pairs). The sum is kept exactly
    (:class:`~ego_cl.metrics.exact_sum.ExactSum`), so the value is the correctly rounded exact
    mean whatever the order or split of the stream.

    Args:
        mode: ``"verb"``, ``"noun"`` or ``"action"``.
    """

    def __init__(self, mode: Mode = "action"):
        if mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
        self.mode = mode
        self.total = ExactSum()
        self.n = 0

    def __repr__(self) -> str:
        return f"MeanLoss(mode={self.mode!r}, n={self.n}, total={self.total!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, MeanLoss) and repr(self) == repr(other)

    def update(self, prediction: Prediction, batch: Batch) -> None:
        """Add one step's samples."""
        self.update_scores(step_scores(prediction, batch, k=1))

    def update_scores(self, scores: SampleScores) -> None:
        """Add already decoded samples."""
        self.total = self.total + ExactSum.of(scores.loss[self.mode].tolist())
        self.n += len(scores)

    def get(self) -> float:
        """Mean loss; ``nan`` before any sample."""
        return self.total.mean(self.n)

    def merge(self, other: MeanLoss) -> MeanLoss:
        """A new metric equal to having seen both streams."""
        if not isinstance(other, MeanLoss) or other.mode != self.mode:
            raise ValueError(f"cannot merge {self!r} with {other!r}")
        out = MeanLoss(self.mode)
        out.total, out.n = self.total + other.total, self.n + other.n
        return out

    def state_dict(self) -> dict[str, Any]:
        """Plain ints: the exact scaled sum, the non-finite counts and ``n``."""
        t = self.total
        return {
            "scaled": t.scaled,
            "n_posinf": t.n_posinf,
            "n_neginf": t.n_neginf,
            "n_nan": t.n_nan,
            "n": self.n,
        }

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore :meth:`state_dict`."""
        self.total = ExactSum(
            scaled=int(state["scaled"]),
            n_posinf=int(state["n_posinf"]),
            n_neginf=int(state["n_neginf"]),
            n_nan=int(state["n_nan"]),
        )
        self.n = int(state["n"])
