"""Counts, near-future indices and the blind label-window baseline."""

from __future__ import annotations

import math
from collections import Counter

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from ego_cl.learners.label_window import LabelWindowPredictor
from ego_cl.metrics.blind_baseline import blind_baseline_metrics, label_window_log
from ego_cl.metrics.counts import count_curves, label_histogram, window_counts
from ego_cl.metrics.metric_set import MetricSet
from ego_cl.metrics.near_future import near_future_indices, near_future_metrics
from tests.metrics.logs import row, table
from tests.metrics.streams import make_step


def test_count_curves_hand_example():
    # batches of 2: verbs 1 1 | 2 1 | 3 ; nouns all 0
    log = table([row(0, 0, 1, 0), row(0, 1, 1, 0), row(1, 2, 2, 0), row(1, 3, 1, 0), row(2, 4, 3, 0)])
    pretrain = {"verb": {1: 10, 3: 2}, "noun": {0: 5}, "action": {(1, 0): 7}}
    curves = count_curves(log, windows=(3,), pretrain=pretrain)
    assert sorted(curves) == [0, 1, 2]
    first, last = curves[0], curves[2]
    assert first["counts/verb/seen"] == 0.0
    assert first["counts/verb/window3_unique"] == 0.0
    assert math.isnan(first["counts/verb/window3_freq_mean"])
    assert first["counts/verb/batch_pretrain"] == 10.0
    assert first["counts/verb/stream"] == 3.0
    # step 2: window of 3 before index 4 = verbs 1, 2, 1
    assert last["counts/verb/window3_unique"] == 2.0
    assert last["counts/verb/window3_unique_fraction"] == pytest.approx(2 / 3)
    assert last["counts/verb/window3_freq_max"] == 2.0
    assert last["counts/verb/seen"] == 2.0
    assert last["counts/verb/seen_and_pretrain"] == 1.0
    assert last["counts/verb/seen_and_pretrain_seen_fraction"] == 0.5
    assert last["counts/verb/batch_history"] == 0.0  # verb 3 unseen so far
    assert last["counts/verb/batch_pretrain"] == 2.0
    assert curves[1]["counts/verb/batch_history"] == 1.0  # verbs 2 (0×) and 1 (2×)
    assert curves[1]["counts/action/batch_history_and_pretrain"] == pytest.approx((0 + 2 + 0 + 7) / 2)
    no_pretrain = count_curves(log, windows=(3,))
    assert "counts/verb/pretrain" not in no_pretrain[0]


@given(
    st.lists(st.lists(st.tuples(st.integers(0, 3), st.integers(0, 3)), min_size=1, max_size=3), max_size=12)
)
def test_histogram_and_window_counts_match_brute_force(label_sets):
    for mode, pick in (("verb", lambda p: p[0]), ("noun", lambda p: p[1]), ("action", lambda p: p)):
        expected = Counter(x for labels in label_sets for x in {pick(p) for p in labels})
        assert label_histogram(label_sets, mode) == expected
        counts = window_counts(label_sets, mode)
        assert counts["unique"] == len(expected)
        if expected:
            assert counts["freq_max"] == max(expected.values())
            assert counts["unique_fraction"] == pytest.approx(len(expected) / sum(expected.values()))


def test_near_future_indices_and_metrics():
    assert near_future_indices([0, 1, 2, 3], offset=2, n_samples=5) == [2, 3, 4]
    with pytest.raises(ValueError, match="offset"):
        near_future_indices([0], offset=0, n_samples=3)
    values = near_future_metrics(table([row(0, 2, 1, 1, correct=False), row(0, 3, 1, 1)]), k=1)
    assert values["near_future/action/top1"] == 50.0


def test_blind_baseline_hand_example():
    labels = [[(0, 0)], [(0, 0)], [(1, 1)], [(1, 1)], [(1, 0)], [(0, 1), (1, 1)]]
    log = label_window_log(labels, window=2, n_verbs=2, n_nouns=2, k=2)
    # per-sample windows: {} -> (0,0) ok; {(0,0)} ok; {(0,0)x2} -> (0,0) wrong;
    # {(0,0),(1,1)} tie -> (0,0) wrong; {(1,1)x2} -> (1,1) wrong;
    # {(1,1),(1,0)} -> verb 1, noun tie -> 0 -> (1,0) wrong
    assert log.column("action_topk_verb").to_pylist()[-1] == [1, 1]
    values = blind_baseline_metrics(log, window=2, n_verbs=2, n_nouns=2, k=2)
    assert values["blind/action/top1"] == pytest.approx(200 / 6)
    assert "blind/action/loss" not in values
    batched = label_window_log(labels, window=2, n_verbs=2, n_nouns=2, batch_size=2, k=1)
    assert batched.column("verb_topk").to_pylist() == [[0], [0], [0], [0], [1], [1]]


single_label_streams = st.lists(st.tuples(st.integers(0, 3), st.integers(0, 2)), min_size=1, max_size=14)


@given(labels=single_label_streams, window=st.integers(1, 5), batch_size=st.integers(1, 4))
def test_blind_baseline_equals_running_the_label_window_learner(labels, window, batch_size):
    learner, online = LabelWindowPredictor(window=window, n_verbs=4, n_nouns=3), MetricSet(k=2)
    for first in range(0, len(labels), batch_size):
        chunk = [[pair] for pair in labels[first : first + batch_size]]
        _, batch = make_step(first, torch.zeros(len(chunk), 4), torch.zeros(len(chunk), 3), chunk)
        online.update(learner.predict(batch.without_labels()), batch)
        learner.learn(batch)
    log = label_window_log(
        [[p] for p in labels], window=window, n_verbs=4, n_nouns=3, batch_size=batch_size, k=2
    )
    blind = blind_baseline_metrics(log, window=window, n_verbs=4, n_nouns=3, batch_size=batch_size, k=2)
    got = online.get()
    for mode in ("verb", "noun", "action"):
        assert blind[f"blind/{mode}/top1"] == got[f"online/{mode}/top1"], mode
        assert blind[f"blind/{mode}/balanced_top1"] == got[f"online/{mode}/balanced_top1"], mode
    for mode in ("verb", "noun"):
        assert blind[f"blind/{mode}/top2"] == got[f"online/{mode}/top2"], mode
