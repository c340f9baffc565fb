"""Adaptation gains per user: OAG (online) and HAG (hindsight) against the frozen baseline.

A gain is ``sign × (method − baseline)`` on the same user's stream, with ``sign = −1`` for
losses so a positive gain is always better. Gains are computed per user and only then
aggregated (``ego_cl.metrics.aggregation``).

- OAG (spec §6.3): the method's final online values minus the frozen pretrained model's final
  online values (``online/...`` names -> ``oag/...``).
- HAG (spec §6.6): the method's final model evaluated on its whole stream (eval mode) minus
  the baseline on the same stream, per user (``hindsight/...`` -> ``hag/...``). The original
  used the *group mean* of the baseline as the balanced-accuracy reference, which leaves the
  mean right but the SE wrong **[quirk]**; ``upstream_group_mean_reference=True`` reproduces it.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from ego_cl.types import UserId

__all__ = [
    "COUNT_NAMES",
    "gain",
    "gain_sign",
    "hindsight_gains",
    "near_future_gains",
    "online_gains",
    "user_gains",
]

COUNT_NAMES = frozenset({"n_samples", "n_decorrelated", "decorrelated_percent"})
"""Last name components that are counts, not scores: no gain is computed for them."""


def gain_sign(name: str) -> int:
    """``-1`` for losses (names whose last component ends in ``loss``), else ``+1``.

    Example:
        >>> gain_sign("online/action/loss"), gain_sign("hindsight/verb/balanced_loss"), gain_sign("x/top1")
        (-1, -1, 1)
    """
    return -1 if name.rsplit("/", 1)[-1].endswith("loss") else 1


def gain(value: float, reference: float, *, sign: int) -> float:
    """``sign × (value − reference)``.

    Example:
        >>> gain(2.0, 3.5, sign=-1)
        1.5
    """
    return sign * (value - reference)


def _check_same_stream(
    method: Mapping[str, float], baseline: Mapping[str, float], prefix: str, ref: str
) -> None:
    mine, theirs = method.get(f"{prefix}/n_samples"), baseline.get(f"{ref}/n_samples")
    if mine is not None and theirs is not None and mine != theirs:
        raise ValueError(f"method scored {mine} samples, baseline {theirs}: not the same stream")


def _gains(
    method: Mapping[str, float],
    reference: Mapping[str, float],
    *,
    prefix: str,
    ref_prefix: str,
    out_prefix: str,
) -> dict[str, float]:
    _check_same_stream(method, reference, prefix, ref_prefix)
    out = {}
    for name, value in method.items():
        head, _, rest = name.partition("/")
        if head != prefix or rest.rsplit("/", 1)[-1] in COUNT_NAMES:
            continue
        ref_name = f"{ref_prefix}/{rest}"
        if ref_name in reference:
            out[f"{out_prefix}/{rest}"] = gain(value, reference[ref_name], sign=gain_sign(name))
    return out


def online_gains(method: Mapping[str, float], baseline: Mapping[str, float]) -> dict[str, float]:
    """OAG of one user: ``online/<rest>`` of the method vs the baseline's -> ``oag/<rest>``.

    Example:
        >>> online_gains({"online/action/loss": 2.0, "online/action/top1": 30.0},
        ...              {"online/action/loss": 2.5, "online/action/top1": 25.0})
        {'oag/action/loss': 0.5, 'oag/action/top1': 5.0}
    """
    return _gains(method, baseline, prefix="online", ref_prefix="online", out_prefix="oag")


def near_future_gains(method: Mapping[str, float], baseline: Mapping[str, float]) -> dict[str, float]:
    """Near-future gain of one user: ``near_future/<rest>`` vs the baseline's -> ``nfg/<rest>``.

    Both sides must have scored the same samples (the same stream and offset).

    Example:
        >>> near_future_gains({"near_future/action/top1": 40.0}, {"near_future/action/top1": 30.0})
        {'nfg/action/top1': 10.0}
    """
    return _gains(method, baseline, prefix="near_future", ref_prefix="near_future", out_prefix="nfg")


def hindsight_gains(
    method: Mapping[str, float], baseline: Mapping[str, float], *, reference_prefix: str = "hindsight"
) -> dict[str, float]:
    """HAG of one user: ``hindsight/<rest>`` vs the baseline's ``<reference_prefix>/<rest>``.

    Returns ``hag/<rest>`` values.

    ``reference_prefix="online"`` uses the frozen baseline's online values, which equal its
    hindsight values when its online predictions run in eval mode (the default).
    """
    return _gains(method, baseline, prefix="hindsight", ref_prefix=reference_prefix, out_prefix="hag")


def user_gains(
    method: Mapping[UserId, Mapping[str, float]],
    baseline: Mapping[UserId, Mapping[str, float]],
    *,
    kind: str = "oag",
    upstream_group_mean_reference: bool = False,
) -> dict[UserId, dict[str, float]]:
    """Per-user gains for every user of ``method`` (each paired with the same user's baseline).

    Args:
        method: User -> final metric values of the method (``online/*`` or ``hindsight/*``).
        baseline: User -> the frozen baseline's values on the same streams.
        kind: ``"oag"`` (online) or ``"hag"`` (hindsight).
        upstream_group_mean_reference: HAG only: use the baseline's mean over users as the
            reference of ``balanced_top1`` (the original's quirk; the mean gain is unchanged,
            its SE is not).

    Raises:
        KeyError: A method user has no baseline.
    """
    if kind not in ("oag", "hag"):
        raise ValueError(f"kind must be 'oag' or 'hag', got {kind!r}")
    missing = sorted(set(method) - set(baseline))
    if missing:
        raise KeyError(f"no baseline for user(s) {missing}")
    reference = {u: dict(baseline[u]) for u in method}
    if upstream_group_mean_reference:
        users = sorted(method)
        for name in {n for u in users for n in reference[u] if n.endswith("/balanced_top1")}:
            group_mean = float(np.mean([reference[u][name] for u in users]))
            for u in users:
                reference[u][name] = group_mean
    one = online_gains if kind == "oag" else hindsight_gains
    return {u: one(method[u], reference[u]) for u in sorted(method)}
