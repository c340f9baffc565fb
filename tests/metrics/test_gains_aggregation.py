"""Gains (OAG/HAG, decorrelated) and aggregation over users: hand examples and brute force."""

from __future__ import annotations

import math
import statistics

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ego_cl.metrics.aggregation import aggregate, aggregate_users, bootstrap_ci, mean_se, paired_differences
from ego_cl.metrics.decorrelation import decorrelated_metrics
from ego_cl.metrics.gains import hindsight_gains, online_gains, user_gains
from ego_cl.metrics.prediction_log import prediction_log_columns, prediction_log_table
from tests.metrics import oracle
from tests.metrics.streams import make_step, streams

values = st.lists(st.integers(-1000, 1000).map(float), min_size=2, max_size=12)


@given(values)
def test_mean_se_matches_statistics(xs):
    mean, se = mean_se(xs)
    assert mean == pytest.approx(statistics.fmean(xs))
    assert se == pytest.approx(statistics.stdev(xs) / math.sqrt(len(xs)), abs=1e-9)


def test_mean_se_edge_cases():
    assert math.isnan(mean_se([])[0])
    assert math.isnan(mean_se([4.0])[1])
    assert math.isnan(aggregate([1.0, math.nan]).mean)


def test_bootstrap_is_seeded_and_brackets_the_mean():
    xs = [0.0, 1.0, 5.0, 2.0, 8.0, 3.0]
    first = bootstrap_ci(xs, seed=3, n_resamples=500)
    assert first == bootstrap_ci(xs, seed=3, n_resamples=500)
    assert first != bootstrap_ci(xs, seed=4, n_resamples=500)
    assert first[0] < statistics.fmean(xs) < first[1]
    assert bootstrap_ci([2.0, 2.0, 2.0], seed=0, n_resamples=50) == (2.0, 2.0)
    agg = aggregate(xs, bootstrap_seed=3, n_resamples=500)
    assert (agg.ci_low, agg.ci_high) == first
    assert agg.n_users == 6


def test_aggregate_users_and_paired_differences():
    per_user = {"1": {"a": 1.0, "b": 0.0}, "2": {"a": 3.0}}
    out = aggregate_users(per_user)
    assert set(out) == {"a"}
    assert out["a"].mean == 2.0
    assert out["a"].se == pytest.approx(1.0)
    with pytest.raises(KeyError, match="'b' missing for user"):
        aggregate_users(per_user, names=["b"])
    assert paired_differences({"1": 1.0, "2": 5.0}, {"1": 0.5, "2": 7.0}) == {"1": 0.5, "2": -2.0}
    with pytest.raises(KeyError, match="only left"):
        paired_differences({"1": 1.0, "3": 1.0}, {"1": 0.0})


def test_online_gains_sign_losses_and_skip_counts():
    method = {"online/action/loss": 2.0, "online/verb/balanced_top1": 40.0, "online/n_samples": 10.0}
    baseline = {"online/action/loss": 3.0, "online/verb/balanced_top1": 45.0, "online/n_samples": 10.0}
    assert online_gains(method, baseline) == {"oag/action/loss": 1.0, "oag/verb/balanced_top1": -5.0}
    with pytest.raises(ValueError, match="not the same stream"):
        online_gains(method, {**baseline, "online/n_samples": 9.0})


def test_hag_is_per_user_and_the_upstream_group_mean_only_changes_the_se():
    method = {"1": {"hindsight/action/balanced_top1": 30.0}, "2": {"hindsight/action/balanced_top1": 50.0}}
    baseline = {"1": {"hindsight/action/balanced_top1": 20.0}, "2": {"hindsight/action/balanced_top1": 50.0}}
    fixed = user_gains(method, baseline, kind="hag")
    assert fixed == {"1": {"hag/action/balanced_top1": 10.0}, "2": {"hag/action/balanced_top1": 0.0}}
    upstream = user_gains(method, baseline, kind="hag", upstream_group_mean_reference=True)
    assert upstream == {"1": {"hag/action/balanced_top1": -5.0}, "2": {"hag/action/balanced_top1": 15.0}}
    a = aggregate_users(fixed)["hag/action/balanced_top1"]
    b = aggregate_users(upstream)["hag/action/balanced_top1"]
    assert a.mean == b.mean == 5.0
    assert (a.se, b.se) == (pytest.approx(5.0), pytest.approx(10.0))
    online_ref = hindsight_gains(
        method["1"], {"online/action/balanced_top1": 25.0}, reference_prefix="online"
    )
    assert online_ref == {"hag/action/balanced_top1": 5.0}
    with pytest.raises(KeyError, match="no baseline"):
        user_gains(method, {"1": baseline["1"]})


def log_of(stream):
    parts = [prediction_log_columns(p, b.target, step=s, k=1) for s, (p, b) in enumerate(stream)]
    return prediction_log_table({k: [v for part in parts for v in part[k]] for k in parts[0]})


def test_decorrelated_hand_example():
    v, n = [0.0, 1.0, 0.0], [1.0, 0.0]  # predicts action (1, 0)
    # stream labels (1,0) (1,0) (1,1) (2,1) (2,0): action changed = T F T T T; verb changed = T F F T F
    stream = [make_step(0, [v] * 5, [n] * 5, [[(1, 0)], [(1, 0)], [(1, 1)], [(2, 1)], [(2, 0)]])]
    out = decorrelated_metrics(log_of(stream))
    # action decorrelated: (1,0) ok, (1,1) x, (2,1) x, (2,0) x -> classes 100, 0, 0, 0 -> 25
    assert out["online/action/balanced_top1_decorrelated"] == 25.0
    assert out["online/action/balanced_top1_correlated"] == 100.0
    assert out["online/action/decorrelated_percent"] == 80.0
    # verb decorrelated: samples 0 (verb 1, ok) and 3 (verb 2, x) -> 50
    # verb correlated: 1, 2 ok (class 1), 4 x (class 2) -> (100 + 0) / 2
    assert out["online/verb/balanced_top1_decorrelated"] == 50.0
    assert out["online/verb/balanced_top1_correlated"] == 50.0
    # upstream element-wise: (1,1) after (1,0) shares the verb, (2,1) after (1,1) shares the noun,
    # (2,0) after (2,1) shares the verb -> only the first sample is decorrelated
    upstream = decorrelated_metrics(log_of(stream), upstream_elementwise=True)
    assert upstream["online/action/n_decorrelated"] == 1.0
    assert upstream["online/verb/n_decorrelated"] == out["online/verb/n_decorrelated"]


@given(stream=streams(max_steps=4).filter(bool))
def test_decorrelated_matches_brute_force(stream):
    out = decorrelated_metrics(log_of(stream))
    facts = oracle.stream_facts(stream, 1)
    for mode in ("verb", "noun", "action"):
        labels = [f["primary"][mode] for f in facts]
        keep = [True] + [a != b for a, b in zip(labels[1:], labels[:-1])]
        kept = [f for f, k in zip(facts, keep) if k]
        rest = [f for f, k in zip(facts, keep) if not k]
        assert out[f"online/{mode}/balanced_top1_decorrelated"] == pytest.approx(oracle.balanced(kept, mode))
        expected = oracle.balanced(rest, mode)
        assert out[f"online/{mode}/balanced_top1_correlated"] == pytest.approx(expected, nan_ok=True)
