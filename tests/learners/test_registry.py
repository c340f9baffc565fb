"""The registry: every kind maps to its config, learner class and constructor; only hindsight
learners receive the stream's labels; bad kinds and missing networks are clear errors."""

from __future__ import annotations

import typing

import attrs
import pytest
import torch

from ego_cl.learners.registry import (
    HINDSIGHT_KINDS,
    LEARNER_CONFIGS,
    LEARNERS,
    LearnerConfig,
    LearnerRuntime,
    build_learner,
)
from ego_cl.protocols import Learner
from tests.learners.conftest import N_NOUNS, N_VERBS, TinyStream, tiny_network

pytestmark = pytest.mark.usefixtures("single_thread")


class RecordingLabels(list):
    """The stream's label sets; remembers whether anyone read them."""

    read = False

    def __iter__(self):
        self.read = True
        return super().__iter__()

    def __getitem__(self, item):
        self.read = True
        return super().__getitem__(item)


def _runtime(stream: TinyStream, labels=(), network="tiny") -> LearnerRuntime:
    return LearnerRuntime(
        network=tiny_network(0) if network == "tiny" else network,
        fetch=stream.fetch,
        allowed_verbs=torch.ones(N_VERBS, dtype=torch.bool),
        allowed_nouns=torch.ones(N_NOUNS, dtype=torch.bool),
        mask_unseen="pretrain",
        device="cpu",
        seed=0,
        stream_labels=labels,
    )


def test_every_kind_is_its_configs_kind_and_the_union_holds_every_config():
    for kind, spec in LEARNERS.items():
        assert spec.config().kind == kind
        assert attrs.fields_dict(spec.config)["kind"].default == kind
        assert LEARNER_CONFIGS[kind] is spec.config
    assert set(typing.get_args(LearnerConfig)) == set(LEARNER_CONFIGS.values())
    assert {k for k, s in LEARNERS.items() if s.learner.is_hindsight} == HINDSIGHT_KINDS


@pytest.mark.parametrize("kind", sorted(LEARNERS))
def test_builds_an_instance_of_the_registered_class(kind, stream):
    labels = RecordingLabels(stream.label_sets)
    learner = build_learner(LEARNER_CONFIGS[kind](), _runtime(stream, labels))
    assert type(learner) is LEARNERS[kind].learner
    assert isinstance(learner, Learner)
    assert labels.read == (kind in HINDSIGHT_KINDS)  # stream labels reach hindsight learners only


def test_an_unknown_kind_is_a_clear_error(stream):
    @attrs.frozen
    class Unknown:
        kind: str = "nope"

    with pytest.raises(ValueError, match="unknown learner kind 'nope'"):
        build_learner(Unknown(), _runtime(stream))


def test_a_network_learner_without_a_network_is_a_clear_error(stream):
    with pytest.raises(ValueError, match="'finetune' needs a network"):
        build_learner(LEARNER_CONFIGS["finetune"](), _runtime(stream, network=None))
    assert build_learner(LEARNER_CONFIGS["lwp"](), _runtime(stream, network=None)) is not None
