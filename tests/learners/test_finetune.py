"""Fine-tuning details: trainable parts, parameter groups, unseen-class masks, prediction modes."""

from __future__ import annotations

import pytest
import torch

from ego_cl.learners.adaptation.adapted import AdaptContext
from ego_cl.learners.finetune import FinetuneConfig, FinetuneLearner
from ego_cl.learners.frozen import FrozenConfig, FrozenLearner
from ego_cl.types import Batch, Target
from tests.learners.conftest import tiny_network

pytestmark = pytest.mark.usefixtures("single_thread")

ALLOWED_VERBS = torch.tensor([True, True, True, True, False])


def _weights(learner, prefix):
    return {k: v.clone() for k, v in learner.state_dict()["network"].items() if k.startswith(prefix)}


def _changed(before, learner):
    after = learner.state_dict()["network"]
    return {k for k, v in before.items() if not torch.equal(v, after[k])}


def test_head_only_keeps_the_backbone_and_its_bn_statistics(stream):
    learner = FinetuneLearner(tiny_network(), FinetuneConfig(trainable="head", lr=0.1, k_updates=3))
    backbone, head = _weights(learner, "backbone."), _weights(learner, "head.")
    for batch in stream.batches(3):
        learner.learn(batch)
    assert _changed(backbone, learner) == set()  # weights and running statistics
    assert _changed(head, learner) == set(head)


def test_frozen_head_trains_only_the_backbone(stream):
    learner = FinetuneLearner(tiny_network(), FinetuneConfig(trainable="features", lr=0.1))
    backbone, head = _weights(learner, "backbone."), _weights(learner, "head.")
    learner.learn(stream.batch(0))
    assert _changed(head, learner) == set()
    assert any("conv" in k or "blocks" in k for k in _changed(backbone, learner))


def _batch_with_verb(verb):
    return Batch(
        indices=torch.arange(2),
        clips=torch.randn(2, 3, 2, 16, 16, generator=torch.Generator().manual_seed(0)),
        target=Target.from_label_sets([[(verb, 0)], [(0, 1)]]),
    )


def test_a_disallowed_label_gives_a_finite_loss_but_stays_masked_at_prediction():
    learner = FinetuneLearner(tiny_network(), context=AdaptContext(allowed_verbs=ALLOWED_VERBS))
    batch = _batch_with_verb(4)
    stats = learner.learn(batch)
    assert stats["loss"] < 100
    assert (learner.predict(batch.without_labels()).verb_logits[:, 4] < -1e11).all()


def test_pretrain_or_stream_allows_classes_once_the_stream_showed_them():
    learner = FinetuneLearner(
        tiny_network(), context=AdaptContext(allowed_verbs=ALLOWED_VERBS, mask_unseen="pretrain_or_stream")
    )
    batch = _batch_with_verb(4)
    assert (learner.predict(batch.without_labels()).verb_logits[:, 4] < -1e11).all()
    learner.learn(batch)
    assert (learner.predict(batch.without_labels()).verb_logits[:, 4] > -1e11).all()


def test_mask_none_masks_nothing():
    learner = FrozenLearner(
        tiny_network(), context=AdaptContext(allowed_verbs=ALLOWED_VERBS, mask_unseen="none")
    )
    assert (learner.predict(_batch_with_verb(0).without_labels()).verb_logits > -1e11).all()


def test_upstream_prediction_uses_batch_statistics_without_changing_them(stream):
    plain = FrozenLearner(tiny_network())
    upstream = FrozenLearner(tiny_network(), FrozenConfig(upstream_train_mode_predict=True))
    batch = stream.batch(0).without_labels()
    assert not torch.allclose(plain.predict(batch).verb_logits, upstream.predict(batch).verb_logits)
    running = _weights(upstream, "backbone.")
    upstream.predict(batch)
    assert _changed(running, upstream) == set()


def test_frozen_bn_statistics_drift_only_in_upstream_mode(stream):
    for upstream, drifts in ((False, False), (True, True)):
        learner = FrozenLearner(tiny_network(), FrozenConfig(upstream_train_mode_predict=upstream))
        before = _weights(learner, "backbone.")
        learner.learn(stream.batch(0))
        changed = _changed(before, learner)
        assert bool(changed) == drifts
        assert all("running" in k or "num_batches" in k for k in changed)


def test_k_updates_must_be_positive():
    with pytest.raises(ValueError, match="k_updates"):
        FinetuneLearner(tiny_network(), FinetuneConfig(k_updates=0))
