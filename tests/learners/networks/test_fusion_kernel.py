"""The SlowFast fusion kernel is a network option: R50 checkpoints trained with 5 or 7 both load."""

from __future__ import annotations

import pytest
import torch

from ego_cl.learners.networks.builders import DEFAULT_FUSION_KERNEL, build_network
from ego_cl.learners.networks.checkpoint import (
    CheckpointFormatError,
    CheckpointMismatchError,
    fusion_kernel_for,
    fusion_kernel_of,
    load_network_state,
    network_checkpoint,
    network_from_checkpoint,
    to_network_state,
)
from ego_cl.learners.networks.config import ModelConfig


def _fusion_convs(net):
    return [m for n, m in net.backbone.named_modules() if n.endswith("conv_fast_to_slow")]


@pytest.fixture(scope="module")
def r50_kernel5():
    torch.manual_seed(0)
    return build_network("slowfast_r50", n_verbs=3, n_nouns=4, fusion_kernel=5)


def test_the_option_sets_every_fusion_convolution(r50_kernel5):
    convs = _fusion_convs(r50_kernel5)
    assert len(convs) == 4  # after the stem and stages 2-4
    assert {c.kernel_size for c in convs} == {(5, 1, 1)}
    assert {c.padding for c in convs} == {(2, 0, 0)}
    assert DEFAULT_FUSION_KERNEL == {"slowfast_r50": 7, "slowfast_r101": 5}
    clips = torch.zeros(1, 3, 8, 32, 32)
    verb, noun = r50_kernel5.eval()(clips)  # temporal size is kept: the network still runs
    assert verb.shape == (1, 3)
    assert noun.shape == (1, 4)


def test_a_kernel_5_r50_checkpoint_loads_only_into_a_kernel_5_network(r50_kernel5):
    lightning = {"state_dict": {f"model.{k}": v for k, v in r50_kernel5.state_dict().items()}}
    assert fusion_kernel_of(to_network_state(lightning)) == 5
    default = build_network("slowfast_r50", n_verbs=3, n_nouns=4)
    assert _fusion_convs(default)[0].kernel_size == (7, 1, 1)
    with pytest.raises(CheckpointMismatchError, match=r"conv_fast_to_slow.weight \(\d+, \d+, 5, 1, 1\)"):
        load_network_state(default, lightning)
    kernel = fusion_kernel_for(lightning, "slowfast_r50", None)
    assert kernel == 5
    rebuilt = build_network("slowfast_r50", n_verbs=3, n_nouns=4, fusion_kernel=kernel)
    load_network_state(rebuilt, lightning)
    assert torch.equal(_fusion_convs(rebuilt)[2].weight, _fusion_convs(r50_kernel5)[2].weight)
    with pytest.raises(CheckpointFormatError, match=r"fusion kernel is 5, model\.fusion_kernel is 7"):
        fusion_kernel_for(lightning, "slowfast_r50", 7, source="r50.ckpt")
    assert fusion_kernel_for(lightning, "tiny3d", None) is None
    assert fusion_kernel_for({"state_dict": {}}, "slowfast_r50", 3) == 3  # nothing to read: the option


def test_our_checkpoint_records_the_kernel_and_rebuilds_it(r50_kernel5):
    ckpt = network_checkpoint(r50_kernel5)
    assert ckpt["fusion_kernel"] == 5
    assert _fusion_convs(network_from_checkpoint(ckpt))[0].kernel_size == (5, 1, 1)
    assert "fusion_kernel" not in network_checkpoint(build_network("tiny3d", n_verbs=2, n_nouns=2))


def test_the_config_option_is_checked():
    assert ModelConfig(kind="slowfast_r50", fusion_kernel=5).fusion_kernel == 5
    assert ModelConfig(kind="slowfast_r101").fusion_kernel is None
    with pytest.raises(ValueError, match="slowfast kinds only"):
        ModelConfig(kind="x3d_xs", fusion_kernel=5)
    with pytest.raises(ValueError, match="positive odd"):
        ModelConfig(kind="slowfast_r50", fusion_kernel=4)
    with pytest.raises(ValueError, match="SlowFast networks only"):
        build_network("tiny3d", n_verbs=2, n_nouns=2, fusion_kernel=5)


def test_malformed_checkpoints_are_clear_errors_not_crashes():
    net = build_network("tiny3d", n_verbs=2, n_nouns=2)
    state = {k: v for k, v in net.state_dict().items()}
    state["head.verb.weight"] = 1.0  # a number where a tensor belongs
    with pytest.raises(CheckpointMismatchError, match=r"head\.verb\.weight \('not a tensor',\)"):
        load_network_state(net, {"state_dict": state})
    with pytest.raises(CheckpointFormatError, match="without a 'network' state dict"):
        to_network_state({"format": "ego_cl.network", "kind": "tiny3d"})
