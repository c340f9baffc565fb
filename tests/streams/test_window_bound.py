"""A window that would give millions of clips is refused quickly (issue 19.6, second line of
defence behind the annotation check): the sampler is never run to the end."""

from __future__ import annotations

import time
from fractions import Fraction

import pytest

from ego_cl.streams import stream as stream_module
from ego_cl.streams.sampling import UniformClipSampler
from ego_cl.streams.stream import MAX_CLIPS_PER_WINDOW, WindowTooLongError, build_user_stream
from ego_cl.streams.upstream_sampling import UpstreamUniformClipSampler
from ego_cl.types import ActionAnnotation, InputError, Span


def annotation(end_s: Fraction) -> ActionAnnotation:
    return ActionAnnotation(
        clip_uid="clip-a",
        video_uid="vid-a",
        user_id="u",
        origin_video_id="rec",
        clip_parent_start_s=Fraction(0),
        clip_parent_end_s=end_s,
        action_idx=0,
        span=Span(Fraction(0), end_s),
        span_sec=(0.0, float(end_s)),
        verb_label=1,
        noun_label=2,
    )


def build(end_s: Fraction, sampler) -> int:
    stream = build_user_stream(
        [annotation(end_s)],
        user_id="u",
        policy="first_action",
        sampler=sampler,
        clip_s=Fraction(2),
        filter_unseen=False,
    )
    return len(stream)


@pytest.mark.parametrize(
    "sampler", [UniformClipSampler(clip_s=2), UpstreamUniformClipSampler(clip_s=Fraction(2))]
)
def test_a_1e9_second_window_is_refused_quickly(sampler):
    started = time.perf_counter()
    with pytest.raises(WindowTooLongError) as info:
        build(Fraction(10**9), sampler)
    assert time.perf_counter() - started < 30
    assert isinstance(info.value, InputError)  # one line, exit code 2 at the command line
    assert "clip clip-a" in str(info.value)
    assert f"more than {MAX_CLIPS_PER_WINDOW} clips" in str(info.value)


@pytest.mark.parametrize("bound", [1, 7, 100])
def test_windows_up_to_the_bound_are_cut_in_full(monkeypatch, bound):
    monkeypatch.setattr(stream_module, "MAX_CLIPS_PER_WINDOW", bound)
    assert build(Fraction(2 * bound), UniformClipSampler(clip_s=2)) == bound
    assert build(Fraction(2 * bound + 1), UniformClipSampler(clip_s=2)) == bound  # the tail is dropped
    with pytest.raises(WindowTooLongError):
        build(Fraction(2 * bound + 2), UniformClipSampler(clip_s=2))
