"""Clip samplers: cut one window into clip spans (stateless, exact Fraction time).

Exact means: a window of exactly ``k`` clip lengths (e.g. ``64 k`` frames from the frame fields,
``ego_cl.data.frames``) gives exactly ``k`` clips. The original's float arithmetic, where such a
window often gives ``k - 1``, is :mod:`ego_cl.streams.upstream_sampling`.

:class:`UniformClipSampler` is the online-stream sampler (DESIGN §5, spec §3.3), computed in
window-relative time: for a window ``[S, E)`` of length ``L >= D`` (``D = clip_s``, stride ``s``)
it yields ``[S + k*s, S + k*s + D)`` for ``k = 0 .. floor((L - D) / s)`` (with ``s = D``:
``floor(L / D)`` back-to-back clips; the tail shorter than a clip is discarded). A window shorter
than one clip (``L < D``) follows ``short_window``:

- ``extend`` (the original): one span ``[S, S + D)`` that runs past the window's end.
- ``pad``: one span ``[S, E)``, i.e. kept inside the window and shorter than ``D``. The loader
  reads it on the same frame grid as a full clip, ``n_frames`` instants ``S + i*D/n_frames``,
  and repeats the last frame before ``E`` for the instants at or past ``E``
  (:func:`padded_read`). Such a span is the only kind shorter than ``clip_s``.
- ``drop``: no span.

:class:`RandomClipSampler` (pretraining) yields one span of length ``D`` at a seeded random
start on a tick grid inside the window; the draw depends only on ``(seed, window)``.
"""

from __future__ import annotations

import functools
import math
import random
from collections.abc import Iterator
from fractions import Fraction
from typing import Literal

import attrs

from ego_cl.types import Span

__all__ = [
    "RandomClipSampler",
    "ShortWindow",
    "UniformClipSampler",
    "padded_read",
    "uniform_clip_count",
]

ShortWindow = Literal["extend", "pad", "drop"]
_SHORT_WINDOW = ("extend", "pad", "drop")


def _to_fraction(value: object) -> Fraction:
    if isinstance(value, Fraction):
        return value
    if isinstance(value, int | str) and not isinstance(value, bool):
        return Fraction(value)
    raise TypeError(f"expected exact seconds (Fraction, int or 'a/b' str), got {value!r}")


@functools.lru_cache(maxsize=1 << 16)
def _seconds(ticks: int, den: int) -> Fraction:
    """``Fraction(ticks, den)``, cached: a user's clips share their times (clip grid, window ends)."""
    return Fraction(ticks, den)


def _positive(instance: object, attribute: attrs.Attribute, value: Fraction) -> None:
    if value <= 0:
        raise ValueError(f"{attribute.name} must be > 0, got {value}")


def uniform_clip_count(
    duration_s: Fraction, clip_s: Fraction, stride_s: Fraction, short_window: ShortWindow = "extend"
) -> int:
    """Closed-form number of spans :class:`UniformClipSampler` gives for a window.

    Example:
        >>> uniform_clip_count(Fraction(5), Fraction(2), Fraction(2))
        2
        >>> uniform_clip_count(Fraction(1), Fraction(2), Fraction(2), "drop")
        0
    """
    if duration_s < clip_s:
        return 0 if short_window == "drop" else 1
    return math.floor((duration_s - clip_s) / stride_s) + 1


@attrs.frozen(kw_only=True)
class UniformClipSampler:
    """Consecutive clips of ``clip_s`` seconds every ``stride_s`` seconds inside a window.

    Args:
        clip_s: Clip length ``D`` in seconds (32 frames x rate 2 / 30 fps = 32/15 s upstream).
        stride_s: Step between clip starts; ``None`` means ``clip_s`` (no overlap, no gap).
        short_window: ``extend``, ``pad`` or ``drop`` for windows shorter than one clip.

    Example:
        >>> sampler = UniformClipSampler(clip_s=Fraction(2))
        >>> [(str(s.start_s), str(s.end_s)) for s in sampler.spans(Span(Fraction(1), Fraction(6)))]
        [('1', '3'), ('3', '5')]
        >>> [(str(s.start_s), str(s.end_s)) for s in sampler.spans(Span(Fraction(1), Fraction(2)))]
        [('1', '3')]
    """

    clip_s: Fraction = attrs.field(converter=_to_fraction, validator=_positive)
    stride_s: Fraction | None = attrs.field(default=None, converter=attrs.converters.optional(_to_fraction))
    short_window: ShortWindow = attrs.field(default="extend", validator=attrs.validators.in_(_SHORT_WINDOW))

    def __attrs_post_init__(self) -> None:
        if self.stride_s is not None and self.stride_s <= 0:
            raise ValueError(f"stride_s must be > 0, got {self.stride_s}")

    @property
    def step_s(self) -> Fraction:
        """The effective stride in seconds."""
        return self.clip_s if self.stride_s is None else self.stride_s

    def spans(self, window: Span) -> Iterator[Span]:
        """Clip spans of ``window``, sorted by start (see the module docstring for the rule)."""
        # exact, in integer counts of 1/den s: the k-th clip starts at start + k * step (the
        # Fraction of an integer ratio is the same normalised number the Fraction sums give)
        # (each numerator / denominator read once: they are Python-level properties)
        start, end, clip_s, step_s = window.start_s, window.end_s, self.clip_s, self.step_s
        start_den, end_den, clip_den, step_den = (
            start.denominator,
            end.denominator,
            clip_s.denominator,
            step_s.denominator,
        )
        den = math.lcm(start_den, end_den, clip_den, step_den)
        first, last = start.numerator * (den // start_den), end.numerator * (den // end_den)
        clip = clip_s.numerator * (den // clip_den)
        if last - first < clip:
            if self.short_window == "extend":
                yield Span(start, start + clip_s)
            elif self.short_window == "pad":
                yield window
            return
        step = step_s.numerator * (den // step_den)
        n_clips = (last - first - clip) // step + 1
        yield Span(start, _seconds(first + clip, den))  # the first clip starts with the window
        for tick in range(first + step, first + n_clips * step, step):
            yield Span(_seconds(tick, den), _seconds(tick + clip, den))


@attrs.frozen(kw_only=True)
class RandomClipSampler:
    """One clip at a random start inside the window, seeded and stateless.

    The start is ``S + k * tick_s`` with ``k`` uniform in ``0 .. floor((L - D) / tick_s)``, drawn
    from a generator seeded by ``(seed, window)``: the same window always gives the same clip, and
    a new seed (e.g. ``base_seed + epoch``) gives a new draw. Short windows follow
    ``short_window`` exactly as :class:`UniformClipSampler`.

    Args:
        clip_s: Clip length in seconds.
        seed: Seed of the draws.
        tick_s: Grid of possible starts (default one frame at 30 fps).
        short_window: ``extend``, ``pad`` or ``drop`` for windows shorter than one clip.

    Example:
        >>> sampler = RandomClipSampler(clip_s=Fraction(2), seed=0)
        >>> window = Span(Fraction(0), Fraction(10))
        >>> list(sampler.spans(window)) == list(sampler.spans(window))
        True
    """

    clip_s: Fraction = attrs.field(converter=_to_fraction, validator=_positive)
    seed: int
    tick_s: Fraction = attrs.field(default=Fraction(1, 30), converter=_to_fraction, validator=_positive)
    short_window: ShortWindow = attrs.field(default="extend", validator=attrs.validators.in_(_SHORT_WINDOW))

    def spans(self, window: Span) -> Iterator[Span]:
        """One span of ``window`` (or none for a dropped short window)."""
        start, length = window.start_s, window.duration_s
        if length < self.clip_s:
            yield from UniformClipSampler(clip_s=self.clip_s, short_window=self.short_window).spans(window)
            return
        n_starts = math.floor((length - self.clip_s) / self.tick_s) + 1
        rng = random.Random(f"{self.seed}:{window.start_s}:{window.end_s}")
        offset = rng.randrange(n_starts) * self.tick_s
        yield Span(start + offset, start + offset + self.clip_s)


def padded_read(span: Span, clip_s: Fraction, n_frames: int) -> tuple[Span, int]:
    """What to decode for a ``pad`` span shorter than a clip: ``(read_span, n_read)``.

    The full clip would sample ``n_frames`` instants ``S + i*clip_s/n_frames``. The ones before the
    span's end are the first ``n_read = ceil(n_frames * L / clip_s)``, which ``read_span =
    [S, S + n_read*clip_s/n_frames)`` holds on the same grid; the caller repeats the last of them
    up to ``n_frames``. A span of full length reads unchanged.

    Example:
        >>> read_span, n_read = padded_read(Span(0, Fraction(1, 2)), Fraction(2), 8)
        >>> str(read_span.end_s), n_read
        ('1/2', 2)
        >>> padded_read(Span(0, 2), Fraction(2), 8) == (Span(0, 2), 8)
        True
    """
    if span.duration_s >= clip_s:
        return span, n_frames
    n_read = max(1, math.ceil(n_frames * span.duration_s / clip_s))
    return Span(span.start_s, span.start_s + n_read * clip_s / n_frames), n_read
