"""Per-sample scores decoded from prediction-log rows: the one place that reads log columns.

Online :class:`~ego_cl.protocols.Metric` objects and the after-the-fact functions both turn log
rows into :class:`SampleScores` first and reduce those, so the two always agree exactly.

Class semantics used by every class-conditional metric: a sample's class is its *primary* label
(the first pair): its verb, its noun, or the ``(verb, noun)`` pair for actions. Correctness uses
the whole label set: top-k is correct when any of the sample's labels is among the k best
(for actions, any of its pairs among the k best actions).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Literal

import attrs
import numpy as np
import pyarrow as pa

from ego_cl.metrics.prediction_log import prediction_log_columns
from ego_cl.types import Batch, Prediction

__all__ = [
    "MISS",
    "MODES",
    "Mode",
    "SampleScores",
    "action_key",
    "column_scores",
    "sample_scores",
    "split_action_key",
    "step_scores",
]

Mode = Literal["verb", "noun", "action"]
MODES: tuple[Mode, ...] = ("verb", "noun", "action")
MISS = np.iinfo(np.int64).max
"""``hit_rank`` of a sample none of whose labels is among its stored top-k."""

_SHIFT = 32


def action_key(verb: np.ndarray | int, noun: np.ndarray | int) -> np.ndarray | int:
    """Encode ``(verb, noun)`` as one int64 class key (``verb << 32 | noun``).

    Example:
        >>> action_key(3, 5), split_action_key(action_key(3, 5))
        (12884901893, (3, 5))
    """
    if isinstance(verb, int) and isinstance(noun, int):
        return (verb << _SHIFT) | noun
    return (np.asarray(verb, np.int64) << _SHIFT) | np.asarray(noun, np.int64)


def split_action_key(key: int) -> tuple[int, int]:
    """Decode :func:`action_key` back to ``(verb, noun)``."""
    return int(key) >> _SHIFT, int(key) & ((1 << _SHIFT) - 1)


@attrs.frozen(kw_only=True, eq=False)
class SampleScores:
    """Per-sample arrays, one entry per log row (in row order).

    Attributes:
        step: ``int64[N]`` batch position of each row.
        index: ``int64[N]`` stream position of each row.
        primary: Mode -> ``int64[N]`` class key of the primary label (actions: :func:`action_key`).
        hit_rank: Mode -> ``int64[N]`` 0-based rank of the best-ranked true label among the stored
            top-k, :data:`MISS` if none is there. Top-k correct iff ``hit_rank < k``.
        loss: Mode -> ``float64[N]`` per-sample loss.
    """

    step: np.ndarray
    index: np.ndarray
    primary: Mapping[str, np.ndarray]
    hit_rank: Mapping[str, np.ndarray]
    loss: Mapping[str, np.ndarray]

    def __len__(self) -> int:
        return int(self.index.shape[0])

    def correct(self, mode: str, k: int = 1) -> np.ndarray:
        """``bool[N]``: whether each sample is top-``k`` correct in ``mode``."""
        return self.hit_rank[mode] < k

    def take(self, rows: np.ndarray) -> SampleScores:
        """The scores of the selected rows (boolean mask or integer positions)."""
        return SampleScores(
            step=self.step[rows],
            index=self.index[rows],
            primary={m: a[rows] for m, a in self.primary.items()},
            hit_rank={m: a[rows] for m, a in self.hit_rank.items()},
            loss={m: a[rows] for m, a in self.loss.items()},
        )


def _list_column(table: pa.Table, name: str) -> tuple[np.ndarray, np.ndarray]:
    """Flattened values and ``int64[N+1]`` offsets of a list<int64> column."""
    array = table.column(name).combine_chunks()
    values = array.flatten().to_numpy(zero_copy_only=False).astype(np.int64, copy=False)
    offsets = np.zeros(len(array) + 1, np.int64)
    np.cumsum(array.value_lengths().to_numpy(zero_copy_only=False), out=offsets[1:])
    return values, offsets


def _padded(values: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """A ragged column as ``int64[N, max_len]`` padded with ``-1``."""
    lengths = np.diff(offsets)
    width = int(lengths.max()) if lengths.size else 0
    out = np.full((lengths.size, width), -1, np.int64)
    rows = np.repeat(np.arange(lengths.size), lengths)
    out[rows, np.arange(values.size) - offsets[rows]] = values
    return out


def _best_rank(hits: np.ndarray, label_offsets: np.ndarray) -> np.ndarray:
    """Per row, the smallest rank at which any of its labels is hit (``hits[n_labels, width]``)."""
    if hits.shape[0] == 0:
        return np.zeros(0, np.int64)
    if hits.shape[1] == 0:
        return np.full(len(label_offsets) - 1, MISS, np.int64)
    rank = np.where(hits.any(axis=1), hits.argmax(axis=1), MISS).astype(np.int64)
    return np.minimum.reduceat(rank, label_offsets[:-1])


def sample_scores(table: pa.Table) -> SampleScores:
    """Decode a prediction-log table (:data:`~ego_cl.metrics.prediction_log.PREDICTION_LOG_SCHEMA`).

    Args:
        table: Log rows; use ``prediction_log_table`` first for columns of unknown types.

    Returns:
        :class:`SampleScores` in the table's row order.
    """
    return _decode(lambda name: _list_column(table, name), lambda name: table.column(name).to_numpy())


def column_scores(columns: Mapping[str, Sequence[Any]]) -> SampleScores:
    """:func:`sample_scores` of the plain columns ``prediction_log_columns`` returns, without the
    round trip through Arrow (the online path: one step's rows, already of the log's types).

    Args:
        columns: Every column of :data:`~ego_cl.metrics.prediction_log.LOG_COLUMNS`: Python ints,
            floats and lists of ints, as ``prediction_log_columns`` makes them.
    """
    return _decode(lambda name: _ragged(columns[name]), lambda name: np.asarray(columns[name]))


def _ragged(rows: Sequence[Sequence[int]]) -> tuple[np.ndarray, np.ndarray]:
    """Flattened values and ``int64[N+1]`` offsets of a list of int lists."""
    offsets = np.zeros(len(rows) + 1, np.int64)
    np.cumsum(np.fromiter((len(r) for r in rows), np.int64, len(rows)), out=offsets[1:])
    values = np.fromiter(itertools.chain.from_iterable(rows), np.int64, int(offsets[-1]))
    return values, offsets


def _decode(
    lists: Callable[[str], tuple[np.ndarray, np.ndarray]], flat: Callable[[str], np.ndarray]
) -> SampleScores:
    """:class:`SampleScores` from a log's list columns (values, offsets) and flat columns."""
    verbs, label_offsets = lists("verb_labels")
    nouns, noun_offsets = lists("noun_labels")
    n = len(label_offsets) - 1
    if not np.array_equal(label_offsets, noun_offsets):
        raise ValueError("verb_labels and noun_labels must have the same length in every row")
    if n and np.diff(label_offsets).min() < 1:
        raise ValueError("every prediction-log row needs at least one label")
    label_row = np.repeat(np.arange(n), np.diff(label_offsets))
    tops = {
        name: _padded(*lists(name))
        for name in ("verb_topk", "noun_topk", "action_topk_verb", "action_topk_noun")
    }
    hit_rank = {
        "verb": _best_rank(tops["verb_topk"][label_row] == verbs[:, None], label_offsets),
        "noun": _best_rank(tops["noun_topk"][label_row] == nouns[:, None], label_offsets),
        "action": _best_rank(
            (tops["action_topk_verb"][label_row] == verbs[:, None])
            & (tops["action_topk_noun"][label_row] == nouns[:, None]),
            label_offsets,
        ),
    }
    first = label_offsets[:-1]
    primary = {"verb": verbs[first], "noun": nouns[first], "action": action_key(verbs[first], nouns[first])}
    return SampleScores(
        step=flat("step").astype(np.int64, copy=False),
        index=flat("index").astype(np.int64, copy=False),
        primary=primary,
        hit_rank=hit_rank,
        loss={m: flat(f"{m}_loss").astype(np.float64, copy=False) for m in MODES},
    )


def step_scores(prediction: Prediction, batch: Batch, *, k: int = 1) -> SampleScores:
    """Scores of one online step: what ``Metric.update(prediction, batch)`` reduces.

    Args:
        prediction: The learner's prediction for ``batch``.
        batch: The labelled batch (``batch.target`` must be set).
        k: How many ranks to keep (the largest top-k any caller needs).
    """
    return column_scores(prediction_log_columns(prediction, batch.labelled(), step=0, k=k))
