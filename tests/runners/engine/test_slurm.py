"""pool.backend=slurm through submitit's local executor: same per-user results as the local pool."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from ego_cl.runners import hindsight
from ego_cl.runners.config import SlurmConfig
from ego_cl.runners.engine.pool import Job
from ego_cl.runners.engine.slurm import executor_parameters, run_jobs_slurm
from ego_cl.runners.results import UserDir
from ego_cl.runners.stream import run_stream
from tests.runners.tiny_run import make_tiny, tiny_config


def _assert_same_results(a: UserDir, b: UserDir) -> None:
    """Same samples, labels and rankings; losses equal up to float32 summation order (a separate
    process may take other MKL/oneDNN paths in the backward pass: ~1e-9 relative after an update)."""
    x, y = a.read_log(), b.read_log()
    for name in x.column_names:
        if name.endswith("_loss"):
            np.testing.assert_allclose(x.column(name).to_numpy(), y.column(name).to_numpy(), rtol=1e-6)
        else:
            assert x.column(name).to_pylist() == y.column(name).to_pylist(), name
    mine, theirs = a.read_json("metrics.json"), b.read_json("metrics.json")
    assert mine.keys() == theirs.keys()
    for key, value in mine.items():
        assert theirs[key] == pytest.approx(value, rel=1e-6, abs=1e-9), key


def _boom(payload, device, report):
    raise ValueError(f"bad payload {payload}")


def _double(payload, device, report):
    return {"value": 2 * payload, "device": device}


def test_results_and_errors_come_back_as_outcomes(tmp_path):
    jobs = [Job(key="a", size=1, payload=3), Job(key="b", size=2, payload=5)]
    outcomes = run_jobs_slurm(jobs, _double, cfg=SlurmConfig(local=True), folder=tmp_path, poll_s=0.2)
    assert sorted((o.key, o.result["value"]) for o in outcomes) == [("a", 6), ("b", 10)]
    (failed,) = run_jobs_slurm(jobs[:1], _boom, cfg=SlurmConfig(local=True), folder=tmp_path, poll_s=0.2)
    assert not failed.ok
    assert "bad payload 3" in failed.traceback


def test_partition_only_when_set():
    assert "slurm_partition" not in executor_parameters(SlurmConfig(), name="x")
    assert executor_parameters(SlurmConfig(gpus_per_task=2), name="x")["gpus_per_node"] == 2


@pytest.mark.slow
def test_slurm_local_backend_gives_the_same_per_user_results_as_the_local_pool(tmp_path):
    tiny = make_tiny(tmp_path / "home")
    local_cfg, local_over = tiny_config(
        tiny, tmp_path / "runs", "run.timestamp=local", f"run.baseline_cache={tmp_path}/c1"
    )
    slurm_cfg, slurm_over = tiny_config(
        tiny,
        tmp_path / "runs",
        "run.timestamp=slurm",
        f"run.baseline_cache={tmp_path}/c2",
        "pool.backend=slurm",
        "pool.slurm.local=true",
    )
    local = run_stream(local_cfg, local_over)
    slurm = run_stream(slurm_cfg, slurm_over)
    assert local["failed"] == slurm["failed"] == []
    a, b = Path(local["run_dir"]), Path(slurm["run_dir"])
    users = sorted(p.name for p in (a / "users").iterdir())
    assert users == sorted(p.name for p in (b / "users").iterdir())
    for role in ("users", "baseline"):
        for uid in users:
            _assert_same_results(UserDir(a / role / uid), UserDir(b / role / uid))
    for name, agg in local["oag"].items():
        assert slurm["oag"][name]["mean"] == pytest.approx(agg["mean"], rel=1e-6, abs=1e-9)
    assert any((b / "slurm").iterdir())  # submitit's logs
    # hindsight pairs go through the same backend
    outcomes = hindsight.run_hindsight(b)
    assert all(o.ok for o in outcomes)
    assert (b / "slurm" / "hindsight").is_dir()
