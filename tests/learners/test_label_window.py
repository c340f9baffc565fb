"""Label-window predictors on hand-checked streams."""

from __future__ import annotations

import pytest
import torch

from ego_cl.learners.label_window import (
    BatchedLabelWindowPredictor,
    HindsightLabelWindowPredictor,
    LabelWindowPredictor,
)
from ego_cl.types import Batch, Target

N_VERBS, N_NOUNS = 3, 5


def _batch(start, label_sets):
    n = len(label_sets)
    return Batch(
        indices=torch.arange(start, start + n),
        clips=torch.empty(n, 0),
        target=Target.from_label_sets(label_sets),
    )


def _probs(prediction):
    return prediction.verb_logits.exp(), prediction.noun_logits.exp()


def test_empty_window_is_uniform_over_each_head():
    for learner in (
        LabelWindowPredictor(window=4, n_verbs=N_VERBS, n_nouns=N_NOUNS),
        BatchedLabelWindowPredictor(n_verbs=N_VERBS, n_nouns=N_NOUNS),
    ):
        verbs, nouns = _probs(learner.predict(_batch(0, [[(0, 0)]]).without_labels()))
        assert torch.allclose(verbs, torch.full((1, N_VERBS), 1 / N_VERBS))
        assert torch.allclose(nouns, torch.full((1, N_NOUNS), 1 / N_NOUNS))  # not 1/n_verbs


def test_window_histogram_of_the_preceding_samples():
    learner = LabelWindowPredictor(window=3, n_verbs=N_VERBS, n_nouns=N_NOUNS)
    learner.learn(_batch(0, [[(0, 0)], [(1, 1)]]))
    learner.learn(_batch(2, [[(1, 2)], [(2, 2)]]))  # window keeps samples 1, 2, 3
    verbs, nouns = _probs(learner.predict(_batch(4, [[(0, 0)]] * 2).without_labels()))
    assert torch.allclose(verbs, torch.tensor([[0.0, 2 / 3, 1 / 3]] * 2), atol=1e-6)
    assert torch.allclose(nouns, torch.tensor([[0.0, 1 / 3, 2 / 3, 0.0, 0.0]] * 2), atol=1e-6)
    assert learner.predict(_batch(4, [[(0, 0)]]).without_labels()).verb_logits.isfinite().all()


def test_multi_label_sample_weighs_one():
    learner = LabelWindowPredictor(window=2, n_verbs=N_VERBS, n_nouns=N_NOUNS)
    learner.learn(_batch(0, [[(0, 0), (1, 1)], [(2, 2)]]))
    verbs, _ = _probs(learner.predict(_batch(2, [[(0, 0)]]).without_labels()))
    assert torch.allclose(verbs, torch.tensor([[0.25, 0.25, 0.5]]), atol=1e-6)


def test_batched_uses_only_the_previous_batch():
    learner = BatchedLabelWindowPredictor(n_verbs=N_VERBS, n_nouns=N_NOUNS)
    learner.learn(_batch(0, [[(0, 0)], [(0, 0)]]))
    learner.learn(_batch(2, [[(2, 4)], [(1, 4)], [(2, 4)]]))
    verbs, nouns = _probs(learner.predict(_batch(5, [[(0, 0)]]).without_labels()))
    assert torch.allclose(verbs, torch.tensor([[0.0, 1 / 3, 2 / 3]]), atol=1e-6)
    assert nouns.argmax().item() == 4


def test_hindsight_uses_the_last_labels_of_the_whole_stream():
    stream = [[(0, 0)], [(1, 1)], [(2, 3)], [(2, 3)]]
    learner = HindsightLabelWindowPredictor(stream_labels=stream, window=2, n_verbs=N_VERBS, n_nouns=N_NOUNS)
    assert learner.is_hindsight
    assert not LabelWindowPredictor.is_hindsight
    verbs, nouns = _probs(learner.predict(_batch(0, [[(0, 0)]]).without_labels()))
    assert verbs.argmax().item() == 2
    assert nouns.argmax().item() == 3
    assert torch.allclose(verbs.sum(), torch.tensor(1.0))


def test_window_must_be_positive():
    with pytest.raises(ValueError, match="window"):
        LabelWindowPredictor(window=0, n_verbs=2, n_nouns=2)
