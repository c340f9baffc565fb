"""swscale threads: the reader converts with its own thread count, never PyAV's per-frame pool."""

from __future__ import annotations

import numpy as np
import pytest

from ego_cl.data.codec import av, scaler_threads
from ego_cl.data.video import ClipReader


class _Frame:
    """Stands in for a decoded ``av.VideoFrame``: records what ``to_ndarray`` was asked for."""

    width, height = 64, 48

    def __init__(self, calls: list[dict]):
        self.calls = calls

    def to_ndarray(self, **kwargs):
        self.calls.append(kwargs)
        return np.zeros((kwargs["height"], kwargs["width"], 3), dtype=np.uint8)


def _pyav_major() -> int:
    return int(av().__version__.split(".")[0])


@pytest.mark.parametrize("threads", [1, 3])
def test_scaler_threads_passes_a_positive_count_where_pyav_takes_it(threads):
    expected = {"threads": threads} if _pyav_major() >= 17 else {}
    assert scaler_threads(threads) == expected


def test_scaler_threads_zero_keeps_pyav_default():
    assert scaler_threads(0) == {}


@pytest.mark.parametrize("thread_count", [0, 1, 2])
def test_reader_converts_with_its_thread_count(thread_count):
    calls: list[dict] = []
    frames = [_Frame(calls), _Frame(calls)]
    out = ClipReader(short_side=24, thread_count=thread_count)._convert([frames[0], frames[1], frames[0]])
    assert out.shape == (3, 24, 32, 3)
    assert len(calls) == 2  # a frame chosen twice is converted once
    for call in calls:
        assert call.get("threads") == scaler_threads(thread_count).get("threads")
        assert (call["width"], call["height"], call["format"]) == (32, 24, "rgb24")


def test_one_scaler_thread_gives_the_pixels_of_the_default(small_video):
    with av().open(str(small_video)) as container:
        decoded = list(container.decode(video=0))[:10]
    for frame in decoded:
        size = {"width": 37, "height": 21, "format": "rgb24", "interpolation": "BILINEAR"}
        np.testing.assert_array_equal(frame.to_ndarray(**size, **scaler_threads(1)), frame.to_ndarray(**size))
    assert len(decoded) == 10
