"""The prediction-log schema and the pure function that fills it from one step.

A prediction log has one row per scored stream sample. The stream runner computes the rows of a
step with :func:`prediction_log_columns` *before* the learner sees the labels, writes them as zstd
Parquet parts (through :func:`prediction_log_table`, which applies :data:`PREDICTION_LOG_SCHEMA`),
and reads the concatenated parts back for reports. Every after-the-fact metric in
``ego_cl.metrics`` takes such a table.

Columns (:data:`PREDICTION_LOG_SCHEMA`):

===================  ============  =============================================================
``step``             int64         batch position the prediction was made at (for past-window
                                   logs: the step whose updated model was evaluated)
``index``            int64         stream position of the sample
``verb_labels``      list<int64>   verbs of the sample's label pairs, primary pair first
``noun_labels``      list<int64>   nouns of the same pairs (``(verb_labels[j], noun_labels[j])``)
``verb_topk``        list<int64>   the k best verbs, best first
``noun_topk``        list<int64>   the k best nouns, best first
``action_topk_verb`` list<int64>   verbs of the k best actions (see "action top-k")
``action_topk_noun`` list<int64>   nouns of the k best actions
``verb_loss``        float64       CE of the verb logits, mean over the sample's label pairs
``noun_loss``        float64       CE of the noun logits, mean over the label pairs
``action_loss``      float64       mean over the label pairs of CE(verb) + CE(noun)
===================  ============  =============================================================

Every log the runner writes (online ``predictions-*``, ``past-*``, ``future-*`` and hindsight
parts) also carries the sample's identity, so a row joins with the annotations and the video
without rebuilding the stream (:data:`SAMPLE_LOG_SCHEMA`, filled by :func:`sample_log_columns`):

===================  ============  =============================================================
``user_id``          string        whose stream the sample is in
``clip_uid``         string        the clip (video file ``<clip_uid>.mp4``)
``video_uid``        string        its parent video
``start_s``          float64       clip start in the clip file, seconds (rounded from exact)
``end_s``            float64       clip end (exclusive), seconds
``start_exact``      string        the exact start as a fraction, e.g. ``"64/15"``
``end_exact``        string        the exact end
``recorded_index``   int64         position in the recorded order: ``index`` itself unless the
                                   stream is IID-shuffled (``stream.shuffle_seed``), where
                                   ``index`` is the shuffled position
===================  ============  =============================================================

These columns are optional for the metric functions: :func:`prediction_log_table` keeps only
the scoring columns above, so logs written before they existed still score.

Ranking: classes are ranked by logit, ties broken by the lower class index (a stable sort; the
same as ``argmax``). ``k`` is capped at the number of classes.

Action top-k (an ego_cl extension; the original reports top-5 only for verbs and nouns): actions
are ranked by ``log p(verb) + log p(noun)`` with ``p = softmax(logits)`` (the top-k of the outer
product of the two distributions), ties broken by the verb's rank, then the noun's rank. The k
best actions always lie in (k best verbs) x (k best nouns), so only those k² pairs are scored.
The best action is always (top-1 verb, top-1 noun), so action top-1 is the original's.

Losses are computed in float64 from the logits as given (label-window predictors give
log-probabilities, whose softmax is the distribution itself). Masked logits (``-1e12``) give huge
but finite losses.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pyarrow as pa
import torch

from ego_cl.types import Prediction, StreamSample, Target

__all__ = [
    "LOG_COLUMNS",
    "PREDICTION_LOG_SCHEMA",
    "SAMPLE_COLUMNS",
    "SAMPLE_LOG_SCHEMA",
    "PredictionLogError",
    "prediction_log_columns",
    "prediction_log_table",
    "sample_log_columns",
]

_INT_LIST = pa.list_(pa.int64())

PREDICTION_LOG_SCHEMA = pa.schema(
    [
        pa.field("step", pa.int64(), nullable=False),
        pa.field("index", pa.int64(), nullable=False),
        pa.field("verb_labels", _INT_LIST, nullable=False),
        pa.field("noun_labels", _INT_LIST, nullable=False),
        pa.field("verb_topk", _INT_LIST, nullable=False),
        pa.field("noun_topk", _INT_LIST, nullable=False),
        pa.field("action_topk_verb", _INT_LIST, nullable=False),
        pa.field("action_topk_noun", _INT_LIST, nullable=False),
        pa.field("verb_loss", pa.float64(), nullable=False),
        pa.field("noun_loss", pa.float64(), nullable=False),
        pa.field("action_loss", pa.float64(), nullable=False),
    ],
    metadata={"ego_cl.schema": "prediction_log/1"},
)
"""Arrow schema of a prediction log (one row per scored sample); see the module docstring."""

LOG_COLUMNS: tuple[str, ...] = tuple(PREDICTION_LOG_SCHEMA.names)
"""Column names of :data:`PREDICTION_LOG_SCHEMA`, in order."""


SAMPLE_LOG_SCHEMA = pa.schema(
    [
        pa.field("user_id", pa.string(), nullable=False),
        pa.field("clip_uid", pa.string(), nullable=False),
        pa.field("video_uid", pa.string(), nullable=False),
        pa.field("start_s", pa.float64(), nullable=False),
        pa.field("end_s", pa.float64(), nullable=False),
        pa.field("start_exact", pa.string(), nullable=False),
        pa.field("end_exact", pa.string(), nullable=False),
        pa.field("recorded_index", pa.int64(), nullable=False),
    ]
)
"""Arrow schema of the sample-identity columns every written log also has (module docstring)."""

SAMPLE_COLUMNS: tuple[str, ...] = tuple(SAMPLE_LOG_SCHEMA.names)
"""Column names of :data:`SAMPLE_LOG_SCHEMA`, in order."""


class PredictionLogError(ValueError):
    """A prediction or log table does not fit the prediction-log contract."""


def _ranked(logits: np.ndarray, k: int) -> np.ndarray:
    """``int64[B, min(k, n)]``: best classes first, ties to the lower index (stable sort)."""
    return np.argsort(-logits, axis=1, kind="stable")[:, : min(k, logits.shape[1])]


def _log_softmax(logits: np.ndarray) -> np.ndarray:
    shifted = logits - logits.max(axis=1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))


def _action_ranked(
    log_p_verb: np.ndarray, log_p_noun: np.ndarray, top_verb: np.ndarray, top_noun: np.ndarray, k: int
) -> tuple[np.ndarray, np.ndarray]:
    """The k best (verb, noun) pairs by ``log p_v + log p_n`` among top verbs x top nouns."""
    score_v = np.take_along_axis(log_p_verb, top_verb, axis=1)  # [B, kv] in verb-rank order
    score_n = np.take_along_axis(log_p_noun, top_noun, axis=1)  # [B, kn]
    joint = (score_v[:, :, None] + score_n[:, None, :]).reshape(
        score_v.shape[0], -1
    )  # (verb, noun) rank order
    best = np.argsort(-joint, axis=1, kind="stable")[:, : min(k, joint.shape[1])]
    n_noun = top_noun.shape[1]
    return np.take_along_axis(top_verb, best // n_noun, axis=1), np.take_along_axis(
        top_noun, best % n_noun, axis=1
    )


def _to_numpy(tensor: torch.Tensor, dtype: torch.dtype) -> np.ndarray:
    return tensor.detach().to("cpu", dtype).numpy()


def _check_inputs(prediction: Prediction, target: Target, k: int) -> np.ndarray:
    if k < 1:
        raise PredictionLogError(f"k must be >= 1, got {k}")
    actions = _to_numpy(target.actions, torch.long)
    n = len(prediction)
    if actions.ndim != 3 or actions.shape[0] != n or actions.shape[2] != 2:
        raise PredictionLogError(f"target.actions must be [{n}, L, 2], got {tuple(actions.shape)}")
    for name, logits in (("verb", prediction.verb_logits), ("noun", prediction.noun_logits)):
        if logits.dim() != 2 or logits.shape[0] != n:
            raise PredictionLogError(f"{name}_logits must be [{n}, n_{name}s], got {tuple(logits.shape)}")
    valid = actions[:, :, 0] >= 0
    if n and not valid[:, 0].all():
        raise PredictionLogError("every sample needs a (verb, noun) label in row 0 of target.actions")
    for col, name, logits in ((0, "verb", prediction.verb_logits), (1, "noun", prediction.noun_logits)):
        labels = actions[:, :, col][valid]
        if labels.size and (labels.min() < 0 or labels.max() >= logits.shape[1]):
            raise PredictionLogError(f"{name} label out of range [0, {logits.shape[1]}): {labels.tolist()}")
    return actions


def _pair_nll(log_p: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """``float64[B, L]``: ``-log p[b, labels[b, l]]`` (padding columns read class 0)."""
    return -np.take_along_axis(log_p, np.maximum(labels, 0), axis=1)


def _masked_mean(values: np.ndarray, valid: np.ndarray) -> np.ndarray:
    return np.where(valid, values, 0.0).sum(axis=1) / valid.sum(axis=1)


def prediction_log_columns(
    prediction: Prediction, target: Target, *, step: int, k: int = 5
) -> dict[str, list[Any]]:
    """Per-sample prediction-log columns of one step (pure).

    Args:
        prediction: The step's prediction (``verb_logits[B, n_verbs]``, ``noun_logits[B, n_nouns]``).
        target: The step's labels, ``actions[B, L, 2]`` padded with ``-1``.
        step: Batch position of the step (stored in every row).
        k: How many ranked classes / actions to keep per sample.

    Returns:
        Column name -> list of ``B`` plain Python values, in :data:`LOG_COLUMNS` order.

    Raises:
        PredictionLogError: Shapes disagree, a sample has no label or a label is out of range.

    Example:
        >>> pred = Prediction(indices=torch.tensor([7]), verb_logits=torch.tensor([[0.0, 2.0, 1.0]]),
        ...                   noun_logits=torch.tensor([[1.0, 1.0]]))
        >>> cols = prediction_log_columns(pred, Target.from_label_sets([[(1, 0)]]), step=3, k=2)
        >>> cols["index"], cols["verb_topk"], cols["noun_topk"], cols["action_topk_noun"]
        ([7], [[1, 2]], [[0, 1]], [[0, 1]])
        >>> round(cols["noun_loss"][0], 6)
        0.693147
    """
    actions = _check_inputs(prediction, target, k)
    valid = actions[:, :, 0] >= 0
    verb_logits = _to_numpy(prediction.verb_logits, torch.float64)
    noun_logits = _to_numpy(prediction.noun_logits, torch.float64)
    log_p_verb, log_p_noun = _log_softmax(verb_logits), _log_softmax(noun_logits)
    verb_nll, noun_nll = _pair_nll(log_p_verb, actions[:, :, 0]), _pair_nll(log_p_noun, actions[:, :, 1])
    verb_loss, noun_loss = _masked_mean(verb_nll, valid), _masked_mean(noun_nll, valid)
    action_loss = _masked_mean(verb_nll + noun_nll, valid)
    top_verb, top_noun = _ranked(verb_logits, k), _ranked(noun_logits, k)
    act_verb, act_noun = _action_ranked(log_p_verb, log_p_noun, top_verb, top_noun, k)
    label_rows = [
        [tuple(pair) for pair, ok in zip(row, keep) if ok]
        for row, keep in zip(actions.tolist(), valid.tolist())
    ]
    n = len(prediction)
    return {
        "step": [int(step)] * n,
        "index": [int(i) for i in prediction.indices.detach().cpu().tolist()],
        "verb_labels": [[v for v, _ in row] for row in label_rows],
        "noun_labels": [[m for _, m in row] for row in label_rows],
        "verb_topk": top_verb.tolist(),
        "noun_topk": top_noun.tolist(),
        "action_topk_verb": act_verb.tolist(),
        "action_topk_noun": act_noun.tolist(),
        "verb_loss": verb_loss.tolist(),
        "noun_loss": noun_loss.tolist(),
        "action_loss": action_loss.tolist(),
    }


def prediction_log_table(columns: Mapping[str, Sequence[Any]] | pa.Table | pa.RecordBatch) -> pa.Table:
    """Columns (or a table read back from Parquet) as a table of :data:`PREDICTION_LOG_SCHEMA`.

    Extra columns are dropped; missing ones or values that do not convert raise.

    Raises:
        PredictionLogError: A column is missing, has nulls or has the wrong type.

    Example:
        >>> t = prediction_log_table({"step": [0], "index": [0], "verb_labels": [[1]],
        ...     "noun_labels": [[2]], "verb_topk": [[1]], "noun_topk": [[2]], "action_topk_verb": [[1]],
        ...     "action_topk_noun": [[2]], "verb_loss": [0.1], "noun_loss": [0.2], "action_loss": [0.3]})
        >>> t.num_rows, t.schema.field("index").type
        (1, DataType(int64))
    """
    names = columns.schema.names if isinstance(columns, pa.Table | pa.RecordBatch) else list(columns)
    missing = [name for name in LOG_COLUMNS if name not in names]
    if missing:
        raise PredictionLogError(f"prediction log lacks column(s) {missing}; has {list(names)}")
    arrays = []
    for field in PREDICTION_LOG_SCHEMA:
        values = columns[field.name]
        try:
            array = values if isinstance(values, pa.Array | pa.ChunkedArray) else pa.array(values)
            array = array.cast(field.type)
        except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError) as err:
            raise PredictionLogError(f"prediction log column {field.name!r}: {err}") from err
        if array.null_count:
            raise PredictionLogError(f"prediction log column {field.name!r} has {array.null_count} null(s)")
        arrays.append(array)
    return pa.Table.from_arrays(arrays, schema=PREDICTION_LOG_SCHEMA)


def sample_log_columns(
    samples: Sequence[StreamSample], indices: Sequence[int], recorded_index: Sequence[int] | None = None
) -> dict[str, list[Any]]:
    """The sample-identity columns (:data:`SAMPLE_COLUMNS`) of the rows for stream ``indices``.

    Args:
        samples: The user's stream, ``samples[i].index == i``.
        indices: Stream positions of the rows, in row order.
        recorded_index: Per stream position, its position in the recorded order (a shuffled
            stream's ``UserStream.recorded_indices()``); ``None`` = not shuffled.

    Raises:
        PredictionLogError: An index outside the stream.

    Example:
        >>> from fractions import Fraction
        >>> from ego_cl.types import Span
        >>> s = StreamSample(index=0, user_id="68", clip_uid="c", video_uid="v",
        ...                  span=Span(Fraction(64, 15), Fraction(96, 15)), actions=[(1, 2)],
        ...                  annotation_index=0, clip_index=0)
        >>> cols = sample_log_columns([s], [0])
        >>> cols["start_exact"], round(cols["start_s"][0], 4), cols["recorded_index"]
        (['64/15'], 4.2667, [0])
    """
    bad = [i for i in indices if not 0 <= int(i) < len(samples)]
    if bad:
        raise PredictionLogError(f"stream index {bad[0]} outside the stream of {len(samples)} samples")
    rows = [samples[int(i)] for i in indices]
    recorded = (
        [int(i) for i in indices]
        if recorded_index is None
        else [int(recorded_index[int(i)]) for i in indices]
    )
    return {
        "user_id": [str(s.user_id) for s in rows],
        "clip_uid": [s.clip_uid for s in rows],
        "video_uid": [s.video_uid for s in rows],
        "start_s": [float(s.span.start_s) for s in rows],
        "end_s": [float(s.span.end_s) for s in rows],
        "start_exact": [str(s.span.start_s) for s in rows],
        "end_exact": [str(s.span.end_s) for s in rows],
        "recorded_index": recorded,
    }
