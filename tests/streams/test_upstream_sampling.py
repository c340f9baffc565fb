"""The float sampler of ``upstream_float_boundaries`` against pytorchvideo 0.1.5 itself."""

from __future__ import annotations

from fractions import Fraction

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from ego_cl.streams.config import StreamConfig
from ego_cl.streams.from_config import sampler_from_config
from ego_cl.streams.sampling import UniformClipSampler
from ego_cl.streams.upstream_sampling import UpstreamUniformClipSampler
from ego_cl.types import Span

clip_sampling = pytest.importorskip("pytorchvideo.data.clip_sampling")

D = Fraction(64, 30)


def ptv_spans(start: float, end: float, clip_s: Fraction, stride_s: Fraction | None) -> list[tuple]:
    """Drive pytorchvideo's sampler the original's way (spec §3.3): window-relative time, the
    previous absolute end (0.0 at first) minus the window start passed in, the window start
    added back to what comes out, until ``is_last_clip``."""
    sampler = clip_sampling.UniformClipSampler(clip_duration=clip_s, stride=stride_s)
    out, previous_end = [], 0.0
    while True:
        info = sampler(previous_end - start, end - start, {})
        clip_start, clip_end = info.clip_start_sec + start, info.clip_end_sec + start
        out.append((Fraction(clip_start), Fraction(clip_end)))
        previous_end = clip_end
        if info.is_last_clip:
            return out


def ours(start: float, end: float, clip_s: Fraction, stride_s: Fraction | None) -> list[tuple]:
    sampler = UpstreamUniformClipSampler(clip_s=clip_s, stride_s=stride_s)
    return [(s.start_s, s.end_s) for s in sampler.spans(Span(Fraction(start), Fraction(end)))]


@st.composite
def clips_and_strides(draw) -> tuple[Fraction, Fraction | None]:
    clip = draw(st.sampled_from([64]) | st.integers(1, 120))
    stride = draw(st.none() | st.integers(1, clip))
    return Fraction(clip, 30), None if stride is None else Fraction(stride, 30)


@st.composite
def frame_grid_windows(draw) -> tuple[float, float]:
    """Frame positions written as floats (``f / 30``), often exactly k clips long or one frame off."""
    first = draw(st.integers(0, 9000))
    length = draw(st.integers(1, 8).map(lambda k: 64 * k) | st.integers(1, 600))
    length += draw(st.sampled_from([0, 0, -1, 1]))
    return first / 30, (first + max(length, 1)) / 30


@st.composite
def float_windows(draw) -> tuple[float, float]:
    start = draw(st.floats(0, 600, allow_nan=False))
    length = draw(st.floats(1e-3, 30, allow_nan=False))
    end = start + length
    return (start, end) if end > start else (start, start + 1.0)


@given(window=frame_grid_windows() | float_windows(), clip=clips_and_strides())
@example(window=(0.0, 128 / 30), clip=(D, None))  # two clips of frames, one in floats
@example(window=(1 / 30, 129 / 30), clip=(D, None))
@example(window=(41.2, 41.2 + 0.5), clip=(D, None))  # short window: one clip past its end
@example(window=(0.0, 10.0), clip=(D, Fraction(16, 30)))  # overlapping clips
def test_spans_equal_pytorchvideo_driven_the_originals_way(window, clip):
    start, end = window
    clip_s, stride_s = clip
    assert ours(start, end, clip_s, stride_s) == ptv_spans(start, end, clip_s, stride_s)


def test_float_drift_loses_a_clip_where_exact_frames_keep_it():
    window = Span(Fraction(0), Fraction(128 / 30))  # frames 0..128 written as floats
    assert len(ours(0.0, 128 / 30, D, None)) == 1 == len(ptv_spans(0.0, 128 / 30, D, None))
    exact = UniformClipSampler(clip_s=D).spans(Span(Fraction(0), Fraction(128, 30)))
    assert [(s.start_s, s.end_s) for s in exact] == [(0, D), (D, 2 * D)]
    assert window.end_s < Fraction(128, 30)


@pytest.mark.parametrize(("rule", "n"), [("extend", 1), ("pad", 1), ("drop", 0)])
def test_short_windows_follow_the_rule(rule, n):
    window = Span(Fraction(41.2), Fraction(42.0))
    spans = list(UpstreamUniformClipSampler(clip_s=D, short_window=rule).spans(window))
    assert len(spans) == n
    if rule == "pad":
        assert spans == [window]
    if rule == "extend":
        assert spans[0].start_s == window.start_s
        assert float(spans[0].end_s) == float(D) + 41.2


@pytest.mark.parametrize("stride", [Fraction(0), Fraction(-1), D + Fraction(1, 30)])
def test_stride_outside_pytorchvideos_range_is_rejected(stride):
    with pytest.raises(ValueError, match="stride_s"):
        UpstreamUniformClipSampler(clip_s=D, stride_s=stride)


def test_config_selects_the_sampler_and_checks_the_stride():
    assert isinstance(sampler_from_config(StreamConfig()), UniformClipSampler)
    upstream = sampler_from_config(StreamConfig(upstream_float_boundaries=True, short_window="drop"))
    assert isinstance(upstream, UpstreamUniformClipSampler)
    assert (upstream.clip_s, upstream.short_window) == (Fraction(32, 15), "drop")
    with pytest.raises(ValueError, match="stride_s"):
        StreamConfig(upstream_float_boundaries=True, stride_s=Fraction(3))
    assert StreamConfig(stride_s=Fraction(3)).stride_s == 3  # the exact sampler allows gaps
