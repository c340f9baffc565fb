"""Re-exposure forgetting (spec §6.5): how much a class was forgotten before it came back.

Inputs are two prediction logs of one stream: the online log (pre-update predictions, one row
per sample, ``step`` = its batch) and the past-window log (``metrics.past_eval``: after learning
batch ``t`` the updated model scores the most recent already-seen samples; those rows carry
``step = t``). For every class ``a`` (primary label) and step ``t`` with a past evaluation:

- *after*: if ``a`` is in batch ``t`` but not in batch ``t+1``: the updated model's performance
  on the past-window samples of ``a`` together with batch ``t``'s own pre-update predictions of
  ``a`` is remembered as ``after(a)`` with step ``t``.
- *before*: if ``a`` is in batch ``t+1`` and ``after(a)`` exists (from ``t_prev < t``) and the
  past window holds samples of ``a``: the same model's performance on them is ``before(a)``;
  an event ``(a, t_prev, t, RF)`` is recorded and ``after(a)`` is cleared, with
  ``RF = after − before`` for accuracies and ``before − after`` for losses (positive =
  forgotten).

Accuracy is the percentage correct of the subset. Loss is the subset's mean loss; the original
used the subset's *sum* of losses, weighted by subset size **[quirk]** —
``upstream_loss_sum=True`` reproduces it.

A step without past-window rows counts as an empty window (step 0 always is one; so is a step
whose learning was skipped, where ``after`` then rests on the batch's own predictions only).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence

import attrs
import numpy as np
import pyarrow as pa

from ego_cl.metrics.aggregation import mean_se
from ego_cl.metrics.exact_sum import ExactSum
from ego_cl.metrics.prediction_log import prediction_log_table
from ego_cl.metrics.scores import SampleScores, sample_scores

__all__ = ["ForgettingBin", "ForgettingEvent", "bin_forgetting", "reexposure_forgetting"]


@attrs.frozen(kw_only=True)
class ForgettingEvent:
    """One re-exposure of a class.

    Attributes:
        label: Class key (verb, noun or ``action_key``).
        previous_step: Step after which ``after`` was measured (last learned on).
        step: Step whose updated model measured ``before`` (just before re-exposure).
        value: Forgetting (positive = worse at re-exposure).
    """

    label: int
    previous_step: int
    step: int
    value: float

    @property
    def gap(self) -> int:
        """Steps since the class was last learned."""
        return self.step - self.previous_step


def _performance(parts: Sequence[SampleScores], mode: str, metric: str, upstream_loss_sum: bool) -> float:
    """Accuracy (% top-k) or loss over the union of ``parts``."""
    n = sum(len(p) for p in parts)
    if metric == "loss":
        if upstream_loss_sum:  # meter of (subset sum, weight = subset size)
            weighted = math.fsum(ExactSum.of(p.loss[mode].tolist()).value() * len(p) for p in parts if len(p))
            return weighted / n
        return sum((ExactSum.of(p.loss[mode].tolist()) for p in parts), ExactSum()).mean(n)
    k = int(metric.removeprefix("top"))
    return 100 * sum(int(np.count_nonzero(p.correct(mode, k))) for p in parts) / n


def reexposure_forgetting(
    online: pa.Table,
    past: pa.Table,
    *,
    mode: str = "action",
    metric: str = "top1",
    upstream_loss_sum: bool = False,
) -> list[ForgettingEvent]:
    """Re-exposure forgetting events of one stream (see the module docstring).

    Args:
        online: The stream's online prediction log.
        past: The past-window evaluation log (rows of step ``t`` = model after learning ``t``).
        mode: ``"verb"``, ``"noun"`` or ``"action"``.
        metric: ``"top<k>"`` (accuracy, within the logged k) or ``"loss"``.
        upstream_loss_sum: Use the original's summed subset losses.

    Returns:
        Events in the order they were recorded.
    """
    if metric != "loss" and not (metric.startswith("top") and metric[3:].isdigit()):
        raise ValueError(f"metric must be 'top<k>' or 'loss', got {metric!r}")
    sign = -1.0 if metric == "loss" else 1.0
    on = sample_scores(prediction_log_table(online))
    pa_scores = sample_scores(prediction_log_table(past))
    steps = np.unique(on.step).tolist()
    batch_rows = {t: np.flatnonzero(on.step == t) for t in steps}
    labels = {t: set(on.primary[mode][rows].tolist()) for t, rows in batch_rows.items()}
    after: dict[int, tuple[int, float]] = {}
    events: list[ForgettingEvent] = []
    for i, t in enumerate(steps):
        window = pa_scores.take(np.flatnonzero(pa_scores.step == t))
        coming = labels[steps[i + 1]] if i + 1 < len(steps) else set()
        for a in sorted(labels[t] - coming):
            own = on.take(batch_rows[t][on.primary[mode][batch_rows[t]] == a])
            seen = window.take(window.primary[mode] == a)
            after[a] = (t, _performance([seen, own], mode, metric, upstream_loss_sum))
        for a in sorted(coming):
            seen = window.take(window.primary[mode] == a)
            if a in after and after[a][0] < t and len(seen):
                t_prev, value_after = after.pop(a)
                before = _performance([seen], mode, metric, upstream_loss_sum)
                events.append(
                    ForgettingEvent(
                        label=a, previous_step=t_prev, step=t, value=sign * (value_after - before)
                    )
                )
    return events


@attrs.frozen(kw_only=True)
class ForgettingBin:
    """Events whose gap lies in ``[low, high)`` steps: count, mean and SE of forgetting."""

    low: int
    high: int
    n: int
    mean: float
    se: float


def bin_forgetting(
    events: Sequence[ForgettingEvent], *, edges: Sequence[int] | None = None
) -> list[ForgettingBin]:
    """Bin events by steps since last exposure (default: powers of two, 1, 2, 4, ...).

    Example:
        >>> gaps = [(1, 2.0), (3, 4.0), (3, 0.0)]
        >>> ev = [ForgettingEvent(label=0, previous_step=0, step=s, value=v) for s, v in gaps]
        >>> [(b.low, b.high, b.n, b.mean) for b in bin_forgetting(ev)]
        [(1, 2, 1, 2.0), (2, 4, 2, 2.0)]
    """
    if edges is None:
        top = max((e.gap for e in events), default=1)
        edges = [1 << i for i in range(top.bit_length() + 1)]
    out = []
    for low, high in itertools.pairwise(edges):
        values = [e.value for e in events if low <= e.gap < high]
        mean, se = mean_se(values)
        out.append(ForgettingBin(low=low, high=high, n=len(values), mean=mean, se=se))
    return out
