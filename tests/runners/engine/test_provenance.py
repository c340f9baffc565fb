"""Provenance (issue 18.11): config.yaml and summary.json name versions, git commit, host, devices
and times; run.timestamp is written as the value the run directory was named with."""

from __future__ import annotations

import datetime as dt
import json
import socket
import subprocess
import sys
from pathlib import Path

import structlog
import yaml

import ego_cl
from ego_cl.runners.config import StreamRunConfig, load_config
from ego_cl.runners.engine.grid import prepare_grid
from ego_cl.runners.engine.plan import prepare_run_dir
from ego_cl.runners.engine.run import run_stream
from ego_cl.runners.provenance import git_commit, provenance, resolve_timestamp
from tests.runners.tiny_run import make_tiny, tiny_config


def _header(path):
    lines = [line[2:] for line in path.read_text().splitlines() if line.startswith("# ")]
    return yaml.safe_load("\n".join(lines))["provenance"]


def _check_record(record):
    assert record["ego_cl"] == ego_cl.__version__
    assert record["python"] == sys.version.split()[0]
    assert set(record["packages"]) >= {"torch", "torchvision", "av"}
    assert record["packages"]["torch"]  # installed here
    assert record["host"] == socket.gethostname()
    assert record["devices"] == ["cpu"]


def test_config_yaml_has_a_provenance_header_and_the_timestamp_used(tmp_path):
    cfg = load_config(StreamRunConfig, overrides=[f"run.out_dir={tmp_path}"])
    assert cfg.run.timestamp is None
    run_dir, written = prepare_run_dir(cfg, ["learner.lr=0.1"])
    assert written.run.timestamp is not None
    assert run_dir.name.startswith(written.run.timestamp)
    saved = load_config(StreamRunConfig, run_dir / "config.yaml")  # the header is only comments
    assert saved.run.timestamp == written.run.timestamp
    header = _header(run_dir / "config.yaml")
    _check_record(header)
    dt.datetime.fromisoformat(header["created"])


def test_grid_configs_share_one_resolved_timestamp_and_resume(tmp_path):
    overrides = [f"run.out_dir={tmp_path}"]
    parent, runs = prepare_grid(None, overrides, ["learner.lr=0.1,0.2"])
    stamps = {load_config(StreamRunConfig, d / "config.yaml").run.timestamp for d, _ in runs}
    assert len(stamps) == 1
    assert parent.name.startswith(stamps.pop())
    again, runs_again = prepare_grid(None, overrides, ["learner.lr=0.1,0.2"], resume=parent)
    assert again == parent
    assert [c for _, c in runs_again] == [c for _, c in runs]


def test_resolve_timestamp_keeps_a_given_one():
    cfg = load_config(StreamRunConfig, overrides=["run.timestamp=t0"])
    assert resolve_timestamp(cfg) is cfg
    assert resolve_timestamp(load_config(StreamRunConfig), "x").run.timestamp == "x"


def test_summary_json_records_provenance_and_times(tmp_path):
    cfg, overrides = tiny_config(make_tiny(tmp_path / "home"), tmp_path / "runs", "run.baseline=false")
    summary = run_stream(cfg, overrides)
    structlog.reset_defaults()
    run_dir = Path(summary["run_dir"])
    saved = json.loads((run_dir / "summary.json").read_text())
    record = saved["provenance"]
    assert record == json.loads(json.dumps(summary["provenance"]))
    _check_record(record)
    started = dt.datetime.fromisoformat(record["started"])
    finished = dt.datetime.fromisoformat(record["finished"])
    assert started <= finished
    assert 0 < record["wall_s"] <= (finished - started).total_seconds() + 2
    assert record["timestamp"] == load_config(StreamRunConfig, run_dir / "config.yaml").run.timestamp
    assert run_dir.name.startswith(record["timestamp"])


def test_git_commit_is_read_when_in_a_checkout(tmp_path):
    assert git_commit(tmp_path) is None  # not a repository
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    (tmp_path / "f").write_text("x")
    env = ["-c", "user.name=t", "-c", "user.email=t@t"]
    subprocess.run(["git", *env, "-C", str(tmp_path), "add", "f"], check=True)
    subprocess.run(["git", *env, "-C", str(tmp_path), "commit", "-qm", "m"], check=True)
    head = subprocess.run(["git", "-C", str(tmp_path), "rev-parse", "HEAD"], capture_output=True, text=True)
    assert git_commit(tmp_path) == {"commit": head.stdout.strip(), "dirty": False}
    (tmp_path / "f").write_text("y")
    assert git_commit(tmp_path)["dirty"] is True


def test_provenance_names_cuda_devices_only_when_present():
    record = provenance(["cuda:7"])
    assert record["devices"] == ["cuda:7"]
    import torch

    if torch.cuda.device_count() <= 7:
        assert "cuda:7" not in record["device_names"]
