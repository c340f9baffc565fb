"""A disk that fills mid-run (subprocesses): one line per failed user naming the file and "no
space left", no traceback, no temporary or partial file, and ``--resume`` after space is freed
gives the results of an uninterrupted run.

Two ways to fill it: a small tmpfs mounted in a user namespace (``unshare -rm``, a real
``ENOSPC`` for every process of the run) where the kernel allows it, and everywhere a child whose
files may not grow past 256 KiB (``RLIMIT_FSIZE``; ``SIGXFSZ`` ignored, so writes fail with
``EFBIG``): the first checkpoint of every user does not fit.
"""

from __future__ import annotations

import os
import resource
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from ego_cl.runners.checkpoint_io import read_checkpoint
from ego_cl.runners.config import StreamRunConfig, load_config
from ego_cl.runners.results import UserDir
from ego_cl.runners.stream import run_stream
from tests.runners.tiny_run import make_tiny, tiny_overrides

pytestmark = [pytest.mark.integration, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]


def _can_mount_tmpfs() -> bool:
    if shutil.which("unshare") is None:
        return False
    probe = subprocess.run(
        ["unshare", "-rm", "sh", "-c", "mount -t tmpfs -o size=1m tmpfs /mnt"], capture_output=True
    )
    return probe.returncode == 0


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    return make_tiny(tmp_path_factory.mktemp("home"))


@pytest.fixture(scope="module")
def reference(tiny, tmp_path_factory):
    overrides = tiny_overrides(tiny, tmp_path_factory.mktemp("ref"), "pool.processes=0")
    summary = run_stream(load_config(StreamRunConfig, overrides=overrides), overrides)
    assert summary["failed"] == []
    return Path(summary["run_dir"])


def _command(tiny, out: Path) -> list[str]:
    overrides = tiny_overrides(tiny, out, "pool.processes=null", "pool.users_per_device=2")
    return [sys.executable, "-m", "ego_cl.runners.stream", *overrides]


def _limit_file_size() -> None:
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (256 * 1024, 256 * 1024))


def _run_full(mode: str, tiny, out: Path, tmp_path: Path) -> subprocess.CompletedProcess:
    out.mkdir(parents=True)
    if mode == "rlimit":
        return subprocess.run(
            _command(tiny, out), cwd=ROOT, preexec_fn=_limit_file_size, capture_output=True, text=True
        )
    saved = tmp_path / "saved"  # the tmpfs vanishes with its namespace: copy what the run left
    saved.mkdir()
    script = (
        'mount -t tmpfs -o size=3m tmpfs "$OUT" || exit 99; "$@"; rc=$?; cp -a "$OUT/." "$SAVED/"; exit $rc'
    )
    proc = subprocess.run(
        ["unshare", "-rm", "sh", "-c", script, "sh", *_command(tiny, out)],
        cwd=ROOT,
        env={**os.environ, "OUT": str(out), "SAVED": str(saved)},
        capture_output=True,
        text=True,
    )
    for entry in saved.iterdir():  # space freed: the run's files back at their own paths
        shutil.move(str(entry), str(out / entry.name))
    return proc


@pytest.mark.parametrize("mode", ["rlimit", "tmpfs"])
def test_full_disk_fails_users_in_one_line_each_and_resume_completes_identically(
    tiny, reference, tmp_path, mode
):
    if mode == "tmpfs" and not _can_mount_tmpfs():
        pytest.skip("no user namespaces here (unshare -rm); the RLIMIT_FSIZE case covers it")
    out = tmp_path / "out"
    proc = _run_full(mode, tiny, out, tmp_path)
    assert proc.returncode == 1, proc.stderr[-3000:]
    assert "Traceback" not in proc.stderr, proc.stderr[-3000:]
    no_space = [line for line in proc.stderr.splitlines() if "no space left" in line]
    assert no_space, proc.stderr[-3000:]
    run_dir = next(p.parent for p in out.rglob("config.yaml") if (p.parent / "users").is_dir())
    failed = sorted(p.parent for p in out.rglob("FAILED.json"))
    if mode == "rlimit":  # every user's (and baseline's) first checkpoint is too large
        assert len(failed) == 6
        for record in failed:
            error = UserDir(record).read_json("FAILED.json")["error"]
            assert f"{record}/checkpoint/state.next.pt: no space left" in error
            assert any(str(record) in line for line in no_space)  # a console line names it
        assert "FAILED users/" in proc.stdout
    assert not [p for p in out.rglob("*") if ".tmp-" in p.name]
    for state in out.rglob("checkpoint/*.pt"):  # whatever was published is complete
        read_checkpoint(state)
    for done in out.rglob("DONE"):
        assert (done.parent / "metrics.json").is_file()
        assert (done.parent / "learner.pt").is_file()

    resumed = run_stream(load_config(StreamRunConfig, run_dir / "config.yaml"), resume=run_dir)
    assert resumed["failed"] == []
    for uid in sorted(p.name for p in (reference / "users").iterdir()):
        got, want = UserDir(run_dir / "users" / uid), UserDir(reference / "users" / uid)
        assert got.read_log().equals(want.read_log()), uid
        assert got.read_json("metrics.json") == want.read_json("metrics.json"), uid
        assert not (got.path / "FAILED.json").exists()
