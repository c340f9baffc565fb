"""Values that cannot work are refused before any work, one line each, exit code 2 (issues 19.3,
19.8 and 18.2): devices that do not exist, an out_dir that is a file or someone else's directory,
a copy_final_to that is a file, run.users not in the split; config-level refusals."""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

import pytest
import torch

from ego_cl.runners.cli import guarded_main
from ego_cl.runners.config import ConfigError, PoolConfig, StreamRunConfig, load_config
from ego_cl.runners.engine.preflight import (
    OUT_DIR_MARKER,
    check_before_run,
    check_devices,
    check_out_dir,
    check_pretrain_dir,
    is_out_dir,
)
from ego_cl.runners.stream import main
from ego_cl.types import InputError
from tests.runners.tiny_run import make_tiny, tiny_overrides


def _cuda(monkeypatch, n: int) -> None:
    monkeypatch.setattr(torch.cuda, "device_count", lambda: n)


@pytest.mark.parametrize(
    ("n_cuda", "devices", "needle"),
    [
        (0, ("cuda:0",), "cuda:0 requested, but this machine has no CUDA device"),
        (0, ("cpu", "cuda"), "cuda requested, but this machine has no CUDA device"),
        (2, ("cuda:0", "cuda:3"), "cuda:3 does not exist (this machine has 2 CUDA devices: cuda:0..cuda:1)"),
        (1, ("cuda:99",), "cuda:99 does not exist (this machine has 1 CUDA device: cuda:0..cuda:0)"),
    ],
)
def test_missing_devices_are_refused(monkeypatch, n_cuda, devices, needle):
    _cuda(monkeypatch, n_cuda)
    with pytest.raises(InputError) as info:
        check_devices(PoolConfig(devices=devices))
    assert needle in str(info.value)
    assert str(info.value).startswith("pool.devices: ")


def test_existing_devices_pass_and_slurm_is_not_checked(monkeypatch):
    _cuda(monkeypatch, 2)
    check_devices(PoolConfig(devices=("cpu", "cuda:0", "cuda:1", "cuda")))
    _cuda(monkeypatch, 0)
    check_devices(PoolConfig(devices=("cuda:5",), backend="slurm"))


@pytest.mark.parametrize(
    ("override", "needle"),
    [
        ("stream.crop_px=80", "stream.crop_px: must be <= side_px (80 > 64)"),
        ("stream.max_samples=-1", "stream.max_samples: must be >= 0"),
        ("run.users=[]", "run.users: must name at least one user"),
        ("run.users=[a, a]", "run.users: names a user twice"),
        ("pool.processes=-1", "pool.processes: must be >= 0"),
        ("pool.devices=[gpu0]", "pool.devices: unknown device 'gpu0'"),
        ("pool.devices=[]", "pool.devices: must name at least one device"),
    ],
)
def test_values_that_cannot_work_are_config_errors(override, needle):
    with pytest.raises(ConfigError) as info:
        load_config(StreamRunConfig, overrides=[override])
    [line] = info.value.lines()
    assert needle in line


def test_out_dir_rules(tmp_path):
    assert is_out_dir(tmp_path / "new")
    assert is_out_dir(tmp_path)  # empty
    (tmp_path / "notes.txt").write_text("mine")
    assert not is_out_dir(tmp_path)
    with pytest.raises(InputError, match="not an ego_cl output directory"):
        check_out_dir(tmp_path, "default")
    (tmp_path / OUT_DIR_MARKER).write_text("")
    check_out_dir(tmp_path, "default")
    legacy = tmp_path / "legacy"
    (legacy / "exp" / "2025-01-01_00-00-00_defaults").mkdir(parents=True)
    (legacy / "exp" / "2025-01-01_00-00-00_defaults" / "config.yaml").write_text("{}")
    (legacy / "README").write_text("x")
    assert is_out_dir(legacy)  # written by ego_cl before the marker existed
    grids = tmp_path / "grids"
    (grids / "exp" / "2025-01-01_00-00-00_grid").mkdir(parents=True)
    (grids / "exp" / "2025-01-01_00-00-00_grid" / "grid.txt").write_text("--grid learner.lr=0.1\n")
    assert is_out_dir(grids)
    (grids / "exp" / "2025-01-01_00-00-00_grid" / "grid.txt").unlink()
    assert not is_out_dir(grids)  # an empty experiment folder alone is not ego_cl's
    a_file = tmp_path / "file"
    a_file.write_text("x")
    with pytest.raises(InputError, match="is a file, not a directory"):
        check_out_dir(a_file, "default")
    (tmp_path / "exp_file").write_text("x")
    with pytest.raises(InputError, match=r"run.experiment: .*exp_file is a file"):
        check_out_dir(tmp_path, "exp_file")


def test_check_before_run_claims_the_out_dir_and_checks_copy_final_to(tmp_path):
    out = tmp_path / "out"
    cfg = load_config(StreamRunConfig, overrides=[f"run.out_dir={out}"])
    check_before_run(cfg)
    assert (out / OUT_DIR_MARKER).is_file()
    target = tmp_path / "copy"
    target.write_text("a regular file")
    cfg = load_config(StreamRunConfig, overrides=[f"run.out_dir={out}", f"run.copy_final_to={target}"])
    with pytest.raises(InputError, match=r"run.copy_final_to: .*copy is a file, not a directory"):
        check_before_run(cfg)
    assert target.read_text() == "a regular file"


def _cli(tmp_path: Path, *args: str, capsys) -> tuple[int, list[str]]:
    code = guarded_main(main, list(args))
    return code, capsys.readouterr().err.strip().splitlines()


def _snapshot(root: Path) -> dict[str, bytes | None]:
    return {str(p): (p.read_bytes() if p.is_file() else None) for p in sorted(root.rglob("*"))}


@pytest.mark.parametrize("kind", ["file", "foreign"])
def test_cli_refuses_bad_out_dir_with_one_line_and_touches_nothing(tmp_path, capsys, kind):
    out = tmp_path / "out"
    if kind == "file":
        out.write_text("precious")
    else:
        out.mkdir()
        (out / "thesis.tex").write_text("precious")
    before = _snapshot(tmp_path)
    code, err = _cli(tmp_path, f"run.out_dir={out}", "run.baseline=false", capsys=capsys)
    assert code == 2
    assert len(err) == 1
    assert err[0].startswith("error: run.out_dir: ")
    assert _snapshot(tmp_path) == before


def test_cli_refuses_missing_cuda_before_any_work(tmp_path, capsys, monkeypatch):
    _cuda(monkeypatch, 0)
    out = tmp_path / "out"
    code, err = _cli(tmp_path, f"run.out_dir={out}", "pool.devices=[cuda:0]", capsys=capsys)
    assert code == 2
    assert err == ["error: pool.devices: cuda:0 requested, but this machine has no CUDA device"]
    assert not out.exists()


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    return make_tiny(tmp_path_factory.mktemp("preflight"))


@pytest.mark.integration
def test_unknown_user_and_copy_final_file_are_one_line_before_any_user_runs(tiny, tmp_path, capsys):
    out = tmp_path / "out"
    code, err = _cli(tmp_path, *tiny_overrides(tiny, out, "run.users=[nobody]"), capsys=capsys)
    assert code == 2
    assert len(err) == 1
    assert "run.users: ['nobody'] not in the test split" in err[0]
    assert not list(out.rglob("config.yaml"))  # refused before the run directory exists
    copy_to = tmp_path / "copy"
    copy_to.write_text("a file")
    code, err = _cli(tmp_path, *tiny_overrides(tiny, out, f"run.copy_final_to={copy_to}"), capsys=capsys)
    assert code == 2
    assert len(err) == 1
    assert "run.copy_final_to" in err[0]
    assert not list(out.rglob("users/*"))


def _split_with(tiny, tmp_path: Path, **changes) -> Path:
    """A copy of ``tiny``'s split directory whose first test annotation has ``changes``."""
    root, _ = tiny
    split_dir = tmp_path / "splits"
    shutil.copytree(root / "usersplits", split_dir)
    [test_file] = split_dir.glob("ego4d_LTA_test_usersplit_*users.json")
    data = json.loads(test_file.read_text())
    first_user = next(iter(data["users"]))
    data["users"][first_user][0].update(changes)
    test_file.write_text(json.dumps(data))
    return split_dir


@pytest.mark.integration
@pytest.mark.parametrize(
    ("changes", "needle"),
    [
        (
            {"action_clip_end_sec": 1e9},
            "field 'action_clip_end_sec': 1000000000.0 s lies past the end of its",
        ),
        ({"clip_uid": "c" * 300}, "field 'clip_uid': 300 characters is too long for a file name"),
    ],
)
def test_cli_bad_annotation_values_exit_2_quickly_without_traceback(tiny, tmp_path, capsys, changes, needle):
    split_dir = _split_with(tiny, tmp_path, **changes)
    out = tmp_path / "out"
    started = time.perf_counter()
    code, err = _cli(tmp_path, *tiny_overrides(tiny, out, f"data.split_dir={split_dir}"), capsys=capsys)
    assert time.perf_counter() - started < 60
    assert code == 2
    assert "Traceback" not in "\n".join(err)
    assert err[0].startswith("error: ")
    assert err[0].endswith("1 problem(s)")  # the file, then its one problem naming record and field
    assert len(err) == 2
    assert needle in err[1]


def test_pretrain_dir_rules(tmp_path):
    check_pretrain_dir(tmp_path / "new" / "tiny3d")
    run = tmp_path / "runs" / "tiny3d"
    run.mkdir(parents=True)
    check_pretrain_dir(run)  # empty
    (run / "config.yaml").write_text("{}")
    (run / "last.pt").write_bytes(b"")
    check_pretrain_dir(run)  # an earlier pretraining run: resumed or refused by the trainer
    foreign = tmp_path / "runs" / "mine"
    foreign.mkdir()
    (foreign / "data.csv").write_text("precious")
    with pytest.raises(InputError, match="not a pretraining run"):
        check_pretrain_dir(foreign)
    a_file = tmp_path / "file"
    a_file.write_text("x")
    with pytest.raises(InputError, match=r"run.out_dir: .*file is a file"):
        check_pretrain_dir(a_file / "tiny3d")
    with pytest.raises(InputError, match=r"run.name: .*file is a file"):
        check_pretrain_dir(a_file)


def test_pretrain_cli_refuses_a_foreign_run_dir_before_any_work(tmp_path, capsys):
    from ego_cl.runners.pretrain import main as pretrain_main

    out = tmp_path / "runs"
    (out / "tiny3d").mkdir(parents=True)
    (out / "tiny3d" / "thesis.tex").write_text("precious")
    code = guarded_main(pretrain_main, [f"run.out_dir={out}", "--home", str(tmp_path / "home")])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2
    assert len(err) == 1
    assert "not a pretraining run" in err[0]
    assert not (tmp_path / "home").exists()  # no dataset generated


def test_hindsight_refuses_a_run_whose_devices_this_machine_lacks(tmp_path, monkeypatch):
    from ego_cl.runners.config import dump_yaml
    from ego_cl.runners.engine.hindsight import run_hindsight

    _cuda(monkeypatch, 0)
    run = tmp_path / "run"
    run.mkdir()
    (run / "config.yaml").write_text(
        dump_yaml(load_config(StreamRunConfig, overrides=["pool.devices=[cuda:1]"]))
    )
    with pytest.raises(
        InputError, match=r"pool\.devices: cuda:1 requested, but this machine has no CUDA device"
    ):
        run_hindsight(run)
