"""An in-memory ``StreamSource`` whose pixels say which clip and instant they show."""

from __future__ import annotations

from collections.abc import Sequence
from fractions import Fraction

import torch

from ego_cl.types import ActionAnnotation, Span, UserId

FRAME_RATE = 60
"""Instants are encoded in 1/60 s units."""


def sample_times(span: Span, n_frames: int) -> list[Fraction]:
    """The reader's frame instants ``start + i * duration / n`` (as ``ego_cl.data``)."""
    return [span.start_s + i * span.duration_s / n_frames for i in range(n_frames)]


class FakeSource:
    """Synthetic video: frame at instant ``t`` of clip ``c<k>`` is flat with pixel
    ``(k, u % 256, u // 256)`` where ``u = floor(t * 60)``. Picklable; counts its reads."""

    def __init__(
        self, annotations: dict[UserId, Sequence[ActionAnnotation]] | None = None, *, height=6, width=8
    ):
        self._annotations = dict(annotations or {})
        self.height, self.width = height, width
        self.n_reads = 0

    def users(self) -> list[UserId]:
        return sorted(self._annotations)

    def annotations(self, user_id: UserId) -> Sequence[ActionAnnotation]:
        return self._annotations[user_id]

    def read_clip(self, clip_uid: str, span: Span, n_frames: int) -> torch.Tensor:
        self.n_reads += 1
        clip_number = int(clip_uid.lstrip("c"))
        frames = torch.empty(n_frames, self.height, self.width, 3, dtype=torch.uint8)
        for i, t in enumerate(sample_times(span, n_frames)):
            units = int(t * FRAME_RATE)
            frames[i, ..., 0] = clip_number
            frames[i, ..., 1] = units % 256
            frames[i, ..., 2] = units // 256
        return frames


def decode_pixel(clip_uint8: torch.Tensor) -> list[tuple[int, int]]:
    """``(clip number, instant units)`` of each frame of a ``[T, H, W, 3]`` fake clip."""
    px = clip_uint8[:, 0, 0].long()
    return [(int(c), int(lo + 256 * hi)) for c, lo, hi in px]
