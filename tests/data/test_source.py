"""Ego4dSource: StreamSource over a split file + video root: path safety, missing videos, pickling."""

from __future__ import annotations

import json
import pickle
import shutil
from fractions import Fraction

import numpy as np
import pytest
import torch

from ego_cl.data.source import Ego4dSource, MissingVideosError, UnsafeClipPathError, clip_path
from ego_cl.data.usersplit import find_split_file
from ego_cl.data.video import VideoDecodeError
from ego_cl.protocols import StreamSource
from ego_cl.types import InputError, Span
from tests.data.conftest import encode_video


@pytest.fixture(scope="module")
def test_split(synthetic_root):
    return find_split_file(synthetic_root / "usersplits", "test")


def source_for(synthetic_root, split_file, **kwargs):
    return Ego4dSource(split_file=split_file, video_dir=synthetic_root / "v1/clips", **kwargs)


def test_is_a_stream_source_and_reads_clips(synthetic_root, test_split):
    source = source_for(synthetic_root, test_split)
    assert isinstance(source, StreamSource)
    users = source.users()
    assert len(users) == 2
    first = source.annotations(users[0])[0]
    clip = source.read_clip(
        first.clip_uid, Span(first.span.start_s, first.span.start_s + Fraction(32, 15)), 8
    )
    assert clip.dtype == torch.uint8
    assert clip.shape == (8, 96, 128, 3)
    with pytest.raises(KeyError):
        source.annotations("nobody")
    with pytest.raises(KeyError):
        source.read_clip("not-a-clip", Span(0, 1), 2)


def test_pickles_before_and_after_reading(synthetic_root, test_split):
    source = source_for(synthetic_root, test_split, short_side=32, thread_count=1)
    a = source.annotations(source.users()[0])[0]
    span = Span(a.span.start_s, a.span.start_s + 1)
    fresh = pickle.loads(pickle.dumps(source))
    first = source.read_clip(a.clip_uid, span, 4)
    again = pickle.loads(pickle.dumps(source))
    assert first.shape == (4, 32, 43, 3)
    assert torch.equal(fresh.read_clip(a.clip_uid, span, 4), first)
    assert torch.equal(again.read_clip(a.clip_uid, span, 4), first)


def _split_with_clip_uids(tmp_path, test_split, uids):
    raw = json.loads(test_split.read_text())
    user = next(iter(raw["users"]))
    for entry, uid in zip(raw["users"][user], uids):
        entry["clip_uid"] = uid
    path = tmp_path / "split.json"
    path.write_text(json.dumps(raw))
    return path


@pytest.mark.parametrize("uid", ["../escape", "/etc/passwd", "a/b", "..", ".hidden"])
def test_clip_uid_escaping_the_root_is_refused(tmp_path, synthetic_root, test_split, uid):
    with pytest.raises(UnsafeClipPathError, match="refused"):
        source_for(synthetic_root, _split_with_clip_uids(tmp_path, test_split, [uid]))


def test_symlink_out_of_the_root_is_refused(tmp_path, small_video):
    root = tmp_path / "clips"
    root.mkdir()
    (root / "inside.mp4").symlink_to(small_video)
    with pytest.raises(UnsafeClipPathError, match="leads outside"):
        clip_path(root, "inside")
    shutil.copy(small_video, root / "real.mp4")
    (root / "alias.mp4").symlink_to(root / "real.mp4")
    assert clip_path(root, "alias") == root / "alias.mp4"


def test_missing_videos_reported_together_or_skipped(tmp_path, synthetic_root, test_split):
    videos = tmp_path / "clips"
    shutil.copytree(synthetic_root / "v1/clips", videos)
    source = Ego4dSource(split_file=test_split, video_dir=videos)
    gone = sorted({a.clip_uid for u in source.users() for a in source.annotations(u)})[:2]
    for uid in gone:
        (videos / f"{uid}.mp4").unlink()
    with pytest.raises(MissingVideosError) as info:
        Ego4dSource(split_file=test_split, video_dir=videos)
    assert isinstance(info.value, InputError)
    assert sorted(p.stem for p in info.value.missing) == gone
    assert all(uid in str(info.value) for uid in gone)
    kept = Ego4dSource(split_file=test_split, video_dir=videos, skip_missing_videos=True)
    remaining = {a.clip_uid for u in kept.users() for a in kept.annotations(u)}
    assert remaining
    assert not remaining & set(gone)


def test_cache_is_read_where_present(tmp_path, synthetic_root, test_split):
    source = source_for(synthetic_root, test_split, cache_dir=tmp_path)
    a = source.annotations(source.users()[0])[0]
    assert source.video_path(a.clip_uid) == synthetic_root / "v1/clips" / f"{a.clip_uid}.mp4"
    encode_video(tmp_path / f"{a.clip_uid}.mp4", n_frames=300, width=32, height=24)
    assert source.video_path(a.clip_uid) == tmp_path / f"{a.clip_uid}.mp4"
    assert source.read_clip(a.clip_uid, Span(0, 1), 2).shape == (2, 24, 32, 3)


def test_corrupt_video_raises_typed_error(tmp_path, synthetic_root, test_split):
    videos = tmp_path / "clips"
    shutil.copytree(synthetic_root / "v1/clips", videos)
    source = Ego4dSource(split_file=test_split, video_dir=videos)
    a = source.annotations(source.users()[0])[0]
    (videos / f"{a.clip_uid}.mp4").write_bytes(np.zeros(1000, np.uint8).tobytes())
    with pytest.raises(VideoDecodeError, match=a.clip_uid):
        source.read_clip(a.clip_uid, Span(0, 1), 2)
