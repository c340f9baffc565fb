"""The per-user online loop: predict, log, score, then learn — one batch at a time.

This is river's progressive validation for one user stream. :func:`online_loop` is a
generator with no side effects of its own: it yields one :class:`StepRecord` per batch and the
writing shell (``ego_cl.runners.engine.user``) decides what to persist and when to checkpoint.

Leak-proofing, in order of the calls for batch ``t``:

1. ``learner.predict`` receives ``batch.without_labels()``: reading labels there raises
   :class:`~ego_cl.types.LabelLeakError` (or fails on ``target is None``).
2. The prediction-log columns are computed from the prediction *before* ``learn`` runs, so
   nothing ``learn`` does can change what was logged.
3. Replay-style learners reach stored samples only through the runner's
   :class:`~ego_cl.runners.engine.label_gate.LabelGate` (``gate``): the loop opens it to the end
   of batch ``t`` right before ``learn(batch t)``, so during ``predict`` of batch ``t`` (and
   ever) a fetch of batch ``t`` or a later position raises :class:`~ego_cl.types.LabelLeakError`.
4. ``Prediction.indices`` must equal the batch's indices (the log's index column comes from
   it); otherwise :class:`PredictionIndexError` fails the user.
5. With ``paranoid=True`` the loop also checks that ``predict`` left ``state_dict()``
   unchanged and that ``learn`` did not rewrite the already returned prediction tensors;
   either raises :class:`~ego_cl.types.LabelLeakError`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any, Protocol

import attrs
import torch

from ego_cl.protocols import Learner
from ego_cl.runners.engine.label_gate import LabelGate
from ego_cl.types import Batch, LabelLeakError, LearnStats, Prediction

__all__ = [
    "LoopState",
    "NearFuture",
    "PastWindow",
    "PredictionIndexError",
    "StepRecord",
    "check_indices",
    "online_loop",
]

LogColumns = Callable[[Prediction, Batch, int], Mapping[str, Sequence[Any]]]
"""``log_columns(prediction, labelled_batch, step)``: per-sample prediction-log columns (including
``step``), e.g. :func:`ego_cl.metrics.prediction_log.prediction_log_columns`."""


class PredictionIndexError(RuntimeError):
    """A learner returned a prediction whose ``indices`` differ from the batch it was given."""


class Updatable(Protocol):
    """Anything with ``update(prediction, batch)``: a Metric or a set of metrics."""

    def update(self, prediction: Prediction, batch: Batch) -> None: ...


@attrs.frozen(kw_only=True)
class LoopState:
    """Where the loop stands; with learner/metric/RNG state it makes a resumable checkpoint.

    Attributes:
        next_step: Index of the next batch to process (the stream position).
        debt_s: Learning time spent beyond the per-batch budget (``time_budget_s`` mode).
        shown_end: End (exclusive stream index) of the last batch given to ``learn``: the
            learner's guarded fetch serves indices below it. ``None`` (a fresh start, or a
            checkpoint written before this field existed): the first index of the next batch.
    """

    next_step: int = 0
    debt_s: float = 0.0
    shown_end: int | None = None


@attrs.frozen(kw_only=True)
class PastWindow:
    """Past-window evaluation after each update (re-exposure forgetting); off unless given.

    Attributes:
        fetch: Returns the labelled batch of the given stream indices.
        window: How many of the most recent already-seen samples to evaluate (excluding the
            current batch).
        batch_size: Samples per evaluation forward pass.
    """

    fetch: Callable[[Sequence[int]], Batch]
    window: int = 64
    batch_size: int = 8


@attrs.frozen(kw_only=True)
class NearFuture:
    """Near-future evaluation before each update: the model that has not yet learned batch ``t``
    predicts samples ``i + offset`` of the batch's indices ``i`` (Rapid Adaptation in OCL, "are we
    evaluating it right?"); off unless given. Pick ``offset`` past the correlated neighbourhood.

    Attributes:
        fetch: Returns the labelled batch of the given stream indices.
        offset: How many samples ahead (>= 1).
        n_samples: Stream length (indices past the end are skipped).
    """

    fetch: Callable[[Sequence[int]], Batch]
    offset: int = attrs.field(validator=attrs.validators.ge(1))
    n_samples: int


@attrs.frozen(kw_only=True, eq=False)
class StepRecord:
    """What happened at one batch.

    Attributes:
        step: Batch position in the stream (0-based).
        log: Per-sample prediction-log columns, computed before the learner saw the labels.
        stats: What ``learn`` returned (``{}`` when the step did not learn).
        learned: Whether ``learn`` ran on this batch (compute budget).
        past_log: Log columns of the post-update past-window evaluation, or ``None``.
        future_log: Log columns of the pre-update near-future evaluation, or ``None``.
        state: Loop state after this step (checkpoint together with the learner).
    """

    step: int
    log: Mapping[str, Sequence[Any]]
    stats: LearnStats
    learned: bool
    past_log: Mapping[str, Sequence[Any]] | None
    state: LoopState
    future_log: Mapping[str, Sequence[Any]] | None = None


def online_loop(
    learner: Learner,
    batches: Iterable[Batch],
    metrics: Updatable,
    *,
    log_columns: LogColumns,
    state: LoopState = LoopState(),
    learn_every: int = 1,
    time_budget_s: float | None = None,
    past: PastWindow | None = None,
    near_future: NearFuture | None = None,
    paranoid: bool = False,
    gate: LabelGate | None = None,
    clock: Callable[[], float] = time.perf_counter,
) -> Iterator[StepRecord]:
    """Run predict → log → metrics → learn over ``batches`` (which start at ``state.next_step``).

    Args:
        learner: The online learner.
        batches: Labelled batches in stream order, starting at batch ``state.next_step``.
        metrics: Updated with every step's prediction before the learner learns.
        log_columns: Prediction-log row function (owned by ``ego_cl.metrics``).
        state: Resume point (default: the start of the stream).
        learn_every: Learn only on every n-th batch (fixed compute budget); others predict with
            the stale model.
        time_budget_s: If set, learning time beyond this many seconds per batch is a debt paid
            by skipping ``learn`` on later batches (RealtimeOCL-style). Wall-clock dependent,
            so such runs are not bit-reproducible.
        past: Evaluate the updated model on recent past samples after each learned step.
        near_future: Before each update, predict the samples ``offset`` ahead of the batch.
        paranoid: Also verify that ``predict`` changes no state and that ``learn`` does not
            rewrite returned predictions (slow: copies the state dict twice per batch).
        gate: The guarded fetch handed to the learner; opened to each batch's end right before
            ``learn`` (``None``: the learner has no fetch).
        clock: Seconds counter for the time budget (injectable for tests).

    Yields:
        One :class:`StepRecord` per batch.

    Raises:
        LabelLeakError: The learner read labels in ``predict`` or fetched a position it was not
            shown (or, with ``paranoid``, changed state in ``predict`` / rewrote a prediction).
        PredictionIndexError: ``Prediction.indices`` differ from the batch's indices.
    """
    step, debt_s, shown_end = state.next_step, state.debt_s, state.shown_end
    for batch in batches:
        if shown_end is None:  # resumed from a checkpoint without it: every earlier batch was logged
            shown_end = int(batch.indices.min()) if len(batch) else 0
        if gate is not None:
            gate.shown_end = shown_end
        before = _snapshot(learner.state_dict()) if paranoid else None
        prediction = learner.predict(batch.without_labels())
        check_indices(prediction, batch, f"batch {step}")
        if before is not None:
            _check_unchanged(before, learner.state_dict(), step)
        frozen_pred = _clone(prediction) if paranoid else None
        log = log_columns(prediction, batch, step)  # fixed before any label reaches the learner
        metrics.update(prediction, batch)
        future_log = (
            _near_future_eval(learner, near_future, batch, step, log_columns) if near_future else None
        )
        learned = step % learn_every == 0 and debt_s <= 0.0
        stats: LearnStats = {}
        if learned:
            shown_end = max(shown_end, int(batch.indices.max()) + 1) if len(batch) else shown_end
            if gate is not None:
                gate.show(batch)
            started = clock()
            stats = learner.learn(batch)
            if time_budget_s is not None:
                debt_s = max(0.0, debt_s + (clock() - started) - time_budget_s)
        elif time_budget_s is not None:
            debt_s = max(0.0, debt_s - time_budget_s)
        if frozen_pred is not None:
            _check_prediction_kept(frozen_pred, prediction, step)
        past_log = _past_eval(learner, past, batch, step, log_columns) if past and learned else None
        step += 1
        yield StepRecord(
            step=step - 1,
            log=log,
            stats=stats,
            learned=learned,
            past_log=past_log,
            state=LoopState(next_step=step, debt_s=debt_s, shown_end=shown_end),
            future_log=future_log,
        )


def _past_eval(
    learner: Learner, past: PastWindow, batch: Batch, step: int, log_columns: LogColumns
) -> dict[str, list[Any]]:
    first = int(batch.indices[0])
    indices = list(range(max(0, first - past.window), first))
    return _predict_log(learner, past.fetch, indices, past.batch_size, step, log_columns)


def _near_future_eval(
    learner: Learner, future: NearFuture, batch: Batch, step: int, log_columns: LogColumns
) -> dict[str, list[Any]] | None:
    indices = [int(i) + future.offset for i in batch.indices if int(i) + future.offset < future.n_samples]
    if not indices:
        return None
    return _predict_log(learner, future.fetch, indices, len(indices), step, log_columns)


def _predict_log(
    learner: Learner,
    fetch: Callable[[Sequence[int]], Batch],
    indices: Sequence[int],
    batch_size: int,
    step: int,
    log_columns: LogColumns,
) -> dict[str, list[Any]]:
    """Predict ``indices`` (label-free) in chunks and return their log columns for ``step``."""
    out: dict[str, list[Any]] = {}
    for i in range(0, len(indices), batch_size):
        chunk = fetch(indices[i : i + batch_size])
        prediction = learner.predict(chunk.without_labels())
        check_indices(prediction, chunk, f"batch {step} (evaluation of other samples)")
        columns = log_columns(prediction, chunk, step)
        for key, values in columns.items():
            out.setdefault(key, []).extend(values)
    return out


def check_indices(prediction: Prediction, batch: Batch, where: str) -> None:
    """Fail unless ``prediction.indices`` equal ``batch.indices`` (same values, same order).

    Raises:
        PredictionIndexError: Naming ``where`` and both index lists.
    """
    got = [int(i) for i in prediction.indices.reshape(-1).tolist()]
    want = [int(i) for i in batch.indices.tolist()]
    if got != want or tuple(prediction.indices.shape) != tuple(batch.indices.shape):
        raise PredictionIndexError(
            f"{where}: the learner's prediction is for stream indices {got[:8]}, the batch holds "
            f"{want[:8]} (Prediction.indices must equal Batch.indices, in order)"
        )


def _snapshot(state: Any) -> Any:
    if isinstance(state, torch.Tensor):
        return state.detach().clone()
    if isinstance(state, Mapping):
        return {k: _snapshot(v) for k, v in state.items()}
    if isinstance(state, list | tuple):
        return [_snapshot(v) for v in state]
    return state


def _equal(a: Any, b: Any) -> bool:
    if isinstance(a, torch.Tensor):
        return isinstance(b, torch.Tensor) and a.shape == b.shape and bool(torch.equal(a, b))
    if isinstance(a, Mapping):
        return isinstance(b, Mapping) and a.keys() == b.keys() and all(_equal(a[k], b[k]) for k in a)
    if isinstance(a, list | tuple):
        return isinstance(b, list | tuple) and len(a) == len(b) and all(map(_equal, a, b))
    return a == b or (a != a and b != b)  # NaN equals NaN here


def _check_unchanged(before: Any, after: Any, step: int) -> None:
    if not _equal(before, _snapshot(after)):
        raise LabelLeakError(f"batch {step}: predict changed the learner's state (predict must be pure)")


def _clone(prediction: Prediction) -> Prediction:
    return Prediction(
        indices=prediction.indices.clone(),
        verb_logits=prediction.verb_logits.detach().clone(),
        noun_logits=prediction.noun_logits.detach().clone(),
    )


def _check_prediction_kept(frozen: Prediction, prediction: Prediction, step: int) -> None:
    same = (
        torch.equal(frozen.indices, prediction.indices)
        and torch.equal(frozen.verb_logits, prediction.verb_logits)
        and torch.equal(frozen.noun_logits, prediction.noun_logits)
    )
    if not same:
        raise LabelLeakError(f"batch {step}: learn rewrote the prediction it had already returned")
