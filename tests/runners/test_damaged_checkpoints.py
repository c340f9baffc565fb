"""Damaged checkpoint files: one reader, one clear message naming the file, fallback to the
previous good ``state.pt`` (or a clean restart), and resume results that do not change."""

from __future__ import annotations

import ast
import re
import subprocess
from pathlib import Path

import pytest
import structlog
import torch

from ego_cl.runners.checkpoint_io import UnsafeCheckpointError, read_checkpoint, write_checkpoint
from ego_cl.runners.engine.user import stream_user
from ego_cl.runners.results import UserDir, UserDirBusyError
from ego_cl.types import InputError
from tests.runners.fakes import fake_parts

ROOT = Path(__file__).resolve().parents[2]


def _damage(path: Path, how: str) -> None:
    data = bytearray(path.read_bytes())
    if how == "truncate":
        path.write_bytes(bytes(data[: len(data) // 2]))
    elif how == "flip":  # one byte inside the tensor data: torch alone would load it silently
        data[len(data) // 2] ^= 0xFF
        path.write_bytes(bytes(data))
    else:
        path.write_bytes(b"")


@pytest.mark.parametrize("how", ["truncate", "flip", "empty"])
def test_a_damaged_file_is_one_line_naming_it_without_torchs_advice(tmp_path, how):
    path = tmp_path / "state.pt"
    write_checkpoint(path, {"w": torch.arange(4096.0)})
    _damage(path, how)
    with pytest.raises(InputError) as info:
        read_checkpoint(path)
    message = str(info.value)
    assert message.startswith(f"{path}: ")
    assert "\n" not in message
    assert "weights_only" not in message
    assert not isinstance(info.value, UnsafeCheckpointError)


def test_a_truncated_legacy_pickle_is_damaged_not_unsafe(tmp_path):
    path = tmp_path / "old.pt"
    torch.save({"w": torch.zeros(64)}, path, _use_new_zipfile_serialization=False)
    path.write_bytes(path.read_bytes()[:50])
    with pytest.raises(InputError, match="damaged") as info:
        read_checkpoint(path)
    assert not isinstance(info.value, UnsafeCheckpointError)


class _Anything:
    pass


def test_a_refused_pickle_names_the_object_but_not_weights_only_false(tmp_path):
    path = tmp_path / "pickled.pt"
    torch.save({"w": torch.zeros(2), "extra": _Anything()}, path)
    with pytest.raises(UnsafeCheckpointError) as info:
        read_checkpoint(path)
    message = str(info.value)
    assert "_Anything" in message
    assert "weights_only" not in message
    assert "\n" not in message
    assert "\x1b" not in message


def test_no_torch_load_outside_the_checkpoint_reader():
    """Every file load goes through :func:`read_checkpoint` (and the stand-in unpickler it uses
    for conversion), so every refused or damaged file gets the same message."""
    calls = set()
    for path in sorted((ROOT / "ego_cl").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            loads_torch = isinstance(node, ast.Attribute) and node.attr == "load"
            if loads_torch and isinstance(node.value, ast.Name) and node.value.id == "torch":
                calls.add(path.relative_to(ROOT).as_posix())
            imported = {a.name for a in node.names} if isinstance(node, ast.ImportFrom) else set()
            if getattr(node, "module", None) == "torch" and "load" in imported:
                calls.add(path.relative_to(ROOT).as_posix())
    assert calls <= {"ego_cl/runners/checkpoint_io.py", "ego_cl/runners/foreign_pickle.py"}
    assert "ego_cl/runners/checkpoint_io.py" in calls


def _save(udir: UserDir, step: int) -> None:
    udir.save_checkpoint({"loop": {"next_step": step}, "w": torch.full((1024,), float(step))})


def test_the_previous_checkpoint_is_kept_and_used_when_the_last_is_damaged(tmp_path):
    udir = UserDir(tmp_path / "u")
    _save(udir, 3)
    _save(udir, 6)
    folder = udir.path / "checkpoint"
    assert sorted(p.name for p in folder.iterdir()) == ["state.prev.pt", "state.pt"]
    _damage(folder / "state.pt", "flip")
    with structlog.testing.capture_logs() as logs:
        state = udir.load_checkpoint()
    assert state["loop"]["next_step"] == 3
    (warning,) = [e for e in logs if e["event"] == "checkpoint_damaged"]
    assert warning["path"] == str(folder / "state.pt")
    assert "checksum mismatch" in warning["error"]
    _damage(folder / "state.prev.pt", "truncate")
    with structlog.testing.capture_logs() as logs:
        assert udir.load_checkpoint() is None  # nothing readable: the user starts over
    assert [e["path"] for e in logs if e["event"] == "checkpoint_damaged"] == [
        str(folder / "state.pt"),
        str(folder / "state.prev.pt"),
    ]


def test_a_crash_between_the_renames_still_leaves_a_complete_checkpoint(tmp_path):
    udir = UserDir(tmp_path / "u")
    _save(udir, 3)
    folder = udir.path / "checkpoint"
    write_checkpoint(folder / "state.next.pt", {"loop": {"next_step": 6}})
    (folder / "state.pt").rename(folder / "state.prev.pt")  # killed before the last rename
    assert udir.load_checkpoint()["loop"]["next_step"] == 6


@pytest.mark.parametrize(("how", "steps_kept"), [("flip", 3), ("truncate", 3), ("both", 0)])
def test_resume_past_a_damaged_checkpoint_gives_identical_results(tmp_path, how, steps_kept):
    import signal
    import sys

    reference = UserDir(tmp_path / "ref")
    stream_user(fake_parts(), reference, checkpoint_every=3, seed=0)
    udir = UserDir(tmp_path / "u")
    code = f"from tests.runners.fakes import child_main; child_main({str(udir.path)!r}, 'learn', 28)"
    assert subprocess.run([sys.executable, "-c", code], cwd=ROOT).returncode == -signal.SIGKILL
    folder = udir.path / "checkpoint"  # killed at batch 7: state.pt after step 6, state.prev.pt after 3
    _damage(folder / "state.pt", "truncate" if how == "both" else how)
    if how == "both":
        _damage(folder / "state.prev.pt", "flip")
    summary = stream_user(fake_parts(), udir, checkpoint_every=3, seed=0)
    assert summary["resumed_at"] == steps_kept
    assert udir.read_log().equals(reference.read_log())
    assert udir.read_json("metrics.json") == reference.read_json("metrics.json")


def test_lock_refuses_a_second_live_writer_naming_its_pid(tmp_path):
    import sys

    udir = UserDir(tmp_path / "u")
    code = (
        "import sys, time; from pathlib import Path; from ego_cl.runners.results import UserDir\n"
        f"with UserDir(Path({str(udir.path)!r})).writing():\n"
        "    print('locked', flush=True); time.sleep(60)\n"
    )
    holder = subprocess.Popen([sys.executable, "-c", code], cwd=ROOT, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        (udir.path / ".state.pt.tmp-99999").write_bytes(b"half")
        busy = pytest.raises(UserDirBusyError, match=rf"being written by process {holder.pid}\b")
        with busy, udir.writing(wait_s=0.5):
            pass
        assert (udir.path / ".state.pt.tmp-99999").exists()  # untouched while the other writes
    finally:
        holder.kill()
        holder.wait()
    with udir.writing(wait_s=5):  # the kernel released the dead holder's lock
        assert not (udir.path / ".state.pt.tmp-99999").exists()  # its leftovers are cleaned
        assert re.fullmatch(r"\d+\n", (udir.path / ".lock").read_text())


def test_has_checkpoint_sees_any_of_the_three_files(tmp_path):
    udir = UserDir(tmp_path / "u")
    assert not udir.has_checkpoint  # a fresh user: its stream is decoded while its learner builds
    _save(udir, 3)
    assert udir.has_checkpoint
    folder = udir.path / "checkpoint"
    (folder / "state.pt").rename(folder / "state.prev.pt")
    assert udir.has_checkpoint  # even a lone older file: the run resumes from it, not from batch 0
