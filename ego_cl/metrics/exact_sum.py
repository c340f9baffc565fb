"""Exact, order-independent sums of float64 values (mergeable loss statistics).

A float64 is an integer multiple of ``2**-1074``, so a sum of floats is kept exactly as a Python
integer in units of ``2**-1074`` plus counts of non-finite values. Adding in any order or merging
partial sums gives the same state, and the mean is the correctly rounded float of the exact mean.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import attrs

__all__ = ["ExactSum"]

_BITS = 1074


def _scaled(value: float) -> int:
    numerator, denominator = value.as_integer_ratio()
    return numerator << (_BITS - (denominator.bit_length() - 1))


@attrs.frozen(kw_only=True)
class ExactSum:
    """The exact sum of float64 values.

    Attributes:
        scaled: Sum of the finite values in units of ``2**-1074`` (an exact integer).
        n_posinf: How many ``+inf`` values were added.
        n_neginf: How many ``-inf`` values were added.
        n_nan: How many ``nan`` values were added.

    Example:
        >>> s = ExactSum.of([1e16, 1.0]) + ExactSum.of([-1e16])
        >>> s.value(), sum([1e16, 1.0, -1e16]), s.mean(4)
        (1.0, 0.0, 0.25)
        >>> ExactSum.of([1e308, 1e308, -1e308]).value()
        1e+308
    """

    scaled: int = 0
    n_posinf: int = 0
    n_neginf: int = 0
    n_nan: int = 0

    @classmethod
    def of(cls, values: Iterable[float]) -> ExactSum:
        """The exact sum of ``values``."""
        scaled = n_posinf = n_neginf = n_nan = 0
        for value in values:
            value = float(value)
            if math.isfinite(value):
                scaled += _scaled(value)
            elif value != value:
                n_nan += 1
            elif value > 0:
                n_posinf += 1
            else:
                n_neginf += 1
        return cls(scaled=scaled, n_posinf=n_posinf, n_neginf=n_neginf, n_nan=n_nan)

    def __add__(self, other: ExactSum) -> ExactSum:
        return ExactSum(
            scaled=self.scaled + other.scaled,
            n_posinf=self.n_posinf + other.n_posinf,
            n_neginf=self.n_neginf + other.n_neginf,
            n_nan=self.n_nan + other.n_nan,
        )

    def _non_finite(self) -> float | None:
        if self.n_nan or (self.n_posinf and self.n_neginf):
            return math.nan
        if self.n_posinf:
            return math.inf
        if self.n_neginf:
            return -math.inf
        return None

    def value(self) -> float:
        """The sum, correctly rounded to float64 (``inf`` if it overflows)."""
        special = self._non_finite()
        if special is not None:
            return special
        try:
            return self.scaled / (1 << _BITS)
        except OverflowError:
            return math.copysign(math.inf, self.scaled)

    def mean(self, n: int) -> float:
        """The sum divided by ``n``, correctly rounded (``nan`` when ``n == 0``)."""
        if n == 0:
            return math.nan
        special = self._non_finite()
        if special is not None:
            return special
        return self.scaled / (n << _BITS)
