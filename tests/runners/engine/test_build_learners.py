"""Every ``learner.kind`` builds through the registry from the runner's config; configs keep
their flat keys through the runner's converter; hindsight kinds are marked."""

from __future__ import annotations

import typing

import attrs
import pytest
import torch

from ego_cl.learners.adaptation.optim import OptimOptions, TrainOptions
from ego_cl.learners.memory.policy import MemoryOptions
from ego_cl.learners.networks.builders import NETWORK_KINDS, build_network
from ego_cl.learners.networks.config import ModelConfig
from ego_cl.learners.registry import HINDSIGHT_KINDS, LEARNER_CONFIGS, LearnerRuntime, build_learner
from ego_cl.runners.config import ConfigError, StreamRunConfig, converter, dump_yaml, load_config
from ego_cl.runners.engine.summary import format_table
from ego_cl.runners.pretraining.config import PretrainNetworkConfig
from ego_cl.types import Batch, Target

# A non-default value for every shared option (flat keys, as users type them).
FLAT_VALUES = {
    "lr": 0.02,
    "momentum": 0.9,
    "nesterov": True,
    "weight_decay": 1e-4,
    "optimizer": "adam",
    "k_updates": 2,
    "upstream_train_mode_predict": True,
    "head_lr": 0.3,
    "trainable": "head",
    "memory": "fifo",
    "capacity": 5,
    "replay_batch_size": 3,
    "resample_each_update": False,
}


def test_stream_and_pretraining_configs_accept_the_one_list_of_network_kinds():
    for config in (ModelConfig, PretrainNetworkConfig):
        assert typing.get_args(typing.get_type_hints(config)["kind"]) == NETWORK_KINDS
    for kind in NETWORK_KINDS:
        assert load_config(StreamRunConfig, overrides=[f"model.kind={kind}"]).model.kind == kind
    with pytest.raises(ConfigError, match=r"model\.kind"):
        load_config(StreamRunConfig, overrides=["model.kind=resnet"])


def test_only_the_hindsight_predictor_is_marked_hindsight():
    assert {"lwp_hindsight"} == HINDSIGHT_KINDS


def _shared_fields(config: type) -> set[str]:
    bases = [b for b in (OptimOptions, TrainOptions, MemoryOptions) if issubclass(config, b)]
    return {f.name for b in bases for f in attrs.fields(b)}


@pytest.mark.parametrize("kind", sorted(LEARNER_CONFIGS))
def test_flat_option_keys_round_trip_through_the_converter(kind):
    config = LEARNER_CONFIGS[kind]
    keys = sorted(_shared_fields(config) & set(FLAT_VALUES))
    overrides = [f"learner.kind={kind}"] + [f"learner.{k}={FLAT_VALUES[k]}" for k in keys]
    cfg = load_config(StreamRunConfig, overrides=overrides)
    assert type(cfg.learner) is config
    assert {k: getattr(cfg.learner, k) for k in keys} == {k: FLAT_VALUES[k] for k in keys}
    raw = converter.unstructure(cfg)["learner"]
    assert next(iter(raw)) == "kind"
    assert raw == {"kind": kind, **{f.name: raw[f.name] for f in attrs.fields(config)}}
    assert load_config(StreamRunConfig, overrides=[f"learner.{k}={v}" for k, v in raw.items()]) == cfg
    assert "learner:\n  kind: " + kind in dump_yaml(cfg)


@pytest.mark.parametrize("kind", ["frozen", "lwp", "feature_replay"])
def test_options_a_kind_lacks_are_unknown_keys(kind):
    with pytest.raises(ConfigError, match=r"learner\.trainable: unknown key"):
        load_config(StreamRunConfig, overrides=[f"learner.kind={kind}", "learner.trainable=all"])


@pytest.mark.parametrize("kind", sorted(LEARNER_CONFIGS))
def test_builds_predicts_and_learns(kind):
    torch.set_num_threads(1)
    net = build_network("tiny3d", n_verbs=3, n_nouns=4)
    clips = torch.zeros(2, 3, 2, 16, 16)
    target = Target.from_label_sets([[(0, 1)], [(2, 3)]])
    batch = Batch(indices=torch.arange(2), clips=clips, target=target)
    runtime = LearnerRuntime(
        network=net,
        fetch=lambda idx: Batch(indices=torch.tensor(list(idx)), clips=clips[: len(idx)], target=target),
        allowed_verbs=torch.ones(3, dtype=torch.bool),
        allowed_nouns=torch.ones(4, dtype=torch.bool),
        mask_unseen="pretrain",
        device="cpu",
        seed=0,
        stream_labels=[((0, 1),), ((2, 3),)],
    )
    learner = build_learner(LEARNER_CONFIGS[kind](), runtime)
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
