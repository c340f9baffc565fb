"""Exact resume: a user process killed with SIGKILL and resumed gives bit-identical results."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import pyarrow.parquet as pq
import pytest
import torch

from ego_cl.runners.engine.user import stream_user
from ego_cl.runners.results import UserDir
from tests.runners.fakes import fake_parts

ROOT = Path(__file__).resolve().parents[3]


def _child(user_dir: Path, mode: str, arg: int) -> subprocess.Popen:
    code = f"from tests.runners.fakes import child_main; child_main({str(user_dir)!r}, {mode!r}, {arg})"
    return subprocess.Popen([sys.executable, "-c", code], cwd=ROOT)


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    udir = UserDir(tmp_path_factory.mktemp("ref") / "u0")
    stream_user(fake_parts(), udir, checkpoint_every=3, seed=0)
    return udir


def _assert_same(udir: UserDir, reference: UserDir) -> None:
    assert udir.is_done
    assert udir.read_log().equals(reference.read_log())
    assert udir.read_json("metrics.json") == reference.read_json("metrics.json")
    got = torch.load(udir.path / "learner.pt", weights_only=True)
    want = torch.load(reference.path / "learner.pt", weights_only=True)
    for key in want["net"]:
        assert torch.equal(got["net"][key], want["net"][key]), key


def _resume(udir: UserDir) -> dict:
    return stream_user(fake_parts(), udir, checkpoint_every=3, seed=0)


@pytest.mark.parametrize(("mode", "arg"), [("learn", 0), ("learn", 20), ("learn", 36)])
def test_sigkill_during_learning_then_resume_is_bit_identical(tmp_path, reference, mode, arg):
    udir = UserDir(tmp_path / "u0")
    proc = _child(udir.path, mode, arg)
    assert proc.wait(timeout=120) == -signal.SIGKILL
    assert not udir.is_done
    summary = _resume(udir)
    assert summary["resumed_at"] == (arg // 4) // 3 * 3  # last checkpoint before the kill
    _assert_same(udir, reference)


@pytest.mark.parametrize("nth_replace", [1, 2, 7, 10, 11])
def test_sigkill_while_publishing_files_then_resume_is_bit_identical(tmp_path, reference, nth_replace):
    udir = UserDir(tmp_path / "u0")
    proc = _child(udir.path, "replace", nth_replace)
    assert proc.wait(timeout=120) == -signal.SIGKILL
    _resume(udir)
    _assert_same(udir, reference)


def test_sigkill_from_outside_at_a_random_time(tmp_path, reference):
    for delay_s in (0.05, 0.2):
        udir = UserDir(tmp_path / f"u0-{delay_s}")
        proc = _child(udir.path, "none", 0)
        deadline = time.monotonic() + 60
        while not (udir.path / "checkpoint" / "state.pt").exists() and time.monotonic() < deadline:
            time.sleep(0.005)
        time.sleep(delay_s)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=60)
        _resume(udir)
        _assert_same(udir, reference)


def test_done_user_is_skipped_on_resume(tmp_path, reference):
    udir = UserDir(tmp_path / "u0")
    first = _resume(udir)
    (udir.path / "predictions-000000-000003.parquet").unlink()  # would be rewritten if it re-ran
    again = _resume(udir)
    assert again == first
    assert not (udir.path / "predictions-000000-000003.parquet").exists()


def test_parts_align_with_checkpoints(reference):
    names = [p.name for p in reference.parts()]
    assert names[0] == "predictions-000000-000003.parquet"
    assert names[-1] == "predictions-000009-000010.parquet"
    steps = pq.read_table(reference.parts()[1]).column("step").to_pylist()
    assert sorted(set(steps)) == [3, 4, 5]
