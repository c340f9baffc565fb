"""Frozen value objects shared by every layer.

Time is exact: :class:`fractions.Fraction` seconds in half-open ``[start_s, end_s)`` spans.
Labels are integer ``(verb_label, noun_label)`` pairs (:data:`Action`). Tensors carried here are
never modified in place by library code; an object is a snapshot.

This module imports ``torch`` only for type annotations and for the two tiny tensor helpers on
:class:`Target` and :class:`Batch`; it has no side effects.
"""

from __future__ import annotations

from collections.abc import Sequence
from fractions import Fraction
from typing import TYPE_CHECKING

import attrs

if TYPE_CHECKING:
    import torch

__all__ = [
    "Action",
    "ActionAnnotation",
    "Batch",
    "InputError",
    "LabelLeakError",
    "LearnStats",
    "Prediction",
    "Span",
    "StreamSample",
    "Target",
    "UserId",
]

UserId = str
"""A participant id as a string (``"68"``). The Ego4D participant-less group is ``"null"``."""

Action = tuple[int, int]
"""A ``(verb_label, noun_label)`` pair."""

LearnStats = dict[str, float]
"""Scalars a learner reports from one ``learn`` call (losses, learning rates, counts)."""


_set_field = object.__setattr__
"""How a hand-written ``__init__`` of a frozen class sets its fields (as attrs' own does)."""


def _to_fraction(value: object) -> Fraction:
    if type(value) is Fraction:  # the common case first: streams build hundreds of thousands
        return value
    if isinstance(value, bool):
        raise TypeError(f"expected a number of seconds, got bool {value!r}")
    if isinstance(value, Fraction):
        return value
    if isinstance(value, int):
        return Fraction(value)
    if isinstance(value, float):
        # Floats come from JSON; the shortest repr is what the file said, so keep that exactly.
        return Fraction(repr(value))
    if isinstance(value, str):
        return Fraction(value)
    raise TypeError(f"expected a number of seconds, got {type(value).__name__} {value!r}")


class InputError(ValueError):
    """Bad user input (a file, record, field or setting). Runners print it and exit with code 2.

    Subclasses name the file, the record and the field in their message.
    """


class LabelLeakError(RuntimeError):
    """Raised when code tries to read labels from the label-free view of a batch."""


@attrs.frozen(order=True, init=False)
class Span:
    """A half-open time interval ``[start_s, end_s)`` in exact seconds.

    Args:
        start_s: Inclusive start, seconds.
        end_s: Exclusive end, seconds; must be greater than ``start_s``.

    Example:
        >>> s = Span(Fraction(1), Fraction(7, 2))
        >>> s.duration_s
        Fraction(5, 2)
        >>> s.overlaps(Span(Fraction(7, 2), Fraction(4)))
        False
    """

    start_s: Fraction
    end_s: Fraction

    def __init__(self, start_s: Fraction | int | float | str, end_s: Fraction | int | float | str) -> None:
        # written by hand, not by attrs: a loaded Ego4D-sized set builds about a million spans,
        # and this skips two converter calls for the common case of two Fractions
        start = start_s if type(start_s) is Fraction else _to_fraction(start_s)
        end = end_s if type(end_s) is Fraction else _to_fraction(end_s)
        # start < end on the integers (denominators are positive): several times cheaper than
        # Fraction.__lt__
        if not start.numerator * end.denominator < end.numerator * start.denominator:
            raise ValueError(f"Span needs start_s < end_s, got [{start}, {end})")
        _set_field(self, "start_s", start)
        _set_field(self, "end_s", end)

    @property
    def duration_s(self) -> Fraction:
        """Length in seconds."""
        return self.end_s - self.start_s

    def contains(self, other: Span) -> bool:
        """Whether ``other`` lies entirely inside this span."""
        return self.start_s <= other.start_s and other.end_s <= self.end_s

    def overlaps(self, other: Span) -> bool:
        """Whether the two half-open spans share any instant."""
        return self.start_s < other.end_s and other.start_s < self.end_s

    def shift(self, offset_s: Fraction) -> Span:
        """The same span moved by ``offset_s`` seconds."""
        return Span(self.start_s + offset_s, self.end_s + offset_s)


@attrs.frozen(kw_only=True)
class ActionAnnotation:
    """One validated Ego4D long-term-anticipation action record.

    Attributes:
        clip_uid: The 5-minute clip the action lies in (video file ``<clip_uid>.mp4``).
        video_uid: The parent video (join key with ``ego4d.json``).
        user_id: Participant id as string; ``None`` for videos without one (the "NaN user").
        origin_video_id: Recording id; first key of the stream order. ``""`` when unknown
            (such annotations sort after all others, as the original's NaN ids do).
        clip_parent_start_s: Start of the clip inside its parent video, seconds (second key).
        clip_parent_end_s: End of the clip inside its parent video, seconds.
        action_idx: Order of the action inside its clip (third key).
        span: The action window relative to the clip mp4, seconds.
        verb_label: Verb class index.
        noun_label: Noun class index.
        verb: Verb name.
        noun: Noun name.
        scenarios: Scenario names of the parent video.
        span_sec: The window as the file wrote it (``action_clip_start_sec``,
            ``action_clip_end_sec`` as floats), for ``stream.upstream_float_boundaries``; ``None``
            for annotations made in code (``float(span.start_s)`` etc. are used then). ``span``
            itself may differ from it: it comes from the frame fields where those are consistent
            (see ``ego_cl.data.records``).
    """

    clip_uid: str
    video_uid: str
    user_id: UserId | None
    origin_video_id: str
    clip_parent_start_s: Fraction = attrs.field(converter=_to_fraction)
    clip_parent_end_s: Fraction = attrs.field(converter=_to_fraction)
    action_idx: int
    span: Span
    verb_label: int
    noun_label: int
    verb: str = ""
    noun: str = ""
    scenarios: tuple[str, ...] = attrs.field(default=(), converter=tuple)
    span_sec: tuple[float, float] | None = None

    @property
    def action(self) -> Action:
        """The ``(verb_label, noun_label)`` pair."""
        return (self.verb_label, self.noun_label)

    def float_span(self) -> tuple[float, float]:
        """The window in float seconds: ``span_sec``, or ``span`` rounded to floats."""
        if self.span_sec is not None:
            return self.span_sec
        return (float(self.span.start_s), float(self.span.end_s))


@attrs.frozen(kw_only=True)
class StreamSample:
    """One clip of a user stream: what the learner sees at one position of the stream.

    Attributes:
        index: Position in the user stream, ``0..n-1`` (the global sample id).
        user_id: Whose stream this is.
        clip_uid: Video file the clip is read from.
        video_uid: Parent video (for transition tracking).
        span: Clip time span in the clip mp4, seconds (may run past the window, see samplers).
        actions: The label set, at least one ``(verb, noun)`` pair; more than one only for
            multi-label segments. The first pair is the primary label.
        annotation_index: Index of the source annotation in the user's ordered annotation list.
        clip_index: The k-th clip cut from its window.
    """

    index: int
    user_id: UserId
    clip_uid: str
    video_uid: str
    span: Span
    actions: tuple[Action, ...] = attrs.field(converter=tuple)
    annotation_index: int
    clip_index: int

    def __attrs_post_init__(self) -> None:
        if not self.actions:
            raise ValueError(f"StreamSample {self.index} has no label")

    @property
    def action(self) -> Action:
        """The primary ``(verb, noun)`` label."""
        return self.actions[0]


@attrs.frozen(kw_only=True, eq=False)
class Target:
    """Labels of a batch.

    Attributes:
        actions: ``LongTensor[B, L, 2]`` of ``(verb, noun)`` pairs per sample, padded with ``-1``
            rows for samples with fewer than ``L`` labels. Row 0 is each sample's primary label.
    """

    actions: torch.Tensor

    @property
    def verb(self) -> torch.Tensor:
        """Primary verb labels, ``LongTensor[B]``."""
        return self.actions[:, 0, 0]

    @property
    def noun(self) -> torch.Tensor:
        """Primary noun labels, ``LongTensor[B]``."""
        return self.actions[:, 0, 1]

    @property
    def mask(self) -> torch.Tensor:
        """``BoolTensor[B, L]``: which label rows are real (not padding)."""
        return self.actions[:, :, 0] >= 0

    @staticmethod
    def from_label_sets(label_sets: Sequence[Sequence[Action]]) -> Target:
        """Pack per-sample label sets into a padded tensor."""
        import torch

        width = max(len(labels) for labels in label_sets)
        out = torch.full((len(label_sets), width, 2), -1, dtype=torch.long)
        for row, labels in enumerate(label_sets):
            out[row, : len(labels)] = torch.tensor(labels, dtype=torch.long).view(-1, 2)
        return Target(actions=out)

    def label_sets(self) -> tuple[tuple[Action, ...], ...]:
        """The padded tensor back as tuples of pairs."""
        rows = self.actions.tolist()
        return tuple(tuple((v, n) for v, n in row if v >= 0) for row in rows)


@attrs.frozen(kw_only=True, eq=False)
class Batch:
    """Consecutive stream samples as tensors.

    Attributes:
        indices: ``LongTensor[B]`` stream positions of the samples, in stream order.
        clips: ``FloatTensor[B, C, T, H, W]`` normalised clips (empty ``[B, 0]`` for label-only
            learners that need no video).
        target: Labels, or ``None`` for the label-free view handed to ``Learner.predict``.
    """

    indices: torch.Tensor
    clips: torch.Tensor
    target: Target | None = None

    def __len__(self) -> int:
        return int(self.indices.shape[0])

    def without_labels(self) -> Batch:
        """The same batch with ``target=None``: what ``predict`` is allowed to see."""
        return Batch(indices=self.indices, clips=self.clips, target=None)

    def labelled(self) -> Target:
        """The target, or a clear error where a label-free batch reached label-reading code."""
        if self.target is None:
            raise LabelLeakError("this batch carries no labels (label-free view for predict)")
        return self.target


@attrs.frozen(kw_only=True, eq=False)
class Prediction:
    """What a learner predicts for a batch, before it may see the labels.

    Attributes:
        indices: ``LongTensor[B]`` stream positions the prediction is for.
        verb_logits: ``FloatTensor[B, n_verbs]`` unnormalised scores (log-probabilities are fine:
            label-window predictors return ``log p``).
        noun_logits: ``FloatTensor[B, n_nouns]``.
    """

    indices: torch.Tensor
    verb_logits: torch.Tensor
    noun_logits: torch.Tensor

    def __len__(self) -> int:
        return int(self.indices.shape[0])
