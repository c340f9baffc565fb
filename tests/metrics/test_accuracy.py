"""Hand-computed examples for the running accuracies and losses."""

from __future__ import annotations

import math

import pytest

from ego_cl.metrics.accuracy import TopKAccuracy
from ego_cl.metrics.balanced_accuracy import BalancedAccuracy
from ego_cl.metrics.mean_loss import MeanLoss
from ego_cl.metrics.metric_set import MetricSet
from tests.metrics.streams import make_step

# verb logits favour verb 1, noun logits favour noun 0, second choice verb 2 / noun 1
V = [0.0, 3.0, 2.0]
N = [3.0, 2.0, 0.0]


def test_balanced_accuracy_with_a_class_that_appears_late():
    acc = BalancedAccuracy("verb")
    acc.update(*make_step(0, [V, V], [N, N], [[(1, 0)], [(1, 2)]]))  # class 1: 2/2
    assert acc.get() == 100.0
    acc.update(*make_step(2, [V], [N], [[(0, 0)]]))  # class 0 appears: 0/1
    assert acc.get() == 50.0  # (100 + 0) / 2, while micro is 2/3
    acc.update(*make_step(3, [V], [N], [[(1, 0)]]))  # class 1: 3/3
    assert acc.get() == 50.0
    micro = TopKAccuracy("verb", 1)
    for step in ([[(1, 0)], [(1, 2)]], [[(0, 0)]], [[(1, 0)]]):
        micro.update(*make_step(0, [V] * len(step), [N] * len(step), step))
    assert micro.get() == 75.0


def test_multi_label_samples_are_correct_if_any_pair_matches():
    # predicted action = (1, 0); sample A has pairs (2, 2), (1, 0) -> correct; sample B (1, 1), (2, 0):
    # verb and noun each match some pair but no pair matches both -> action wrong.
    step = make_step(0, [V, V], [N, N], [[(2, 2), (1, 0)], [(1, 1), (2, 0)]])
    results = {}
    for mode in ("verb", "noun", "action"):
        metric = TopKAccuracy(mode, 1)
        metric.update(*step)
        results[mode] = metric.get()
    assert results == {"verb": 100.0, "noun": 100.0, "action": 50.0}
    # balanced action classes are the primary pairs (2, 2) -> 1/1 and (1, 1) -> 0/1
    balanced = BalancedAccuracy("action")
    balanced.update(*step)
    assert balanced.get() == 50.0


def test_top_k_counts_labels_within_the_k_best():
    step = make_step(0, [V, V, V], [N, N, N], [[(2, 2)], [(0, 0)], [(2, 1)]])
    top2 = {m: TopKAccuracy(m, 2) for m in ("verb", "noun", "action")}
    for metric in top2.values():
        metric.update(*step)
    # verbs ranked 1, 2, 0: hits for verb 2, 2 -> 2/3; nouns ranked 0, 1, 2: hits 0, 1 -> 2/3
    assert top2["verb"].get() == pytest.approx(200 / 3)
    assert top2["noun"].get() == pytest.approx(200 / 3)
    # action top-2 = (1, 0), then (2, 0) or (1, 1) (equal up to rounding): no label among them
    assert top2["action"].get() == 0.0


def test_mean_loss_of_uniform_logits_is_log_n():
    loss = {m: MeanLoss(m) for m in ("verb", "noun", "action")}
    for metric in loss.values():
        metric.update(*make_step(0, [[0.0] * 4] * 2, [[0.0] * 5] * 2, [[(0, 0)], [(3, 4), (1, 1)]]))
    assert loss["verb"].get() == pytest.approx(math.log(4))
    assert loss["noun"].get() == pytest.approx(math.log(5))
    assert loss["action"].get() == pytest.approx(math.log(20))


def test_metric_set_names_and_batch_values():
    ms = MetricSet(k=5)
    assert math.isnan(ms.get()["online/action/balanced_top1"])
    ms.update(*make_step(0, [V, V], [N, N], [[(1, 0)], [(0, 0)]]))
    ms.update(*make_step(2, [V], [N], [[(0, 1)]]))
    values = ms.get()
    expected_names = {
        f"{p}/{m}/{n}"
        for p in ("online", "batch")
        for m in ("verb", "noun", "action")
        for n in ("top1", "top5", "loss")
    }
    expected_names |= {f"online/{m}/balanced_top1" for m in ("verb", "noun", "action")}
    assert set(values) == expected_names | {"online/n_samples", "batch/n_samples"}
    assert values["online/action/top1"] == pytest.approx(100 / 3)
    assert values["batch/action/top1"] == 0.0
    assert values["batch/n_samples"] == 1.0
    assert values["online/n_samples"] == 3.0
    assert values["online/verb/balanced_top1"] == 50.0  # class 1: 1/1, class 0: 0/2
