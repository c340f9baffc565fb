"""The guarded fetch and the index check: no label reaches a learner before its prediction is logged."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from ego_cl.runners.engine.label_gate import LabelGate
from ego_cl.runners.engine.loop import LoopState, NearFuture, PredictionIndexError, online_loop
from ego_cl.types import Batch, LabelLeakError, Prediction, Target
from tests.runners.fakes import FakeLearner, FakeMetrics, log_columns, make_batches


def _source(batches):
    """The runner's unguarded fetch over ``batches`` (labelled samples of any position)."""
    by_index = {int(i): (b, k) for b in batches for k, i in enumerate(b.indices)}

    def fetch(indices):
        rows = [by_index[int(i)] for i in indices]
        clips = torch.stack([b.clips[k] for b, k in rows])
        labels = [b.target.label_sets()[k] for b, k in rows]
        return Batch(indices=torch.tensor(list(indices)), clips=clips, target=Target.from_label_sets(labels))

    return fetch


class FetchingLearner(FakeLearner):
    """Fetches stream positions chosen by ``at_predict`` / ``at_learn`` (first index of the batch → list)."""

    def __init__(self, fetch, *, at_predict=lambda first, size: [], at_learn=lambda first, size: []):
        super().__init__()
        self.fetch, self.at_predict, self.at_learn = fetch, at_predict, at_learn
        self.fetched: list[int] = []

    def predict(self, batch):
        self._get(self.at_predict(int(batch.indices[0]), len(batch)))
        return super().predict(batch)

    def learn(self, batch):
        self._get(self.at_learn(int(batch.indices[0]), len(batch)))
        return super().learn(batch)

    def _get(self, indices):
        if indices:
            got = self.fetch(indices)
            got.labelled()
            self.fetched += indices


def _run(learner, batches, gate, **kw):
    return list(online_loop(learner, batches, FakeMetrics(), log_columns=log_columns, gate=gate, **kw))


def test_fetching_the_current_batch_in_predict_fails():
    batches = make_batches(16, 4)
    gate = LabelGate(_source(batches))
    learner = FetchingLearner(gate.fetch, at_predict=lambda first, size: [first] if first >= 8 else [])
    with pytest.raises(LabelLeakError, match=r"indices \[8\]: only indices < 8"):
        _run(learner, batches, gate)


def test_fetching_a_future_index_in_learn_fails():
    batches = make_batches(16, 4)
    gate = LabelGate(_source(batches))
    learner = FetchingLearner(gate.fetch, at_learn=lambda first, size: [first + size])
    with pytest.raises(LabelLeakError, match=r"indices \[4\]: only indices < 4"):
        _run(learner, batches, gate)


def test_past_and_just_shown_samples_can_be_fetched():
    batches = make_batches(16, 4)
    gate = LabelGate(_source(batches))
    # in predict: everything learned so far; in learn: also the batch being learned
    learner = FetchingLearner(
        gate.fetch,
        at_predict=lambda first, size: list(range(first)),
        at_learn=lambda first, size: list(range(first + size)),
    )
    records = _run(learner, batches, gate)
    assert len(records) == 4
    assert max(learner.fetched) == 15
    assert records[-1].state.shown_end == 16


def test_batches_skipped_by_the_compute_budget_stay_closed():
    batches = make_batches(16, 4)
    gate = LabelGate(_source(batches))
    # batch 1 (samples 4-7) is predicted but never learned; before batch 2 is learned, 4-7 stay closed
    learner = FetchingLearner(gate.fetch, at_predict=lambda first, size: [5] if first == 8 else [])
    with pytest.raises(LabelLeakError, match="only indices < 4"):
        _run(learner, batches, gate, learn_every=2)


def test_resume_reopens_the_gate_where_the_checkpoint_left_it():
    batches = make_batches(24, 4)
    for state, expected in ((LoopState(next_step=3, shown_end=8), 8), (LoopState(next_step=3), 12)):
        gate = LabelGate(_source(batches))
        seen: list[int] = []

        def record(first, size, gate=gate, seen=seen):
            seen.append(gate.shown_end)
            return []

        _run(FetchingLearner(gate.fetch, at_predict=record), batches[3:], gate, state=state)
        assert seen[0] == expected


class ShiftedIndices(FakeLearner):
    def predict(self, batch):
        p = super().predict(batch)
        return Prediction(indices=p.indices + 1, verb_logits=p.verb_logits, noun_logits=p.noun_logits)


class ReversedIndices(FakeLearner):
    def predict(self, batch):
        p = super().predict(batch)
        return Prediction(indices=p.indices.flip(0), verb_logits=p.verb_logits, noun_logits=p.noun_logits)


@pytest.mark.parametrize("learner", [ShiftedIndices, ReversedIndices])
def test_a_prediction_for_other_indices_fails_the_user(learner):
    with pytest.raises(PredictionIndexError, match=r"batch 0: the learner's prediction is for stream"):
        _run(learner(), make_batches(8, 4), None)


def test_wrong_indices_in_the_near_future_evaluation_fail_too():
    batches = make_batches(12, 4)

    class WrongOnlyAhead(FakeLearner):
        def predict(self, batch):
            p = super().predict(batch)
            if int(batch.indices[0]) % 4:  # the near-future chunk starts off the batch grid
                return Prediction(indices=p.indices * 0, verb_logits=p.verb_logits, noun_logits=p.noun_logits)
            return p

    future = NearFuture(fetch=_source(batches), offset=5, n_samples=12)
    with pytest.raises(PredictionIndexError, match="evaluation of other samples"):
        _run(WrongOnlyAhead(), batches, None, near_future=future)


@settings(max_examples=40, deadline=None)
@given(
    sizes=st.lists(st.integers(1, 5), min_size=1, max_size=8),
    learn_every=st.integers(1, 3),
    probes=st.lists(st.integers(-2, 45), min_size=1, max_size=6),
)
def test_fetch_is_allowed_exactly_below_the_end_of_the_last_learned_batch(sizes, learn_every, probes):
    starts = [sum(sizes[:i]) for i in range(len(sizes))]
    batches = [
        Batch(
            indices=torch.arange(s, s + n),
            clips=torch.zeros(n, 6),
            target=Target.from_label_sets([[(0, 0)]] * n),
        )
        for s, n in zip(starts, sizes)
    ]
    gate = LabelGate(lambda idx: Batch(indices=torch.tensor(list(idx)), clips=torch.zeros(len(idx), 6)))
    outcomes = []

    class Probe(FakeLearner):
        def predict(self, batch):
            for i in probes:
                try:
                    gate.fetch([i])
                    outcomes.append((int(batch.indices[0]), i, True))
                except LabelLeakError:
                    outcomes.append((int(batch.indices[0]), i, False))
            return super().predict(batch)

    _run(Probe(), batches, gate, learn_every=learn_every)
    shown_end = 0  # oracle: the end of the last batch that learn received
    expected = []
    for t, (s, n) in enumerate(zip(starts, sizes)):
        expected += [(s, i, 0 <= i < shown_end) for i in probes]
        if t % learn_every == 0:
            shown_end = s + n
    assert outcomes == expected
