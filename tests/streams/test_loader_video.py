"""The loader over real H.264 files: forward-decoding readers in contiguous workers give the
pixels of independent fresh reads, in stream order, from any start batch."""

from __future__ import annotations

import shutil
from fractions import Fraction

import pytest
import torch

from ego_cl.data.video import ClipReader
from ego_cl.streams.loader import StreamLoader
from ego_cl.types import Span, StreamSample
from tests.data.conftest import encode_video

CLIP = Fraction(1, 3)
N_FRAMES = 3


class FileSource:
    def __init__(self, directory, forward_s):
        self.directory = directory
        self.reader = ClipReader(thread_count=1, forward_s=forward_s)

    def read_clip(self, clip_uid, span, n_frames):
        return torch.from_numpy(self.reader.read(self.directory / f"{clip_uid}.mp4", span, n_frames))


def _identity(clip):
    return clip


@pytest.fixture(scope="module")
def videos(tmp_path_factory):
    directory = tmp_path_factory.mktemp("videos")
    encode_video(directory / "a.mp4", gop=60, seed=2)
    shutil.copy(directory / "a.mp4", directory / "b.mp4")
    return directory


def _samples():
    out = []
    for uid in ("a", "b"):
        for k in range(14):
            i = len(out)
            span = Span(k * CLIP, (k + 1) * CLIP)
            out.append(
                StreamSample(
                    index=i,
                    user_id="u",
                    clip_uid=uid,
                    video_uid=uid,
                    span=span,
                    actions=((0, 0),),
                    annotation_index=i,
                    clip_index=0,
                )
            )
    return tuple(out)


@pytest.mark.parametrize("workers", [0, 2])
def test_forward_decoding_loader_equals_fresh_reads(videos, workers):
    samples = _samples()
    fresh = FileSource(videos, forward_s=None)
    truth = [fresh.read_clip(s.clip_uid, s.span, N_FRAMES) for s in samples]
    loader = StreamLoader(
        FileSource(videos, forward_s=4),
        samples,
        _identity,
        n_frames=N_FRAMES,
        batch_size=2,
        workers=workers,
        run_batches=3,
        cache_bytes=0,
    )
    for start in (0, 5, 13):
        got = [clip for batch in loader.batches(start) for clip in batch.clips]
        assert len(got) == len(samples) - 2 * start
        for k, clip in enumerate(got):
            assert torch.equal(clip, truth[2 * start + k]), f"sample {2 * start + k}"
