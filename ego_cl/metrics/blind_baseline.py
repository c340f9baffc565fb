"""The blind label-window baseline: what a stream's label sequence alone predicts.

A label-window predictor ignores the video: it predicts the normalised histogram of the labels of
the ``window`` samples before the current batch (a multi-label sample gives weight 1 split evenly
over its pairs; an empty window predicts uniform), like ``ego_cl.learners``'
``LabelWindowPredictor``. Its accuracy on a stream is reported next to each method, so label
repetition cannot pass for adaptation. Here it is computed directly from the stream's labels,
exactly (integer counts: ties go to the lower class index; actions rank by the product of the two
histograms, ties by verb rank then noun rank), without running a learner.

``batch_size=1`` reveals labels sample by sample (the original LWP); the runner's batch size
reproduces ego_cl's batch-level reveal.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pyarrow as pa

from ego_cl.metrics.counts import stream_label_sets
from ego_cl.metrics.prediction_log import LOG_COLUMNS, prediction_log_table
from ego_cl.metrics.stream_metrics import stream_metrics
from ego_cl.types import Action

__all__ = ["blind_baseline_metrics", "label_window_log"]

_FLOOR = 1e-12


def _or_uniform(counts: np.ndarray) -> np.ndarray:
    return counts if counts.any() else np.ones_like(counts)


def _ranked_columns(verbs: np.ndarray, nouns: np.ndarray, k: int) -> dict[str, list[int]]:
    """Top-k verbs, nouns and actions of the window histograms (exact integer ranking)."""
    cv, cn = _or_uniform(verbs), _or_uniform(nouns)
    top_v, top_n = np.argsort(-cv, kind="stable")[:k], np.argsort(-cn, kind="stable")[:k]
    joint = (cv[top_v][:, None] * cn[top_n][None, :]).ravel()  # (verb rank, noun rank) order
    best = np.argsort(-joint, kind="stable")[:k]
    return {
        "verb_topk": top_v.tolist(),
        "noun_topk": top_n.tolist(),
        "action_topk_verb": top_v[best // len(top_n)].tolist(),
        "action_topk_noun": top_n[best % len(top_n)].tolist(),
    }


def _losses(labels: Sequence[Action], verbs: np.ndarray, nouns: np.ndarray) -> dict[str, float]:
    """Cross-entropy of the window histograms (probabilities floored at ``1e-12``)."""
    p_verb, p_noun = (
        _or_uniform(verbs) / _or_uniform(verbs).sum(),
        _or_uniform(nouns) / _or_uniform(nouns).sum(),
    )
    lv = [-math.log(max(p_verb[v], _FLOOR)) for v, _ in labels]
    ln = [-math.log(max(p_noun[n], _FLOOR)) for _, n in labels]
    action = [a + b for a, b in zip(lv, ln)]
    return {
        "verb_loss": sum(lv) / len(lv),
        "noun_loss": sum(ln) / len(ln),
        "action_loss": sum(action) / len(action),
    }


def label_window_log(
    label_sets: Sequence[Sequence[Action]],
    *,
    window: int,
    n_verbs: int,
    n_nouns: int,
    batch_size: int = 1,
    k: int = 5,
) -> pa.Table:
    """The prediction log a label-window predictor would write on this label sequence.

    Args:
        label_sets: Each sample's label pairs, in stream order.
        window: How many preceding samples the histogram covers.
        n_verbs: Number of verb classes.
        n_nouns: Number of noun classes.
        batch_size: Samples revealed together (each batch is predicted from the samples before it).
        k: Ranks kept per sample.

    Returns:
        A table of ``PREDICTION_LOG_SCHEMA`` (losses use the learner's ``1e-12`` probability floor).
    """
    if window < 1 or batch_size < 1:
        raise ValueError(f"window and batch_size must be >= 1, got {window}, {batch_size}")
    scale = math.lcm(*(len(s) for s in label_sets)) if label_sets else 1
    counts = (np.zeros(n_verbs, np.int64), np.zeros(n_nouns, np.int64))
    columns: dict[str, list] = {name: [] for name in LOG_COLUMNS}

    def add(labels: Sequence[Action], sign: int) -> None:
        for v, n in labels:
            counts[0][v] += sign * scale // len(labels)
            counts[1][n] += sign * scale // len(labels)

    for first in range(0, len(label_sets), batch_size):
        for i in range(max(0, first - batch_size - window), first - window):
            add(label_sets[i], -1)  # left the window
        for i in range(max(0, first - batch_size), first):
            add(label_sets[i], +1)  # the previous batch, now revealed
        ranked = _ranked_columns(*counts, k)
        for i in range(first, min(first + batch_size, len(label_sets))):
            labels = list(label_sets[i])
            row = {"step": first // batch_size, "index": i, "verb_labels": [v for v, _ in labels],
                   "noun_labels": [n for _, n in labels], **ranked, **_losses(labels, *counts)}  # fmt: skip
            for name in LOG_COLUMNS:
                columns[name].append(row[name])
    return prediction_log_table(columns)


def blind_baseline_metrics(
    table: pa.Table, *, window: int, n_verbs: int, n_nouns: int, batch_size: int = 1, k: int = 5
) -> dict[str, float]:
    """Accuracies of the label-window predictor on the stream of ``table`` (``blind/{mode}/...``).

    Losses are left out: a histogram's cross-entropy says little. Uses only the log's labels.

    Example:
        >>> from ego_cl.metrics.prediction_log import LOG_COLUMNS, prediction_log_table
        >>> labels = [[(0, 0)], [(0, 0)], [(1, 1)], [(1, 1)]]
        >>> log = label_window_log(labels, window=1, n_verbs=2, n_nouns=2)
        >>> blind_baseline_metrics(log, window=1, n_verbs=2, n_nouns=2)["blind/action/top1"]
        75.0
    """
    label_sets = stream_label_sets(table)
    log = label_window_log(
        label_sets, window=window, n_verbs=n_verbs, n_nouns=n_nouns, batch_size=batch_size, k=k
    )
    return {
        name: v for name, v in stream_metrics(log, k=k, prefix="blind").items() if not name.endswith("/loss")
    }
