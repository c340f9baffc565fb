"""Transfer matrices and re-exposure forgetting: hand-computed examples."""

from __future__ import annotations

import math

import pytest

from ego_cl.metrics.forgetting import ForgettingEvent, bin_forgetting, reexposure_forgetting
from ego_cl.metrics.transfer import transfer_matrix
from tests.metrics.logs import row, table


def test_transfer_matrix_absolute_gain_and_summaries():
    name = "hindsight/action/balanced_top1"
    pairs = {
        ("2", "2"): {name: 30.0},
        ("2", "10"): {name: 5.0},
        ("10", "10"): {name: 20.0},
        ("10", "2"): {name: 10.0},
    }
    reference = {"2": {name: 20.0}, "10": {name: 10.0}}
    tm = transfer_matrix(pairs, reference, metric=name)
    assert tm.users == ("10", "2")  # sorted as strings, as the original
    assert tm.absolute.tolist() == [[20.0, 10.0], [5.0, 30.0]]
    assert tm.gain.tolist() == [[10.0, -10.0], [-5.0, 10.0]]
    assert tm.diagonal().mean == 10.0
    assert tm.diagonal().se == 0.0
    assert tm.off_diagonal_mean() == -7.5
    loss = transfer_matrix({("a", "a"): {"m/loss": 1.0}}, {"a": {"m/loss": 3.0}}, metric="m/loss")
    assert loss.gain.tolist() == [[2.0]]  # losses: lower is better
    with pytest.raises(KeyError, match="no pretrained reference"):
        transfer_matrix(pairs, {"2": reference["2"]}, metric=name)
    partial = transfer_matrix({("a", "b"): {"m/loss": 1.0}}, {"b": {"m/loss": 1.0}}, metric="m/loss")
    assert math.isnan(partial.gain[0, 0])
    assert partial.off_diagonal_mean() == 0.0


def forgetting_logs():
    # online (pre-update) rows; verbs: batch 0 = {1}, batch 1 = {2}, batch 2 = {1}, batch 3 = {2}
    online = table(
        [
            row(0, 0, 1, 0, correct=True, loss=1.0),
            row(0, 1, 1, 0, correct=False, loss=3.0),
            row(1, 2, 2, 0, correct=True, loss=0.5),
            row(2, 3, 1, 0, correct=True),
            row(3, 4, 2, 0, correct=True),
        ]
    )
    # past-window rows: step t = model after learning batch t, on the samples before batch t
    past = table(
        [
            row(1, 0, 1, 0, correct=False, loss=4.0),
            row(1, 1, 1, 0, correct=False, loss=6.0),
            row(2, 0, 1, 0, correct=True, loss=1.0),
            row(2, 1, 1, 0, correct=True, loss=1.0),
            row(2, 2, 2, 0, correct=False, loss=2.0),
        ]
    )
    return online, past


def test_reexposure_forgetting_hand_example():
    online, past = forgetting_logs()
    events = reexposure_forgetting(online, past, mode="verb", metric="top1")
    # verb 1: after(0) = own pre-update 1/2 = 50 %, before at t=1 = past rows 0, 1 = 0 % -> RF 50
    # verb 2: after(1) = own 100 % (no past rows of 2 at t=1); before at t=2 = past row 2 = 0 % -> RF 100
    assert events == [
        ForgettingEvent(label=1, previous_step=0, step=1, value=50.0),
        ForgettingEvent(label=2, previous_step=1, step=2, value=100.0),
    ]
    assert events[1].gap == 1


def test_reexposure_forgetting_loss_and_the_upstream_sum_quirk():
    online, past = forgetting_logs()
    fixed = reexposure_forgetting(online, past, mode="verb", metric="loss")
    # verb 1: after = mean(1, 3) = 2, before = mean(4, 6) = 5 -> RF = before - after = 3
    assert [e.value for e in fixed] == [3.0, 1.5]
    upstream = reexposure_forgetting(online, past, mode="verb", metric="loss", upstream_loss_sum=True)
    # after = (sum 4 × 2) / 2 = 4; before = (sum 10 × 2) / 2 = 10 -> 6
    assert [e.value for e in upstream] == [6.0, 1.5]
    with pytest.raises(ValueError, match="top<k>"):
        reexposure_forgetting(online, past, metric="accuracy")


def test_no_event_without_past_samples_of_the_class():
    online, _ = forgetting_logs()
    assert reexposure_forgetting(online, table([row(5, 9, 7, 0)]), mode="verb") == []


def test_bin_forgetting():
    events = [
        ForgettingEvent(label=0, previous_step=0, step=s, value=v)
        for s, v in [(1, 1.0), (2, 3.0), (3, 5.0), (7, 2.0)]
    ]
    bins = bin_forgetting(events)
    assert [(b.low, b.high, b.n) for b in bins] == [(1, 2, 1), (2, 4, 2), (4, 8, 1)]
    assert bins[1].mean == 4.0
    assert bins[1].se == pytest.approx(1.0)
    custom = bin_forgetting(events, edges=[1, 10])
    assert custom[0].n == 4
