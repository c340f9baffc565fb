"""``python -m ego_cl.runners.resize``: writes the cache once, skips up-to-date outputs."""

from __future__ import annotations

import os

import pytest

from ego_cl.runners.cli import guarded_main
from ego_cl.runners.resize import main
from tests.data.conftest import decode_all, encode_video


@pytest.mark.integration
def test_resize_cli_writes_then_skips(tmp_path, capsys):
    clips = tmp_path / "v1" / "clips"
    clips.mkdir(parents=True)
    for i in range(2):
        encode_video(clips / f"c{i}.mp4", n_frames=30, width=96, height=64, seed=i)
    assert guarded_main(main, ["--ego4d-root", str(tmp_path), "--short-side", "32"]) == 0
    cache = tmp_path / "v1" / "clips_resized_32"
    assert sorted(p.name for p in cache.iterdir()) == ["c0.mp4", "c1.mp4"]
    assert decode_all(cache / "c0.mp4")[1].shape == (30, 32, 48, 3)
    assert "resized 2 clip(s), 0 already up to date, 0 failed" in capsys.readouterr().out
    os.utime(clips / "c1.mp4")  # c1 changed after its copy was made
    os.utime(cache / "c0.mp4", (1e10, 1e10))
    assert guarded_main(main, ["--ego4d-root", str(tmp_path), "--short-side", "32"]) == 0
    assert "resized 1 clip(s), 1 already up to date, 0 failed" in capsys.readouterr().out


@pytest.mark.integration
def test_missing_video_dir_exits_2(tmp_path, capsys):
    assert guarded_main(main, ["--ego4d-root", str(tmp_path / "nope")]) == 2
    assert "no such video directory" in capsys.readouterr().err


@pytest.mark.integration
def test_parallel_resize_survives_a_bad_file_and_resumes(tmp_path, capsys):
    clips = tmp_path / "v1" / "clips"
    clips.mkdir(parents=True)
    for i in range(3):
        encode_video(clips / f"c{i}.mp4", n_frames=20, width=96, height=64, seed=i)
    (clips / "broken.mp4").write_bytes(b"not a video at all")
    args = ["--ego4d-root", str(tmp_path), "--short-side", "32", "--workers", "2"]
    assert guarded_main(main, args) == 1
    captured = capsys.readouterr()
    assert "resized 3 clip(s), 0 already up to date, 1 failed" in captured.out
    assert "FAILED broken.mp4" in captured.out
    assert "[4/4]" in captured.err  # one progress line per file to do
    cache = tmp_path / "v1" / "clips_resized_32"
    assert sorted(p.name for p in cache.iterdir()) == ["c0.mp4", "c1.mp4", "c2.mp4"]  # no temporaries
    assert decode_all(cache / "c2.mp4")[1].shape == (20, 32, 48, 3)
    (clips / "broken.mp4").unlink()
    (cache / "c1.mp4").unlink()  # as if stopped before c1 was written: the rerun does only c1
    assert guarded_main(main, args) == 0
    captured = capsys.readouterr()
    assert "resized 1 clip(s), 2 already up to date, 0 failed" in captured.out
    assert "[1/1] c1.mp4 done" in captured.err


def test_bad_workers_exit_2(tmp_path, capsys):
    assert guarded_main(main, ["--video-dir", str(tmp_path), "--workers", "0"]) == 2
    assert "--workers 0" in capsys.readouterr().err
