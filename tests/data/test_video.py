"""The PyAV clip reader: frame-exact against a full decode, past-end rule, typed errors."""

from __future__ import annotations

import pickle
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from ego_cl.data.video import ClipReader, VideoDecodeError, output_size, sample_times, select_frames
from ego_cl.types import InputError, Span
from tests.data.conftest import decode_all, encode_video

TICK = Fraction(1, 210)  # finer than a frame and not aligned with it


@pytest.fixture(scope="module")
def oracle(small_video):
    return decode_all(small_video)


@pytest.fixture(scope="module")
def reader():
    return ClipReader(thread_type="AUTO", max_open=1)


def expected(oracle, span, n):
    times, frames = oracle
    return frames[select_frames(times, sample_times(span, n))]


@given(
    start=st.integers(0, 1043),  # the last frame is at 149/30 s = 1043 ticks
    length=st.integers(1, 3 * 210),
    n=st.integers(1, 12),
)
def test_reader_equals_full_decode_then_select(small_video, oracle, reader, start, length, n):
    span = Span(start * TICK, (start + length) * TICK)
    got = reader.read(small_video, span, n)
    assert got.dtype == np.uint8
    assert got.shape == (n, 48, 64, 3)
    np.testing.assert_array_equal(got, expected(oracle, span, n))


def test_span_of_64_frames_picks_every_8th(small_video, oracle, reader):
    _times, frames = oracle
    got = reader.read(small_video, Span(Fraction(10, 30), Fraction(74, 30)), 8)
    np.testing.assert_array_equal(got, frames[10:74:8])


def test_past_end_repeats_last_frame(small_video, oracle, reader):
    times, frames = oracle
    last = times[-1]
    got = reader.read(small_video, Span(last - Fraction(2, 30), last + 2), 6)
    np.testing.assert_array_equal(got[0], frames[-3])
    for i in range(2, 6):
        np.testing.assert_array_equal(got[i], frames[-1])


def test_span_after_last_frame_is_an_error(small_video, reader):
    with pytest.raises(VideoDecodeError, match="starts after the last frame"):
        reader.read(small_video, Span(7, 8), 4)


def test_resize_during_conversion(small_video):
    size = output_size(64, 48, 24)
    assert size == (32, 24)
    got = ClipReader(short_side=24).read(small_video, Span(1, 2), 3)
    times, frames = decode_all(small_video, size=size)
    np.testing.assert_array_equal(got, frames[select_frames(times, sample_times(Span(1, 2), 3))])


def test_reader_pickles_without_open_containers(small_video, reader):
    reader.read(small_video, Span(0, 1), 2)
    clone = pickle.loads(pickle.dumps(reader))
    np.testing.assert_array_equal(
        clone.read(small_video, Span(0, 1), 2), reader.read(small_video, Span(0, 1), 2)
    )


def test_missing_file(tmp_path, reader):
    with pytest.raises(VideoDecodeError) as info:
        reader.read(tmp_path / "nope.mp4", Span(1, 2), 2)
    assert isinstance(info.value, InputError)
    assert "nope.mp4" in str(info.value)
    assert "[1, 2)" in str(info.value)
    assert "file not found" in str(info.value)


def test_corrupt_file(tmp_path, reader):
    path = tmp_path / "garbage.mp4"
    path.write_bytes(np.random.default_rng(1).integers(0, 255, 5000, dtype=np.uint8).tobytes())
    with pytest.raises(VideoDecodeError, match="cannot open video"):
        reader.read(path, Span(0, 1), 2)


def test_truncated_file_without_index(tmp_path, small_video, reader):
    data = small_video.read_bytes()
    path = tmp_path / "cut.mp4"
    path.write_bytes(data[: len(data) // 2])  # moov atom at the end: gone
    with pytest.raises(VideoDecodeError, match="cannot open video"):
        reader.read(path, Span(0, 1), 2)


def test_truncated_file_with_index_in_front(tmp_path, reader):
    full = encode_video(tmp_path / "fast.mp4", faststart=True)
    data = full.read_bytes()
    path = tmp_path / "cut.mp4"
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(VideoDecodeError, match="truncated"):
        reader.read(path, Span(4, 5), 2)
