"""Build a user's stream of clip samples (cheap: no video is opened) and (de)serialise it.

Pipeline (:func:`build_user_stream`): recorded order → overlap policy → clip sampler →
pretrain-unseen filter (default on) → ``max_samples`` cut → transition indices → optional seeded
IID shuffle. The global sample index is the position in the final list.

Times are exact (frame-derived where the records allow, see ``ego_cl.data.frames``); with
``upstream_float_boundaries`` the windows are the file's floats and the FIFO remainder a float
difference, as in the original (pair it with ``UpstreamUniformClipSampler``;
``ego_cl.streams.from_config.stream_from_config`` does both).
"""

from __future__ import annotations

import itertools
import json
import random
from collections import Counter
from collections.abc import Mapping, Sequence
from fractions import Fraction
from typing import Any

import attrs
import structlog

from ego_cl.gc_pause import gc_paused
from ego_cl.protocols import ClipSampler
from ego_cl.streams.overlap import (
    OverlapCounts,
    OverlapPolicy,
    Segment,
    apply_overlap_policy,
    order_annotations,
    segments_from_annotations,
)
from ego_cl.types import Action, ActionAnnotation, InputError, Span, StreamSample, UserId

__all__ = [
    "MAX_CLIPS_PER_WINDOW",
    "StreamCounts",
    "StreamFormatError",
    "UserStream",
    "WindowTooLongError",
    "build_user_stream",
    "shuffle_order",
]

MAX_CLIPS_PER_WINDOW = 50_000
"""Most clips one action window may give: a 29-hour action at the default 32/15-s clips, 27
minutes at a one-frame stride (Ego4D clips last 8 minutes). A window beyond it is an annotation
error, refused instead of cut into millions of clips."""

log = structlog.get_logger(__name__)


class WindowTooLongError(InputError):
    """An action window would give more than :data:`MAX_CLIPS_PER_WINDOW` clips."""


class StreamFormatError(InputError):
    """A serialised stream (``stream.json``) is malformed."""


@attrs.frozen(kw_only=True)
class StreamCounts:
    """How many items each stage of :func:`build_user_stream` produced or removed.

    Attributes:
        n_annotations: Input annotations.
        overlap: What the overlap policy did (kept / trimmed / dropped / split).
        n_windows: Windows after the overlap policy.
        n_sampled: Clips cut by the sampler.
        n_unseen_dropped: Samples dropped because no label occurs in pretraining.
        n_unseen_labels_dropped: Unseen pairs removed from multi-label samples that stayed.
        n_cut: Samples removed by ``max_samples``.
        n_samples: Samples in the final stream.
    """

    n_annotations: int
    overlap: OverlapCounts
    n_windows: int
    n_sampled: int
    n_unseen_dropped: int
    n_unseen_labels_dropped: int
    n_cut: int
    n_samples: int


@attrs.frozen(kw_only=True, eq=True)
class UserStream:
    """One user's stream: the ordered samples and what was computed about them.

    Attributes:
        user_id: Whose stream.
        samples: The samples; ``samples[i].index == i``.
        counts: Stage counts.
        clip_transitions: Indices of samples that start a new clip uid in recorded order
            (computed before any shuffle, expressed as final indices, sorted).
        video_transitions: Same for a new parent video uid.
        shuffle_seed: Seed of the IID shuffle, ``None`` for the recorded order.
    """

    user_id: UserId
    samples: tuple[StreamSample, ...]
    counts: StreamCounts
    clip_transitions: tuple[int, ...]
    video_transitions: tuple[int, ...]
    shuffle_seed: int | None = None

    def __len__(self) -> int:
        return len(self.samples)

    def verb_counts(self) -> dict[int, int]:
        """Samples per verb label (each label of a multi-label sample counts once)."""
        return dict(Counter(v for s in self.samples for v in dict.fromkeys(v for v, _ in s.actions)))

    def noun_counts(self) -> dict[int, int]:
        """Samples per noun label."""
        return dict(Counter(n for s in self.samples for n in dict.fromkeys(n for _, n in s.actions)))

    def action_counts(self) -> dict[Action, int]:
        """Samples per ``(verb, noun)`` pair."""
        return dict(Counter(a for s in self.samples for a in s.actions))

    def recorded_indices(self) -> tuple[int, ...]:
        """Per sample, its position in the recorded (unshuffled) order: ``samples[i]`` was
        recorded ``recorded_indices()[i]``-th; ``i`` itself unless ``shuffle_seed`` is set."""
        return tuple(shuffle_order(len(self.samples), self.shuffle_seed))

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able dict (times as ``"a/b"`` strings); inverse of :meth:`from_dict`."""
        return {
            "user_id": self.user_id,
            "shuffle_seed": self.shuffle_seed,
            "counts": _counts_to_dict(self.counts),
            "clip_transitions": list(self.clip_transitions),
            "video_transitions": list(self.video_transitions),
            "histograms": {
                "verb": {str(k): v for k, v in sorted(self.verb_counts().items())},
                "noun": {str(k): v for k, v in sorted(self.noun_counts().items())},
                "action": {f"{v}-{n}": c for (v, n), c in sorted(self.action_counts().items())},
            },
            "samples": [_sample_to_dict(s) for s in self.samples],
        }

    @staticmethod
    def from_dict(data: Mapping[str, Any], *, source: str = "stream") -> UserStream:
        """Rebuild from :meth:`to_dict` output (histograms are recomputed, not read).

        Raises:
            StreamFormatError: A key is missing or a value has the wrong form.
        """
        try:
            counts = dict(data["counts"])
            counts["overlap"] = OverlapCounts(**counts["overlap"])
            stream = UserStream(
                user_id=str(data["user_id"]),
                shuffle_seed=data["shuffle_seed"],
                counts=StreamCounts(**counts),
                clip_transitions=tuple(int(i) for i in data["clip_transitions"]),
                video_transitions=tuple(int(i) for i in data["video_transitions"]),
                samples=tuple(_sample_from_dict(s) for s in data["samples"]),
            )
        except (KeyError, TypeError, ValueError) as err:
            raise StreamFormatError(f"{source}: malformed stream record: {err!r}") from err
        bad = [i for i, s in enumerate(stream.samples) if s.index != i]
        if bad:
            raise StreamFormatError(f"{source}: samples[{bad[0]}].index is {stream.samples[bad[0]].index}")
        return stream

    def to_json(self) -> str:
        """The :meth:`to_dict` form as a JSON string (the runner writes it as ``stream.json``)."""
        return json.dumps(self.to_dict(), indent=1)

    @staticmethod
    def from_json(text: str, *, source: str = "stream.json") -> UserStream:
        """Inverse of :meth:`to_json`."""
        try:
            data = json.loads(text)
        except json.JSONDecodeError as err:
            raise StreamFormatError(f"{source}: not JSON: {err}") from err
        return UserStream.from_dict(data, source=source)


def _counts_to_dict(counts: StreamCounts) -> dict[str, Any]:
    return attrs.asdict(counts)


def _sample_to_dict(sample: StreamSample) -> dict[str, Any]:
    return {
        "index": sample.index,
        "clip_uid": sample.clip_uid,
        "video_uid": sample.video_uid,
        "user_id": sample.user_id,
        "start_s": str(sample.span.start_s),
        "end_s": str(sample.span.end_s),
        "actions": [list(a) for a in sample.actions],
        "annotation_index": sample.annotation_index,
        "clip_index": sample.clip_index,
    }


def _sample_from_dict(data: Mapping[str, Any]) -> StreamSample:
    return StreamSample(
        index=int(data["index"]),
        user_id=str(data["user_id"]),
        clip_uid=str(data["clip_uid"]),
        video_uid=str(data["video_uid"]),
        span=Span(Fraction(data["start_s"]), Fraction(data["end_s"])),
        actions=tuple((int(v), int(n)) for v, n in data["actions"]),
        annotation_index=int(data["annotation_index"]),
        clip_index=int(data["clip_index"]),
    )


def _transitions(items: Sequence[Segment | StreamSample], key: str) -> list[bool]:
    """Per item: does it start a new ``key`` (clip_uid / video_uid) in this order?"""
    flags, previous = [], None
    for item in items:
        value = getattr(item, key)
        flags.append(value != previous)
        previous = value
    return flags


_Clip = tuple[Segment, tuple[Action, ...], int, Span]
"""A sampled clip before it becomes a :class:`StreamSample`: segment, labels, k-th clip, span."""


def _sample_windows(
    segments: Sequence[Segment], sampler: ClipSampler, pretrain_actions: frozenset[Action] | None
) -> tuple[list[_Clip], int, int, int]:
    """Every window cut into clips, less the unseen ones when ``pretrain_actions`` is given.

    The unseen filter depends on a window's labels only, so it is decided once per window.
    Returns the kept clips, the clips sampled, the clips dropped and the labels removed.
    """
    kept: list[_Clip] = []
    n_sampled = n_dropped = n_labels = 0
    for seg in segments:
        spans = list(itertools.islice(sampler.spans(seg.span), MAX_CLIPS_PER_WINDOW + 1))
        if len(spans) > MAX_CLIPS_PER_WINDOW:
            raise WindowTooLongError(
                f"clip {seg.clip_uid}: the window [{float(seg.span.start_s):g}, {float(seg.span.end_s):g}) s "
                f"would give more than {MAX_CLIPS_PER_WINDOW} clips; check the action times of "
                "its annotation (or stream.clip_s / stream.stride_s)"
            )
        n_sampled += len(spans)
        actions = seg.actions
        if pretrain_actions is not None and not (len(actions) == 1 and actions[0] in pretrain_actions):
            actions = tuple(a for a in seg.actions if a in pretrain_actions)
            if not actions:
                n_dropped += len(spans)
                continue
            n_labels += (len(seg.actions) - len(actions)) * len(spans)
        if len(spans) == 1:  # most windows: no generator for one clip
            kept.append((seg, actions, 0, spans[0]))
        else:
            kept.extend((seg, actions, k, span) for k, span in enumerate(spans))
    return kept, n_sampled, n_dropped, n_labels


def _sample(index: int, user_id: UserId, clip: _Clip) -> StreamSample:
    seg, actions, k, span = clip
    return StreamSample(
        index=index,
        user_id=user_id,
        clip_uid=seg.clip_uid,
        video_uid=seg.video_uid,
        span=span,
        actions=actions,
        annotation_index=seg.annotation_index,
        clip_index=k,
    )


def shuffle_order(n: int, seed: int | None) -> list[int]:
    """``order[new] = recorded position`` of the IID shuffle of ``n`` samples (identity for
    ``seed=None``); the one definition :func:`build_user_stream` and
    :meth:`UserStream.recorded_indices` share.

    Example:
        >>> shuffle_order(4, None), sorted(shuffle_order(4, 7)) == [0, 1, 2, 3]
        ([0, 1, 2, 3], True)
    """
    order = list(range(n))
    if seed is not None:
        random.Random(seed).shuffle(order)
    return order


def build_user_stream(
    annotations: Sequence[ActionAnnotation],
    *,
    user_id: UserId,
    policy: OverlapPolicy,
    sampler: ClipSampler,
    clip_s: Fraction,
    pretrain_actions: frozenset[Action] | None = None,
    filter_unseen: bool = True,
    shuffle_seed: int | None = None,
    max_samples: int | None = None,
    upstream_float_boundaries: bool = False,
) -> UserStream:
    """Turn one user's annotations (any order) into their stream of clip samples.

    Args:
        annotations: The user's annotations, e.g. ``source.annotations(user_id)``.
        user_id: Whose stream (stored on every sample).
        policy: ``ignore``, ``first_action``, ``first_action_per_clip`` or ``multi_action``.
        sampler: Cuts each window into clip spans (e.g. :class:`UniformClipSampler`).
        clip_s: Clip length; ``first_action`` drops trimmed remainders shorter than this.
        pretrain_actions: The ``(verb, noun)`` pairs seen in pretraining.
        filter_unseen: Drop samples none of whose pairs is in ``pretrain_actions`` (unseen pairs
            of a multi-label sample that stays are removed from its label set).
        shuffle_seed: If set, one seeded shuffle of the final list (the IID control).
        max_samples: Keep only the first N samples (before the shuffle).
        upstream_float_boundaries: Windows from the float seconds of the file and the FIFO
            remainder as a float difference, as in the original (``sampler`` should then be an
            ``UpstreamUniformClipSampler``).

    Raises:
        ValueError: ``filter_unseen`` without ``pretrain_actions``, or ``max_samples < 0``.
    """
    if filter_unseen and pretrain_actions is None:
        raise ValueError("filter_unseen needs pretrain_actions (or pass filter_unseen=False)")
    if max_samples is not None and max_samples < 0:
        raise ValueError(f"max_samples must be >= 0, got {max_samples}")
    with gc_paused():  # a long stream is hundreds of thousands of small acyclic objects
        floats = upstream_float_boundaries
        segments = segments_from_annotations(order_annotations(annotations), float_times=floats)
        overlap = apply_overlap_policy(segments, policy, min_remainder_s=clip_s, float_arithmetic=floats)
        seen = (pretrain_actions or frozenset()) if filter_unseen else None
        clips, n_sampled, n_unseen, n_unseen_labels = _sample_windows(overlap.segments, sampler, seen)
        n_cut = 0
        if max_samples is not None and len(clips) > max_samples:
            n_cut = len(clips) - max_samples
            clips = clips[:max_samples]
        segs = [clip[0] for clip in clips]
        new_clip, new_video = _transitions(segs, "clip_uid"), _transitions(segs, "video_uid")
        order = shuffle_order(len(clips), shuffle_seed)
        final = tuple(_sample(new, user_id, clips[old]) for new, old in enumerate(order))
        counts = StreamCounts(
            n_annotations=len(annotations),
            overlap=overlap.counts,
            n_windows=len(overlap.segments),
            n_sampled=n_sampled,
            n_unseen_dropped=n_unseen,
            n_unseen_labels_dropped=n_unseen_labels,
            n_cut=n_cut,
            n_samples=len(final),
        )
        log.debug(
            "user_stream_built", user_id=user_id, policy=policy, n_samples=len(final), n_sampled=n_sampled
        )
        return UserStream(
            user_id=user_id,
            samples=final,
            counts=counts,
            clip_transitions=tuple(new for new, old in enumerate(order) if new_clip[old]),
            video_transitions=tuple(new for new, old in enumerate(order) if new_video[old]),
            shuffle_seed=shuffle_seed,
        )
