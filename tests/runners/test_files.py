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
