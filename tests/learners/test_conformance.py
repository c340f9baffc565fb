"""The ``Learner`` contract, checked for every learner kind (and the upstream variants).

predict never changes state and never sees labels; inputs are never mutated; state_dict
round-trips through ``torch.load(weights_only=True)`` into a fresh learner that predicts and
updates identically; the same seed gives the same results; network learners lower the loss of a
batch they learn repeatedly. Runs tiny3d on 2 x 16 x 16 clips on CPU.
"""

from __future__ import annotations

import pytest
import torch

from ego_cl.learners.adaptation.adapted import AdaptContext
from ego_cl.learners.adaptation.losses import action_losses
from ego_cl.learners.derpp import DerppConfig, DERppLearner
from ego_cl.learners.er_ace import ErAceConfig, ERACELearner
from ego_cl.learners.ewc import EwcConfig, EWCLearner
from ego_cl.learners.feature_replay import FeatureReplayConfig, FeatureReplayLearner
from ego_cl.learners.finetune import FinetuneConfig, FinetuneLearner
from ego_cl.learners.frozen import FrozenConfig, FrozenLearner
from ego_cl.learners.label_window import (
    BatchedLabelWindowPredictor,
    HindsightLabelWindowPredictor,
    LabelWindowPredictor,
)
from ego_cl.learners.lwf import LwfConfig, LwFLearner
from ego_cl.learners.registry import LEARNERS
from ego_cl.learners.replay import ReplayConfig, ReplayLearner
from ego_cl.protocols import Learner
from ego_cl.runners.engine.loop import online_loop
from ego_cl.types import LabelLeakError
from tests.learners.conftest import N_NOUNS, N_VERBS, assert_same_state, learn, roundtrip, tiny_network

pytestmark = pytest.mark.usefixtures("single_thread")

ALLOWED_VERBS = torch.tensor([True, True, True, True, False])  # verb 4: never seen in pretraining


def _ctx(seed, **kw):
    return AdaptContext(allowed_verbs=ALLOWED_VERBS, allowed_nouns=None, seed=seed, **kw)


def _frozen(stream, seed, **kw):
    return FrozenLearner(tiny_network(seed), FrozenConfig(**kw), context=_ctx(seed))


def _finetune(stream, seed, mask_unseen="pretrain", **kw):
    config = FinetuneConfig(**{"lr": 0.05, **kw})
    return FinetuneLearner(tiny_network(seed), config, context=_ctx(seed, mask_unseen=mask_unseen))


def _replay(stream, seed, **kw):
    config = ReplayConfig(**{"lr": 0.05, "capacity": 6, **kw})
    return ReplayLearner(tiny_network(seed), config, fetch=stream.gate.fetch, context=_ctx(seed))


FACTORIES = {
    "frozen": _frozen,
    "frozen_upstream": lambda s, seed: _frozen(s, seed, upstream_train_mode_predict=True),
    "finetune": lambda s, seed: _finetune(
        s, seed, momentum=0.9, nesterov=True, weight_decay=1e-4, k_updates=2
    ),
    "finetune_head": lambda s, seed: _finetune(s, seed, trainable="head", head_lr=0.1, k_updates=2),
    "finetune_features": lambda s, seed: _finetune(s, seed, trainable="features", optimizer="adam", lr=1e-3),
    "finetune_upstream": lambda s, seed: _finetune(
        s, seed, upstream_train_mode_predict=True, mask_unseen="pretrain_or_stream"
    ),
    "replay": lambda s, seed: _replay(s, seed, k_updates=2),
    "replay_fifo_upstream": lambda s, seed: _replay(
        s, seed, memory="fifo", upstream_fifo_lag=True, upstream_half_loss_when_empty=True
    ),
    "replay_cbrs": lambda s, seed: _replay(
        s, seed, memory="class_balanced", upstream_batch_nobs=True, k_updates=2, resample_each_update=False
    ),
    "replay_joint_upstream": lambda s, seed: _replay(
        s,
        seed,
        k_updates=3,
        replay_batch_size=2,
        upstream_joint_mean_after_first=True,
        upstream_half_loss_when_empty=True,
    ),
    "replay_head": lambda s, seed: _replay(s, seed, trainable="head", memory="reservoir", capacity=0),
    "ewc": lambda s, seed: EWCLearner(
        tiny_network(seed),
        EwcConfig(lr=0.05, ewc_lambda=10.0, task_batches=1, k_updates=2),
        context=_ctx(seed),
    ),
    "ewc_raw_half": lambda s, seed: EWCLearner(
        tiny_network(seed),
        EwcConfig(lr=0.05, penalty="raw_half", fisher_new_weight=0.5, task_batches=2),
        context=_ctx(seed),
    ),
    "lwf": lambda s, seed: LwFLearner(tiny_network(seed), LwfConfig(lr=0.05), context=_ctx(seed)),
    "er_ace": lambda s, seed: ERACELearner(
        tiny_network(seed), ErAceConfig(lr=0.05, capacity=6), fetch=s.gate.fetch, context=_ctx(seed)
    ),
    "derpp": lambda s, seed: DERppLearner(
        tiny_network(seed),
        DerppConfig(lr=0.05, capacity=6, k_updates=2),
        fetch=s.gate.fetch,
        context=_ctx(seed),
    ),
    "feature_replay": lambda s, seed: FeatureReplayLearner(
        tiny_network(seed),
        FeatureReplayConfig(memory="class_balanced", capacity=6, k_updates=2),
        context=_ctx(seed),
    ),
    "lwp": lambda s, seed: LabelWindowPredictor(window=6, n_verbs=N_VERBS, n_nouns=N_NOUNS),
    "lwp_batched": lambda s, seed: BatchedLabelWindowPredictor(n_verbs=N_VERBS, n_nouns=N_NOUNS),
    "lwp_hindsight": lambda s, seed: HindsightLabelWindowPredictor(
        stream_labels=s.label_sets, window=4, n_verbs=N_VERBS, n_nouns=N_NOUNS
    ),
}
LABEL_ONLY = {"lwp", "lwp_batched", "lwp_hindsight"}
NOT_LEARNING = LABEL_ONLY | {"frozen", "frozen_upstream"}
KINDS = sorted(FACTORIES)


def _warm(learner, stream, n=2):
    for batch in stream.batches(n):
        learner.predict(batch.without_labels())
        learn(learner, stream, batch)
    return learner


def _snapshot(learner):
    return roundtrip(learner.state_dict())


@pytest.mark.parametrize("kind", KINDS)
def test_is_a_learner(kind, stream):
    assert isinstance(FACTORIES[kind](stream, 0), Learner)


@pytest.mark.parametrize("kind", KINDS)
def test_predict_changes_no_state_and_sees_no_labels(kind, stream):
    learner = _warm(FACTORIES[kind](stream, 0), stream)
    before = _snapshot(learner)
    batch = stream.batch(8).without_labels()  # target None: reading labels raises LabelLeakError
    first = learner.predict(batch)
    assert_same_state(before, _snapshot(learner))
    second = learner.predict(batch)
    assert torch.equal(first.verb_logits, second.verb_logits)
    assert torch.equal(first.noun_logits, second.noun_logits)
    assert first.verb_logits.shape == (4, N_VERBS)
    assert first.noun_logits.shape == (4, N_NOUNS)
    assert torch.equal(first.indices, batch.indices)


@pytest.mark.parametrize("kind", sorted(set(KINDS) - LABEL_ONLY))
def test_unseen_verbs_are_masked_at_prediction(kind, stream):
    learner = _warm(FACTORIES[kind](stream, 0), stream)
    prediction = learner.predict(stream.batch(8).without_labels())
    assert (prediction.verb_logits[:, 4] < -1e11).all()
    assert (prediction.verb_logits[:, :4] > -1e11).all()


@pytest.mark.parametrize("kind", KINDS)
def test_inputs_are_not_mutated(kind, stream):
    learner = _warm(FACTORIES[kind](stream, 0), stream, n=1)
    batch = stream.batch(4)
    copies = (batch.indices.clone(), batch.clips.clone(), batch.target.actions.clone())
    learner.predict(batch.without_labels())
    learn(learner, stream, batch)
    learn(learner, stream, batch)
    assert torch.equal(batch.indices, copies[0])
    assert torch.equal(batch.clips, copies[1])
    assert torch.equal(batch.target.actions, copies[2])


@pytest.mark.parametrize("kind", KINDS)
def test_state_roundtrip_gives_identical_predictions_and_next_update(kind, stream):
    learner = _warm(FACTORIES[kind](stream, 0), stream, n=3)
    fresh = FACTORIES[kind](stream, 1)  # another seed: everything must come from the state
    fresh.load_state_dict(_snapshot(learner))
    batch = stream.batch(12)
    a, b = learner.predict(batch.without_labels()), fresh.predict(batch.without_labels())
    assert torch.equal(a.verb_logits, b.verb_logits)
    assert torch.equal(a.noun_logits, b.noun_logits)
    assert learn(learner, stream, batch) == learn(fresh, stream, batch)
    assert_same_state(_snapshot(learner), _snapshot(fresh))
    c, d = (
        learner.predict(stream.batch(16).without_labels()),
        fresh.predict(stream.batch(16).without_labels()),
    )
    assert torch.equal(c.verb_logits, d.verb_logits)


@pytest.mark.parametrize("kind", KINDS)
def test_same_seed_same_results(kind, stream):
    runs = [_warm(FACTORIES[kind](stream, 3), stream, n=3) for _ in range(2)]
    assert_same_state(_snapshot(runs[0]), _snapshot(runs[1]))


@pytest.mark.parametrize("kind", sorted(set(KINDS) - NOT_LEARNING))
def test_learning_a_repeated_batch_lowers_its_loss(kind, stream):
    learner = _warm(FACTORIES[kind](stream, 0), stream, n=1)
    batch = stream.batch(4)

    def loss():
        p = learner.predict(batch.without_labels())
        return float(action_losses(p.verb_logits, p.noun_logits, batch.target).action.mean())

    before = loss()
    for _ in range(5):
        learn(learner, stream, batch)
    assert loss() < before


@pytest.mark.parametrize("kind", ["frozen", "frozen_upstream"])
def test_frozen_weights_never_change(kind, stream):
    learner = FACTORIES[kind](stream, 0)
    weights = {k: v for k, v in _snapshot(learner)["network"].items() if "running" not in k}
    _warm(learner, stream, n=3)
    after = _snapshot(learner)["network"]
    for key, value in weights.items():
        if "num_batches" not in key:
            assert torch.equal(value, after[key]), key


def test_predict_leaves_the_global_rng_alone(stream):
    learner = _warm(FACTORIES["finetune_upstream"](stream, 0), stream)
    state = torch.get_rng_state()
    learner.predict(stream.batch(8).without_labels())
    learn(learner, stream, stream.batch(8))
    assert torch.equal(state, torch.get_rng_state())


class _NoMetrics:
    def update(self, prediction, batch):
        pass


def _index_log(prediction, batch, step):
    return {"index": prediction.indices.tolist(), "step": [step] * len(batch)}


@pytest.mark.parametrize("kind", KINDS)
def test_runs_in_the_online_loop_with_the_guarded_fetch(kind, stream):
    learner = FACTORIES[kind](stream, 0)
    batches = stream.batches(6)
    records = list(
        online_loop(learner, batches, _NoMetrics(), log_columns=_index_log, gate=stream.gate, paranoid=True)
    )
    assert [r.log["index"] for r in records] == [b.indices.tolist() for b in batches]
    assert stream.gate.shown_end == 24


@pytest.mark.parametrize("kind", ["replay", "replay_fifo_upstream", "er_ace", "derpp"])
def test_replay_learners_fetch_through_the_gate(kind, stream):
    learner = _warm(FACTORIES[kind](stream, 0), stream, n=3)
    stream.gate.shown_end = 4  # as if only batch 0 had been shown: memory draws beyond it must fail
    batch = stream.batch(12)

    def learn_five_times():
        for _ in range(5):
            learner.learn(batch)

    with pytest.raises(LabelLeakError):
        learn_five_times()


def test_the_suite_covers_every_registered_kind():
    assert set(LEARNERS) <= set(FACTORIES)


@pytest.mark.gpu
@pytest.mark.parametrize("kind", ["finetune", "finetune_upstream", "derpp"])
def test_cuda_state_roundtrip(kind, stream):
    def on_cuda(seed):
        context = _ctx(seed, device="cuda")
        if kind == "derpp":
            return DERppLearner(
                tiny_network(seed), DerppConfig(capacity=6), fetch=stream.gate.fetch, context=context
            )
        config = FinetuneConfig(upstream_train_mode_predict=kind != "finetune")
        return FinetuneLearner(tiny_network(seed), config, context=context)

    learner = _warm(on_cuda(0), stream)
    fresh = on_cuda(1)
    fresh.load_state_dict(_snapshot(learner))
    batch = stream.batch(12)
    assert learn(learner, stream, batch) == learn(fresh, stream, batch)
    assert torch.equal(learner.predict(batch).verb_logits, fresh.predict(batch).verb_logits)
