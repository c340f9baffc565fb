"""Label counts of a stream (spec §6.1 count metrics), computed from its prediction log.

Labels per mode: a sample's distinct verbs, nouns or ``(verb, noun)`` pairs (a multi-label
sample contributes each of its labels once). "Seen" labels are those of the samples *before*
the current batch. Per step (batch), :func:`count_curves` gives:

- ``counts/{mode}/window{W}_unique``: distinct labels among the W samples preceding the batch;
  ``..._unique_fraction`` = that / label occurrences in the window (= /W for single labels once
  the window is full); ``..._freq_mean|std|min|max`` over the window's per-label counts
  (std with ddof=0). Empty window: 0 unique and ``nan`` for the rest.
- ``counts/{mode}/seen``, ``stream`` (whole stream), ``pretrain`` set sizes and
  ``seen_and_{stream,pretrain}`` intersections with ``..._seen_fraction`` /
  ``..._{stream,pretrain}_fraction``.
- ``counts/{mode}/batch_history``, ``batch_pretrain``, ``batch_history_and_pretrain``: mean over
  the batch's samples of how often their labels occurred in the seen stream, in pretraining
  (annotation counts) and in both (a multi-label sample averages over its labels).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Hashable, Mapping, Sequence, Set

import numpy as np
import pyarrow as pa

from ego_cl.metrics.prediction_log import prediction_log_table
from ego_cl.metrics.scores import MODES
from ego_cl.types import Action

__all__ = [
    "count_curves",
    "history_counts",
    "label_histogram",
    "mode_labels",
    "set_counts",
    "stream_label_sets",
    "window_counts",
]


def stream_label_sets(table: pa.Table) -> list[tuple[Action, ...]]:
    """Each sample's label pairs, in stream (index) order."""
    table = prediction_log_table(table)
    order = np.argsort(table.column("index").to_numpy(), kind="stable")
    verbs = table.column("verb_labels").to_pylist()
    nouns = table.column("noun_labels").to_pylist()
    return [tuple(zip(verbs[i], nouns[i])) for i in order.tolist()]


def mode_labels(labels: Sequence[Action], mode: str) -> tuple[Hashable, ...]:
    """A sample's distinct labels in ``mode``, in first-seen order.

    Example:
        >>> mode_labels([(1, 2), (1, 3)], "verb"), mode_labels([(1, 2), (1, 3)], "action")
        ((1,), ((1, 2), (1, 3)))
    """
    if mode == "verb":
        return tuple(dict.fromkeys(v for v, _ in labels))
    if mode == "noun":
        return tuple(dict.fromkeys(n for _, n in labels))
    if mode == "action":
        return tuple(dict.fromkeys(labels))
    raise ValueError(f"mode must be one of {MODES}, got {mode!r}")


def label_histogram(label_sets: Sequence[Sequence[Action]], mode: str) -> Counter:
    """How many samples carry each label (the stream label histogram).

    Example:
        >>> sorted(label_histogram([[(1, 2)], [(1, 3), (0, 3)], [(0, 3)]], "noun").items())
        [(2, 1), (3, 2)]
    """
    return Counter(label for labels in label_sets for label in mode_labels(labels, mode))


def window_counts(window: Sequence[Sequence[Action]], mode: str) -> dict[str, float]:
    """Unique-label statistics of the samples in ``window``.

    Example:
        >>> c = window_counts([[(0, 0)], [(0, 1)], [(1, 1)]], "verb")
        >>> c["unique"], c["freq_mean"], c["freq_std"], c["freq_max"]
        (2.0, 1.5, 0.5, 2.0)
    """
    freq = np.array(list(label_histogram(window, mode).values()), np.float64)
    if freq.size == 0:
        nan = math.nan
        return {"unique": 0.0, "unique_fraction": nan, "freq_mean": nan, "freq_std": nan, "freq_min": nan,
                "freq_max": nan}  # fmt: skip
    return {
        "unique": float(freq.size),
        "unique_fraction": freq.size / freq.sum(),
        "freq_mean": float(freq.mean()),
        "freq_std": float(freq.std()),
        "freq_min": float(freq.min()),
        "freq_max": float(freq.max()),
    }


def set_counts(seen: Set[Hashable], other: Set[Hashable], other_name: str) -> dict[str, float]:
    """Sizes and intersection of the seen label set and another set.

    Example:
        >>> set_counts({1, 2}, {2, 3, 4, 5}, "pretrain")["seen_and_pretrain_pretrain_fraction"]
        0.25
    """
    both = len(seen & other)
    return {
        "seen": float(len(seen)),
        other_name: float(len(other)),
        f"seen_and_{other_name}": float(both),
        f"seen_and_{other_name}_seen_fraction": both / len(seen) if seen else math.nan,
        f"seen_and_{other_name}_{other_name}_fraction": both / len(other) if other else math.nan,
    }


def history_counts(
    batch: Sequence[Sequence[Action]],
    mode: str,
    history: Mapping[Hashable, int],
    pretrain: Mapping[Hashable, int],
) -> dict[str, float]:
    """Mean over the batch's samples of their labels' counts in the seen stream and pretraining.

    Example:
        >>> history_counts([[(0, 0)], [(1, 0)]], "verb", {0: 3}, {1: 10})
        {'batch_history': 1.5, 'batch_pretrain': 5.0, 'batch_history_and_pretrain': 6.5}
    """
    per_sample = []
    for labels in batch:
        own = mode_labels(labels, mode)
        h = sum(history.get(a, 0) for a in own) / len(own)
        p = sum(pretrain.get(a, 0) for a in own) / len(own)
        per_sample.append((h, p))
    if not per_sample:
        return {"batch_history": math.nan, "batch_pretrain": math.nan, "batch_history_and_pretrain": math.nan}
    h, p = (float(np.mean(col)) for col in zip(*per_sample))
    return {"batch_history": h, "batch_pretrain": p, "batch_history_and_pretrain": h + p}


def count_curves(
    table: pa.Table,
    *,
    windows: Sequence[int] = (10, 100),
    pretrain: Mapping[str, Mapping[Hashable, int]] | None = None,
) -> dict[int, dict[str, float]]:
    """Per-step count metrics of a stream (see the module docstring).

    Args:
        table: The stream's prediction log (only labels, ``index`` and ``step`` are used).
        windows: The W of the windowed unique counts.
        pretrain: Mode -> label -> pretraining annotation count (verbs/nouns as ints, actions as
            ``(verb, noun)``); omit to skip the pretrain counts.
    """
    table = prediction_log_table(table)
    order = np.argsort(table.column("index").to_numpy(), kind="stable")
    steps = table.column("step").to_numpy()[order]
    label_sets = stream_label_sets(table)
    stream_sets = {m: set(label_histogram(label_sets, m)) for m in MODES}
    history = {m: Counter() for m in MODES}
    curves: dict[int, dict[str, float]] = {}
    start = 0
    for step in dict.fromkeys(steps.tolist()):
        end = start + int(np.count_nonzero(steps[start:] == step))
        batch, out = label_sets[start:end], {}
        for m in MODES:
            for w in windows:
                for name, value in window_counts(label_sets[max(0, start - w) : start], m).items():
                    out[f"counts/{m}/window{w}_{name}"] = value
            seen = set(history[m])
            out.update({f"counts/{m}/{k}": v for k, v in set_counts(seen, stream_sets[m], "stream").items()})
            if pretrain is not None:
                sets = set_counts(seen, set(pretrain[m]), "pretrain")
                out.update({f"counts/{m}/{k}": v for k, v in sets.items()})
            hist = history_counts(batch, m, history[m], pretrain[m] if pretrain is not None else {})
            if pretrain is None:
                hist = {"batch_history": hist["batch_history"]}
            out.update({f"counts/{m}/{k}": v for k, v in hist.items()})
            history[m].update(label_histogram(batch, m))
        curves[int(step)] = out
        start = end
    return curves
