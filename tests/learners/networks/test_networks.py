"""Networks: output shapes, feature sizes, the head contract."""

from __future__ import annotations

import attrs
import pytest
import torch

from ego_cl.learners.networks.builders import NETWORK_INPUTS, NETWORK_KINDS, VideoNetwork, build_network
from ego_cl.learners.networks.config import ModelConfig
from ego_cl.learners.networks.heads import MultiTaskHead


def test_tiny3d_contract_at_its_native_size():
    torch.manual_seed(0)
    spec = NETWORK_INPUTS["tiny3d"]
    net = build_network("tiny3d", n_verbs=7, n_nouns=11, dropout=0.3).eval()
    clips = torch.randn(3, 3, spec.n_frames, spec.crop_px, spec.crop_px)
    feats = net.features(clips)
    verb, noun = net(clips)
    assert isinstance(net, VideoNetwork)
    assert isinstance(net.head, MultiTaskHead)
    assert (net.n_verbs, net.n_nouns) == (7, 11)
    assert feats.shape == (3, net.feature_dim)
    assert verb.shape == (3, 7)
    assert noun.shape == (3, 11)
    assert torch.allclose(torch.cat(net.head(feats), 1), torch.cat([verb, noun], 1))
    assert net.head.dropout.p == 0.3


def test_tiny3d_trains_one_step_and_dropout_only_acts_in_train_mode():
    torch.manual_seed(0)
    net = build_network("tiny3d", n_verbs=3, n_nouns=4, dropout=0.5)
    clips = torch.randn(2, 3, 4, 32, 32)
    verb, noun = net(clips)
    (verb.sum() + noun.sum()).backward()
    assert all(p.grad is not None for p in net.parameters() if p.requires_grad)
    net.eval()
    with torch.no_grad():
        first, second = net(clips), net(clips)
    assert torch.equal(first[0], second[0])


def test_unknown_kind_and_bad_inputs_are_rejected():
    with pytest.raises(ValueError, match="tiny3d"):
        build_network("resnet9000", n_verbs=2, n_nouns=2)
    net = build_network("tiny3d", n_verbs=2, n_nouns=2)
    with pytest.raises(ValueError, match=r"\[B, C, T, H, W\]"):
        net.features(torch.zeros(3, 8, 64, 64))
    with pytest.raises(ValueError, match="dropout"):
        build_network("tiny3d", n_verbs=2, n_nouns=2, dropout=1.0)


PYTORCHVIDEO_KINDS = {
    # kind: (tiny input frames, feature size)
    "x3d_xs": (4, 2048),
    "x3d_s": (4, 2048),
    "slowfast_r50": (8, 2304),
    "slowfast_r101": (8, 2304),
}


@pytest.mark.parametrize("kind", sorted(PYTORCHVIDEO_KINDS))
def test_pytorchvideo_kinds_give_pooled_features_and_logits_on_tiny_clips(kind):
    torch.manual_seed(0)
    n_frames, feature_dim = PYTORCHVIDEO_KINDS[kind]
    net = build_network(kind, n_verbs=5, n_nouns=6)
    clips = torch.randn(2, 3, n_frames, 32, 32)
    before = clips.clone()
    with torch.set_grad_enabled(kind != "slowfast_r101"):  # r101 backward: too slow for the quick suite
        verb, noun = net(clips)
    if verb.requires_grad:
        (verb.sum() + noun.sum()).backward()
        assert net.head.verb.weight.grad is not None
    assert net.feature_dim == feature_dim
    assert verb.shape == (2, 5)
    assert noun.shape == (2, 6)
    assert torch.equal(clips, before), "the network must not modify its input"
    net.eval()
    with torch.no_grad():  # a second call must work (pytorchvideo mutates pathway lists)
        assert net.features(clips).shape == (2, feature_dim)


def test_slowfast_packs_slow_every_alpha_th_frame():
    from ego_cl.learners.networks.backbones import pack_pathways

    clips = torch.arange(32.0).view(1, 1, 32, 1, 1).expand(1, 3, 32, 2, 2)
    slow, fast = pack_pathways(clips)
    assert slow.shape[2] == 8
    assert fast.shape[2] == 32
    assert slow[0, 0, :, 0, 0].tolist() == torch.linspace(0, 31, 8).long().float().tolist()
    with pytest.raises(ValueError, match="alpha"):
        pack_pathways(torch.zeros(1, 3, 3, 4, 4))


def test_slowfast_r101_is_the_papers_architecture():
    net = build_network("slowfast_r101", n_verbs=115, n_nouns=478)
    blocks = net.backbone.blocks
    res_depths = [len(blocks[i].multipathway_blocks[0].res_blocks) for i in range(1, 5)]
    assert res_depths == [3, 4, 23, 3]
    fusion = blocks[0].multipathway_fusion.conv_fast_to_slow
    assert fusion.kernel_size == (5, 1, 1)
    assert fusion.stride == (4, 1, 1)
    assert fusion.in_channels * 2 == fusion.out_channels  # fusion ratio 2
    assert (
        blocks[0].multipathway_blocks[1].conv.out_channels * 8
        == blocks[0].multipathway_blocks[0].conv.out_channels
    )
    assert net.head.verb.in_features == 2304


def test_x3d_xs_at_its_native_size():
    spec = NETWORK_INPUTS["x3d_xs"]
    net = build_network("x3d_xs", n_verbs=3, n_nouns=4).eval()
    with torch.no_grad():
        verb, _ = net(torch.randn(1, 3, spec.n_frames, spec.crop_px, spec.crop_px))
    assert verb.shape == (1, 3)


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["x3d_s", "slowfast_r50", "slowfast_r101"])
def test_big_kinds_at_their_native_size(kind):
    spec = NETWORK_INPUTS[kind]
    net = build_network(kind, n_verbs=3, n_nouns=4).eval()
    with torch.no_grad():
        feats = net.features(torch.randn(1, 3, spec.n_frames, spec.crop_px, spec.crop_px))
    assert feats.shape == (1, PYTORCHVIDEO_KINDS[kind][1])


def test_one_list_of_network_kinds():
    assert set(NETWORK_KINDS) == set(NETWORK_INPUTS)
    assert attrs.fields_dict(ModelConfig)["kind"].default in NETWORK_KINDS
    with pytest.raises(ValueError, match="unknown network kind"):
        build_network("resnet", n_verbs=2, n_nouns=2)
