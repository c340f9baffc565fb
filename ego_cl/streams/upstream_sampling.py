"""The original's clip slicing in its own float arithmetic (``stream.upstream_float_boundaries``).

EgoAdapt cuts a window ``[S, E]`` (float seconds) with pytorchvideo 0.1.5's
``UniformClipSampler(D, stride)`` wrapped in its "enhanced untrimmed" sampler (spec §3.3): the
wrapped sampler runs on ``duration = E - S`` in window-relative time, is first called with a
previous end of ``0.0 - S`` (clamped to 0 inside pytorchvideo), and every returned time gets ``S``
added back; the next call passes the previous *absolute* end minus ``S``. The types matter:

- relative start ``r = Fraction(max(prev_rel_end - max(0, D - stride), 0))`` (``prev_rel_end`` a
  float, so this is a float difference), relative end ``r + D`` (exact ``Fraction``);
- last clip when ``next end > duration``, with the next end computed exactly from this end;
- absolute times ``Fraction + float``, i.e. **float** additions ``float(r) + S``, ``float(r + D) + S``.

So clip ends drift off the exact grid by rounding: a window of exactly ``k >= 2`` clips (``64 k``
frames written as floats) gives ``k - 1`` clips for 44-66 % of start frames (k = 2..4).
:class:`UpstreamUniformClipSampler` repeats this arithmetic step for step; its spans are the exact
values of the original's float times. The exact sampler is
:class:`ego_cl.streams.sampling.UniformClipSampler`.
"""

from __future__ import annotations

from collections.abc import Iterator
from fractions import Fraction

import attrs

from ego_cl.streams.sampling import ShortWindow
from ego_cl.types import Span

__all__ = ["UpstreamUniformClipSampler"]

_SHORT_WINDOW = ("extend", "pad", "drop")


def _fraction(value: object) -> Fraction:
    if isinstance(value, bool) or not isinstance(value, Fraction | int | str):
        raise TypeError(f"expected exact seconds (Fraction, int or 'a/b' str), got {value!r}")
    return Fraction(value)


@attrs.frozen(kw_only=True)
class UpstreamUniformClipSampler:
    """Back-to-back (or strided) clips cut exactly as the original's float arithmetic cuts them.

    Args:
        clip_s: Clip length ``D`` (the original's ``Fraction(32 * 2, 30)``).
        stride_s: Step between clip starts, at most ``clip_s``; ``None`` means ``clip_s``.
        short_window: ``extend`` (the original: one clip ``[S, S + D]``), ``pad`` (the window
            itself) or ``drop``, for windows whose float length ``E - S`` is below ``clip_s``.

    The window's bounds are taken as floats (``float(window.start_s)``, exact for windows built
    from float times); the spans are the exact values of the float times the original produces.

    Example:
        >>> sampler = UpstreamUniformClipSampler(clip_s=Fraction(64, 30))
        >>> window = Span(Fraction(0), Fraction(128 / 30))  # frames 0..128 as floats: two clips long
        >>> [(float(s.start_s), float(s.end_s)) for s in sampler.spans(window)]  # the original: one
        [(0.0, 2.1333333333333333)]
    """

    clip_s: Fraction = attrs.field(converter=_fraction)
    stride_s: Fraction | None = attrs.field(default=None, converter=attrs.converters.optional(_fraction))
    short_window: ShortWindow = attrs.field(default="extend", validator=attrs.validators.in_(_SHORT_WINDOW))

    def __attrs_post_init__(self) -> None:
        if self.clip_s <= 0:
            raise ValueError(f"clip_s must be > 0, got {self.clip_s}")
        if self.stride_s is not None and not 0 < self.stride_s <= self.clip_s:
            raise ValueError(f"stride_s must be > 0 and <= clip_s (pytorchvideo 0.1.5), got {self.stride_s}")

    @property
    def step_s(self) -> Fraction:
        """The effective stride in seconds."""
        return self.clip_s if self.stride_s is None else self.stride_s

    def _relative(self, previous_end: float | Fraction) -> tuple[Fraction, Fraction]:
        """pytorchvideo's start/end from a previous (relative) end, with its operand types."""
        start = Fraction(max(previous_end - max(0, self.clip_s - self.step_s), 0))
        return start, Fraction(start + self.clip_s)

    def spans(self, window: Span) -> Iterator[Span]:
        """Clip spans of ``window`` in the original's order and arithmetic."""
        start, end = float(window.start_s), float(window.end_s)
        duration = end - start
        if duration < self.clip_s and self.short_window != "extend":
            if self.short_window == "pad":
                yield window
            return
        absolute_end = 0.0
        while True:
            rel_start, rel_end = self._relative(absolute_end - start)
            _, next_end = self._relative(rel_end)
            absolute_start, absolute_end = float(rel_start) + start, float(rel_end) + start
            yield Span(Fraction(absolute_start), Fraction(absolute_end))
            if next_end > duration:
                return
