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


# --- decode once: a reader continuing forward gives exactly what independent fresh reads give ---

SPAN_TICKS = st.tuples(st.integers(0, 1043), st.integers(1, 3 * 210), st.integers(1, 8))


class CountingReader(ClipReader):
    """Counts fresh (seeking) reads: ``_frames_from`` runs only when a read seeks."""

    seeks = 0

    def _frames_from(self, *args, **kwargs):
        self.seeks += 1
        return super()._frames_from(*args, **kwargs)


@pytest.fixture(scope="module")
def long_gop_video(tmp_path_factory):
    """5 s, one keyframe every 60 frames (2 s)."""
    return encode_video(tmp_path_factory.mktemp("video") / "long_gop.mp4", gop=60, seed=1)


def _spans(ticks):
    return [(Span(s * TICK, (s + length) * TICK), n) for s, length, n in ticks]


def _check_sequence(paths, reads, forward_s):
    reader = ClipReader(forward_s=forward_s, max_open=1 if len(paths) > 1 else 2)
    for k, (span, n) in enumerate(reads):
        path = paths[k % len(paths)]
        fresh = ClipReader(forward_s=None, skip_nonref=False).read(path, span, n)
        np.testing.assert_array_equal(reader.read(path, span, n), fresh, err_msg=f"read {k}: {span}")


@given(ticks=st.lists(SPAN_TICKS, min_size=1, max_size=8), forward=st.sampled_from([0, 1, 4, 100]))
def test_increasing_spans_through_one_reader_equal_fresh_reads(small_video, long_gop_video, ticks, forward):
    reads = _spans(sorted(ticks))
    _check_sequence([long_gop_video], reads, forward)
    _check_sequence([small_video], reads, forward)


@given(ticks=st.lists(SPAN_TICKS, min_size=1, max_size=8), forward=st.sampled_from([0, 1, 4, 100]))
def test_arbitrary_spans_through_one_reader_equal_fresh_reads(small_video, long_gop_video, ticks, forward):
    _check_sequence([long_gop_video], _spans(ticks), forward)


@given(ticks=st.lists(SPAN_TICKS, min_size=2, max_size=8))
def test_spans_alternating_between_files_equal_fresh_reads(small_video, long_gop_video, ticks):
    _check_sequence([small_video, long_gop_video], _spans(sorted(ticks)), 100)


@given(ticks=st.lists(SPAN_TICKS, min_size=1, max_size=8))
def test_continued_reads_equal_full_decode_then_select(long_gop_video, ticks):
    times, frames = decode_all(long_gop_video)
    reader = ClipReader(forward_s=100)
    for span, n in _spans(sorted(ticks)):
        np.testing.assert_array_equal(
            reader.read(long_gop_video, span, n), frames[select_frames(times, sample_times(span, n))]
        )


def test_consecutive_clips_seek_once(long_gop_video, oracle):
    reader = CountingReader(forward_s=4)
    clips = [Span(Fraction(k, 3), Fraction(k + 1, 3)) for k in range(14)]
    for span in clips:
        reader.read(long_gop_video, span, 4)
    assert reader.seeks == 1


def test_spans_beyond_forward_s_or_backwards_seek(long_gop_video):
    reader = CountingReader(forward_s=1)
    reader.read(long_gop_video, Span(0, Fraction(1, 2)), 2)
    reader.read(long_gop_video, Span(1, Fraction(3, 2)), 2)  # 1/2 s ahead: continue
    assert reader.seeks == 1
    reader.read(long_gop_video, Span(3, Fraction(7, 2)), 2)  # > 1 s past the position: seek
    assert reader.seeks == 2
    reader.read(long_gop_video, Span(2, Fraction(5, 2)), 2)  # backwards: seek
    assert reader.seeks == 3


def test_no_forward_s_seeks_every_span(long_gop_video):
    reader = CountingReader(forward_s=None)
    for k in range(4):
        reader.read(long_gop_video, Span(Fraction(k, 3), Fraction(k + 1, 3)), 2)
    assert reader.seeks == 4


def test_pickled_reader_drops_its_decoder_position(long_gop_video):
    reader = ClipReader()
    reader.read(long_gop_video, Span(0, 1), 2)
    clone = pickle.loads(pickle.dumps(reader))
    np.testing.assert_array_equal(
        clone.read(long_gop_video, Span(1, 2), 3),
        ClipReader(forward_s=None).read(long_gop_video, Span(1, 2), 3),
    )


def test_negative_forward_s_is_rejected():
    with pytest.raises(ValueError, match="forward_s"):
        ClipReader(forward_s=-1)
