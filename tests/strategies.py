"""Shared hypothesis strategies. Times are built from integer ticks, never floats."""

from __future__ import annotations

from fractions import Fraction

from hypothesis import strategies as st

from ego_cl.streams.overlap import Segment
from ego_cl.types import ActionAnnotation, Span

TICK = Fraction(1, 30)
"""One tick of the time grid (a frame at 30 fps)."""


def ticks(n: int) -> Fraction:
    """``n`` ticks in seconds."""
    return n * TICK


@st.composite
def spans(draw, *, max_start: int = 300, min_ticks: int = 1, max_ticks: int = 300) -> Span:
    """A half-open span on the tick grid."""
    start = draw(st.integers(0, max_start))
    length = draw(st.integers(min_ticks, max_ticks))
    return Span(ticks(start), ticks(start + length))


actions = st.tuples(st.integers(0, 4), st.integers(0, 4))
"""A small ``(verb, noun)`` label space, so label collisions happen."""


@st.composite
def segment_lists(draw, *, max_size: int = 12, n_clips: int = 3, max_tick: int = 120) -> list[Segment]:
    """Single-label segments over a few clips, crowded into ``max_tick`` ticks so they overlap.

    ``annotation_index`` is the list position, as :func:`segments_from_annotations` makes it.
    """
    n = draw(st.integers(0, max_size))
    out = []
    for i in range(n):
        clip = draw(st.integers(0, n_clips - 1))
        start = draw(st.integers(0, max_tick - 1))
        end = draw(st.integers(start + 1, max_tick))
        out.append(
            Segment(
                clip_uid=f"clip{clip}",
                video_uid=f"video{clip // 2}",
                span=Span(ticks(start), ticks(end)),
                actions=(draw(actions),),
                annotation_index=i,
            )
        )
    return out


@st.composite
def annotation_lists(
    draw, *, max_size: int = 12, user_id: str = "u1", missing_origin: bool = False
) -> list[ActionAnnotation]:
    """Annotations of one user over a few recordings and clips, in random (file) order.

    With ``missing_origin`` some recordings have no id (``origin_video_id == ""``).
    """
    n = draw(st.integers(0, max_size))
    out = []
    for _ in range(n):
        video = draw(st.integers(0, 2))
        clip = draw(st.integers(0, 1))
        start = draw(st.integers(0, 200))
        end = draw(st.integers(start + 1, 260))
        verb, noun = draw(actions)
        out.append(
            ActionAnnotation(
                clip_uid=f"v{video}c{clip}",
                video_uid=f"v{video}",
                user_id=user_id,
                origin_video_id="" if missing_origin and video == 2 else f"rec{video}",
                clip_parent_start_s=300 * clip,
                clip_parent_end_s=300 * (clip + 1),
                action_idx=draw(st.integers(0, 20)),
                span=Span(ticks(start), ticks(end)),
                verb_label=verb,
                noun_label=noun,
            )
        )
    return out


short_windows = st.sampled_from(["extend", "pad", "drop"])


@st.composite
def sampler_configs(draw) -> dict:
    """Keyword arguments of ``UniformClipSampler``: clip, stride (``None`` = clip), short rule."""
    clip = draw(st.integers(1, 80))
    stride = draw(st.none() | st.integers(1, 100))
    return {
        "clip_s": ticks(clip),
        "stride_s": None if stride is None else ticks(stride),
        "short_window": draw(short_windows),
    }
