"""EWC and LwF: each reduces to plain fine-tuning at weight 0, and does its own thing otherwise."""

from __future__ import annotations

import pytest
import torch
from torch.nn import functional as F  # noqa: N812

from ego_cl.learners.adaptation.adapted import AdaptContext
from ego_cl.learners.ewc import EwcConfig, EWCLearner
from ego_cl.learners.finetune import FinetuneConfig, FinetuneLearner
from ego_cl.learners.lwf import LwfConfig, LwFLearner
from tests.learners.conftest import TinyStream, tiny_network

pytestmark = pytest.mark.usefixtures("single_thread")


def _network_after(learner, stream, n=3):
    for batch in stream.batches(n):
        learner.learn(batch)
    return learner.state_dict()["network"]


@pytest.mark.parametrize(
    "make",
    [
        lambda: EWCLearner(tiny_network(), EwcConfig(ewc_lambda=0.0, lr=0.05), context=AdaptContext(seed=2)),
        lambda: LwFLearner(
            tiny_network(), LwfConfig(distill_weight=0.0, lr=0.05), context=AdaptContext(seed=2)
        ),
    ],
    ids=["ewc", "lwf"],
)
def test_weight_zero_is_plain_finetuning(make, stream):
    ours = _network_after(make(), stream)
    plain = _network_after(
        FinetuneLearner(tiny_network(), FinetuneConfig(lr=0.05), context=AdaptContext(seed=2)), stream
    )
    for key, value in plain.items():
        assert torch.allclose(value.float(), ours[key].float(), atol=1e-6), key


def test_ewc_consolidates_every_task_then_penalises_moving_away(stream):
    learner = EWCLearner(tiny_network(), EwcConfig(ewc_lambda=10.0, lr=0.05, task_batches=2))
    assert learner.learn(stream.batch(0))["ewc_penalty"] == 0.0  # no Fisher yet
    learner.learn(stream.batch(4))  # end of the first task: consolidate
    state = learner.state_dict()
    for name, anchor in state["anchor"].items():
        assert torch.equal(anchor, state["network"][name])
    assert sum(float(f.sum()) for f in state["fisher"].values()) > 0
    assert learner.learn(stream.batch(8))["ewc_penalty"] == 0.0  # starts at its anchor
    assert learner.learn(stream.batch(12))["ewc_penalty"] > 0  # moved away within the task


def test_ewc_fisher_is_the_decayed_average_of_squared_gradients(stream):
    learner = EWCLearner(tiny_network(), EwcConfig(fisher_decay=0.25, task_batches=1))
    learner.learn(stream.batch(0))
    first = {k: v.clone() for k, v in learner.state_dict()["fisher"].items()}
    learner.learn(stream.batch(4))
    second = learner.state_dict()["fisher"]
    for name, f in first.items():
        new = (second[name] - 0.25 * f) / 0.75  # the second batch's g², never negative
        assert bool((new >= -1e-7).all()), name


def _calibrated_network():
    """tiny3d whose BN running statistics match the test clips (as a pretrained model's would)."""
    network = tiny_network()
    for module in network.modules():
        if isinstance(module, torch.nn.BatchNorm3d):
            module.momentum = None  # cumulative average
    network.train()
    with torch.no_grad():
        network(TinyStream().clips)
    return network.eval()


def _distance_to_teacher(learner, stream):
    teacher = _calibrated_network()
    batch = stream.batch(12)
    with torch.no_grad():
        target = F.softmax(teacher(batch.clips)[1], dim=1)
    p = learner.predict(batch.without_labels())
    return float(F.kl_div(F.log_softmax(p.noun_logits, dim=1), target, reduction="batchmean"))


def test_lwf_stays_closer_to_the_pretrained_outputs(stream):
    lwf = LwFLearner(_calibrated_network(), LwfConfig(distill_weight=5.0, lr=0.1, k_updates=3))
    plain = FinetuneLearner(_calibrated_network(), FinetuneConfig(lr=0.1, k_updates=3))
    _network_after(lwf, stream)
    _network_after(plain, stream)
    assert _distance_to_teacher(lwf, stream) < _distance_to_teacher(plain, stream)
    teacher = lwf.state_dict()["teacher"]
    assert all(torch.equal(v, _calibrated_network().state_dict()[k]) for k, v in teacher.items())
