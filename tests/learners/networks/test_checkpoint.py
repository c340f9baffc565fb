"""Checkpoint key mapping: round trips through every supported layout, head exclusion, mismatches."""

from __future__ import annotations

import re

import pytest
import torch

from ego_cl.learners.networks.builders import build_network
from ego_cl.learners.networks.checkpoint import (
    CheckpointFormatError,
    CheckpointMismatchError,
    checkpoint_format,
    load_network_state,
    network_checkpoint,
    network_from_checkpoint,
    ours_to_slowfast_key,
    slowfast_to_ours_key,
    to_network_state,
)
from ego_cl.types import InputError


@pytest.fixture(scope="module")
def slowfast():
    torch.manual_seed(1)
    return build_network("slowfast_r50", n_verbs=5, n_nouns=7)


def _randomised(net):
    """Perturb every float tensor so that a fresh network cannot match by accident."""
    gen = torch.Generator().manual_seed(3)
    with torch.no_grad():
        for value in net.state_dict().values():
            if value.is_floating_point():
                value.add_(torch.randn(value.shape, generator=gen))
    return net


def _assert_same_state(a, b, *, skip_head=False):
    sa, sb = a.state_dict(), b.state_dict()
    assert sa.keys() == sb.keys()
    for key in sa:
        if skip_head and key.startswith("head."):
            continue
        assert torch.equal(sa[key], sb[key]), key


def test_our_checkpoint_round_trips_and_rebuilds_the_network():
    src = _randomised(build_network("tiny3d", n_verbs=3, n_nouns=4))
    ckpt = network_checkpoint(src)
    assert checkpoint_format(ckpt) == "ego_cl"
    rebuilt = network_from_checkpoint(ckpt, dropout=0.2)
    assert rebuilt.kind == "tiny3d"
    assert rebuilt.head.dropout.p == 0.2
    _assert_same_state(src, rebuilt)


def test_lightning_checkpoint_with_model_prefix_loads():
    src = _randomised(build_network("tiny3d", n_verbs=3, n_nouns=4))
    ckpt = {"state_dict": {f"model.{k}": v for k, v in src.state_dict().items()}, "epoch": 3}
    dst = build_network("tiny3d", n_verbs=3, n_nouns=4)
    assert load_network_state(dst, ckpt) == "lightning"
    _assert_same_state(src, dst)


def test_slowfast_names_map_both_ways_onto_every_key(slowfast):
    keys = list(slowfast.state_dict())
    theirs = [ours_to_slowfast_key(k) for k in keys]
    pattern = (
        r"^(s1\.pathway\d_stem\.(conv|bn)|s\d_fuse\.(conv_f2s|bn)"
        r"|s\d\.pathway\d_res\d+\.branch(1|1_bn|2\.[abc]|2\.[abc]_bn)|head\.projections\.[01])\."
    )
    assert all(re.match(pattern, k) for k in theirs), [k for k in theirs if not re.match(pattern, k)][:5]
    assert len(set(theirs)) == len(keys)
    assert [slowfast_to_ours_key(k) for k in theirs] == keys


def test_ego4d_slowfast_model_state_with_ddp_prefix_loads(slowfast):
    src = _randomised(slowfast)
    ckpt = {"model_state": {f"module.{ours_to_slowfast_key(k)}": v for k, v in src.state_dict().items()}}
    dst = build_network("slowfast_r50", n_verbs=5, n_nouns=7)
    assert load_network_state(dst, ckpt) == "slowfast"
    _assert_same_state(src, dst)


def test_egoadapt_per_user_checkpoint_with_masker_wrapped_head_loads(slowfast):
    src = _randomised(slowfast)
    state = {}
    for key, value in src.state_dict().items():
        theirs = ours_to_slowfast_key(key)
        theirs = theirs.replace("head.", "head.0.", 1) if theirs.startswith("head.") else theirs
        state[f"model.{theirs}"] = value
    assert any(k.startswith("model.head.0.projections.1.") for k in state)
    dst = build_network("slowfast_r50", n_verbs=5, n_nouns=7)
    assert load_network_state(dst, {"state_dict": state}) == "lightning"
    _assert_same_state(src, dst)


def test_loading_without_the_head_keeps_the_new_head_even_with_other_class_counts():
    src = _randomised(build_network("tiny3d", n_verbs=400, n_nouns=2))
    dst = build_network("tiny3d", n_verbs=3, n_nouns=4)
    head_before = {k: v.clone() for k, v in dst.head.state_dict().items()}
    load_network_state(
        dst, {"state_dict": {f"model.{k}": v for k, v in src.state_dict().items()}}, include_head=False
    )
    _assert_same_state(src.backbone, dst.backbone)
    for key, value in dst.head.state_dict().items():
        assert torch.equal(value, head_before[key])
    assert not any(
        k.startswith("head.") for k in to_network_state(network_checkpoint(src), include_head=False)
    )


def test_pytorchvideo_hub_names_load_without_the_kinetics_classifier():
    src = _randomised(build_network("x3d_xs", n_verbs=3, n_nouns=4))
    hub = {k[len("backbone.") :]: v for k, v in src.state_dict().items() if k.startswith("backbone.")}
    hub["blocks.5.proj.weight"] = torch.zeros(400, 2048)
    hub["blocks.5.proj.bias"] = torch.zeros(400)
    dst = build_network("x3d_xs", n_verbs=3, n_nouns=4)
    load_network_state(dst, {"model_state": hub}, include_head=False)
    _assert_same_state(src, dst, skip_head=True)
    with pytest.raises(CheckpointMismatchError, match=r"head\.proj\.weight"):
        load_network_state(dst, {"model_state": hub}, include_head=True)


def test_mismatch_error_lists_missing_unexpected_and_shapes():
    src = build_network("tiny3d", n_verbs=3, n_nouns=4)
    state = dict(src.state_dict())
    del state["backbone.blocks.0.0.weight"]
    state["backbone.extra.weight"] = torch.zeros(1)
    dst = build_network("tiny3d", n_verbs=5, n_nouns=4)
    with pytest.raises(CheckpointMismatchError) as info:
        load_network_state(dst, state, source="user_68.ckpt")
    err = info.value
    assert isinstance(err, InputError)
    assert err.missing == ["backbone.blocks.0.0.weight"]
    assert err.unexpected == ["backbone.extra.weight"]
    assert ("head.verb.weight", (3, 128), (5, 128)) in err.mismatched
    text = str(err)
    assert "user_68.ckpt" in text
    assert "1 missing key(s): backbone.blocks.0.0.weight" in text
    assert "(3, 128) in checkpoint vs (5, 128) in network" in text


def test_missing_num_batches_tracked_is_tolerated():
    src = _randomised(build_network("tiny3d", n_verbs=3, n_nouns=4))
    state = {k: v for k, v in src.state_dict().items() if not k.endswith("num_batches_tracked")}
    dst = build_network("tiny3d", n_verbs=3, n_nouns=4)
    load_network_state(dst, {"model_state": state})
    assert torch.equal(dst.backbone.blocks[0][0].weight, src.backbone.blocks[0][0].weight)


def test_unknown_layouts_are_rejected_clearly():
    with pytest.raises(CheckpointFormatError, match="top-level keys: epoch, optimizer"):
        checkpoint_format({"epoch": 1, "optimizer": {}})
    with pytest.raises(CheckpointFormatError, match="not an ego_cl checkpoint"):
        network_from_checkpoint({"state_dict": {}})
    with pytest.raises(CheckpointFormatError, match="'n_nouns'"):
        network_from_checkpoint({"format": "ego_cl.network", "kind": "tiny3d", "n_verbs": 2, "network": {}})
