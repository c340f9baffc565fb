"""The standard online metrics of a stream, updated together, read as one flat dict.

Names (``{mode}`` is ``verb``, ``noun`` or ``action``; ``{k}`` the configured top-k, default 5):

- ``online/{mode}/top1``: micro top-1 accuracy (%) over all samples so far.
- ``online/{mode}/top{k}``: micro top-k accuracy (%); action top-k is ego_cl's (outer product).
- ``online/{mode}/balanced_top1``: class-balanced top-1 accuracy (%), the **headline** metric.
- ``online/{mode}/loss``: mean per-sample loss so far.
- ``online/n_samples``: samples scored so far.
- ``batch/{mode}/top1``, ``batch/{mode}/top{k}``, ``batch/{mode}/loss``: the same over the last
  step's samples only (curves); ``batch/n_samples``: samples in the last step.

:data:`UPSTREAM_NAMES` maps the ``online/*`` names to the original's WandB keys
(``online/action/balanced_top1`` = ``train_action_batch/top1_acc_balanced_running_avg``).

The same values are recomputed after the fact by
:func:`ego_cl.metrics.stream_metrics.stream_metrics` (running) and
:func:`ego_cl.metrics.stream_metrics.step_metrics` (per step) from the prediction log.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import pyarrow as pa

from ego_cl.metrics.accuracy import TopKAccuracy
from ego_cl.metrics.balanced_accuracy import BalancedAccuracy
from ego_cl.metrics.mean_loss import MeanLoss
from ego_cl.metrics.prediction_log import prediction_log_table
from ego_cl.metrics.scores import MODES, SampleScores, sample_scores, step_scores
from ego_cl.types import Batch, Prediction

__all__ = ["UPSTREAM_NAMES", "MetricSet", "running_metrics", "step_metric_objects"]

UPSTREAM_NAMES: dict[str, str] = {
    **{f"online/{m}/top1": f"train_{m}_batch/top1_acc_running_avg" for m in MODES},
    **{f"online/{m}/top5": f"train_{m}_batch/top5_acc_running_avg" for m in ("verb", "noun")},
    **{f"online/{m}/balanced_top1": f"train_{m}_batch/top1_acc_balanced_running_avg" for m in MODES},
    **{f"online/{m}/loss": f"train_{m}_batch/loss_running_avg" for m in MODES},
}
"""ego_cl online metric name -> the original's WandB key (for comparing with old numbers)."""

Metric = TopKAccuracy | BalancedAccuracy | MeanLoss


def running_metrics(k: int = 5, prefix: str = "online") -> dict[str, Metric]:
    """Fresh running metrics of the standard set, by name (``n_samples`` excluded)."""
    out: dict[str, Metric] = {}
    for mode in MODES:
        out[f"{prefix}/{mode}/top1"] = TopKAccuracy(mode, 1)
        if k > 1:
            out[f"{prefix}/{mode}/top{k}"] = TopKAccuracy(mode, k)
        out[f"{prefix}/{mode}/balanced_top1"] = BalancedAccuracy(mode, 1)
        out[f"{prefix}/{mode}/loss"] = MeanLoss(mode)
    return out


def step_metric_objects(k: int = 5, prefix: str = "batch") -> dict[str, Metric]:
    """Fresh current-step metrics of the standard set, by name (``n_samples`` excluded)."""
    out: dict[str, Metric] = {}
    for mode in MODES:
        out[f"{prefix}/{mode}/top1"] = TopKAccuracy(mode, 1)
        if k > 1:
            out[f"{prefix}/{mode}/top{k}"] = TopKAccuracy(mode, k)
        out[f"{prefix}/{mode}/loss"] = MeanLoss(mode)
    return out


class MetricSet:
    """The standard online metrics of one stream.

    Update it once per step (before the learner learns), read :meth:`get` for TensorBoard and
    ``metrics.json``, checkpoint :meth:`state_dict` for exact resume.

    Args:
        k: The top-k of the top-k accuracies (``MetricsConfig.top_k``).

    Example:
        >>> import torch
        >>> from ego_cl.types import Target
        >>> ms = MetricSet(k=5)
        >>> batch = Batch(indices=torch.tensor([0, 1]), clips=torch.zeros(2, 0),
        ...               target=Target.from_label_sets([[(1, 0)], [(0, 1)]]))
        >>> ms.update(Prediction(indices=batch.indices, verb_logits=torch.tensor([[0.0, 1.0]] * 2),
        ...                      noun_logits=torch.tensor([[1.0, 0.0]] * 2)), batch)
        >>> values = ms.get()
        >>> values["online/action/top1"], values["online/verb/balanced_top1"], values["batch/n_samples"]
        (50.0, 50.0, 2.0)
    """

    def __init__(self, *, k: int = 5):
        if k < 1:
            raise ValueError(f"k must be >= 1, got {k}")
        self.k = k
        self.running = running_metrics(k)
        self.current = step_metric_objects(k)
        self.n_samples = 0

    def __repr__(self) -> str:
        return f"MetricSet(k={self.k}, n_samples={self.n_samples})"

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, MetricSet)
            and other.k == self.k
            and other.n_samples == self.n_samples
            and other.running == self.running
            and other.current == self.current
        )

    def update(self, prediction: Prediction, batch: Batch) -> None:
        """Score one step's prediction against the labels in ``batch``."""
        self.update_scores(step_scores(prediction, batch, k=self.k))

    def update_columns(self, columns: Mapping[str, Sequence[Any]] | pa.Table) -> None:
        """Score one step from its prediction-log columns (what the runner already computed)."""
        self.update_scores(sample_scores(prediction_log_table(columns)))

    def update_scores(self, scores: SampleScores) -> None:
        """Score one step from decoded samples."""
        for metric in self.running.values():
            metric.update_scores(scores)
        self.current = step_metric_objects(self.k)
        for metric in self.current.values():
            metric.update_scores(scores)
        self.n_samples += len(scores)

    def get(self) -> dict[str, float]:
        """Every value by name (see the module docstring); ``nan`` where nothing was seen."""
        out = {name: metric.get() for name, metric in self.running.items()}
        out["online/n_samples"] = float(self.n_samples)
        out.update({name: metric.get() for name, metric in self.current.items()})
        first = next(iter(self.current.values()))
        out["batch/n_samples"] = float(first.n) if self.n_samples else math.nan
        return out

    def merge(self, other: MetricSet) -> MetricSet:
        """Running metrics of both streams; the current-step metrics cover both current steps."""
        if not isinstance(other, MetricSet) or other.k != self.k:
            raise ValueError(f"cannot merge {self!r} with {other!r}")
        out = MetricSet(k=self.k)
        out.running = {name: m.merge(other.running[name]) for name, m in self.running.items()}
        out.current = {name: m.merge(other.current[name]) for name, m in self.current.items()}
        out.n_samples = self.n_samples + other.n_samples
        return out

    def state_dict(self) -> dict[str, Any]:
        """Plain ints and ``LongTensor``s (``torch.load(weights_only=True)`` safe)."""
        return {
            "k": self.k,
            "n_samples": self.n_samples,
            "running": {name: m.state_dict() for name, m in self.running.items()},
            "current": {name: m.state_dict() for name, m in self.current.items()},
        }

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore :meth:`state_dict` (the ``k`` must match)."""
        if int(state["k"]) != self.k:
            raise ValueError(f"state has k={state['k']}, this MetricSet has k={self.k}")
        for name, metric in self.running.items():
            metric.load_state_dict(state["running"][name])
        for name, metric in self.current.items():
            metric.load_state_dict(state["current"][name])
        self.n_samples = int(state["n_samples"])
