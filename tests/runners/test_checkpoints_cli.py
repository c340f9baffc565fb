"""The checkpoints command: EgoAdapt Lightning files whose pickles name classes that are not
installed convert to safe files, no code from the file runs, every failure is one line (exit 2)."""

from __future__ import annotations

import builtins
import importlib
import subprocess
import sys
import types

import pytest
import torch

from ego_cl.learners.networks.builders import build_network
from ego_cl.runners.checkpoint_io import load_network, read_foreign_checkpoint
from ego_cl.runners.checkpoints import main
from ego_cl.runners.cli import guarded_main
from ego_cl.runners.foreign_pickle import StandIn
from ego_cl.types import InputError

_FAKE = ("continual_ego4d", "continual_ego4d.utils", "continual_ego4d.utils.cfg")
CALLS: list[str] = []


def _record(text):  # what a hostile __reduce__ would call; must never run while loading
    CALLS.append(text)
    return text


class _Reduces:
    def __reduce__(self):
        return (_fake_module().record, ("unpickling ran code",))


class _Exec:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (builtins.exec, (f"open({str(self.marker)!r}, 'w').close()",))


def _fake_module():
    return sys.modules[_FAKE[-1]]


def _save_with_foreign_classes(obj_factory, path):
    """``torch.save`` an object built from classes of a package injected into sys.modules for
    the save only, then removed (as on a machine without the original EgoAdapt code)."""
    for name in _FAKE:
        sys.modules[name] = types.ModuleType(name)
    mod = _fake_module()
    mod.record = _record
    _record.__module__, _record.__qualname__ = mod.__name__, "record"

    class SoftCfgNode(dict):  # the original config node: a dict subclass with attributes
        pass

    class MethodConfig:
        pass

    for cls in (SoftCfgNode, MethodConfig):
        cls.__module__, cls.__qualname__ = mod.__name__, cls.__name__
        setattr(mod, cls.__name__, cls)
    try:
        torch.save(obj_factory(mod), path)
    finally:
        for name in _FAKE:
            del sys.modules[name]
    with pytest.raises(ModuleNotFoundError):
        importlib.import_module(_FAKE[-1])


def _egoadapt_checkpoint(net, marker):
    def build(mod):
        cfg = mod.SoftCfgNode()
        cfg["SOLVER"] = mod.SoftCfgNode(BASE_LR=0.01)
        method = mod.MethodConfig()
        method.name, method.buffer = "Finetuning", torch.zeros(2)
        return {
            "epoch": 0,
            "global_step": 12,
            "state_dict": {f"model.{k}": v for k, v in net.state_dict().items()},
            "hyper_parameters": {"cfg": cfg, "method": method},
            "hostile": [_Reduces(), _Exec(marker)],
        }

    return build


@pytest.fixture
def egoadapt_file(tmp_path):
    net = build_network("tiny3d", n_verbs=3, n_nouns=4)
    with torch.no_grad():
        net.head.verb.weight.add_(1.0)
    path = tmp_path / "user_68" / "last.ckpt"
    path.parent.mkdir()
    marker = tmp_path / "code_ran"
    _save_with_foreign_classes(_egoadapt_checkpoint(net, marker), path)
    CALLS.clear()
    return net, path, marker


def test_lightning_file_with_uninstalled_classes_converts_to_a_weights_only_file(
    egoadapt_file, tmp_path, capsys
):
    net, src, marker = egoadapt_file
    dst = tmp_path / "converted.pt"
    assert main([str(src), str(dst)]) == 0
    out = capsys.readouterr().out
    assert "lightning layout" in out
    assert "continual_ego4d.utils.cfg.SoftCfgNode x2" in out
    safe = torch.load(dst, map_location="cpu", weights_only=True)
    assert set(safe) == {"state_dict"}
    assert torch.equal(safe["state_dict"]["head.verb.weight"], net.head.verb.weight)
    loaded = load_network(dst, kind="tiny3d", n_verbs=3, n_nouns=4)
    for key, value in net.state_dict().items():
        assert torch.equal(loaded.state_dict()[key], value), key
    assert CALLS == []
    assert not marker.exists()


def test_stand_ins_keep_what_the_pickle_said_and_run_nothing(egoadapt_file):
    _, src, marker = egoadapt_file
    obj, stand_ins = read_foreign_checkpoint(src)
    cfg = obj["hyper_parameters"]["cfg"]
    assert isinstance(cfg, StandIn)
    assert cfg.module == "continual_ego4d.utils.cfg"
    assert cfg["SOLVER"]["BASE_LR"] == 0.01  # dict items of the config node survive
    method = obj["hyper_parameters"]["method"]
    assert method.state["name"] == "Finetuning"
    assert torch.equal(method.state["buffer"], torch.zeros(2))
    reduced, executed = obj["hostile"]
    assert reduced.args == ("unpickling ran code",)
    assert executed.module == "builtins"
    assert stand_ins == {
        "builtins.exec": 1,
        "continual_ego4d.utils.cfg.MethodConfig": 1,
        "continual_ego4d.utils.cfg.SoftCfgNode": 2,
        "continual_ego4d.utils.cfg.record": 1,
    }
    assert CALLS == []
    assert not marker.exists()


def test_legacy_non_zip_files_convert_too(tmp_path):
    net = build_network("tiny3d", n_verbs=3, n_nouns=4)
    src = tmp_path / "legacy.ckpt"
    for name in _FAKE:
        sys.modules[name] = types.ModuleType(name)

    class Node(dict):
        pass

    Node.__module__, Node.__qualname__ = _FAKE[-1], "Node"
    _fake_module().Node = Node
    try:
        ckpt = {"state_dict": dict(net.state_dict()), "cfg": Node(a=1), "tags": {"x"}}
        torch.save(ckpt, src, _use_new_zipfile_serialization=False)
    finally:
        for name in _FAKE:
            del sys.modules[name]
    obj, stand_ins = read_foreign_checkpoint(src)
    assert obj["tags"] == {"x"}
    assert stand_ins == {f"{_FAKE[-1]}.Node": 1}
    assert main([str(src), str(tmp_path / "out.pt")]) == 0
    assert load_network(tmp_path / "out.pt", kind="tiny3d", n_verbs=3, n_nouns=4).n_nouns == 4


def test_plain_files_convert_without_stand_ins(tmp_path, capsys):
    net = build_network("tiny3d", n_verbs=3, n_nouns=4)
    src = tmp_path / "plain.pt"
    torch.save({"model_state": {f"module.{k}": v for k, v in net.state_dict().items()}}, src)
    assert main([str(src), str(tmp_path / "out.pt")]) == 0
    out = capsys.readouterr().out
    assert "slowfast layout" in out
    assert "stand-ins" not in out


@pytest.mark.parametrize(
    "case",
    ["missing", "garbage", "truncated", "no_tensors", "unknown_layout", "target_under_a_file"],
)
def test_every_failure_is_one_line_and_exit_2(case, tmp_path, capsys):
    net = build_network("tiny3d", n_verbs=3, n_nouns=4)
    src, dst = tmp_path / "in.ckpt", tmp_path / "out.pt"
    torch.save({"state_dict": dict(net.state_dict())}, src)
    if case == "missing":
        src = tmp_path / "nope.ckpt"
    elif case == "garbage":
        src.write_bytes(b"\x80garbage that is no pickle")
    elif case == "truncated":
        src.write_bytes(src.read_bytes()[:300])
    elif case == "no_tensors":
        torch.save({"state_dict": {"model.w": 1.0}}, src)
    elif case == "unknown_layout":
        torch.save({"weights": [1, 2]}, src)
    else:
        (tmp_path / "a_file").write_text("x")
        dst = tmp_path / "a_file" / "out.pt"
    assert guarded_main(main, [str(src), str(dst)]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1, err
    assert "Traceback" not in err
    assert err.startswith("error: ")


@pytest.mark.integration
def test_the_command_prints_no_traceback(tmp_path):
    bad = tmp_path / "bad.ckpt"
    bad.write_bytes(b"PK\x03\x04 not really a zip")
    done = subprocess.run(
        [sys.executable, "-m", "ego_cl.runners.checkpoints", str(bad), str(tmp_path / "o.pt")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


def test_a_converted_kernel_5_r50_loads_with_the_kernel_read_from_it(tmp_path, capsys):
    torch.manual_seed(0)
    net = build_network("slowfast_r50", n_verbs=3, n_nouns=4, fusion_kernel=5)
    src, dst = tmp_path / "r50.ckpt", tmp_path / "r50.pt"
    torch.save({"state_dict": {f"model.{k}": v for k, v in net.state_dict().items()}}, src)
    assert main([str(src), str(dst)]) == 0
    assert "SlowFast fusion kernel 5 (model.fusion_kernel)" in capsys.readouterr().out
    loaded = load_network(dst, kind="slowfast_r50", n_verbs=3, n_nouns=4)
    assert loaded.backbone.fusion_kernel == 5
    with pytest.raises(InputError, match=r"model\.fusion_kernel=5 or leave it null"):
        load_network(dst, kind="slowfast_r50", n_verbs=3, n_nouns=4, fusion_kernel=7)
