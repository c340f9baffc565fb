"""The decode-once bounds of ``benchmarks.decode_bound``: the skipping bound converts the same
frames and decodes fewer, so it is a tighter limit than decoding every frame."""

from __future__ import annotations

from fractions import Fraction

import av

from benchmarks.decode_bound import decode_once, shown_pts
from ego_cl.data.video import sample_times, select_frames
from ego_cl.types import Span
from tests.data.conftest import decode_all, encode_video


def test_the_skipping_bound_decodes_fewer_frames_and_converts_the_same(tmp_path):
    path = str(encode_video(tmp_path / "b_frames.mp4", gop=60, seed=1))
    targets = sorted(
        {t for k in range(3) for t in sample_times(Span(Fraction(3 * k, 2), Fraction(3 * k + 2, 2)), 4)}
    )
    every = decode_once((path, targets, 32, False))
    skipping = decode_once((path, targets, 32, True))
    times, _ = decode_all(path)
    assert skipping["converted"] == every["converted"] == len(set(select_frames(times, targets)))
    assert skipping["decoded"] < every["decoded"]


def test_shown_pts_are_the_frames_on_screen_at_the_targets(tmp_path):
    path = str(encode_video(tmp_path / "b_frames.mp4", gop=60, seed=1))
    times, _ = decode_all(path)
    targets = [Fraction(1, 100), Fraction(1), Fraction(41, 30)]
    with av.open(path) as container:
        stream = container.streams.video[0]
        start, base = stream.start_time or 0, stream.time_base
    expected = [start + times[i] / base for i in select_frames(times, targets)]
    assert sorted(shown_pts(path, targets)) == expected
