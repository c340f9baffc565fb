"""Atomic file writes: a reader never sees a half-written file."""

from __future__ import annotations

import pytest

from ego_cl.runners import files
from ego_cl.runners.files import atomic_write_text


def test_atomic_write_leaves_only_the_final_file(tmp_path):
    atomic_write_text(tmp_path / "a" / "x.json", "1")
    atomic_write_text(tmp_path / "a" / "x.json", "2")
    assert [p.name for p in (tmp_path / "a").iterdir()] == ["x.json"]
    assert (tmp_path / "a" / "x.json").read_text() == "2"


def test_failed_publish_keeps_the_old_file(tmp_path, monkeypatch):
    atomic_write_text(tmp_path / "x.json", "old")

    def broken(src, dst):
        raise OSError("disk gone")

    monkeypatch.setattr(files.os, "replace", broken)
    with pytest.raises(OSError):
        atomic_write_text(tmp_path / "x.json", "new")
    assert (tmp_path / "x.json").read_text() == "old"


def test_a_write_error_removes_the_temporary_file_and_a_full_disk_is_one_line(tmp_path, monkeypatch):
    import errno

    atomic_write_text(tmp_path / "x.json", "old")

    def full(fd):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(files.os, "fsync", full)
    with pytest.raises(files.NoSpaceError) as info:
        atomic_write_text(tmp_path / "x.json", "new")
    message = str(info.value)
    assert message == f"{tmp_path / 'x.json'}: no space left (No space left on device)"
    assert "\n" not in message
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.json"]  # no .tmp-PID left
    assert (tmp_path / "x.json").read_text() == "old"


def test_an_interrupt_mid_write_leaves_no_temporary_file(tmp_path, monkeypatch):
    def interrupted(fd):
        raise KeyboardInterrupt

    monkeypatch.setattr(files.os, "fsync", interrupted)
    with pytest.raises(KeyboardInterrupt):
        atomic_write_text(tmp_path / "x.json", "new")
    assert list(tmp_path.iterdir()) == []


def test_a_file_size_limit_in_a_child_gives_one_line_and_no_temporary_file(tmp_path):
    """The real thing: a child process whose files may not exceed 64 KiB (``RLIMIT_FSIZE``,
    ``SIGXFSZ`` ignored so that the write fails with ``EFBIG``) writes 1 MiB."""
    import resource
    import signal
    import subprocess
    import sys

    target = tmp_path / "big.bin"
    atomic_write_text(target, "old")

    def limit() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (64 * 1024, 64 * 1024))

    code = (
        "import sys; from pathlib import Path\n"
        "from ego_cl.runners.files import NoSpaceError, atomic_write_bytes\n"
        "try:\n"
        f"    atomic_write_bytes(Path({str(target)!r}), b'x' * 2**20)\n"
        "except NoSpaceError as exc:\n"
        "    print(exc, file=sys.stderr); sys.exit(1)\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], preexec_fn=limit, capture_output=True, text=True)
    assert proc.returncode == 1, proc.stderr
    assert proc.stderr.strip().splitlines() == [f"{target}: no space left (File too large)"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["big.bin"]
    assert target.read_text() == "old"


def test_stale_temporaries_are_found_below_a_directory(tmp_path):
    atomic_write_text(tmp_path / "keep.json", "1")
    (tmp_path / "checkpoint").mkdir()
    stale = [tmp_path / ".state.pt.tmp-123", tmp_path / "checkpoint" / ".state.next.pt.tmp-9"]
    for path in stale:
        path.write_bytes(b"half")
    assert sorted(files.remove_stale_temporaries(tmp_path)) == sorted(stale)
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["checkpoint", "keep.json"]
