"""Per-user report values and their aggregates, from prediction logs (pure).

One user's report row joins what the tables need: the method's final online values, the frozen
baseline's, OAG, decorrelated/correlated balanced accuracy and their gains, and (when hindsight
logs exist) hindsight values and HAG. Every number comes from the after-the-fact functions of
this package (``stream_metrics``, ``hindsight_metrics``, ``decorrelated_metrics``, ``gains``)
over the saved logs; :func:`summarize_users` aggregates rows as mean ± SE over users.

Row names:

- ``online/...`` the method online; ``baseline/...`` the frozen model online (same stream);
- ``oag/{mode}/{metric}`` including ``oag/{mode}/balanced_top1_{decorrelated,correlated}``;
- ``hindsight/...`` the final model over the whole stream; ``hindsight_ref/...`` the reference
  model over the same stream; ``hag/{mode}/{metric}``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import pyarrow as pa
import pyarrow.compute as pc

from ego_cl.metrics.aggregation import UserAggregate, aggregate
from ego_cl.metrics.decorrelation import decorrelated_metrics
from ego_cl.metrics.gains import hindsight_gains, near_future_gains, online_gains
from ego_cl.metrics.near_future import near_future_metrics
from ego_cl.metrics.stream_metrics import hindsight_metrics, stream_metrics
from ego_cl.types import UserId

__all__ = ["best_index", "class_counts_of", "rename_prefix", "summarize_users", "user_report"]


def rename_prefix(values: Mapping[str, float], old: str, new: str) -> dict[str, float]:
    """Replace the first name component ``old`` by ``new`` (other names dropped).

    Example:
        >>> rename_prefix({"online/verb/top1": 3.0, "batch/x": 1.0}, "online", "baseline")
        {'baseline/verb/top1': 3.0}
    """
    out = {}
    for name, value in values.items():
        head, sep, rest = name.partition("/")
        if head == old and sep:
            out[f"{new}/{rest}"] = value
    return out


def user_report(
    method: pa.Table,
    baseline: pa.Table,
    *,
    k: int = 5,
    hindsight: pa.Table | None = None,
    hindsight_reference: pa.Table | None = None,
    near_future: pa.Table | None = None,
    near_future_reference: pa.Table | None = None,
    upstream_elementwise: bool = False,
) -> dict[str, float]:
    """Every report value of one user (see the module docstring for the names).

    Args:
        method: The method's online prediction log.
        baseline: The frozen pretrained model's online prediction log on the same stream.
        k: The top-k the logs were written with.
        hindsight: The method's final model over the whole stream (``None``: no HAG).
        hindsight_reference: The pretrained model over the same stream in eval mode;
            ``None`` = the baseline's online log (equal when the baseline predicted in eval mode).
        near_future: The method's near-future log (``metrics.near_future_k``), or ``None``.
        near_future_reference: The frozen baseline's near-future log on the same stream; the
            near-future gain ``nfg/...`` needs both.
        upstream_elementwise: The original's element-wise action decorrelation test.

    Raises:
        ValueError: The method and the baseline scored a different number of samples.
    """
    online = stream_metrics(method, k=k)
    base = stream_metrics(baseline, k=k)
    row = {**online, **rename_prefix(base, "online", "baseline"), **online_gains(online, base)}
    dec = decorrelated_metrics(method, upstream_elementwise=upstream_elementwise)
    dec_base = decorrelated_metrics(baseline, upstream_elementwise=upstream_elementwise)
    row.update(dec)
    row.update(rename_prefix(dec_base, "online", "baseline"))
    row.update(online_gains(dec, dec_base))
    if hindsight is not None:
        final = hindsight_metrics(hindsight, k=k)
        ref = hindsight_metrics(hindsight_reference if hindsight_reference is not None else baseline, k=k)
        row.update(final)
        row.update(rename_prefix(ref, "hindsight", "hindsight_ref"))
        row.update(hindsight_gains(final, ref))
    if near_future is not None:
        future = near_future_metrics(near_future, k=k)
        row.update(future)
        if near_future_reference is not None:
            row.update(near_future_gains(future, near_future_metrics(near_future_reference, k=k)))
    return row


def summarize_users(
    per_user: Mapping[UserId, Mapping[str, float]], *, names: Sequence[str] | None = None
) -> dict[str, UserAggregate]:
    """Mean ± SE over users of every name (default: names any user has; a user lacking a
    name gives ``nan`` for it, so incomplete results never look complete).

    Example:
        >>> out = summarize_users({"a": {"x": 1.0}, "b": {"x": 3.0, "y": 2.0}})
        >>> out["x"].mean, math.isnan(out["y"].mean), out["y"].n_users
        (2.0, True, 2)
    """
    users = sorted(per_user)
    if names is None:
        names = sorted({name for u in users for name in per_user[u]})
    return {name: aggregate([per_user[u].get(name, math.nan) for u in users]) for name in names}


def best_index(values: Sequence[float], *, higher_is_better: bool = True) -> int | None:
    """Position of the best finite value (first on ties), ``None`` when there is none.

    Example:
        >>> best_index([1.0, float("nan"), 3.0, 3.0]), best_index([2.0, 1.0], higher_is_better=False)
        (2, 1)
        >>> best_index([float("nan")]) is None
        True
    """
    best = None
    for i, value in enumerate(values):
        if not math.isfinite(value):
            continue
        if best is None or (value > values[best] if higher_is_better else value < values[best]):
            best = i
    return best


def class_counts_of(*tables: pa.Table) -> tuple[int, int]:
    """``(n_verbs, n_nouns)`` as 1 + the largest verb/noun any log mentions (labels or top-k);
    a lower bound of the taxonomy size, enough for a label-window replay (it only changes the
    uniform first prediction).

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
