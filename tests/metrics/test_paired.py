"""Paired bootstrap CI of a mean per-user difference: seeded, paired, symmetric, shift-equivariant."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ego_cl.metrics.paired import paired_bootstrap

values = st.lists(st.floats(-100, 100, allow_nan=False), min_size=2, max_size=12)


def _users(xs):
    return {f"u{i}": x for i, x in enumerate(xs)}


@settings(max_examples=40, deadline=None)
@given(values, st.integers(0, 2**31 - 1))
def test_interval_is_ordered_seeded_and_around_the_mean_difference(xs, seed):
    a = _users(xs)
    b = _users([x / 2 + 1 for x in xs])
    d = paired_bootstrap(a, b, n_resamples=500, seed=seed)
    assert d.lo <= d.hi
    assert d.n_users == len(xs)
    assert math.isclose(d.mean, float(np.mean([a[u] - b[u] for u in a])), abs_tol=1e-9)
    diffs = [a[u] - b[u] for u in a]
    assert min(diffs) - 1e-9 <= d.lo
    assert d.hi <= max(diffs) + 1e-9
    assert paired_bootstrap(a, b, n_resamples=500, seed=seed) == d  # same seed, same interval


@settings(max_examples=40, deadline=None)
@given(values, st.floats(-50, 50, allow_nan=False))
def test_swapping_negates_and_shifting_shifts(xs, shift):
    a = _users(xs)
    b = _users(list(reversed(xs)))
    d = paired_bootstrap(a, b, n_resamples=300)
    swapped = paired_bootstrap(b, a, n_resamples=300)
    assert math.isclose(swapped.lo, -d.hi, abs_tol=1e-6)
    assert math.isclose(swapped.hi, -d.lo, abs_tol=1e-6)
    moved = paired_bootstrap({u: v + shift for u, v in a.items()}, b, n_resamples=300)
    assert math.isclose(moved.lo, d.lo + shift, abs_tol=1e-6)
    assert math.isclose(moved.hi, d.hi + shift, abs_tol=1e-6)


def test_pairing_removes_the_spread_between_users():
    """Users differ a lot, the method is 1 point better on every one: a paired test sees it."""
    base = {f"u{i}": 10.0 * i for i in range(6)}
    better = {u: v + 1.0 for u, v in base.items()}
    d = paired_bootstrap(better, base)
    assert (d.lo, d.hi, d.significant) == (1.0, 1.0, True)


def test_mixed_differences_are_not_significant():
    d = paired_bootstrap(_users([20, -10, 15, -5]), _users([0, 0, 0, 0]))
    assert d.mean == 5.0
    assert d.lo < 0 < d.hi
    assert not d.significant


@pytest.mark.parametrize(
    ("a", "b", "n_users"),
    [
        ({"u1": 1.0}, {"u1": 0.0}, 1),
        ({"u1": 1.0}, {"u2": 0.0}, 0),
        ({"u1": 1.0, "u2": math.nan}, {"u1": 0.0, "u2": 0.0}, 1),
    ],
)
def test_fewer_than_two_common_users_is_never_significant(a, b, n_users):
    d = paired_bootstrap(a, b)
    assert d.n_users == n_users
    assert math.isnan(d.lo)
    assert not d.significant


def test_only_common_users_count():
    d = paired_bootstrap({"u1": 3.0, "u2": 5.0, "extra": 100.0}, {"u1": 1.0, "u2": 1.0})
    assert (d.n_users, d.mean) == (2, 3.0)
