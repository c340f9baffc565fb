"""The PyAV clip reader: exact timestamps, seek + forward decode, convert only what is used.

**Frame-selection rule** (the one definition; :func:`select_frames` is its pure form). A frame's
time is ``(pts - stream.start_time) * time_base`` as an exact ``Fraction`` (so the first frame of
an ordinary file is at 0). For a span ``[s, e)`` and ``n`` frames the sample instants are
``t_i = s + i * (e - s) / n`` for ``i = 0 .. n-1``, and sample ``i`` is the frame *on screen* at
``t_i``: the last frame whose time is ``<= t_i`` (the first frame if ``t_i`` precedes it). Hence
a span reaching past the end of the video repeats the last frame; a span that starts after the
last frame is an error. Reading a span gives exactly the frames that decoding the whole file and
applying this rule to the frame times gives (tested).

**How it reads.** One container per file stays open in a small LRU (per process: pickling a
reader drops its open containers). For each clip: seek to the keyframe at or before ``t_0``
(backing off if the demuxer lands after it), decode forward, stop one frame after ``t_{n-1}``,
and convert only the selected frames to RGB, resizing inside swscale to the requested short side.
Missing, truncated or corrupt files raise :class:`VideoDecodeError` naming the file and span.

**Decode once.** The decoder of an open file is kept where the last read stopped, with the last
two frames it decoded (the one on screen at ``t_{n-1}`` and the one after). When the next span
of that file starts at or after the held frame on screen and at most ``forward_s`` past the
decoder's position, the read continues decoding forward instead of seeking, so a stream of
increasing spans decodes every frame once. Any other span seeks as above. The frames chosen are
the same either way: the rule above is applied to the same decoded frames (closed-GOP files, as
ffmpeg/x264 write them). A file whose timestamps ever fail to increase is read by seeking only
(a continued read that meets one is redone from a seek), because the skip-repeated-timestamp rule
counts from the seek point.

**Skip what no sample shows.** H.264 non-reference frames that no sample instant of the read can
show, and no later read either, are not decoded (:mod:`ego_cl.data.decoder`): the pixels of every
other frame are unchanged, and a camera-like source with B-frames needs about a third less
decoding. ``skip_nonref=False`` decodes every frame.
"""

from __future__ import annotations

import itertools
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from fractions import Fraction
from pathlib import Path
from typing import Any, Literal

import numpy as np

from ego_cl.data.codec import av, scaler_threads
from ego_cl.data.decoder import FrameDecoder, FrameWithoutTimestampError
from ego_cl.types import InputError, Span

__all__ = [
    "ClipReader",
    "VideoDecodeError",
    "output_size",
    "sample_times",
    "select_frames",
]

ThreadType = Literal["AUTO", "FRAME", "SLICE", "NONE"]
_SEEK_BACKOFF_S = (Fraction(1), Fraction(4), Fraction(16))
Timed = tuple[Any, Fraction]
"""A decoded frame and its time."""


class _NotIncreasingError(Exception):
    """A continued read met a non-increasing timestamp (the read is redone from a seek)."""


class _Cursor:
    """Where the open decoder of one file stands: held frames (decoded, not passed), then ``rest``."""

    __slots__ = ("held", "rest")

    def __init__(self, held: list[Timed], rest: FrameDecoder):
        self.held = held
        self.rest = rest


class VideoDecodeError(InputError):
    """A video could not be read for a span: missing, truncated, corrupt, or the span is outside.

    Attributes:
        path: The video file.
        span: The requested span (``None`` when the file itself could not be opened).
        reason: What went wrong.
    """

    def __init__(self, path: str | Path, span: Span | None, reason: str):
        self.path = str(path)
        self.span = span
        self.reason = reason
        where = f" span [{span.start_s}, {span.end_s}) s" if span is not None else ""
        super().__init__(f"{self.path}:{where}: {reason}")


def sample_times(span: Span, n_frames: int) -> list[Fraction]:
    """The sample instants ``t_i = start + i * duration / n`` of a span.

    Example:
        >>> [str(t) for t in sample_times(Span(1, 2), 4)]
        ['1', '5/4', '3/2', '7/4']
    """
    if n_frames < 1:
        raise ValueError(f"n_frames must be >= 1, got {n_frames}")
    step = span.duration_s / n_frames
    return [span.start_s + i * step for i in range(n_frames)]


def select_frames(frame_times: Sequence[Fraction], targets: Sequence[Fraction]) -> list[int]:
    """For each target instant, the index of the frame on screen: last frame time ``<= t``.

    ``frame_times`` must be increasing. A target before the first frame gives frame 0; a target
    after the last frame gives the last frame.

    Example:
        >>> F = Fraction
        >>> select_frames([F(0), F(1, 30), F(2, 30)], [F(0), F(1, 60), F(1, 30), F(5)])
        [0, 0, 1, 2]
    """
    out = []
    j = 0
    for t in targets:
        while j + 1 < len(frame_times) and frame_times[j + 1] <= t:
            j += 1
        out.append(j)
    return out


def output_size(width: int, height: int, short_side: int | None) -> tuple[int, int]:
    """``(width, height)`` scaled so the shorter side is ``short_side`` (long side rounded half up).

    Example:
        >>> output_size(1920, 1080, 320), output_size(96, 128, 64), output_size(7, 5, None)
        ((569, 320), (64, 85), (7, 5))
    """
    if short_side is None:
        return width, height
    short, long = min(width, height), max(width, height)
    scaled = Fraction(long * short_side, short)
    long_out = int(scaled + Fraction(1, 2))
    return (long_out, short_side) if width >= height else (short_side, long_out)


class ClipReader:
    """Reads clips from video files with PyAV (see the module docstring for the exact rule).

    Args:
        short_side: Resize so the shorter side has this many pixels (``None`` = native size).
        thread_type: libavcodec threading: ``AUTO`` (frame + slice; right for ordinary
            one-slice-per-frame files), ``FRAME``, ``SLICE`` or ``NONE``.
        thread_count: Decoder and scaler threads; ``0`` = libavcodec's and swscale's choice. Use
            1 in DataLoader workers.
        max_open: Open containers kept per reader (LRU).
        interpolation: swscale interpolation used while resizing (``BILINEAR``, ``AREA``, ...).
        forward_s: Decode forward instead of seeking when the next span of an open file starts at
            most this many seconds past the decoder's position (about a GOP: beyond it a seek
            decodes less). ``None`` seeks for every span (the reader before decode-once).
        skip_nonref: Leave undecoded the H.264 non-reference frames that no sample can show
            (:mod:`ego_cl.data.decoder`; same pixels, less decoding on sources with B-frames).
            ``False`` decodes every frame, as the reader before it did.
    """

    def __init__(
        self,
        *,
        short_side: int | None = None,
        thread_type: ThreadType = "AUTO",
        thread_count: int = 0,
        max_open: int = 2,
        interpolation: str = "BILINEAR",
        forward_s: float | Fraction | None = 4,
        skip_nonref: bool = True,
    ):
        if short_side is not None and short_side < 1:
            raise ValueError(f"short_side must be >= 1, got {short_side}")
        if forward_s is not None and forward_s < 0:
            raise ValueError(f"forward_s must be >= 0 or None, got {forward_s}")
        self.short_side = short_side
        self.thread_type = thread_type
        self.thread_count = thread_count
        self.max_open = max(1, max_open)
        self.interpolation = interpolation
        self.forward_s = None if forward_s is None else Fraction(forward_s)
        self.skip_nonref = skip_nonref
        self._open: OrderedDict[str, Any] = OrderedDict()
        self._cursors: dict[str, _Cursor] = {}
        self._seek_only: set[str] = set()

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state["_open"] = OrderedDict()
        state["_cursors"] = {}
        return state

    def close(self) -> None:
        """Close every open container."""
        self._cursors.clear()
        while self._open:
            _, container = self._open.popitem()
            container.close()

    def read(self, path: str | Path, span: Span, n_frames: int) -> np.ndarray:
        """Decode ``n_frames`` frames of ``span`` from ``path``.

        Returns:
            ``uint8`` array ``[n_frames, H, W, 3]`` (RGB).

        Raises:
            VideoDecodeError: Missing, truncated or corrupt file, or a span after the last frame.
        """
        targets = sample_times(span, n_frames)
        container = self._container(path, span)
        key = str(path)
        cursor = self._cursors.pop(key, None)
        try:
            if cursor is not None and self._continues(cursor, targets[0]):
                try:
                    return self._read(container, path, span, targets, cursor)
                except _NotIncreasingError:
                    self._seek_only.add(key)
            return self._read(container, path, span, targets, None)
        except av().error.FFmpegError as exc:
            self._forget(path)
            raise VideoDecodeError(path, span, f"decoding failed ({exc})") from None
        except FrameWithoutTimestampError:
            self._forget(path)
            raise VideoDecodeError(path, span, "frame without a timestamp") from None

    def _continues(self, cursor: _Cursor, first: Fraction) -> bool:
        """Whether a read whose first sample is at ``first`` continues from ``cursor``."""
        if self.forward_s is None:
            return False
        return cursor.held[0][1] <= first <= cursor.held[-1][1] + self.forward_s

    def _container(self, path: str | Path, span: Span) -> Any:
        key = str(path)
        if key in self._open:
            self._open.move_to_end(key)
            return self._open[key]
        if not Path(key).is_file():
            raise VideoDecodeError(key, span, "file not found")
        try:
            container = av().open(key, mode="r")
        except av().error.FFmpegError as exc:
            raise VideoDecodeError(key, span, f"cannot open video ({exc})") from None
        if not container.streams.video:
            container.close()
            raise VideoDecodeError(key, span, "no video stream")
        stream = container.streams.video[0]
        stream.thread_type = self.thread_type
        stream.codec_context.thread_count = self.thread_count
        self._open[key] = container
        while len(self._open) > self.max_open:
            old_key, old = self._open.popitem(last=False)
            self._cursors.pop(old_key, None)
            old.close()
        return container

    def _forget(self, path: str | Path) -> None:
        self._cursors.pop(str(path), None)
        container = self._open.pop(str(path), None)
        if container is not None:
            container.close()

    def _read(
        self, container: Any, path: str | Path, span: Span, targets: list[Fraction], cursor: _Cursor | None
    ) -> np.ndarray:
        """Select the frames of ``targets`` from a fresh seek (``cursor=None``) or from ``cursor``;
        leaves a cursor at the position reached (unless the file is read by seeking only)."""
        stream = container.streams.video[0]
        if cursor is None:
            rest, head = self._frames_from(container, stream, path, span, targets)
            frames: Iterator[Timed] = itertools.chain((head,), rest)
        else:
            rest = cursor.rest
            rest.aim(targets)
            frames = itertools.chain(cursor.held, rest)
        chosen: list[Any] = [None] * len(targets)
        next_target = 0
        previous = previous_time = after = None
        for frame, time in frames:
            if previous_time is not None and time <= previous_time:
                if cursor is not None:
                    raise _NotIncreasingError
                self._seek_only.add(str(path))
                continue  # non-increasing timestamps: keep the first frame shown at that instant
            while next_target < len(targets) and targets[next_target] < time:
                chosen[next_target] = previous if previous is not None else frame
                next_target += 1
            if next_target == len(targets):
                after = (frame, time)
                break
            previous, previous_time = frame, time
        else:
            self._check_end(stream, path, span, targets, previous_time)
            for i in range(next_target, len(targets)):
                chosen[i] = previous
        if previous is not None and str(path) not in self._seek_only:
            held = [(previous, previous_time)] + ([after] if after is not None else [])
            self._cursors[str(path)] = _Cursor(held, rest)
        return self._convert(chosen)

    def _frames_from(
        self, container: Any, stream: Any, path: str | Path, span: Span, targets: list[Fraction]
    ) -> tuple[FrameDecoder, Timed]:
        """A decoder aimed at ``targets`` and its first frame, at or before ``targets[0]`` (or at
        the file start)."""
        start_pts = stream.start_time or 0
        base = stream.time_base
        first = targets[0]
        skip = self.skip_nonref and str(path) not in self._seek_only
        for backoff in (Fraction(0), *_SEEK_BACKOFF_S, None):
            seek_s = Fraction(0) if backoff is None else max(Fraction(0), first - backoff)
            container.seek(start_pts + int(seek_s / base), backward=True, any_frame=False, stream=stream)
            decoder = FrameDecoder(container, stream, skip=skip)
            decoder.aim(targets)
            head = next(decoder, None)
            if head is None:
                if backoff is None:
                    raise VideoDecodeError(path, span, "no decodable frame")
                continue
            if head[1] <= first or seek_s == 0:
                return decoder, head
        raise AssertionError("unreachable: the last attempt seeks to the file start")

    @staticmethod
    def _check_end(
        stream: Any, path: str | Path, span: Span, targets: list[Fraction], last: Fraction | None
    ) -> None:
        if last is None:
            raise VideoDecodeError(path, span, "no decodable frame")
        if stream.duration and stream.average_rate:
            expected_end = Fraction(stream.duration) * stream.time_base
            if last + 3 / Fraction(stream.average_rate) < expected_end:
                raise VideoDecodeError(
                    path, span, f"truncated: frames end at {float(last):.3f} s of {float(expected_end):.3f} s"
                )
        if targets[0] > last:
            raise VideoDecodeError(path, span, f"span starts after the last frame ({float(last):.3f} s)")

    def _convert(self, chosen: list[Any]) -> np.ndarray:
        first = chosen[0]
        width, height = output_size(first.width, first.height, self.short_side)
        done: dict[int, np.ndarray] = {}
        threads = scaler_threads(self.thread_count)
        out = np.empty((len(chosen), height, width, 3), dtype=np.uint8)
        for i, frame in enumerate(chosen):
            key = id(frame)
            if key not in done:
                done[key] = frame.to_ndarray(
                    width=width,
                    height=height,
                    format="rgb24",
                    interpolation=self.interpolation,
                    **threads,
                )
            out[i] = done[key]
        return out
