"""Aggregation over users: mean, standard error, bootstrap CIs, per-user paired differences.

Every per-user number is computed first (final running value, or a per-user gain against the
same user's baseline), then aggregated: ``mean`` over users and ``SE = sd(ddof=1) / sqrt(U)``
(pandas ``sem``, as the original's §6.9). A ``nan`` user value makes the aggregate ``nan``
(nothing is silently dropped).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence

import attrs
import numpy as np

from ego_cl.types import UserId

__all__ = ["UserAggregate", "aggregate", "aggregate_users", "bootstrap_ci", "mean_se", "paired_differences"]


@attrs.frozen(kw_only=True)
class UserAggregate:
    """One metric over users.

    Attributes:
        mean: Mean over users.
        se: Standard error ``sd(ddof=1) / sqrt(n_users)`` (``nan`` for fewer than 2 users).
        n_users: How many users.
        ci_low: Lower end of the bootstrap confidence interval (``nan`` when not requested).
        ci_high: Upper end of the bootstrap confidence interval.
    """

    mean: float
    se: float
    n_users: int
    ci_low: float = math.nan
    ci_high: float = math.nan


def mean_se(values: Sequence[float]) -> tuple[float, float]:
    """Mean and standard error (``ddof=1``) of per-user values.

    Example:
        >>> mean, se = mean_se([1.0, 2.0, 3.0, 6.0])  # sd = sqrt(14 / 3)
        >>> mean, round(se, 4)
        (3.0, 1.0801)
        >>> mean_se([5.0])
        (5.0, nan)
    """
    array = np.asarray(values, np.float64)
    if array.size == 0:
        return math.nan, math.nan
    mean = float(array.mean())
    se = float(array.std(ddof=1) / math.sqrt(array.size)) if array.size > 1 else math.nan
    return mean, se


def bootstrap_ci(
    values: Sequence[float], *, seed: int, n_resamples: int = 10_000, confidence: float = 0.95
) -> tuple[float, float]:
    """Percentile bootstrap confidence interval of the mean over users (users resampled).

    Args:
        values: Per-user values.
        seed: Seed of the private ``numpy.random.Generator`` (same seed, same interval).
        n_resamples: Bootstrap resamples.
        confidence: Coverage, e.g. ``0.95``.

    Example:
        >>> lo, hi = bootstrap_ci([1.0, 2.0, 3.0, 6.0], seed=0, n_resamples=2000)
        >>> lo < 3.0 < hi
        True
    """
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be in (0, 1), got {confidence}")
    array = np.asarray(values, np.float64)
    if array.size == 0 or np.isnan(array).any():
        return math.nan, math.nan
    rng = np.random.default_rng(seed)
    means = array[rng.integers(0, array.size, size=(n_resamples, array.size))].mean(axis=1)
    alpha = (1 - confidence) / 2
    low, high = np.quantile(means, [alpha, 1 - alpha])
    return float(low), float(high)


def aggregate(
    values: Iterable[float], *, bootstrap_seed: int | None = None, n_resamples: int = 10_000
) -> UserAggregate:
    """Mean ± SE (and optionally a seeded 95% bootstrap CI) of per-user values."""
    values = list(values)
    mean, se = mean_se(values)
    low = high = math.nan
    if bootstrap_seed is not None:
        low, high = bootstrap_ci(values, seed=bootstrap_seed, n_resamples=n_resamples)
    return UserAggregate(mean=mean, se=se, n_users=len(values), ci_low=low, ci_high=high)


def aggregate_users(
    per_user: Mapping[UserId, Mapping[str, float]],
    *,
    names: Sequence[str] | None = None,
    bootstrap_seed: int | None = None,
) -> dict[str, UserAggregate]:
    """Aggregate every metric over users.

    Args:
        per_user: User -> metric name -> value (e.g. each user's ``metrics.json`` or gains).
        names: Metrics to aggregate; default: the names every user has.
        bootstrap_seed: If set, also a 95% bootstrap CI per metric.

    Raises:
        KeyError: A requested metric is missing for some user (named in the message).

    Example:
        >>> out = aggregate_users({"1": {"a": 1.0}, "2": {"a": 3.0}})
        >>> out["a"].mean, out["a"].n_users
        (2.0, 2)
    """
    users = sorted(per_user)
    if names is None:
        common = set.intersection(*(set(per_user[u]) for u in users)) if users else set()
        names = sorted(common)
    out = {}
    for name in names:
        missing = [u for u in users if name not in per_user[u]]
        if missing:
            raise KeyError(f"metric {name!r} missing for user(s) {missing}")
        out[name] = aggregate([per_user[u][name] for u in users], bootstrap_seed=bootstrap_seed)
    return out


def paired_differences(a: Mapping[UserId, float], b: Mapping[UserId, float]) -> dict[UserId, float]:
    """Per-user ``a[u] - b[u]`` over the same users (e.g. two methods' gains).

    Raises:
        KeyError: The two sides do not cover the same users.

    Example:
        >>> paired_differences({"1": 3.0, "2": 1.0}, {"2": 0.5, "1": 1.0})
        {'1': 2.0, '2': 0.5}
    """
    if set(a) != set(b):
        raise KeyError(
            f"paired users differ: only left {sorted(set(a) - set(b))}, only right {sorted(set(b) - set(a))}"
        )
    return {u: a[u] - b[u] for u in sorted(a)}
