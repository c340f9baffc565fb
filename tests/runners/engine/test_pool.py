"""The process pool (fork server and spawn): 2 CPU slots, a user that raises, a worker killed hard,
recycling, in-process mode, what a worker inherits."""

from __future__ import annotations

import os

import pytest
import torch

from ego_cl.runners.config import ConfigError, StreamRunConfig, load_config
from ego_cl.runners.engine.fork_server import start_fork_server, start_method
from ego_cl.runners.engine.pool import Job, run_jobs, slot_devices
from ego_cl.runners.results import UserDir
from tests.runners.fakes import fake_target


def _jobs(root, **special):
    jobs = []
    for i, uid in enumerate(["a", "b", "c", "d", "e"]):
        payload = {"user_id": uid, "root": str(root), "n_samples": 12 + 4 * i, **special.get(uid, {})}
        jobs.append(Job(key=f"users/{uid}", size=payload["n_samples"], payload=payload))
    return jobs


@pytest.mark.parametrize("method", ["forkserver", "spawn"])
def test_pool_isolates_a_raising_user_and_a_killed_worker(tmp_path, method):
    special = {"b": {"fail_at": 4}, "d": {"fail_at": 8, "hard_kill": True}}
    seen = []
    outcomes = run_jobs(
        _jobs(tmp_path / "pool", **special),
        fake_target,
        users_per_device=2,
        threads_per_slot=1,
        method=method,
        on_outcome=seen.append,
    )
    assert seen == outcomes
    by_key = {o.key: o for o in outcomes}
    assert sorted(by_key) == ["users/a", "users/b", "users/c", "users/d", "users/e"]
    assert not by_key["users/b"].ok
    assert "fake failure at sample 4" in by_key["users/b"].error
    assert "RuntimeError" in by_key["users/b"].traceback
    assert not by_key["users/d"].ok
    assert by_key["users/d"].exit_code == -9
    assert "SIGKILL" in by_key["users/d"].error
    for uid in "ace":
        assert by_key[f"users/{uid}"].ok
        assert UserDir(tmp_path / "pool" / uid).is_done
        assert by_key[f"users/{uid}"].result["threads"] == 1
    # the killed user's written checkpoint survives for a later resume
    assert (tmp_path / "pool" / "d" / "checkpoint" / "state.pt").exists()

    inline = run_jobs(_jobs(tmp_path / "inline", b={"fail_at": 4}), fake_target, processes=0)
    assert [o.key for o in inline] == [f"users/{u}" for u in "edcba"]  # largest first
    inline_by_key = {o.key: o for o in inline}
    assert not inline_by_key["users/b"].ok
    for uid in "ace":
        a, b = UserDir(tmp_path / "pool" / uid), UserDir(tmp_path / "inline" / uid)
        assert a.read_log().equals(b.read_log())
        assert a.read_json("metrics.json") == b.read_json("metrics.json")
        wa = torch.load(a.path / "learner.pt", weights_only=True)["net"]
        wb = torch.load(b.path / "learner.pt", weights_only=True)["net"]
        assert all(torch.equal(wa[k], wb[k]) for k in wa)


def test_workers_are_recycled_and_progress_is_reported(tmp_path):
    progress = []
    outcomes = run_jobs(
        _jobs(tmp_path)[:4],
        fake_target,
        users_per_device=2,
        recycle_after=1,
        threads_per_slot=1,
        on_progress=lambda slot, key, done, total: progress.append((key, done, total)),
    )
    assert all(o.ok for o in outcomes)
    assert len({o.result["pid"] for o in outcomes}) == 4  # a fresh process per user
    assert ("users/a", 12, 12) in progress


def test_slot_devices_round_robin():
    assert slot_devices(["cpu"], 3) == ["cpu", "cpu", "cpu"]


def test_a_worker_that_dies_hard_leaves_the_tail_of_its_stderr_in_the_outcome(tmp_path):
    from tests.runners.process_fakes import crashing_target

    jobs = [
        Job(key=how, size=1, payload={"how": how}, stderr_path=str(tmp_path / how / "worker-stderr.log"))
        for how in ("segfault", "exit", "fine")
    ]
    outcomes = {o.key: o for o in run_jobs(jobs, crashing_target, users_per_device=1, threads_per_slot=1)}
    segfault = outcomes["segfault"]
    assert not segfault.ok
    assert "SIGSEGV" in segfault.error
    assert "native message before segfault" in segfault.traceback
    assert "Segmentation fault" in segfault.traceback  # faulthandler's dump
    assert "crashing_target" in segfault.traceback  # ... with the Python stack
    assert str(tmp_path / "segfault" / "worker-stderr.log") in segfault.traceback
    assert outcomes["exit"].exit_code == 3
    assert "native message before exit" in outcomes["exit"].traceback
    assert outcomes["fine"].ok
    assert (tmp_path / "fine" / "worker-stderr.log").read_text() == "native message before fine\n"


def test_a_worker_whose_set_up_fails_reports_why_instead_of_an_exit_code(tmp_path):
    jobs = _jobs(tmp_path)[:2]
    outcomes = run_jobs(jobs, fake_target, devices=["cuda:99"], users_per_device=1, threads_per_slot=1)
    assert len(outcomes) == 2
    for outcome in outcomes:
        assert not outcome.ok
        assert outcome.error.startswith("worker set-up on cuda:99 failed: ")
        assert "Traceback" in outcome.traceback
        assert outcome.exit_code is None


@pytest.mark.parametrize("method", ["forkserver", "spawn"])
def test_a_worker_that_cannot_start_raises_its_own_error(tmp_path, monkeypatch, method):
    """E.g. spawn refused (no memory, or a main module without the ``__main__`` guard): the
    caller sees why, not a failed join of a process that never started."""
    import multiprocessing

    def refuse(self):
        raise OSError("cannot start a worker here")

    monkeypatch.setattr(multiprocessing.get_context(method).Process, "start", refuse)
    with pytest.raises(OSError, match="cannot start a worker here"):
        run_jobs(_jobs(tmp_path / "pool"), fake_target, users_per_device=1, threads_per_slot=1, method=method)


@pytest.mark.parametrize("method", ["forkserver", "spawn"])
def test_a_worker_gets_the_environment_and_standard_streams_of_the_moment_it_starts(
    capfd, monkeypatch, method
):
    """A fork server started earlier (here: outside this test's captured descriptors, before the
    variable was set) must not hand its own environment and stderr to the workers it forks."""
    from tests.runners.process_fakes import context_target

    with capfd.disabled():
        start_fork_server()
    monkeypatch.setenv("EGO_CL_TEST_CONTEXT", f"set after the server started ({method})")
    payload = {"env": "EGO_CL_TEST_CONTEXT", "marker": f"from a {method} worker", "pool_pid": os.getpid()}
    (outcome,) = run_jobs(
        [Job(key="u", size=1, payload=payload)], context_target, users_per_device=1, method=method
    )
    assert outcome.ok, outcome.traceback
    assert outcome.result["env"] == f"set after the server started ({method})"
    assert outcome.result["pool_alive"]  # the pool's process is alive, seen from the worker
    assert (outcome.result["parent"] == os.getpid()) == (method == "spawn")  # forked: the server's child
    # a forked worker freezes what the server imported (a collection would copy its pages)
    assert (outcome.result["frozen"] > 10_000) == (method == "forkserver")
    out, err = capfd.readouterr()
    assert f"stdout from a {method} worker" in out
    assert f"stderr from a {method} worker" in err


def test_start_method_is_refused_unless_known():
    assert start_method("spawn", ["cpu"]) == "spawn"
    assert start_method("auto", ["cpu", "cuda:0"]) == "spawn"  # the method PyTorch documents for CUDA
    assert (
        load_config(StreamRunConfig, overrides=["pool.start_method=forkserver"]).pool.start_method
        == "forkserver"
    )
    with pytest.raises(ConfigError, match="start_method"):
        load_config(StreamRunConfig, overrides=["pool.start_method=fork"])


@pytest.mark.skipif(not os.path.isdir("/proc"), reason="reads the server's signal mask from /proc")
def test_the_fork_server_starts_with_sigint_blocked():
    """Its workers begin with SIGINT blocked, so a Ctrl-C while they start prints no traceback (the
    resource tracker, started first, unblocks SIGINT in the thread that starts it)."""
    import signal
    from pathlib import Path

    start_fork_server()
    servers = []
    for entry in Path("/proc").iterdir():
        try:
            stat, cmdline = (entry / "stat").read_text(), (entry / "cmdline").read_bytes()
        except OSError:
            continue
        if int(stat.rsplit(")", 1)[1].split()[1]) == os.getpid() and b"forkserver" in cmdline:
            servers.append(entry)
    assert len(servers) == 1
    status = (servers[0] / "status").read_text()
    blocked = int(next(line.split()[1] for line in status.splitlines() if line.startswith("SigBlk:")), 16)
    assert blocked & (1 << (signal.SIGINT - 1))


_SCRIPT = """
import sys

from ego_cl.runners.engine.pool import Job, run_jobs


def target(payload, device, report):  # lives in the script: workers import it as __mp_main__
    return {"twice": 2 * payload}


if __name__ == "__main__":
    outcomes = run_jobs([Job(key="a", size=1, payload=21)], target, users_per_device=1, method=sys.argv[1])
    print(outcomes[0].ok, outcomes[0].result)
"""


@pytest.mark.parametrize("method", ["forkserver", "spawn"])
def test_a_target_defined_in_the_main_script_runs_in_a_worker(tmp_path, method):
    import subprocess
    import sys
    from pathlib import Path

    script = tmp_path / "script.py"
    script.write_text(_SCRIPT)
    root = Path(__file__).resolve().parents[3]
    env = {**os.environ, "PYTHONPATH": str(root)}
    done = subprocess.run(
        [sys.executable, str(script), method], capture_output=True, text=True, env=env, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "True {'twice': 42}"
