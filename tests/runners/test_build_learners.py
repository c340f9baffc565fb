"""Every ``learner.kind`` builds through the runner's builder; hindsight kinds are marked."""

from __future__ import annotations

import pytest
import torch

from ego_cl.learners.config import LEARNER_CONFIGS, ModelConfig
from ego_cl.learners.networks.builders import build_network
from ego_cl.runners.engine.build import LEARNER_CLASSES, build_learner
from ego_cl.runners.engine.summary import HINDSIGHT_KINDS, format_table
from ego_cl.types import Batch, Target


def test_every_config_kind_has_a_class():
    assert set(LEARNER_CLASSES) == set(LEARNER_CONFIGS)


def test_only_the_hindsight_predictor_is_marked_hindsight():
    assert {"lwp_hindsight"} == HINDSIGHT_KINDS


@pytest.mark.parametrize("kind", sorted(LEARNER_CONFIGS))
def test_builds_predicts_and_learns(kind):
    torch.set_num_threads(1)
    net = build_network("tiny3d", n_verbs=3, n_nouns=4)
    clips = torch.zeros(2, 3, 2, 16, 16)
    target = Target.from_label_sets([[(0, 1)], [(2, 3)]])
    batch = Batch(indices=torch.arange(2), clips=clips, target=target)
    learner = build_learner(
        LEARNER_CONFIGS[kind](),
        ModelConfig(),
        net,
        fetch=lambda idx: Batch(indices=torch.tensor(list(idx)), clips=clips[: len(idx)], target=target),
        allowed_verbs=torch.ones(3, dtype=torch.bool),
        allowed_nouns=torch.ones(4, dtype=torch.bool),
        device="cpu",
        seed=0,
        stream_labels=[((0, 1),), ((2, 3),)],
    )
    pred = learner.predict(batch.without_labels())
    assert pred.verb_logits.shape == (2, 3)
    assert pred.noun_logits.shape == (2, 4)
    assert isinstance(learner.learn(batch), dict)


def test_table_flags_hindsight_rows():
    summary = {
        "learner": "lwp_hindsight",
        "hindsight": True,
        "oag": {},
        "n_done": 1,
        "failed": [],
        "run_dir": "x",
    }
    table = format_table([summary])
    assert "lwp_hindsight*" in table
    assert "not an online result" in table
