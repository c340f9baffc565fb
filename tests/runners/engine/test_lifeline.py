"""Worker lifetime helpers: parent-death signal, interrupts, stderr capture, resume command."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ego_cl.runners.engine.lifeline import (
    interrupts_blocked,
    native_stderr_to,
    parent_alive,
    stderr_tail,
)
from ego_cl.runners.engine.stopping import Terminated, resumable, resume_command, sigterm_interrupts

ROOT = Path(__file__).resolve().parents[3]


def test_native_stderr_goes_to_the_file_and_an_empty_file_is_removed(tmp_path):
    path = tmp_path / "u" / "worker-stderr.log"
    with native_stderr_to(path):
        os.write(2, b"from C\n")
    assert path.read_text() == "from C\n"
    assert stderr_tail(path) == "from C"
    quiet = tmp_path / "quiet.log"
    with native_stderr_to(quiet):
        pass
    assert not quiet.exists()
    assert stderr_tail(quiet) is None
    with native_stderr_to(None):
        pass


def test_the_tail_is_bounded(tmp_path):
    path = tmp_path / "big.log"
    path.write_text("x" * 10_000 + "END")
    assert stderr_tail(path, max_bytes=100) == "x" * 97 + "END"


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux-only")
def test_a_child_with_the_parent_death_signal_dies_with_its_parent(tmp_path):
    """parent -> child (arms the signal, then sleeps); SIGKILL the parent: the child is gone."""
    child_code = (
        "import os, sys, time\n"
        "from ego_cl.runners.engine.lifeline import die_with_parent\n"
        "assert die_with_parent(int(sys.argv[1]))\n"
        "print(os.getpid(), flush=True); time.sleep(60)\n"
    )
    parent_code = (
        "import os, subprocess, sys, time\n"
        f"code = {child_code!r}\n"
        "child = subprocess.Popen([sys.executable, '-c', code, str(os.getpid())], stdout=sys.stdout)\n"
        "time.sleep(60)\n"
    )
    parent = subprocess.Popen(
        [sys.executable, "-c", parent_code], cwd=ROOT, stdout=subprocess.PIPE, text=True
    )
    child = int(parent.stdout.readline())
    os.kill(parent.pid, signal.SIGKILL)
    parent.wait()
    deadline = time.monotonic() + 10
    while Path(f"/proc/{child}").exists() and "Z" not in Path(f"/proc/{child}/stat").read_text().split()[2]:
        assert time.monotonic() < deadline, "the orphan kept running"
        time.sleep(0.05)


def test_parent_alive_and_an_orphan_exits_at_once():
    assert parent_alive(os.getppid())
    # a fork server's worker: the pool's process is the parent of its parent
    grandparent = int(Path(f"/proc/{os.getppid()}/stat").read_text().rsplit(")", 1)[1].split()[1])
    assert parent_alive(grandparent)
    assert not parent_alive(os.getpid())  # neither the parent nor the parent's parent
    code = "from ego_cl.runners.engine.lifeline import die_with_parent; die_with_parent(1); print('ran on')"
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 1
    assert "ran on" not in proc.stdout


def test_a_process_started_with_interrupts_blocked_begins_with_sigint_blocked():
    """The mask survives fork and exec: a worker cannot get a KeyboardInterrupt while it imports
    (it ignores SIGINT before it unblocks it); this process's mask is restored afterwards."""
    code = "import signal; print(signal.SIGINT in signal.pthread_sigmask(signal.SIG_BLOCK, []))"
    with interrupts_blocked():
        inside = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True).stdout
    outside = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True).stdout
    assert (inside.strip(), outside.strip()) == ("True", "False")
    assert signal.SIGINT not in signal.pthread_sigmask(signal.SIG_BLOCK, [])


def _terminated_run(run_dir: Path) -> None:
    with sigterm_interrupts(), resumable(resume_command(run_dir)):
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(1)


def test_sigterm_becomes_terminated_and_carries_the_resume_command(tmp_path):
    with pytest.raises(Terminated) as info:
        _terminated_run(tmp_path / "run")
    assert info.value.signum == signal.SIGTERM
    assert info.value.resume == f"python -m ego_cl.runners.stream --resume {tmp_path / 'run'}"
    assert signal.getsignal(signal.SIGTERM) == signal.SIG_DFL  # restored


def test_the_grid_resume_command_repeats_config_overrides_and_grid():
    command = resume_command("/g d", ["--config", "c.yaml", "learner.lr=0.1"], ["--grid", "a=1,2"])
    assert command == (
        "python -m ego_cl.runners.stream --config c.yaml learner.lr=0.1 --resume '/g d' --grid a=1,2"
    )
