"""Stopping a real stream run from outside (subprocesses): SIGTERM, Ctrl-C to the process group,
Ctrl-C while workers start, kill -9 of the main process. Every case leaves no process behind,
keeps the written checkpoints, and ``--resume`` then gives the results of an uninterrupted run."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ego_cl.runners.config import StreamRunConfig, load_config
from ego_cl.runners.results import UserDir
from ego_cl.runners.stream import run_stream
from tests.runners.process_fakes import SLOW_ENV
from tests.runners.tiny_run import make_tiny, tiny_overrides

pytestmark = [pytest.mark.integration, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    return make_tiny(tmp_path_factory.mktemp("home"))


@pytest.fixture(scope="module")
def reference(tiny, tmp_path_factory):
    """An uninterrupted in-process run of the same config (one thread, like every pool slot)."""
    overrides = _overrides(tiny, tmp_path_factory.mktemp("ref"), "pool.processes=0")
    summary = run_stream(load_config(StreamRunConfig, overrides=overrides), overrides)
    assert summary["failed"] == []
    return Path(summary["run_dir"])


def _overrides(tiny, out: Path, *extra: str) -> list[str]:
    return tiny_overrides(tiny, out, "run.checkpoint_every=1", "stream.batch_size=2", *extra)


def _start(tiny, out: Path, *extra: str, slow_s: float = 3.0) -> subprocess.Popen:
    """The stream command (slowed after each user's first batch) in its own process group."""
    argv = [*_overrides(tiny, out, "pool.processes=null", "pool.users_per_device=2", *extra)]
    env = {**os.environ, SLOW_ENV: str(slow_s), "PYTHONPATH": str(ROOT)}
    return subprocess.Popen(
        [sys.executable, "-m", "tests.runners.process_fakes", *argv],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )


def _descendants(pid: int) -> set[int]:
    """Every live process below ``pid`` (from /proc)."""
    parents: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            ppid = int(stat.rsplit(")", 1)[1].split()[1])
            parents.setdefault(ppid, []).append(int(entry.name))
    found, todo = set(), [pid]
    while todo:
        for child in parents.get(todo.pop(), []):
            found.add(child)
            todo.append(child)
    return found


def _cmdline(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def _wait_for(condition, timeout: float, what: str, proc: subprocess.Popen | None = None) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if proc is not None and proc.poll() is not None:
            raise AssertionError(f"the run ended (rc {proc.returncode}) before {what}:\n{proc.stderr.read()}")
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.2)


def _run_dir(out: Path) -> Path:
    return next(p.parent for p in out.rglob("config.yaml") if (p.parent / "users").is_dir())


def _checkpointed(out: Path) -> bool:
    return any(p.name == "state.pt" for p in out.rglob("users/*/checkpoint/*"))


def _assert_resume_matches(run_dir: Path, reference: Path) -> None:
    resumed = run_stream(load_config(StreamRunConfig, run_dir / "config.yaml"), resume=run_dir)
    assert resumed["failed"] == []
    users = sorted(p.name for p in (reference / "users").iterdir())
    assert users == sorted(p.name for p in (run_dir / "users").iterdir())
    for uid in users:
        got, want = UserDir(run_dir / "users" / uid), UserDir(reference / "users" / uid)
        assert got.read_log().equals(want.read_log()), uid
        assert got.read_json("metrics.json") == want.read_json("metrics.json"), uid
    assert not [p for p in run_dir.parent.parent.rglob("*") if ".tmp-" in p.name]


def _stop_and_check(proc: subprocess.Popen, send, expected_rc: int) -> str:
    pids = _descendants(proc.pid)
    assert pids, "the pool started no worker"
    send()
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == expected_rc, stderr
    _wait_for(lambda: not any(_alive(p) for p in pids), 15, "every worker to exit")
    assert "Traceback" not in stderr, stderr
    assert "KeyboardInterrupt" not in stderr, stderr
    return stderr


def test_sigterm_stops_like_ctrl_c_keeps_checkpoints_and_resumes_identically(tiny, reference, tmp_path):
    proc = _start(tiny, tmp_path)
    _wait_for(lambda: _checkpointed(tmp_path), 240, "a checkpoint", proc)
    stderr = _stop_and_check(proc, lambda: os.kill(proc.pid, signal.SIGTERM), 143)
    run_dir = _run_dir(tmp_path)
    assert "interrupted (SIGTERM)" in stderr
    assert f"python -m ego_cl.runners.stream --resume {run_dir}" in stderr
    assert _checkpointed(tmp_path)  # the last checkpoint is kept
    _assert_resume_matches(run_dir, reference)


def test_ctrl_c_to_the_process_group_is_quiet_and_prints_the_resume_command(tiny, reference, tmp_path):
    proc = _start(tiny, tmp_path)
    _wait_for(lambda: _checkpointed(tmp_path), 240, "a checkpoint", proc)
    stderr = _stop_and_check(proc, lambda: os.killpg(proc.pid, signal.SIGINT), 130)
    run_dir = _run_dir(tmp_path)
    assert f"python -m ego_cl.runners.stream --resume {run_dir}" in stderr
    _assert_resume_matches(run_dir, reference)


def test_ctrl_c_while_workers_start_prints_no_traceback(tiny, tmp_path):
    proc = _start(tiny, tmp_path)

    def spawning() -> bool:  # the fork server (or a spawned worker) exists, still importing
        return any(
            b"forkserver" in cmdline or b"spawn_main" in cmdline
            for p in _descendants(proc.pid)
            if (cmdline := _cmdline(p))
        )

    _wait_for(spawning, 240, "a pool worker", proc)
    assert not list(tmp_path.rglob("worker.pid"))  # no worker has reached its first job
    stderr = _stop_and_check(proc, lambda: os.killpg(proc.pid, signal.SIGINT), 130)
    assert "--resume" in stderr


def test_kill_9_leaves_no_worker_or_decode_worker_and_resume_is_identical(tiny, reference, tmp_path):
    proc = _start(tiny, tmp_path, "stream.workers=1", slow_s=30.0)
    _wait_for(lambda: _checkpointed(tmp_path), 240, "a checkpoint", proc)
    pids = _descendants(proc.pid)
    workers = {int(p.read_text()) for p in tmp_path.rglob("worker.pid")}
    assert workers
    assert workers <= pids
    assert all(_descendants(w) for w in workers)  # each pool worker has its decode worker
    os.kill(proc.pid, signal.SIGKILL)
    proc.communicate(timeout=30)
    started = time.monotonic()
    _wait_for(lambda: not any(_alive(p) for p in pids), 15, "the orphans to exit")
    print(f"orphans gone {time.monotonic() - started:.2f} s after kill -9")
    _assert_resume_matches(_run_dir(tmp_path), reference)
