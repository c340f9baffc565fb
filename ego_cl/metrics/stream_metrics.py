"""After-the-fact stream metrics from a prediction-log table.

These give exactly the values :class:`~ego_cl.metrics.metric_set.MetricSet` reported online
(same names), because both reduce the same :class:`~ego_cl.metrics.scores.SampleScores` with the
same exact, order-independent statistics. :func:`hindsight_metrics` scores a whole-stream pass
of a final model (spec §6.6) and adds the macro loss.
"""

from __future__ import annotations

import math

import numpy as np
import pyarrow as pa

from ego_cl.metrics.exact_sum import ExactSum
from ego_cl.metrics.metric_set import MetricSet, running_metrics
from ego_cl.metrics.prediction_log import PredictionLogError, prediction_log_table
from ego_cl.metrics.scores import MODES, SampleScores, sample_scores

__all__ = [
    "balanced_loss",
    "check_unique_indices",
    "hindsight_metrics",
    "metric_curves",
    "stream_metrics",
]


def check_unique_indices(table: pa.Table) -> None:
    """Raise :class:`PredictionLogError` if a stream index occurs twice (e.g. a resume left
    a stale part behind)."""
    index = table.column("index").to_numpy()
    unique, counts = np.unique(index, return_counts=True)
    if (counts > 1).any():
        raise PredictionLogError(
            f"prediction log repeats stream index(es) {unique[counts > 1][:10].tolist()}"
        )


def _scores(table: pa.Table) -> SampleScores:
    table = prediction_log_table(table)
    check_unique_indices(table)
    return sample_scores(table)


def stream_metrics(table: pa.Table, *, k: int = 5, prefix: str = "online") -> dict[str, float]:
    """Final running metrics of a stream: ``MetricSet.get()``'s ``online/*`` values.

    Args:
        table: The stream's prediction log (any row order; each index once).
        k: The top-k the log was written with (``MetricsConfig.top_k``).
        prefix: Name prefix (``"online"`` gives the MetricSet names).

    Returns:
        ``{prefix}/{mode}/{top1,top<k>,balanced_top1,loss}`` and ``{prefix}/n_samples``.
    """
    scores = _scores(table)
    metrics = running_metrics(k, prefix)
    for metric in metrics.values():
        metric.update_scores(scores)
    out = {name: metric.get() for name, metric in metrics.items()}
    out[f"{prefix}/n_samples"] = float(len(scores))
    return out


def metric_curves(table: pa.Table, *, k: int = 5) -> dict[int, dict[str, float]]:
    """``MetricSet.get()`` after every step, recomputed from the log (for plots / TensorBoard).

    Returns:
        Step -> every ``online/*`` and ``batch/*`` value after that step, in step order.
    """
    scores = _scores(table)
    metric_set = MetricSet(k=k)
    order = np.argsort(scores.step, kind="stable")
    steps, starts = np.unique(scores.step[order], return_index=True)
    curves: dict[int, dict[str, float]] = {}
    for step, rows in zip(steps.tolist(), np.split(order, starts[1:])):
        metric_set.update_scores(scores.take(rows))
        curves[int(step)] = metric_set.get()
    return curves


def balanced_loss(scores: SampleScores, mode: str) -> float:
    """Macro loss: the mean over classes of the per-class mean loss (spec §6.6 ``balanced_loss``).

    Example:
        >>> import numpy as np
        >>> s = SampleScores(step=np.zeros(3, np.int64), index=np.arange(3),
        ...     primary={"verb": np.array([0, 0, 1])}, hit_rank={}, loss={"verb": np.array([1.0, 3.0, 6.0])})
        >>> balanced_loss(s, "verb")
        4.0
    """
    classes = scores.primary[mode]
    if classes.size == 0:
        return math.nan
    order = np.argsort(classes, kind="stable")
    _, starts = np.unique(classes[order], return_index=True)
    means = [
        ExactSum.of(scores.loss[mode][rows].tolist()).mean(rows.size) for rows in np.split(order, starts[1:])
    ]
    if any(not math.isfinite(m) for m in means):
        return float(np.mean(means))
    return math.fsum(means) / len(means)


def hindsight_metrics(table: pa.Table, *, k: int = 5) -> dict[str, float]:
    """Whole-stream metrics of a final (frozen) model pass over a stream (spec §6.6).

    Returns:
        ``hindsight/{mode}/{top1,top<k>,balanced_top1,loss,balanced_loss}`` and
        ``hindsight/n_samples``.
    """
    out = stream_metrics(table, k=k, prefix="hindsight")
    scores = _scores(table)
    for mode in MODES:
        out[f"hindsight/{mode}/balanced_loss"] = balanced_loss(scores, mode)
    return out
