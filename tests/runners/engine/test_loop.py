"""The online loop: order of calls, leak checks, compute budget, past-window evaluation."""

from __future__ import annotations

import pytest
import torch

from ego_cl.runners.engine.loop import LoopState, NearFuture, PastWindow, online_loop
from ego_cl.types import Batch, LabelLeakError, Prediction
from tests.runners.fakes import (
    N_NOUNS,
    N_VERBS,
    FakeLearner,
    FakeMetrics,
    PeekingLearner,
    RewritingLearner,
    log_columns,
    make_batches,
)


class RecordingLearner:
    """Logs every call; predicts the label of the previous batch (so learning matters)."""

    def __init__(self, calls):
        self.calls = calls
        self.last = (0, 0)

    def predict(self, batch):
        self.calls.append(("predict", int(batch.indices[0]), batch.target is None))
        verb = torch.nn.functional.one_hot(torch.full((len(batch),), self.last[0]), N_VERBS).float()
        noun = torch.nn.functional.one_hot(torch.full((len(batch),), self.last[1]), N_NOUNS).float()
        return Prediction(indices=batch.indices, verb_logits=verb, noun_logits=noun)

    def learn(self, batch):
        self.calls.append(("learn", int(batch.indices[0]), batch.target is None))
        self.last = batch.labelled().label_sets()[-1][0]
        return {"n": float(len(batch))}

    def state_dict(self):
        return {"last": list(self.last)}

    def load_state_dict(self, state):
        self.last = tuple(state["last"])


class RecordingMetric:
    def __init__(self, calls):
        self.calls = calls

    def update(self, prediction, batch):
        self.calls.append(("metric", int(batch.indices[0]), batch.target is None))


def test_predict_log_metric_learn_order_and_label_free_predict():
    calls = []
    batches = make_batches(12, 4)
    records = list(
        online_loop(RecordingLearner(calls), batches, RecordingMetric(calls), log_columns=log_columns)
    )
    expected = []
    for start in (0, 4, 8):
        expected += [("predict", start, True), ("metric", start, False), ("learn", start, False)]
    assert calls == expected
    assert [r.step for r in records] == [0, 1, 2]
    assert records[-1].state == LoopState(next_step=3, debt_s=0.0, shown_end=12)
    assert [r.log["index"] for r in records] == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9, 10, 11]]


def test_learner_reading_labels_in_predict_fails_loudly():
    with pytest.raises(LabelLeakError):
        list(online_loop(PeekingLearner(), make_batches(8, 4), FakeMetrics(), log_columns=log_columns))


def test_log_is_fixed_before_learn_even_if_learner_rewrites_its_prediction():
    batches = make_batches(16, 4)
    records = list(online_loop(RewritingLearner(), batches, FakeMetrics(), log_columns=log_columns))
    honest = list(online_loop(FakeLearner(), batches, FakeMetrics(), log_columns=log_columns))
    assert [r.log for r in records] == [r.log for r in honest]


def test_paranoid_mode_detects_a_prediction_rewritten_by_learn():
    with pytest.raises(LabelLeakError, match="rewrote the prediction"):
        list(
            online_loop(
                RewritingLearner(), make_batches(8, 4), FakeMetrics(), log_columns=log_columns, paranoid=True
            )
        )


class StatefulPredict(FakeLearner):
    def predict(self, batch):
        self.n_learned += 1  # state change in predict: forbidden
        return super().predict(batch)


def test_paranoid_mode_detects_state_change_in_predict():
    with pytest.raises(LabelLeakError, match="predict changed"):
        list(
            online_loop(
                StatefulPredict(), make_batches(8, 4), FakeMetrics(), log_columns=log_columns, paranoid=True
            )
        )


def test_paranoid_mode_passes_an_honest_learner():
    records = list(
        online_loop(FakeLearner(), make_batches(8, 4), FakeMetrics(), log_columns=log_columns, paranoid=True)
    )
    assert len(records) == 2


def test_prediction_uses_the_model_before_learning_the_batch():
    calls = []
    learner = RecordingLearner(calls)
    batches = make_batches(12, 4)
    records = list(online_loop(learner, batches, RecordingMetric(calls), log_columns=log_columns))
    # predictions of batch t equal the last label of batch t-1 (learned before), never batch t's own
    for prev, rec in zip(batches, records[1:]):
        assert set(rec.log["verb_top1"]) == {prev.target.label_sets()[-1][0][0]}
    assert set(records[0].log["verb_top1"]) == {0}


def test_learn_every_n_batches():
    calls = []
    records = list(
        online_loop(
            RecordingLearner(calls),
            make_batches(20, 4),
            RecordingMetric(calls),
            log_columns=log_columns,
            learn_every=2,
        )
    )
    assert [r.learned for r in records] == [True, False, True, False, True]
    assert [c[1] for c in calls if c[0] == "learn"] == [0, 8, 16]
    assert records[1].stats == {}


def test_time_budget_skips_learning_while_in_debt():
    ticks = iter([0.0, 3.0, 10.0, 11.0, 20.0, 21.0, 30.0, 31.0])  # 3 s, then 1 s each
    records = list(
        online_loop(
            FakeLearner(),
            make_batches(24, 4),
            FakeMetrics(),
            log_columns=log_columns,
            time_budget_s=1.0,
            clock=lambda: next(ticks),
        )
    )
    # 3 s with a 1 s budget = 2 s debt: skip two batches, then learn again
    assert [r.learned for r in records] == [True, False, False, True, True, True]
    assert records[1].state.debt_s == 1.0


def test_resume_state_starts_step_numbering_there():
    batches = make_batches(16, 4)
    records = list(
        online_loop(
            FakeLearner(), batches[2:], FakeMetrics(), log_columns=log_columns, state=LoopState(next_step=2)
        )
    )
    assert [r.step for r in records] == [2, 3]


def test_past_window_evaluates_recent_seen_samples_after_learning():
    batches = make_batches(20, 4)
    by_index = {int(i): (b, k) for b in batches for k, i in enumerate(b.indices)}

    def fetch(indices):
        rows = [by_index[i] for i in indices]
        clips = torch.stack([b.clips[k] for b, k in rows])
        labels = [b.target.label_sets()[k] for b, k in rows]
        from ego_cl.types import Target

        return Batch(indices=torch.tensor(indices), clips=clips, target=Target.from_label_sets(labels))

    records = list(
        online_loop(
            FakeLearner(),
            batches,
            FakeMetrics(),
            log_columns=log_columns,
            past=PastWindow(fetch=fetch, window=6, batch_size=4),
        )
    )
    assert records[0].past_log == {}
    assert records[1].past_log["index"] == [0, 1, 2, 3]
    assert records[3].past_log["index"] == [6, 7, 8, 9, 10, 11]


def _fetcher(batches):
    from ego_cl.types import Target

    by_index = {int(i): (b, k) for b in batches for k, i in enumerate(b.indices)}

    def fetch(indices):
        rows = [by_index[i] for i in indices]
        clips = torch.stack([b.clips[k] for b, k in rows])
        labels = [b.target.label_sets()[k] for b, k in rows]
        return Batch(indices=torch.tensor(list(indices)), clips=clips, target=Target.from_label_sets(labels))

    return fetch


def test_near_future_predicts_samples_ahead_before_the_update():
    calls = []
    batches = make_batches(10, 4)  # batches of 4, 4, 2 samples
    records = list(
        online_loop(
            RecordingLearner(calls),
            batches,
            RecordingMetric(calls),
            log_columns=log_columns,
            near_future=NearFuture(fetch=_fetcher(batches), offset=5, n_samples=10),
        )
    )
    assert records[0].future_log["index"] == [5, 6, 7, 8]
    assert records[1].future_log["index"] == [9]
    assert records[2].future_log is None  # nothing 5 ahead of samples 8, 9
    assert set(records[0].future_log["step"]) == {0}
    # batch 0: predict, metric, near-future predict (label-free), then learn
    assert calls[:4] == [
        ("predict", 0, True),
        ("metric", 0, False),
        ("predict", 5, True),
        ("learn", 0, False),
    ]


def test_near_future_offset_must_be_positive():
    with pytest.raises(ValueError, match="offset"):
        NearFuture(fetch=lambda idx: None, offset=0, n_samples=3)
