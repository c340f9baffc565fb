"""Decorrelated / correlated accuracy (spec §6.4): does the learner only exploit label repetition?

In stream order, a sample is *decorrelated* when its label differs from the previous sample's
(the first sample counts as decorrelated) and *correlated* otherwise. Balanced top-1 accuracy is
computed on each subset; their gains against the baseline are per-user differences of these
values (``ego_cl.metrics.gains``).

Labels are the samples' primary labels; actions compare the ``(verb, noun)`` tuple. The
original tested actions element-wise, so a sample counted as "same label" when *either* its
verb or its noun equalled the previous one **[quirk]**; ``upstream_elementwise=True`` (config
``metrics.upstream_elementwise_decorrelation``) reproduces that.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from ego_cl.metrics.balanced_accuracy import balanced_accuracy, class_counts
from ego_cl.metrics.prediction_log import prediction_log_table
from ego_cl.metrics.scores import MODES, SampleScores, sample_scores, split_action_key

__all__ = ["decorrelated_metrics", "label_changed"]


def label_changed(scores: SampleScores, mode: str, *, upstream_elementwise: bool = False) -> np.ndarray:
    """``bool[N]`` in stream (index) order: whether a sample's label differs from the previous one.

    Args:
        scores: Decoded log rows (any order; sorted by ``index`` here).
        mode: ``"verb"``, ``"noun"`` or ``"action"``.
        upstream_elementwise: Actions only: "changed" needs both verb and noun to change.

    Example:
        >>> import numpy as np
        >>> from ego_cl.metrics.scores import action_key
        >>> s = SampleScores(step=np.zeros(4, np.int64), index=np.arange(4), hit_rank={}, loss={},
        ...     primary={"action": action_key(np.array([1, 1, 1, 2]), np.array([5, 5, 6, 6]))})
        >>> label_changed(s, "action").tolist()
        [True, False, True, True]
        >>> label_changed(s, "action", upstream_elementwise=True).tolist()
        [True, False, False, False]
    """
    labels = scores.primary[mode][np.argsort(scores.index, kind="stable")]
    changed = np.ones(labels.shape[0], bool)
    if upstream_elementwise and mode == "action":
        pairs = np.array([split_action_key(k) for k in labels.tolist()], np.int64).reshape(-1, 2)
        changed[1:] = (pairs[1:, 0] != pairs[:-1, 0]) & (pairs[1:, 1] != pairs[:-1, 1])
    else:
        changed[1:] = labels[1:] != labels[:-1]
    return changed


def decorrelated_metrics(
    table: pa.Table, *, prefix: str = "online", upstream_elementwise: bool = False
) -> dict[str, float]:
    """Balanced top-1 accuracy on the decorrelated and correlated samples of a stream's log.

    Returns:
        Per mode: ``{prefix}/{mode}/balanced_top1_decorrelated``,
        ``{prefix}/{mode}/balanced_top1_correlated`` (``nan`` for an empty subset),
        ``{prefix}/{mode}/decorrelated_percent`` (% of samples kept) and
        ``{prefix}/{mode}/n_decorrelated``.
    """
    scores = sample_scores(prediction_log_table(table))
    ordered = scores.take(np.argsort(scores.index, kind="stable"))
    out = {}
    for mode in MODES:
        keep = label_changed(ordered, mode, upstream_elementwise=upstream_elementwise)
        correct = ordered.correct(mode, 1)
        classes = ordered.primary[mode]
        out[f"{prefix}/{mode}/balanced_top1_decorrelated"] = balanced_accuracy(
            class_counts(classes[keep], correct[keep])
        )
        out[f"{prefix}/{mode}/balanced_top1_correlated"] = balanced_accuracy(
            class_counts(classes[~keep], correct[~keep])
        )
        n_kept = int(keep.sum())
        out[f"{prefix}/{mode}/decorrelated_percent"] = 100 * n_kept / len(keep) if len(keep) else float("nan")
        out[f"{prefix}/{mode}/n_decorrelated"] = float(n_kept)
    return out
