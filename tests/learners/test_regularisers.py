"""EWC and LwF: each reduces to plain fine-tuning at weight 0, and does its own thing otherwise."""

from __future__ import annotations

import pytest
import torch
from torch.nn import functional as F  # noqa: N812

from ego_cl.learners.adaptation.adapted import AdaptContext
from ego_cl.learners.ewc import EwcConfig, EWCLearner, penalty_weights
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


def _params(learner):
    return {n: p.detach().clone() for n, p in learner._net.network.named_parameters() if p.requires_grad}


@pytest.mark.parametrize("alpha", [0.9, 0.25, 1.0])
def test_ewc_plus_plus_gives_the_new_window_weight_alpha(alpha, stream):
    """EWC++ eq. 6: F = α F_new + (1 - α) F_old; F_new = squared gradient of the window (one batch).

    With λ = 0 and plain SGD, a batch's gradient is (θ_before - θ_after) / lr."""
    lr = 0.5
    learner = EWCLearner(
        tiny_network(), EwcConfig(ewc_lambda=0.0, lr=lr, fisher_new_weight=alpha, task_batches=1)
    )
    squared = []
    for batch in stream.batches(3):
        before = _params(learner)
        learner.learn(batch)
        after = _params(learner)
        squared.append({n: ((before[n] - after[n]) / lr).square() for n in before})
    expected = squared[0]  # the first window initialises the running Fisher
    for window in squared[1:]:
        expected = {n: alpha * window[n] + (1 - alpha) * expected[n] for n in expected}
    fisher = learner.state_dict()["fisher"]
    for name, value in expected.items():
        assert torch.allclose(fisher[name], value, rtol=1e-3, atol=1e-9), name


def test_the_old_key_is_gone():
    with pytest.raises(TypeError):
        EwcConfig(fisher_decay=0.9)


@pytest.mark.parametrize("penalty", ["normalized", "raw_half"])
def test_ewc_penalty_value_and_scale(penalty, stream):
    learner = EWCLearner(tiny_network(), EwcConfig(ewc_lambda=10.0, lr=0.05, task_batches=2, penalty=penalty))
    for batch in stream.batches(3):  # task 1 = batches 0, 1; batch 2 moves away from the anchor
        learner.learn(batch)
    state = learner.state_dict()
    fisher, anchor, net = state["fisher"], state["anchor"], state["network"]
    if penalty == "normalized":
        flat = torch.cat([f.flatten() for f in fisher.values()])
        weights = {n: (f - flat.min()) / (flat.max() - flat.min()) for n, f in fisher.items()}
        assert max(float(w.max()) for w in weights.values()) == pytest.approx(1.0)
    else:
        weights = {n: f / 2 for n, f in fisher.items()}
    expected = 10.0 * sum(float((weights[n] * (net[n] - anchor[n]).square()).sum()) for n in fisher)
    assert expected > 0
    assert learner.learn(stream.batch(12))["ewc_penalty"] == pytest.approx(expected, rel=1e-5)


def test_penalty_gradient_is_the_derivative_of_the_penalty():
    g = torch.Generator().manual_seed(0)
    fisher = {"a": torch.rand(3, 2, generator=g), "b": torch.rand(4, generator=g)}
    anchor = {n: torch.randn(f.shape, generator=g) for n, f in fisher.items()}
    theta = {n: torch.randn(f.shape, generator=g, requires_grad=True) for n, f in fisher.items()}
    for penalty, factor in (("normalized", 1.0), ("raw_half", 0.5)):
        weights = penalty_weights(fisher, penalty)
        value = sum((weights[n] * (theta[n] - anchor[n]).square()).sum() for n in fisher)
        grads = torch.autograd.grad(value, list(theta.values()))
        for (name, p), grad in zip(theta.items(), grads):
            # what EWCLearner adds analytically (per unit λ): 2 w Δθ
            assert torch.allclose(grad, 2 * weights[name] * (p - anchor[name]).detach()), name
        if penalty == "raw_half":
            assert torch.allclose(weights["a"], factor * fisher["a"])


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


def test_normalized_penalty_is_a_real_share_of_the_loss_and_changes_the_result(stream):
    """Default EWC (normalised Fisher, λ = 10) on the tiny stream: the penalty is > 1 % of the
    loss once the first task is consolidated, and the weights end elsewhere than fine-tuning's."""
    ewc = EWCLearner(tiny_network(), EwcConfig(lr=0.05, task_batches=2), context=AdaptContext(seed=2))
    plain = FinetuneLearner(tiny_network(), FinetuneConfig(lr=0.05), context=AdaptContext(seed=2))
    shares = []
    for _ in range(3):
        for batch in stream.batches(6):
            stats = ewc.learn(batch)
            plain.learn(batch)
            shares.append(stats["ewc_penalty"] / (stats["loss"] + stats["ewc_penalty"]))
    assert sum(shares[2:]) / len(shares[2:]) > 0.01
    a, b = ewc.state_dict()["network"], plain.state_dict()["network"]
    assert max(float((a[k].float() - b[k].float()).abs().max()) for k in a) > 1e-3
