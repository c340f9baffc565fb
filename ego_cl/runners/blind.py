"""The blind label-window baseline, replayed from a saved prediction log (no video needed).

A :class:`~ego_cl.learners.label_window.LabelWindowPredictor` only needs each step's labels, in
stream order and batch grouping; every prediction log holds both (``step``, ``index`` and the
label columns). Replaying it through the same predict → log → learn order as the online loop
gives its exact prediction log, which the report scores like any method's.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import torch

from ego_cl.learners.label_window import LabelWindowPredictor
from ego_cl.metrics.prediction_log import prediction_log_columns, prediction_log_table
from ego_cl.types import Batch, Target

__all__ = ["class_counts_of", "label_window_log"]


def class_counts_of(*tables: pa.Table) -> tuple[int, int]:
    """``(n_verbs, n_nouns)`` as 1 + the largest verb/noun any log mentions (labels or top-k).

    Example:
        >>> t = pa.table({"verb_labels": [[3]], "noun_labels": [[1]], "verb_topk": [[0, 4]],
        ...               "noun_topk": [[2, 0]]})
        >>> class_counts_of(t)
        (5, 3)
    """
    counts = {"verb": 1, "noun": 1}
    for table in tables:
        for mode, suffix in ((m, s) for m in counts for s in ("labels", "topk")):
            largest = pc.max(table.column(f"{mode}_{suffix}").combine_chunks().flatten()).as_py()
            if largest is not None:
                counts[mode] = max(counts[mode], int(largest) + 1)
    return counts["verb"], counts["noun"]


def label_window_log(table: pa.Table, *, window: int, n_verbs: int, n_nouns: int, k: int = 5) -> pa.Table:
    """The prediction log a label-window predictor would have written on ``table``'s stream.

    Args:
        table: Any prediction log of the stream (its steps, indices and labels are used).
        window: Preceding samples whose label histogram is predicted.
        n_verbs: Verb classes (the uniform prediction of the first batch spreads over them).
        n_nouns: Noun classes.
        k: Top-k kept in the log.

    Returns:
        A :data:`~ego_cl.metrics.prediction_log.PREDICTION_LOG_SCHEMA` table, rows in stream order.
    """
    log = prediction_log_table(table)
    order = np.lexsort((log.column("index").to_numpy(), log.column("step").to_numpy()))
    log = log.take(pa.array(order))
    steps = log.column("step").to_numpy()
    indices = log.column("index").to_numpy()
    verbs, nouns = log.column("verb_labels").to_pylist(), log.column("noun_labels").to_pylist()
    learner = LabelWindowPredictor(window=window, n_verbs=n_verbs, n_nouns=n_nouns)
    columns: dict[str, list] = {}
    bounds = np.flatnonzero(np.diff(steps)) + 1
    for rows in np.split(np.arange(len(steps)), bounds):
        if rows.size == 0:
            continue
        labels = [list(zip(verbs[i], nouns[i], strict=True)) for i in rows]
        batch = Batch(
            indices=torch.as_tensor(indices[rows]),
            clips=torch.zeros(rows.size, 0),
            target=Target.from_label_sets(labels),
        )
        prediction = learner.predict(batch.without_labels())
        for name, values in prediction_log_columns(
            prediction, batch.target, step=int(steps[rows[0]]), k=k
        ).items():
            columns.setdefault(name, []).extend(values)
        learner.learn(batch)
    return prediction_log_table(columns) if columns else log.slice(0, 0)
