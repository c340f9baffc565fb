"""Paired comparison of two methods over the same users: a seeded paired bootstrap CI.

Two methods run on the same users are compared through the per-user differences
``d_u = a_u - b_u``: users are resampled with replacement (the same users for both methods, so
the between-user spread that both share cancels), and the percentile interval of the resampled
mean difference is the confidence interval. ``a`` is significantly better than ``b`` when the
whole interval lies above 0. With fewer than two users there is no interval (``nan``) and
nothing is significant.

Example:
    >>> d = paired_bootstrap({"u1": 5.0, "u2": 6.0, "u3": 7.0}, {"u1": 1.0, "u2": 1.0, "u3": 2.0})
    >>> d.mean, d.n_users, d.lo > 0, d.significant
    (4.666666666666667, 3, True, True)
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import attrs
import numpy as np

__all__ = ["N_RESAMPLES", "PairedDifference", "paired_bootstrap"]

N_RESAMPLES = 10_000
"""Bootstrap resamples of the users."""


@attrs.frozen(kw_only=True)
class PairedDifference:
    """Mean per-user difference ``a - b`` with its paired bootstrap percentile interval.

    Attributes:
        mean: Mean of ``a_u - b_u`` over the common users.
        lo: Lower end of the interval (``nan`` below two users).
        hi: Upper end of the interval.
        n_users: Users both methods have (finite values).
        level: Confidence level of the interval.
    """

    mean: float
    lo: float
    hi: float
    n_users: int
    level: float

    @property
    def significant(self) -> bool:
        """Whether ``a`` beats ``b``: the whole interval lies above 0."""
        return math.isfinite(self.lo) and self.lo > 0

    def describe(self, digits: int = 2) -> str:
        """``+1.23 [0.40, 2.05]`` (``n/a`` without users).

        Example:
            >>> PairedDifference(mean=1.0, lo=0.5, hi=1.5, n_users=4, level=0.95).describe()
            '+1.00 [+0.50, +1.50]'
        """
        if not math.isfinite(self.mean):
            return "n/a"
        if not math.isfinite(self.lo):
            return f"{self.mean:+.{digits}f} [n/a]"
        return f"{self.mean:+.{digits}f} [{self.lo:+.{digits}f}, {self.hi:+.{digits}f}]"


def paired_bootstrap(
    a: Mapping[str, float],
    b: Mapping[str, float],
    *,
    n_resamples: int = N_RESAMPLES,
    level: float = 0.95,
    seed: int = 0,
) -> PairedDifference:
    """Paired bootstrap interval of ``mean(a_u - b_u)`` over the users both have (finite values).

    Args:
        a: User -> value of the first method.
        b: User -> value of the second method.
        n_resamples: Bootstrap resamples.
        level: Confidence level (percentile interval).
        seed: Seed of the resampling (same inputs, same interval).
    """
    users = sorted(u for u in set(a) & set(b) if math.isfinite(a[u]) and math.isfinite(b[u]))
    diffs = np.asarray([a[u] - b[u] for u in users], dtype=np.float64)
    if len(diffs) == 0:
        return PairedDifference(mean=math.nan, lo=math.nan, hi=math.nan, n_users=0, level=level)
    mean = float(diffs.mean())
    if len(diffs) < 2:
        return PairedDifference(mean=mean, lo=math.nan, hi=math.nan, n_users=1, level=level)
    rng = np.random.default_rng(seed)
    picks = rng.integers(0, len(diffs), size=(n_resamples, len(diffs)))
    means = diffs[picks].mean(axis=1)
    tail = (1 - level) / 2 * 100
    lo, hi = np.percentile(means, [tail, 100 - tail])
    return PairedDifference(mean=mean, lo=float(lo), hi=float(hi), n_users=len(diffs), level=level)
