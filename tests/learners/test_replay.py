"""Replay family: loss weighting and its upstream quirk, what is fetched, ER-ACE's asymmetry,
DER++'s stored logits, feature replay's frozen backbone."""

from __future__ import annotations

import pytest
import torch

from ego_cl.learners.derpp import DerppConfig, DERppLearner
from ego_cl.learners.er_ace import ErAceConfig, ERACELearner
from ego_cl.learners.feature_replay import FeatureReplayConfig, FeatureReplayLearner
from ego_cl.learners.finetune import FinetuneConfig, FinetuneLearner
from ego_cl.learners.replay import ReplayConfig, ReplayLearner, replay_loss
from ego_cl.types import Batch
from tests.learners.conftest import BATCH, tiny_network

pytestmark = pytest.mark.usefixtures("single_thread")


@pytest.mark.parametrize("upstream", [False, True])
def test_loss_while_memory_is_empty_and_half_half_after(stream, upstream):
    learner = ReplayLearner(
        tiny_network(), ReplayConfig(upstream_half_loss_when_empty=upstream), fetch=stream.fetch
    )
    first = learner.learn(stream.batch(0))
    assert first["n_replayed"] == 0
    expected = first["loss_new"] / 2 if upstream else first["loss_new"]
    assert first["loss"] == pytest.approx(expected, rel=1e-6)
    second = learner.learn(stream.batch(4))
    assert second["n_replayed"] == BATCH
    assert second["loss"] == pytest.approx((second["loss_new"] + second["loss_mem"]) / 2, rel=1e-6)


@pytest.mark.parametrize(
    ("losses", "first", "half", "joint", "expected"),
    [
        # 4 new samples (1, 2, 3, 4: mean 2.5) and 2 replayed (10, 20: mean 15)
        ([1, 2, 3, 4, 10, 20], True, False, False, (2.5 + 15) / 2),
        ([1, 2, 3, 4, 10, 20], False, False, False, (2.5 + 15) / 2),  # default: ½/½ on every update
        ([1, 2, 3, 4, 10, 20], True, False, True, (2.5 + 15) / 2),  # upstream: ½/½ on the first ...
        ([1, 2, 3, 4, 10, 20], False, False, True, 40 / 6),  # ... plain joint mean on updates 2..K
        ([1, 2, 3, 4], True, True, False, 2.5 / 2),  # empty memory, half-loss quirk
        ([1, 2, 3, 4], False, True, False, 2.5 / 2),
        ([1, 2, 3, 4], False, True, True, 2.5),  # upstream update 2..K: mean of the joint (= new) batch
        ([1, 2, 3, 4], True, False, True, 2.5),
    ],
)
def test_replay_loss_hand_traced(losses, first, half, joint, expected):
    per_sample = torch.tensor(losses, dtype=torch.float32)
    loss = replay_loss(per_sample, 4, first_update=first, half_when_empty=half, joint_mean_after_first=joint)
    assert float(loss) == pytest.approx(expected, rel=1e-6)


def _after_two_batches(stream, capacity, joint, k_updates):
    config = ReplayConfig(
        lr=0.1,
        capacity=capacity,
        k_updates=k_updates,
        memory="fifo",
        upstream_joint_mean_after_first=joint,
    )
    learner = ReplayLearner(tiny_network(), config, fetch=stream.fetch)
    for batch in stream.batches(2):
        learner.learn(batch)
    return learner.state_dict()["network"]


@pytest.mark.parametrize(("capacity", "k_updates", "differs"), [(2, 3, True), (2, 1, False), (4, 3, False)])
def test_joint_mean_after_first_changes_updates_2_to_k_only_when_draw_sizes_differ(
    stream, capacity, k_updates, differs
):
    """2 memory samples against 4 new: the joint mean weights memory 1/3, not 1/2; with 4 against 4
    (or a single update) both rules give the same loss."""
    plain = _after_two_batches(stream, capacity, False, k_updates)
    upstream = _after_two_batches(stream, capacity, True, k_updates)
    same = all(torch.allclose(plain[k].float(), upstream[k].float(), atol=1e-6) for k in plain)
    assert same != differs


def test_fetches_only_stored_past_indices(stream):
    learner = ReplayLearner(
        tiny_network(), ReplayConfig(memory="reservoir", capacity=6, k_updates=3), fetch=stream.fetch
    )
    for batch in stream.batches(5):
        stream.fetched.clear()
        learner.learn(batch)
        start = int(batch.indices[0])
        assert len(stream.fetched) == (3 if start else 0)  # a fresh draw per update
        for indices in stream.fetched:
            assert len(indices) == min(BATCH, start, 6)
            assert len(set(indices)) == len(indices)
            assert all(i < start for i in indices)


def test_reuse_draw_and_replay_batch_size(stream):
    learner = ReplayLearner(
        tiny_network(),
        ReplayConfig(k_updates=3, resample_each_update=False, replay_batch_size=2),
        fetch=stream.fetch,
    )
    learner.learn(stream.batch(0))
    batch = stream.batch(4)
    stream.fetched.clear()
    learner.learn(batch)
    assert [len(f) for f in stream.fetched] == [2]


def test_fifo_lag_replays_one_batch_later(stream):
    for lag, expected in ((False, {0, 1, 2, 3}), (True, set())):
        learner = ReplayLearner(
            tiny_network(), ReplayConfig(memory="fifo", capacity=8, upstream_fifo_lag=lag), fetch=stream.fetch
        )
        learner.learn(stream.batch(0))
        batch = stream.batch(4)
        stream.fetched.clear()
        learner.learn(batch)
        assert {i for f in stream.fetched for i in f} == expected


def test_a_fetch_returning_other_indices_is_an_error(stream):
    def wrong_fetch(indices):
        return stream.fetch([i + 1 for i in indices])

    learner = ReplayLearner(tiny_network(), fetch=wrong_fetch)
    learner.learn(stream.batch(0))
    with pytest.raises(ValueError, match="fetch returned"):
        learner.learn(stream.batch(4))


def _absent_verbs(batch: Batch) -> list[int]:
    present = {v for labels in batch.target.label_sets() for v, _ in labels}
    return [v for v in range(5) if v not in present]


def test_er_ace_leaves_absent_classes_alone_on_new_data(stream):
    batch = stream.batch(0)
    absent = _absent_verbs(batch)
    assert absent
    for learner, moves in (
        (ERACELearner(tiny_network(), ErAceConfig(lr=0.1), fetch=stream.fetch), False),
        (FinetuneLearner(tiny_network(), FinetuneConfig(lr=0.1)), True),
    ):
        before = learner.state_dict()["network"]["head.verb.bias"].clone()
        learner.learn(batch)  # empty memory: only the asymmetric new-batch loss
        after = learner.state_dict()["network"]["head.verb.bias"]
        assert bool((before[absent] != after[absent]).any()) == moves


def test_derpp_stores_logits_of_exactly_the_memory(stream):
    learner = DERppLearner(tiny_network(), DerppConfig(capacity=6, alpha=0.3, beta=0.7), fetch=stream.fetch)
    for batch in stream.batches(4):
        stream.fetched.clear()
        stats = learner.learn(batch)
    state = learner.state_dict()
    stored = state["logits"]["indices"]
    assert sorted(stored) == sorted(state["buffer"]["memory"]["slots"])
    assert all(r["logits"].shape == (5 + 7,) for r in state["logits"]["rows"])
    assert len(stream.fetched) == 2  # one draw for the logit term, one for the label term
    expected = stats["loss_new"] + 0.3 * stats["loss_logits"] + 0.7 * stats["loss_labels"]
    assert stats["loss"] == pytest.approx(expected, rel=1e-5)
    assert stats["loss_logits"] > 0


def test_feature_replay_trains_only_the_head_and_never_decodes(stream):
    learner = FeatureReplayLearner(tiny_network(), FeatureReplayConfig(capacity=0, k_updates=2))
    before = {k: v.clone() for k, v in learner.state_dict()["network"].items()}
    for batch in stream.batches(3):
        stats = learner.learn(batch)
    after = learner.state_dict()["network"]
    assert all(torch.equal(v, after[k]) for k, v in before.items() if k.startswith("backbone."))
    assert not torch.equal(before["head.verb.weight"], after["head.verb.weight"])
    assert stats["memory_size"] == 3 * BATCH
    assert stats["loss"] == pytest.approx((stats["loss_new"] + stats["loss_mem"]) / 2, rel=1e-6)
    assert stream.fetched == [list(range(i, i + BATCH)) for i in (0, 4, 8)]  # only the test's own batches
