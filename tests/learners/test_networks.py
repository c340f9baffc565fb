"""Networks: output shapes, feature sizes, the head contract."""

from __future__ import annotations

import pytest
import torch

from ego_cl.learners.heads import MultiTaskHead
from ego_cl.learners.networks import NETWORK_INPUTS, VideoNetwork, build_network


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
