"""The uniform sampler's integer-tick arithmetic gives the Fraction sums ``S + k * stride`` exactly."""

from __future__ import annotations

from fractions import Fraction

from hypothesis import given
from hypothesis import strategies as st

from ego_cl.streams.sampling import UniformClipSampler, uniform_clip_count
from ego_cl.types import Span

fractions = st.fractions(min_value=-50, max_value=500, max_denominator=97)
positive = st.fractions(min_value=Fraction(1, 97), max_value=20, max_denominator=97)


def _by_fraction_sums(sampler: UniformClipSampler, window: Span) -> list[Span]:
    """The rule as written in the module docstring, in plain Fraction arithmetic."""
    clip_s, step_s, start = sampler.clip_s, sampler.step_s, window.start_s
    if window.duration_s < clip_s:
        return {"extend": [Span(start, start + clip_s)], "pad": [window], "drop": []}[sampler.short_window]
    n = uniform_clip_count(window.duration_s, clip_s, step_s)
    return [Span(start + k * step_s, start + k * step_s + clip_s) for k in range(n)]


@given(
    start=fractions,
    length=positive.map(lambda x: x * 7),
    clip_s=positive,
    stride_s=st.one_of(st.none(), positive),
    short=st.sampled_from(["extend", "pad", "drop"]),
)
def test_spans_are_the_exact_fraction_sums(start, length, clip_s, stride_s, short):
    sampler = UniformClipSampler(clip_s=clip_s, stride_s=stride_s, short_window=short)
    window = Span(start, start + length)
    got = list(sampler.spans(window))
    assert got == _by_fraction_sums(sampler, window)
    assert all(type(t) is Fraction for s in got for t in (s.start_s, s.end_s))
