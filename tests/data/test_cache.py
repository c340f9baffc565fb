"""The resized-clip cache keeps every frame and its timestamp; the reader gives the same frames."""

from __future__ import annotations

from fractions import Fraction

import numpy as np

from ego_cl.data.cache import cached_size, resize_video
from ego_cl.data.video import ClipReader, sample_times, select_frames
from ego_cl.types import Span
from tests.data.conftest import decode_all, encode_video


def test_resized_copy_keeps_frames_and_times(tmp_path):
    src = encode_video(tmp_path / "src.mp4", n_frames=60, width=128, height=96)
    dst = tmp_path / "dst.mp4"
    dst.write_bytes(resize_video(src, short_side=48))
    times_src, _ = decode_all(src)
    times_dst, frames_dst = decode_all(dst)
    assert times_dst == times_src
    assert frames_dst.shape == (60, 48, 64, 3)
    span = Span(Fraction(7, 30), Fraction(40, 30))
    _, source_frames = decode_all(src, size=(64, 48))
    wanted = select_frames(times_src, sample_times(span, 5))
    from_cache = ClipReader().read(dst, span, 5).astype(int)
    # each frame read from the cache is (a lossy copy of) the frame the rule picks in the source
    distance = np.abs(from_cache[:, None] - source_frames[None].astype(int)).mean(axis=(2, 3, 4))
    assert distance.argmin(axis=1).tolist() == wanted


def test_never_upscaled_and_even():
    assert cached_size(128, 96, 320) == (128, 96)
    assert cached_size(1920, 1080, 320) == (570, 320)
    assert cached_size(1080, 1920, 320) == (320, 570)
