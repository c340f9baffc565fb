"""Decoded frames of one open video from a seek point, skipping the frames no read can show.

A read (:class:`~ego_cl.data.video.ClipReader`) shows, for each sample instant ``t``, the frame on
screen at ``t``. An H.264 *non-reference* frame (``nal_ref_idc == 0``: no other frame is predicted
from it, e.g. most B-frames) that no instant of the current read shows can be left undecoded
without changing a single pixel of any other frame. :class:`FrameDecoder` feeds the decoder packet
by packet and, for each packet, sets libavcodec's ``skip_frame`` to ``NONREF`` (skip it if it is a
non-reference frame; the decoder decides) exactly when all of these hold:

- the current read's last instant is known and comes at or after a later frame: some packet seen
  around it (up to :data:`LOOKAHEAD` ahead, :data:`RECENT` behind, in decoding order) has a
  larger timestamp ``u`` with ``u <= t_last``. The frame's successor on screen then starts at or
  before ``u``, so a later read (whose instants start at or after the frame on screen at
  ``t_last``) cannot show it either;
- no instant of the read lies in ``[pts, u)``, so no instant of this read shows it;
- a frame has already come out of the decoder since the seek (so this one is not the first on
  screen, which the "instant before the first frame" rule picks, e.g. a leading B-frame after an
  open-GOP keyframe), and no other packet near it has the same timestamp (the "first frame shown
  at an instant" rule for repeated timestamps).

The bound ``u`` assumes that the packet stamped ``u`` decodes to a frame, as every packet of an
intact stream does. Every other packet is decoded as usual (``DEFAULT``). Other codecs are never
skipped. Times are compared as integers in the stream's time base: instant ``t`` is shown by a
frame with timestamp ``p`` only if ``p <= floor(start + t / time_base)``.
"""

from __future__ import annotations

import bisect
import itertools
import math
from collections import deque
from collections.abc import Sequence
from fractions import Fraction
from typing import Any

__all__ = ["LOOKAHEAD", "RECENT", "SKIPPABLE_CODECS", "FrameDecoder", "FrameWithoutTimestampError"]

LOOKAHEAD = 8
"""Packets demuxed ahead of the one being sent (their timestamps bound a frame's successor)."""
RECENT = 16
"""Timestamps of packets already sent that are kept for the same purpose."""
SKIPPABLE_CODECS = frozenset({"h264"})
"""Codecs whose ``NONREF`` skip leaves every other frame's pixels unchanged."""


class FrameWithoutTimestampError(Exception):
    """The decoder gave a frame without a presentation timestamp."""


class FrameDecoder:
    """Frames of ``stream`` with their exact times, in presentation order, from the container's
    current position (right after a seek), as ``container.decode(stream)`` gives them, except
    that non-reference frames no instant of the current read can show are skipped.

    Args:
        container: The open PyAV input container.
        stream: Its video stream.
        skip: Whether to skip at all (only for :data:`SKIPPABLE_CODECS`).
    """

    __slots__ = (
        "_base",
        "_codec",
        "_last_out",
        "_limits",
        "_out",
        "_packets",
        "_pending",
        "_recent",
        "_skipping",
        "_start",
        "decoded",
        "skip",
        "skipped",
    )

    def __init__(self, container: Any, stream: Any, *, skip: bool = True):
        self._codec = stream.codec_context
        self._packets = container.demux(stream)
        self._pending: deque[Any] = deque()
        self._recent: deque[int] = deque(maxlen=RECENT)
        self._out: deque[Any] = deque()
        self._start = stream.start_time or 0
        self._base = stream.time_base
        self._limits: list[int] = []
        self._last_out: int | None = None
        self._skipping: bool | None = None
        self.skip = skip and self._codec.name in SKIPPABLE_CODECS
        self.decoded = 0
        """Packets sent to the decoder with ``DEFAULT``."""
        self.skipped = 0
        """Packets sent with ``NONREF`` (the decoder skipped them if they are non-reference)."""

    def aim(self, targets: Sequence[Fraction]) -> None:
        """Set the current read's sample instants (increasing), in seconds from the stream start."""
        start, base = self._start, self._base
        self._limits = [start + math.floor(t / base) for t in targets]

    def __iter__(self) -> FrameDecoder:
        return self

    def __next__(self) -> tuple[Any, Fraction]:
        while not self._out:
            packet = self._next_packet()
            if packet is None:
                raise StopIteration
            self._send(packet)
        frame = self._out.popleft()
        if frame.pts is None:
            raise FrameWithoutTimestampError
        self._last_out = frame.pts
        return frame, (frame.pts - self._start) * self._base

    def _next_packet(self) -> Any:
        while len(self._pending) <= LOOKAHEAD:
            packet = next(self._packets, None)
            if packet is None:
                break
            self._pending.append(packet)
        return self._pending.popleft() if self._pending else None

    def _send(self, packet: Any) -> None:
        skip = self.skip and self._unused(packet.pts)
        if skip is not self._skipping:
            self._codec.skip_frame = "NONREF" if skip else "DEFAULT"
            self._skipping = skip
        if skip:
            self.skipped += 1
        else:
            self.decoded += 1
        if packet.pts is not None:
            self._recent.append(packet.pts)
        self._out.extend(self._codec.decode(packet))

    def _unused(self, pts: int | None) -> bool:
        """Whether no read can show the frame of a packet with timestamp ``pts`` (module rule)."""
        limits = self._limits
        if pts is None or not limits or self._last_out is None:
            return False
        successor = None
        for other in itertools.chain(self._recent, (p.pts for p in self._pending)):
            if other is None:
                continue
            if other == pts:
                return False
            if other > pts and (successor is None or other < successor):
                successor = other
        if successor is None or successor > limits[-1]:
            return False
        return limits[bisect.bisect_left(limits, pts)] >= successor
