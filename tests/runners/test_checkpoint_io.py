"""Checkpoint files: safe loading, refusal of arbitrary pickles, atomic writes, conversion."""

from __future__ import annotations

import collections

import pytest
import torch

from ego_cl.learners.networks.builders import build_network
from ego_cl.learners.networks.checkpoint import network_checkpoint
from ego_cl.runners.checkpoint_io import (
    UnsafeCheckpointError,
    load_network,
    read_checkpoint,
    write_checkpoint,
)
from ego_cl.runners.checkpoints import main
from ego_cl.types import InputError


class _Hyper:  # stands in for a yacs CfgNode inside a Lightning checkpoint
    def __init__(self):
        self.lr = 0.1


def _lightning_with_objects(net):
    return {
        "state_dict": {f"model.{k}": v for k, v in net.state_dict().items()},
        "hyper_parameters": _Hyper(),
    }


def test_write_then_read_round_trips_and_leaves_no_temporary_files(tmp_path):
    net = build_network("tiny3d", n_verbs=3, n_nouns=4)
    path = tmp_path / "sub" / "net.pt"
    write_checkpoint(path, network_checkpoint(net))
    assert [p.name for p in path.parent.iterdir()] == ["net.pt"]
    loaded = load_network(path, kind="tiny3d", n_verbs=3, n_nouns=4)
    for key, value in net.state_dict().items():
        assert torch.equal(loaded.state_dict()[key], value)


def test_arbitrary_pickles_are_refused_with_a_clear_message(tmp_path):
    path = tmp_path / "egoadapt.ckpt"
    torch.save(_lightning_with_objects(build_network("tiny3d", n_verbs=3, n_nouns=4)), path)
    with pytest.raises(UnsafeCheckpointError, match="refusing to load") as info:
        read_checkpoint(path)
    assert isinstance(info.value, InputError)
    assert f"python -m ego_cl.runners.checkpoints {path} OUT.pt" in str(info.value)
    assert str(path) in str(info.value)


@pytest.mark.integration
@pytest.mark.parametrize("trust", [False, True])
def test_conversion_makes_a_safe_file_with_stand_ins_or_trusted_unpickling(tmp_path, capsys, trust):
    net = build_network("tiny3d", n_verbs=3, n_nouns=4)
    src, dst = tmp_path / "in.ckpt", tmp_path / "out.pt"
    torch.save(_lightning_with_objects(net), src)
    assert main([str(src), str(dst), *(["--trust-pickle"] if trust else [])]) == 0
    out = capsys.readouterr().out
    assert "tensors" in out
    assert ("_Hyper" in out) != trust
    loaded = load_network(dst, kind="tiny3d", n_verbs=3, n_nouns=4)
    assert torch.equal(loaded.head.verb.weight, net.head.verb.weight)


def test_missing_garbage_and_non_dict_files_are_input_errors(tmp_path):
    with pytest.raises(InputError, match="not found"):
        read_checkpoint(tmp_path / "nope.pt")
    garbage = tmp_path / "garbage.pt"
    garbage.write_bytes(b"this is not a checkpoint")
    with pytest.raises(InputError, match=r"garbage\.pt: not a torch checkpoint") as info:
        read_checkpoint(garbage)
    assert not isinstance(info.value, UnsafeCheckpointError)  # a text file is not an unsafe pickle
    listy = tmp_path / "list.pt"
    torch.save([torch.zeros(1)], listy)
    with pytest.raises(InputError, match="dict"):
        read_checkpoint(listy)
    ordered = tmp_path / "ordered.pt"
    torch.save(collections.OrderedDict(w=torch.ones(1)), ordered)
    assert torch.equal(read_checkpoint(ordered)["w"], torch.ones(1))


def test_load_network_checks_the_config_against_our_checkpoint(tmp_path):
    path = tmp_path / "net.pt"
    write_checkpoint(path, network_checkpoint(build_network("tiny3d", n_verbs=3, n_nouns=4)))
    with pytest.raises(InputError, match="n_verbs=3"):
        load_network(path, kind="tiny3d", n_verbs=5, n_nouns=4)
    other = load_network(path, n_verbs=5, n_nouns=4, include_head=False)
    assert other.n_verbs == 5
    foreign = tmp_path / "foreign.pt"
    write_checkpoint(foreign, {"model_state": build_network("tiny3d", n_verbs=3, n_nouns=4).state_dict()})
    with pytest.raises(InputError, match="kind, n_verbs, n_nouns"):
        load_network(foreign)
