"""The torch thread count of a run is resolved once, recorded in config.yaml and reused on resume,
so a resume on a machine with another core count gives the same numbers."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from ego_cl.runners.config import StreamRunConfig, load_config
from ego_cl.runners.engine.threads import pin_threads, resolve_threads
from ego_cl.runners.results import UserDir
from ego_cl.runners.stream import run_stream
from tests.runners.process_fakes import threads_target
from tests.runners.tiny_run import make_tiny, tiny_overrides


def _cores(monkeypatch, n: int) -> None:
    monkeypatch.setattr(os, "cpu_count", lambda: n)
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: set(range(n)), raising=False)


@pytest.mark.parametrize(
    ("cores", "pool", "workers", "expected"),
    [
        (16, [], 0, 8),  # 2 slots (users_per_device=2)
        (16, ["pool.users_per_device=1"], 2, 14),
        (16, ["pool.processes=0"], 0, 16),  # in-process: one slot
        (16, ["pool.processes=1"], 1, 15),
        (2, [], 1, 1),  # never below 1
        (16, ["pool.threads_per_slot=3"], 0, 3),  # set by the user: kept
    ],
)
def test_resolution(monkeypatch, cores, pool, workers, expected):
    _cores(monkeypatch, cores)
    cfg = load_config(StreamRunConfig, overrides=[*pool, f"stream.workers={workers}"])
    assert resolve_threads(cfg) == expected
    assert pin_threads(cfg).pool.threads_per_slot == expected


def test_slurm_runs_are_not_pinned(monkeypatch):
    _cores(monkeypatch, 16)
    cfg = load_config(StreamRunConfig, overrides=["pool.backend=slurm"])
    assert pin_threads(cfg).pool.threads_per_slot is None


def test_resume_on_a_machine_with_other_cores_uses_the_recorded_count(tmp_path, monkeypatch):
    tiny = make_tiny(tmp_path / "home")
    overrides = tiny_overrides(tiny, tmp_path / "runs", "pool.threads_per_slot=null", "run.baseline=false")
    _cores(monkeypatch, 3)
    first = run_stream(load_config(StreamRunConfig, overrides=overrides), overrides, target=threads_target)
    run_dir = Path(first["run_dir"])
    assert load_config(StreamRunConfig, run_dir / "config.yaml").pool.threads_per_slot == 3
    users = sorted(p.name for p in (run_dir / "users").iterdir())
    assert {(run_dir / "users" / u / "threads.txt").read_text() for u in users} == {"3"}
    kept = UserDir(run_dir / "users" / users[0]).read_json("metrics.json")
    shutil.rmtree(run_dir / "users" / users[0])  # as if that user had not started

    _cores(monkeypatch, 1)  # the other machine would resolve 1 thread
    cfg = load_config(StreamRunConfig, run_dir / "config.yaml")
    run_stream(cfg, resume=run_dir, target=threads_target)
    assert (run_dir / "users" / users[0] / "threads.txt").read_text() == "3"
    assert UserDir(run_dir / "users" / users[0]).read_json("metrics.json") == kept
