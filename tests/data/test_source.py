"""Ego4dSource: StreamSource over a split file + video root: path safety, missing videos, pickling."""

from __future__ import annotations

import json
import os
import pickle
import shutil
from fractions import Fraction

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

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


def test_over_long_uid_refused_by_the_path_check_too(tmp_path):
    with pytest.raises(UnsafeClipPathError, match="longer than a file name"):
        clip_path(tmp_path, "x" * 300)  # the split loader refuses it first; this guards other callers


@pytest.mark.parametrize("uid", ["../x", "/abs/clip"])
def test_refusal_is_one_line_naming_file_record_and_field(tmp_path, synthetic_root, test_split, uid):
    split = _split_with_clip_uids(tmp_path, test_split, ["ok-first", uid])
    with pytest.raises(UnsafeClipPathError) as info:
        source_for(synthetic_root, split)
    message = str(info.value)
    assert "\n" not in message
    assert len(message) < 400
    assert message.startswith(f"{split}: users[")
    assert "][1] clip_uid" in message


def _videos_with_escaping_link(tmp_path, small_video):
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    shutil.copy(small_video, outside / "secret.mp4")
    videos = tmp_path / "clips"
    videos.mkdir()
    (videos / "leak.mp4").symlink_to(outside / "secret.mp4")
    return videos


def test_escaping_symlink_refused_by_default_and_read_when_allowed(tmp_path, small_video):
    videos = _videos_with_escaping_link(tmp_path, small_video)
    with pytest.raises(UnsafeClipPathError, match=r"data\.allow_outside_symlinks"):
        clip_path(videos, "leak")
    assert clip_path(videos, "leak", allow_outside_symlinks=True) == videos / "leak.mp4"


def test_symlinked_root_is_allowed_but_escapes_below_it_are_not(tmp_path, small_video):
    real = tmp_path / "real_clips"
    real.mkdir()
    shutil.copy(small_video, real / "good.mp4")
    linked_root = tmp_path / "linked_clips"
    linked_root.symlink_to(real, target_is_directory=True)
    assert clip_path(linked_root, "good") == linked_root / "good.mp4"
    (real / "bad.mp4").symlink_to(small_video)  # small_video lives outside real_clips
    with pytest.raises(UnsafeClipPathError, match="leads outside"):
        clip_path(linked_root, "bad")


def test_source_refuses_a_split_naming_an_escaping_symlink(tmp_path, synthetic_root, test_split):
    videos = tmp_path / "clips"
    shutil.copytree(synthetic_root / "v1/clips", videos)
    clips = _all_clips(source_for(synthetic_root, test_split))
    target = videos / f"{clips[0]}.mp4"
    outside = tmp_path / "outside.mp4"
    target.rename(outside)
    target.symlink_to(outside)
    with pytest.raises(UnsafeClipPathError, match=r"users\[.*\]\[\d+\] clip_uid"):
        Ego4dSource(split_file=test_split, video_dir=videos)
    allowed = Ego4dSource(split_file=test_split, video_dir=videos, allow_outside_symlinks=True)
    assert allowed.video_path(clips[0]) == target


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


def _all_clips(source):
    return sorted({a.clip_uid for u in source.users() for a in source.annotations(u)})


def test_cache_is_read_where_an_up_to_date_copy_is_present(tmp_path, synthetic_root, test_split):
    bare = source_for(synthetic_root, test_split, cache_dir=tmp_path, cache_short_side=24)
    clips = _all_clips(bare)
    assert bare.frames.n_cache == 0
    assert bare.frames.n_clips == len(clips)
    fresh, stale = clips[0], clips[1]
    encode_video(tmp_path / f"{fresh}.mp4", n_frames=300, width=32, height=24)
    encode_video(tmp_path / f"{stale}.mp4", n_frames=300, width=32, height=24)
    old = (synthetic_root / "v1/clips" / f"{stale}.mp4").stat().st_mtime - 100
    os.utime(tmp_path / f"{stale}.mp4", (old, old))  # older than its source: not up to date
    source = source_for(synthetic_root, test_split, cache_dir=tmp_path, cache_short_side=24)
    assert source.video_path(fresh) == tmp_path / f"{fresh}.mp4"
    assert source.video_path(stale) == synthetic_root / "v1/clips" / f"{stale}.mp4"
    assert source.is_cached(fresh)
    assert not source.is_cached(stale)
    assert source.read_clip(fresh, Span(0, 1), 2).shape == (2, 24, 32, 3)
    assert source.read_clip(stale, Span(0, 1), 2).shape == (2, 96, 128, 3)
    assert source.frames.n_cache == 1
    assert source.frames.n_source == len(clips) - 1
    assert source.frames.describe() == f"cache 24p: 1 of {len(clips)} clips; source: {len(clips) - 1}"
    assert source.frames.cached_digest != bare.frames.cached_digest


def test_a_cached_copy_stands_in_for_a_missing_source(tmp_path, synthetic_root, test_split):
    videos, cache = tmp_path / "clips", tmp_path / "cache"
    shutil.copytree(synthetic_root / "v1/clips", videos)
    cache.mkdir()
    clips = _all_clips(source_for(synthetic_root, test_split))
    shutil.copy(videos / f"{clips[0]}.mp4", cache / f"{clips[0]}.mp4")
    (videos / f"{clips[0]}.mp4").unlink()
    source = Ego4dSource(split_file=test_split, video_dir=videos, cache_dir=cache)
    assert source.video_path(clips[0]) == cache / f"{clips[0]}.mp4"
    with pytest.raises(MissingVideosError):
        Ego4dSource(split_file=test_split, video_dir=videos)


def test_corrupt_video_raises_typed_error(tmp_path, synthetic_root, test_split):
    videos = tmp_path / "clips"
    shutil.copytree(synthetic_root / "v1/clips", videos)
    source = Ego4dSource(split_file=test_split, video_dir=videos)
    a = source.annotations(source.users()[0])[0]
    (videos / f"{a.clip_uid}.mp4").write_bytes(np.zeros(1000, np.uint8).tobytes())
    with pytest.raises(VideoDecodeError, match=a.clip_uid):
        source.read_clip(a.clip_uid, Span(0, 1), 2)


@settings(max_examples=300, deadline=None)
@given(uid=st.text(min_size=0, max_size=300))
def test_any_clip_uid_is_refused_or_names_a_file_directly_in_the_root(tmp_path_factory, uid):
    root = tmp_path_factory.getbasetemp() / "prop_root"
    try:
        path = clip_path(root, uid)
    except UnsafeClipPathError as exc:
        message = str(exc)
    else:
        message = None
    if message is not None:
        assert "\n" not in message  # one line, whatever the uid holds
        return
    assert path.parent == root
    assert path.name == f"{uid}.mp4"
    assert len(path.name.encode()) <= 255
