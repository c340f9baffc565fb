"""Properties of the clip samplers."""

from __future__ import annotations

from fractions import Fraction

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from ego_cl.protocols import ClipSampler
from ego_cl.streams.sampling import RandomClipSampler, UniformClipSampler, padded_read, uniform_clip_count
from ego_cl.types import Span
from tests.strategies import TICK, sampler_configs, spans, ticks

DEFAULT_CLIP = Fraction(32, 15)


def _cfg(clip: int, stride: int | None = None, short: str = "extend") -> dict:
    return {
        "clip_s": ticks(clip),
        "stride_s": None if stride is None else ticks(stride),
        "short_window": short,
    }


def _window(start: int, length: int) -> Span:
    return Span(ticks(start), ticks(start + length))


EDGES = [
    (_cfg(10), _window(3, 10)),  # duration == clip
    (_cfg(10), _window(3, 11)),  # clip + 1 tick
    (_cfg(10), _window(3, 9)),  # clip - 1 tick (short window)
    (_cfg(10, 25), _window(0, 60)),  # stride > clip (gaps)
    (_cfg(10, 1), _window(0, 15)),  # stride == 1 tick
    (_cfg(10, 10, "pad"), _window(0, 9)),
    (_cfg(10, 10, "drop"), _window(0, 9)),
]


def _with_edges(test):
    for cfg, window in EDGES:
        test = example(cfg=cfg, window=window)(test)
    return test


@given(cfg=sampler_configs(), window=spans())
@_with_edges
def test_count_equals_closed_form_and_brute_force(cfg, window):
    sampler = UniformClipSampler(**cfg)
    got = list(sampler.spans(window))
    assert len(got) == uniform_clip_count(
        window.duration_s, sampler.clip_s, sampler.step_s, cfg["short_window"]
    )
    # brute force on the tick grid: every start S + k*stride whose clip fits in the window
    clip_t, step_t = int(sampler.clip_s / TICK), int(sampler.step_s / TICK)
    length_t = int(window.duration_s / TICK)
    fitting = [k for k in range(0, length_t + 1) if k % step_t == 0 and k + clip_t <= length_t]
    if fitting:
        assert [int((s.start_s - window.start_s) / TICK) for s in got] == fitting


@given(cfg=sampler_configs(), window=spans())
@_with_edges
def test_spans_have_clip_length_and_lie_inside_the_window(cfg, window):
    sampler = UniformClipSampler(**cfg)
    for span in sampler.spans(window):
        if window.duration_s >= sampler.clip_s:
            assert span.duration_s == sampler.clip_s
            assert window.contains(span)
        elif cfg["short_window"] == "extend":  # the documented exception: runs past the end
            assert span == Span(window.start_s, window.start_s + sampler.clip_s)
        else:
            assert cfg["short_window"] == "pad"
            assert span == window  # inside the window, shorter than a clip


@given(cfg=sampler_configs(), window=spans())
@_with_edges
def test_starts_step_by_stride_from_the_window_start(cfg, window):
    sampler = UniformClipSampler(**cfg)
    starts = [s.start_s for s in sampler.spans(window)]
    assert starts == [window.start_s + k * sampler.step_s for k in range(len(starts))]


@given(cfg=sampler_configs(), window=spans(min_ticks=1), cut=st.integers(1, 300))
@example(cfg=_cfg(10), window=_window(0, 30), cut=10)
@example(cfg=_cfg(10), window=_window(0, 30), cut=19)
def test_causal_a_window_cut_at_t_gives_the_full_spans_ending_by_t(cfg, window, cut):
    sampler = UniformClipSampler(**cfg)
    t = window.start_s + ticks(cut)
    if t > window.end_s or t - window.start_s < sampler.clip_s:
        return  # a cut shorter than a clip is the short-window case, tested above
    full = list(sampler.spans(window))
    partial = list(sampler.spans(Span(window.start_s, t)))
    assert partial == [s for s in full if s.end_s <= t]


@given(cfg=sampler_configs(), window=spans(), offset=st.integers(-200, 200))
def test_window_relative_time_shifting_the_window_shifts_the_spans(cfg, window, offset):
    sampler = UniformClipSampler(**cfg)
    shifted = window.shift(ticks(offset))
    if shifted.start_s < 0:
        return
    assert list(sampler.spans(shifted)) == [s.shift(ticks(offset)) for s in sampler.spans(window)]


def test_default_clip_slices_like_the_original():
    sampler = UniformClipSampler(clip_s=DEFAULT_CLIP)
    window = Span(Fraction(40), Fraction(47))  # 7 s = 3 clips of 32/15 s and a 0.6 s tail
    got = list(sampler.spans(window))
    assert [s.start_s for s in got] == [40, 40 + DEFAULT_CLIP, 40 + 2 * DEFAULT_CLIP]
    assert got[-1].end_s == 40 + 3 * DEFAULT_CLIP < 47


def test_samplers_match_the_protocol_and_are_stateless():
    for sampler in (UniformClipSampler(clip_s=DEFAULT_CLIP), RandomClipSampler(clip_s=DEFAULT_CLIP, seed=3)):
        assert isinstance(sampler, ClipSampler)
        window = Span(Fraction(1), Fraction(30))
        assert list(sampler.spans(window)) == list(sampler.spans(window))


@pytest.mark.parametrize(
    "bad", [{"clip_s": Fraction(0)}, {"clip_s": 1.5}, {"clip_s": 1, "stride_s": Fraction(-1)}]
)
def test_bad_sampler_arguments_are_rejected(bad):
    with pytest.raises((ValueError, TypeError)):
        UniformClipSampler(**bad)


# --- random sampler -------------------------------------------------------------------------------


@given(clip=st.integers(1, 80), window=spans(), seed=st.integers(0, 10**6))
def test_random_sampler_gives_one_clip_inside_the_window_on_the_grid(clip, window, seed):
    sampler = RandomClipSampler(clip_s=ticks(clip), seed=seed, tick_s=TICK)
    got = list(sampler.spans(window))
    assert len(got) == 1
    if window.duration_s >= sampler.clip_s:
        assert window.contains(got[0])
        assert got[0].duration_s == sampler.clip_s
        assert ((got[0].start_s - window.start_s) / TICK).denominator == 1
    assert got == list(RandomClipSampler(clip_s=ticks(clip), seed=seed, tick_s=TICK).spans(window))


def test_random_sampler_depends_on_the_seed_and_covers_the_window():
    window = Span(Fraction(0), Fraction(20))
    starts = {next(RandomClipSampler(clip_s=Fraction(2), seed=s).spans(window)).start_s for s in range(200)}
    assert len(starts) > 100
    assert min(starts) >= 0
    assert max(starts) <= 18


# --- pad reads ------------------------------------------------------------------------------------


@given(clip=st.integers(1, 80), length=st.integers(1, 80), n_frames=st.integers(1, 32))
def test_padded_read_keeps_the_full_clip_frame_grid(clip, length, n_frames):
    clip_s, span = ticks(clip), Span(0, ticks(length))
    read_span, n_read = padded_read(span, clip_s, n_frames)
    if length >= clip:
        assert (read_span, n_read) == (span, n_frames)
        return
    grid = [i * clip_s / n_frames for i in range(n_frames)]
    inside = [t for t in grid if t < span.end_s]
    assert n_read == len(inside)
    # the read span samples the same instants: its own grid step equals the full clip's
    assert read_span.duration_s / n_read == clip_s / n_frames
    assert read_span.start_s == 0
