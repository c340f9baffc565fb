"""Trained parts, parameter groups, the norm-layer set and the shared network/optimiser wiring."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from ego_cl.learners.adaptation.adapted import AdaptContext, adapt
from ego_cl.learners.adaptation.optim import NORM_LAYERS, TrainOptions, build_optimizer, set_trainable
from tests.learners.conftest import tiny_network


def test_parameter_groups_follow_the_original():
    network = tiny_network()
    set_trainable(network, "all")
    optimizer = build_optimizer(network, lr=0.01, head_lr=0.1, momentum=0.0, nesterov=True, weight_decay=1e-4)
    norm, other, head = optimizer.param_groups
    bn_ids = {
        id(p) for n, p in network.named_parameters() if n.startswith("backbone") and n.split(".")[-2] == "1"
    }
    assert {id(p) for p in norm["params"]} == bn_ids
    assert norm["weight_decay"] == 0.0
    assert other["weight_decay"] == 1e-4
    assert head["lr"] == 0.1
    assert {id(p) for p in head["params"]} == {id(p) for p in network.head.parameters()}
    assert all(not g["nesterov"] for g in optimizer.param_groups)  # momentum 0: no Nesterov


def test_adam_and_head_only_groups():
    network = tiny_network()
    set_trainable(network, "head")
    optimizer = build_optimizer(network, optimizer="adam", lr=1e-3)
    assert isinstance(optimizer, torch.optim.Adam)
    assert [len(g["params"]) for g in optimizer.param_groups] == [4]


@pytest.mark.parametrize(
    "norm",
    [nn.BatchNorm3d(4), nn.GroupNorm(2, 4), nn.LayerNorm(4), nn.InstanceNorm3d(4, affine=True)],
    ids=lambda m: type(m).__name__,
)
def test_every_norm_layer_kind_is_exempt_from_weight_decay(norm):
    network = tiny_network()
    network.backbone.extra_norm = norm  # an extra (unused) norm layer inside the backbone
    set_trainable(network, "all")
    norm_group = build_optimizer(network, lr=0.01, weight_decay=1e-4).param_groups[0]
    assert norm_group["weight_decay"] == 0.0
    assert {id(p) for p in norm.parameters()} <= {id(p) for p in norm_group["params"]}


def test_the_norm_set_is_the_union_of_the_two_former_lists():
    names = {cls.__name__ for cls in NORM_LAYERS}
    assert names == {
        "BatchNorm1d",
        "BatchNorm2d",
        "BatchNorm3d",
        "SyncBatchNorm",
        "GroupNorm",
        "LayerNorm",
        "InstanceNorm1d",
        "InstanceNorm2d",
        "InstanceNorm3d",
    }


def test_adapt_builds_the_network_and_its_optimiser_from_the_options():
    allowed = torch.tensor([True, False, True, True, True])
    options = TrainOptions(
        lr=0.02, head_lr=0.5, momentum=0.9, nesterov=True, weight_decay=1e-3, trainable="head"
    )
    net, optimizer = adapt(
        tiny_network(), options, AdaptContext(allowed_verbs=allowed, seed=4), trainable="head", head_lr=0.5
    )
    assert not any(p.requires_grad for p in net.network.backbone.parameters())
    assert [g["lr"] for g in optimizer.param_groups] == [0.5]
    assert optimizer.param_groups[0]["momentum"] == 0.9
    assert optimizer.param_groups[0]["nesterov"]
    assert optimizer.param_groups[0]["weight_decay"] == 1e-3
    assert net.seed == 4
    assert torch.equal(net.mask.for_predict()[0], allowed)


def test_adapt_without_context_uses_the_defaults():
    net, optimizer = adapt(tiny_network(), TrainOptions(), None, trainable="all", head_lr=None)
    assert net.device == torch.device("cpu")
    assert net.seed == 0
    assert {g["lr"] for g in optimizer.param_groups} == {0.01}
