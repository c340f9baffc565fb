"""The four seams of ego_cl.

Implementations do not subclass these; they only have to match them structurally. Every
Protocol states its units, tensor shapes, purity and invariants; the conformance suites in
``tests/`` check them for every implementation.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any, Protocol, runtime_checkable

import torch

from ego_cl.types import ActionAnnotation, Batch, LearnStats, Prediction, Span, UserId

__all__ = ["ClipSampler", "Learner", "Metric", "StreamSource"]


@runtime_checkable
class StreamSource(Protocol):
    """Where annotated, time-stamped user video comes from.

    Invariants: ``users()`` and ``annotations()`` never open a video (cheap, metadata only);
    ``read_clip`` is the only method that decodes. Reading is deterministic: the same
    ``(clip_uid, span, n_frames)`` always returns the same pixels. Implementations may keep
    open containers per process, so one instance must not be shared across processes after
    its first ``read_clip`` (pickle it before reading, or build one per worker).
    """

    def users(self) -> Sequence[UserId]:
        """User ids available from this source, in a deterministic order."""
        ...

    def annotations(self, user_id: UserId) -> Sequence[ActionAnnotation]:
        """All validated action annotations of one user, in file order (not stream order).

        Raises:
            KeyError: ``user_id`` is not one of ``users()``.
        """
        ...

    def read_clip(self, clip_uid: str, span: Span, n_frames: int) -> torch.Tensor:
        """Decode ``n_frames`` frames evenly spread over ``span`` of the clip video.

        Args:
            clip_uid: The clip (video file) id.
            span: Half-open time span in seconds relative to the video's start. A span that
                reaches past the video's end repeats the last frame.
            n_frames: Number of frames to return (temporal subsampling happens at decode).

        Returns:
            ``uint8`` tensor ``[n_frames, H, W, 3]`` (RGB).
        """
        ...


@runtime_checkable
class ClipSampler(Protocol):
    """Cuts one annotated window into clip spans.

    Pure and stateless: the same window always gives the same spans, and no call changes
    the sampler. Causal: every span depends only on times before its own end.
    """

    def spans(self, window: Span) -> Iterator[Span]:
        """Clip spans for ``window``, in seconds, sorted by start.

        Each span has the sampler's clip length. Spans lie inside ``window`` except for the
        documented short-window case (a window shorter than one clip may give one clip that
        runs past its end).
        """
        ...


@runtime_checkable
class Learner(Protocol):
    """An online learner: predicts a batch, then learns from it.

    ``predict`` must not change any state (``state_dict()`` before and after are equal) and
    receives a batch whose ``target`` is ``None``; it runs without gradients. ``learn`` may
    change only the learner itself. Neither mutates its input tensors. Clips arrive as
    ``[B, C, T, H, W]`` float tensors already on the learner's device.
    """

    def predict(self, batch: Batch) -> Prediction:
        """Scores for every sample of ``batch`` (no labels available)."""
        ...

    def learn(self, batch: Batch) -> LearnStats:
        """Update from the labelled ``batch``; return scalar statistics (losses, lr, ...)."""
        ...

    def state_dict(self) -> dict[str, Any]:
        """Everything needed to continue bit-identically (weights, optimiser, memory, RNG)."""
        ...

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore what ``state_dict`` returned."""
        ...


@runtime_checkable
class Metric(Protocol):
    """An incremental, mergeable evaluation statistic (river style).

    State is sufficient statistics (integer counts where possible), so ``merge`` is exact,
    commutative and associative, and the empty metric is its identity. ``update`` sees only
    the new samples of one step.
    """

    def update(self, prediction: Prediction, batch: Batch) -> None:
        """Add one step's predictions against the labels in ``batch.target``."""
        ...

    def get(self) -> float:
        """The current value (``nan`` when nothing was seen yet)."""
        ...

    def merge(self, other: Metric) -> Metric:
        """A new metric equal to having seen both streams; neither input changes."""
        ...
