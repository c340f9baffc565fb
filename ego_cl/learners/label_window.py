"""Label-window predictors: no video, no network; predict from the frequencies of recent labels.

They measure how much a stream's label distribution alone predicts the next actions. Each
returns log-probabilities (floored at ``log(1e-12)`` so losses stay finite) for verbs and nouns:
the normalised histogram of the labels in its window. A multi-label sample contributes weight 1
split evenly over its label pairs. An empty window predicts the uniform distribution — over
*nouns* for the noun vector (the original filled it with ``1/n_verbs``, a bug without effect on
the argmax, fixed here).

Labels are revealed per batch in ego_cl's protocol (predict the whole batch, then learn it), so
``LabelWindowPredictor`` predicts every sample of a batch from the ``window`` samples *before the
batch*. The original revealed labels sample by sample inside a batch; run it with
``stream.batch_size=1`` to reproduce that exactly.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Mapping, Sequence
from typing import Any, Literal

import attrs
import torch

from ego_cl.types import Action, Batch, LearnStats, Prediction

__all__ = [
    "BatchedLabelWindowPredictor",
    "HindsightLabelWindowPredictor",
    "LabelWindowPredictor",
    "LwpBatchedConfig",
    "LwpConfig",
    "LwpHindsightConfig",
    "label_histograms",
]

LOG_FLOOR = math.log(1e-12)
"""Log-probability given to classes absent from the window."""


@attrs.frozen(kw_only=True)
class LwpConfig:
    """Label-window predictor: the label histogram of the ``window`` samples before each batch.

    Attributes:
        window: Preceding samples in the window (the original's grid: 1, 4, 32, 1e7).
    """

    kind: Literal["lwp"] = "lwp"
    window: int = attrs.field(default=4, validator=attrs.validators.gt(0))


@attrs.frozen(kw_only=True)
class LwpBatchedConfig:
    """Label-window predictor over the previous batch's labels (the original's batched LWP)."""

    kind: Literal["lwp_batched"] = "lwp_batched"


@attrs.frozen(kw_only=True)
class LwpHindsightConfig:
    """HINDSIGHT oracle: the label histogram of the last ``window`` labels of the whole stream.

    Its results are hindsight numbers ("HAG of LWP"), never online ones.

    Attributes:
        window: Final stream samples in the window.
    """

    kind: Literal["lwp_hindsight"] = "lwp_hindsight"
    window: int = attrs.field(default=4, validator=attrs.validators.gt(0))


def label_histograms(
    label_sets: Sequence[Sequence[Action]], *, n_verbs: int, n_nouns: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """Normalised verb and noun histograms of ``label_sets`` (uniform when empty).

    Example:
        >>> v, n = label_histograms([[(0, 1)], [(0, 2), (1, 2)]], n_verbs=2, n_nouns=3)
        >>> v.tolist(), n.tolist()
        ([0.75, 0.25], [0.0, 0.5, 0.5])
        >>> label_histograms([], n_verbs=2, n_nouns=4)[1].tolist()
        [0.25, 0.25, 0.25, 0.25]
    """
    verbs = torch.zeros(n_verbs, dtype=torch.float64)
    nouns = torch.zeros(n_nouns, dtype=torch.float64)
    if not label_sets:
        return verbs.fill_(1 / n_verbs).float(), nouns.fill_(1 / n_nouns).float()
    for labels in label_sets:
        weight = 1 / len(labels)
        for verb, noun in labels:
            verbs[verb] += weight
            nouns[noun] += weight
    return (verbs / verbs.sum()).float(), (nouns / nouns.sum()).float()


def _prediction(batch: Batch, verb_p: torch.Tensor, noun_p: torch.Tensor) -> Prediction:
    n, device = len(batch), batch.indices.device
    return Prediction(
        indices=batch.indices.clone(),
        verb_logits=verb_p.log().clamp_min(LOG_FLOOR).to(device).expand(n, -1).clone(),
        noun_logits=noun_p.log().clamp_min(LOG_FLOOR).to(device).expand(n, -1).clone(),
    )


def _as_lists(label_sets: Sequence[Sequence[Action]]) -> list[list[list[int]]]:
    return [[[int(v), int(n)] for v, n in labels] for labels in label_sets]


def _as_tuples(rows: Sequence[Sequence[Sequence[int]]]) -> list[tuple[Action, ...]]:
    return [tuple((int(v), int(n)) for v, n in labels) for labels in rows]


class LabelWindowPredictor:
    """Predicts the label histogram of the ``window`` samples preceding the batch.

    Args:
        window: Number of preceding samples (the original's grid: 1, 4, 32, 1e7).
        n_verbs: Verb classes.
        n_nouns: Noun classes.
    """

    is_hindsight = False

    def __init__(self, *, window: int, n_verbs: int, n_nouns: int):
        if window <= 0:
            raise ValueError(f"window must be > 0, got {window}")
        self.window, self.n_verbs, self.n_nouns = window, n_verbs, n_nouns
        self._labels: deque[tuple[Action, ...]] = deque(maxlen=window)

    def predict(self, batch: Batch) -> Prediction:
        """Every sample of ``batch`` gets the histogram of the current window."""
        v, n = label_histograms(list(self._labels), n_verbs=self.n_verbs, n_nouns=self.n_nouns)
        return _prediction(batch, v, n)

    def learn(self, batch: Batch) -> LearnStats:
        """Push the batch's label sets into the window."""
        self._labels.extend(batch.labelled().label_sets())
        return {"window_fill": float(len(self._labels))}

    def state_dict(self) -> dict[str, Any]:
        """The window's label sets."""
        return {"labels": _as_lists(self._labels)}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore what :meth:`state_dict` returned."""
        self._labels = deque(_as_tuples(state["labels"]), maxlen=self.window)


class BatchedLabelWindowPredictor:
    """Predicts every sample of batch ``t`` with the label histogram of batch ``t-1``.

    Batch 0 gets the uniform distribution. Args as :class:`LabelWindowPredictor`, without a
    window (the previous batch is the window).
    """

    is_hindsight = False

    def __init__(self, *, n_verbs: int, n_nouns: int):
        self.n_verbs, self.n_nouns = n_verbs, n_nouns
        self._labels: list[tuple[Action, ...]] = []

    def predict(self, batch: Batch) -> Prediction:
        """Every sample of ``batch`` gets the previous batch's histogram."""
        v, n = label_histograms(self._labels, n_verbs=self.n_verbs, n_nouns=self.n_nouns)
        return _prediction(batch, v, n)

    def learn(self, batch: Batch) -> LearnStats:
        """Remember this batch's label sets (replacing the previous batch's)."""
        self._labels = list(batch.labelled().label_sets())
        return {"window_fill": float(len(self._labels))}

    def state_dict(self) -> dict[str, Any]:
        """The previous batch's label sets."""
        return {"labels": _as_lists(self._labels)}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore what :meth:`state_dict` returned."""
        self._labels = _as_tuples(state["labels"])


class HindsightLabelWindowPredictor:
    """HINDSIGHT ORACLE: predicts every sample with the histogram of the last ``window`` labels
    of the *whole* stream, which it receives up front.

    Its numbers are hindsight numbers ("HAG of LWP") and must never be reported as online
    results: ``is_hindsight`` is ``True`` and runners check it.

    Args:
        stream_labels: Label set of every sample of the user stream, in stream order.
        window: Number of final stream samples to take the histogram of.
        n_verbs: Verb classes.
        n_nouns: Noun classes.
    """

    is_hindsight = True

    def __init__(self, *, stream_labels: Sequence[Sequence[Action]], window: int, n_verbs: int, n_nouns: int):
        if window <= 0:
            raise ValueError(f"window must be > 0, got {window}")
        if not stream_labels:
            raise ValueError("stream_labels is empty: the hindsight predictor needs the stream")
        self.window, self.n_verbs, self.n_nouns = window, n_verbs, n_nouns
        final = [tuple(labels) for labels in stream_labels[-window:]]
        self._verb_p, self._noun_p = label_histograms(final, n_verbs=n_verbs, n_nouns=n_nouns)

    def predict(self, batch: Batch) -> Prediction:
        """Every sample gets the final-window histogram."""
        return _prediction(batch, self._verb_p, self._noun_p)

    def learn(self, batch: Batch) -> LearnStats:
        """Nothing to learn: the prediction is fixed by the whole stream."""
        batch.labelled()
        return {}

    def state_dict(self) -> dict[str, Any]:
        """No state (the stream's labels are a constructor input)."""
        return {}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Nothing to restore."""
