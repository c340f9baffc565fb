"""No learner changes the network object it is given: weights, buffers, ``requires_grad``,
train/eval mode and parameter objects of the caller's network are as before, for every learner
kind (and the variants that freeze parts or predict in train mode), after predicting and learning.
"""

from __future__ import annotations

import pytest
import torch

from ego_cl.learners.registry import LEARNERS, LearnerRuntime, build_learner
from tests.learners.conftest import N_NOUNS, tiny_network

pytestmark = pytest.mark.usefixtures("single_thread")

VARIANTS = [
    *((kind, {}) for kind in LEARNERS),
    ("frozen", {"upstream_train_mode_predict": True}),
    ("finetune", {"trainable": "head"}),
    ("finetune", {"trainable": "features", "upstream_train_mode_predict": True}),
    ("replay", {"trainable": "head"}),
]


def _snapshot(network: torch.nn.Module) -> dict:
    return {
        "state": {k: v.detach().clone() for k, v in network.state_dict().items()},
        "requires_grad": {n: p.requires_grad for n, p in network.named_parameters()},
        "training": {n: m.training for n, m in network.named_modules()},
        "params": {n: id(p) for n, p in network.named_parameters()},
        "grads": {n: p.grad for n, p in network.named_parameters() if p.grad is not None},
    }


def _runtime(network, stream, device: str = "cpu") -> LearnerRuntime:
    return LearnerRuntime(
        network=network,
        fetch=stream.fetch,
        allowed_verbs=torch.tensor([True, True, True, True, False]),
        allowed_nouns=torch.ones(N_NOUNS, dtype=torch.bool),
        mask_unseen="pretrain",
        device=device,
        seed=3,
        stream_labels=stream.label_sets,
    )


@pytest.mark.parametrize(("kind", "options"), VARIANTS, ids=lambda v: str(v) if isinstance(v, str) else "")
@pytest.mark.parametrize("mode", ["train", "eval"])
def test_the_callers_network_is_never_changed(kind, options, mode, stream):
    network = tiny_network(seed=1)
    network.train(mode == "train")
    before = _snapshot(network)
    learner = build_learner(LEARNERS[kind].config(**options), _runtime(network, stream))
    for batch in stream.batches(3):
        learner.predict(batch.without_labels())
        learner.learn(batch)
    after = _snapshot(network)
    assert after["params"] == before["params"]
    assert after["requires_grad"] == before["requires_grad"]
    assert all(after["requires_grad"].values())
    assert after["training"] == before["training"]
    assert after["grads"] == {}
    assert after["state"].keys() == before["state"].keys()
    changed = [k for k, v in before["state"].items() if not torch.equal(v, after["state"][k])]
    assert changed == []


def test_a_trained_learner_does_change_its_own_copy(stream):
    """The check above can fail: the learner's weights do move (so its copy is not the caller's)."""
    network = tiny_network(seed=1)
    learner = build_learner(LEARNERS["finetune"].config(lr=0.5), _runtime(network, stream))
    for batch in stream.batches(2):
        learner.learn(batch)
    own = learner.state_dict()["network"]
    moved = [k for k, v in network.state_dict().items() if not torch.equal(v, own[k])]
    assert moved


def test_one_network_serves_a_frozen_and_a_trained_learner_in_either_order(stream):
    """Building the frozen baseline first no longer switches off gradients for the next learner."""
    network = tiny_network(seed=2)
    frozen = build_learner(LEARNERS["frozen"].config(), _runtime(network, stream))
    tuned = build_learner(LEARNERS["finetune"].config(lr=0.5), _runtime(network, stream))
    batch = stream.batch(0)
    before = frozen.predict(batch.without_labels())
    tuned.learn(batch)
    assert torch.equal(frozen.predict(batch.without_labels()).verb_logits, before.verb_logits)
    assert not torch.equal(tuned.predict(batch.without_labels()).verb_logits, before.verb_logits)


@pytest.mark.gpu
@pytest.mark.parametrize("kind", ["frozen", "finetune", "replay", "lwf"])
def test_a_learner_on_cuda_leaves_the_cpu_network_where_it_was(kind, stream):
    network = tiny_network(seed=1)
    before = _snapshot(network)
    learner = build_learner(LEARNERS[kind].config(), _runtime(network, stream, device="cuda"))
    for batch in stream.batches(2):
        learner.predict(batch.without_labels())
        learner.learn(batch)
    assert {p.device.type for p in network.parameters()} == {"cpu"}
    after = _snapshot(network)
    assert after["requires_grad"] == before["requires_grad"]
    assert all(torch.equal(v, after["state"][k]) for k, v in before["state"].items())
