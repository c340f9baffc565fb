"""Conformance suite over every Metric: merge laws, identity, split-anywhere, pickling, state."""

from __future__ import annotations

import io
import math
import pickle

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from ego_cl.metrics.accuracy import TopKAccuracy
from ego_cl.metrics.balanced_accuracy import BalancedAccuracy
from ego_cl.metrics.mean_loss import MeanLoss
from ego_cl.metrics.metric_set import MetricSet
from ego_cl.metrics.scores import step_scores
from ego_cl.protocols import Metric
from tests.metrics.streams import streams

FACTORIES = {
    **{f"top1-{m}": (lambda m=m: TopKAccuracy(m, 1)) for m in ("verb", "noun", "action")},
    **{f"top3-{m}": (lambda m=m: TopKAccuracy(m, 3)) for m in ("verb", "noun", "action")},
    **{f"balanced-{m}": (lambda m=m: BalancedAccuracy(m, 1)) for m in ("verb", "noun", "action")},
    "balanced-top2-action": lambda: BalancedAccuracy("action", 2),
    **{f"loss-{m}": (lambda m=m: MeanLoss(m)) for m in ("verb", "noun", "action")},
}
metric_names = pytest.mark.parametrize("name", sorted(FACTORIES))


def scored(stream):
    """Each step's decoded scores (computed once, fed to every metric)."""
    return [step_scores(prediction, batch, k=3) for prediction, batch in stream]


def fed(name, steps):
    metric = FACTORIES[name]()
    for scores in steps:
        metric.update_scores(scores)
    return metric


def same(a: float, b: float) -> bool:
    return a == b or (math.isnan(a) and math.isnan(b))


@metric_names
def test_is_a_metric(name):
    assert isinstance(FACTORIES[name](), Metric)
    assert math.isnan(FACTORIES[name]().get())


@given(stream=streams(), cut=st.integers(0, 6))
def test_split_anywhere_then_merge_equals_one_pass(stream, cut):
    steps = scored(stream)
    for name in FACTORIES:
        whole = fed(name, steps)
        merged = fed(name, steps[:cut]).merge(fed(name, steps[cut:]))
        assert merged == whole, name
        assert same(merged.get(), whole.get()), name


@given(a=streams(), b=streams(), c=streams())
def test_merge_is_commutative_and_associative(a, b, c):
    a, b, c = scored(a), scored(b), scored(c)
    for name in FACTORIES:
        ma, mb, mc = fed(name, a), fed(name, b), fed(name, c)
        assert ma.merge(mb) == mb.merge(ma), name
        assert ma.merge(mb).merge(mc) == ma.merge(mb.merge(mc)), name
        assert same(ma.merge(mb).get(), mb.merge(ma).get()), name


@given(stream=streams())
def test_empty_metric_is_the_identity_and_merge_keeps_inputs(stream):
    steps = scored(stream)
    for name in FACTORIES:
        metric, empty = fed(name, steps), FACTORIES[name]()
        before = pickle.dumps(metric)
        assert metric.merge(empty) == metric, name
        assert empty.merge(metric) == metric, name
        assert pickle.dumps(metric) == before, name
        assert empty == FACTORIES[name](), name


@given(stream=streams())
def test_pickle_and_state_dict_round_trip(stream):
    steps = scored(stream)
    for name in FACTORIES:
        metric = fed(name, steps)
        assert pickle.loads(pickle.dumps(metric)) == metric, name
        buffer = io.BytesIO()
        torch.save(metric.state_dict(), buffer)
        buffer.seek(0)
        restored = FACTORIES[name]()
        restored.load_state_dict(torch.load(buffer, weights_only=True))
        assert restored == metric, name
        assert same(restored.get(), metric.get()), name


@settings(max_examples=25)
@given(stream=streams(max_steps=3))
def test_update_equals_update_scores(stream):
    for name in ("top3-action", "balanced-verb", "balanced-top2-action", "loss-noun"):
        direct = FACTORIES[name]()
        for prediction, batch in stream:
            direct.update(prediction, batch)
        assert direct == fed(name, scored(stream)), name


@metric_names
def test_merge_refuses_other_kinds(name):
    other = TopKAccuracy("verb", 5) if not name.startswith("top") else MeanLoss("verb")
    with pytest.raises(ValueError, match="cannot merge"):
        FACTORIES[name]().merge(other)


@given(stream=streams(), cut=st.integers(0, 6))
def test_metric_set_split_merge_and_resume(stream, cut):
    whole = MetricSet(k=3)
    for prediction, batch in stream:
        whole.update(prediction, batch)
    head, tail = MetricSet(k=3), MetricSet(k=3)
    for prediction, batch in stream[:cut]:
        head.update(prediction, batch)
    # resume: a fresh set loaded from the head's state continues exactly
    buffer = io.BytesIO()
    torch.save(head.state_dict(), buffer)
    buffer.seek(0)
    resumed = MetricSet(k=3)
    resumed.load_state_dict(torch.load(buffer, weights_only=True))
    for prediction, batch in stream[cut:]:
        resumed.update(prediction, batch)
        tail.update(prediction, batch)
    assert resumed == whole
    assert pickle.loads(pickle.dumps(whole)) == whole
    merged = head.merge(tail).get()
    for key, value in whole.get().items():
        if key.startswith("online/"):
            assert same(merged[key], value), key


def test_metric_set_refuses_a_state_of_another_k():
    with pytest.raises(ValueError, match="k=5"):
        MetricSet(k=3).load_state_dict(MetricSet(k=5).state_dict())
