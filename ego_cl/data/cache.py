"""The resized-clip cache: each clip re-encoded once at a small short side (Ego4D's ``clips_resized``).

Decoding a 1080p clip costs 10-20x more than decoding its 320p copy (perf-notes §2.3), so clips
are re-encoded once: H.264 (libx264, ``crf`` 28, no audio), short side ``short_side`` (even
width), **every frame kept with its original timestamp**, so the frame-selection rule of
:mod:`ego_cl.data.video` picks the same frames from the copy as from the source. Videos whose
short side is already at most ``short_side`` are copied at their own size (re-encoded, never
upscaled). :func:`resize_video` returns the bytes; ``ego_cl.runners.resize`` writes them.
"""

from __future__ import annotations

import io
from fractions import Fraction
from pathlib import Path

from ego_cl.data.codec import av, scaler_threads
from ego_cl.data.video import VideoDecodeError, output_size

__all__ = ["cache_dir_for", "cached_size", "resize_video", "stored_short_side"]


def cache_dir_for(video_dir: str | Path, short_side: int) -> Path:
    """Where the cache of ``video_dir`` lives by default: a sibling ``<name>_resized_<side>``.

    Example:
        >>> cache_dir_for("/d/v1/clips", 320).as_posix()
        '/d/v1/clips_resized_320'
    """
    video_dir = Path(video_dir)
    return video_dir.with_name(f"{video_dir.name}_resized_{short_side}")


def cached_size(width: int, height: int, short_side: int) -> tuple[int, int]:
    """Size of the cached copy: short side ``short_side`` (never upscaled), both sides even.

    Example:
        >>> cached_size(1920, 1080, 320), cached_size(128, 96, 320), cached_size(1440, 1080, 256)
        ((570, 320), (128, 96), (342, 256))
    """
    if min(width, height) <= short_side:
        return width - width % 2, height - height % 2
    w, h = output_size(width, height, short_side)
    return w + w % 2, h + h % 2


def stored_short_side(path: str | Path) -> int | None:
    """The short side in pixels of the first video stream of ``path`` (``None`` if unreadable)."""
    try:
        with av().open(str(path)) as container:
            ctx = container.streams.video[0].codec_context
            return min(ctx.width, ctx.height)
    except (av().error.FFmpegError, IndexError):
        return None


def resize_video(
    path: str | Path,
    *,
    short_side: int = 320,
    crf: int = 28,
    preset: str = "veryfast",
    gop: int | None = None,
) -> bytes:
    """Decode every frame of ``path`` and re-encode it resized, keeping each frame's timestamp.

    Args:
        path: Source video.
        short_side: Target short side in pixels.
        crf: x264 constant rate factor (Ego4D's resize used 28).
        preset: x264 preset (Ego4D used ``medium``; ``veryfast`` is ~3x quicker, slightly larger).
        gop: Keyframe interval in frames (``None`` = x264's default; 30 makes random access faster).

    Returns:
        The mp4 file's bytes.

    Raises:
        VideoDecodeError: The source cannot be read.
    """
    try:
        with av().open(str(path)) as source:
            return _transcode(source, short_side=short_side, crf=crf, preset=preset, gop=gop)
    except av().error.FFmpegError as exc:
        raise VideoDecodeError(path, None, f"cannot re-encode ({exc})") from None


def _transcode(source: object, *, short_side: int, crf: int, preset: str, gop: int | None) -> bytes:
    src = source.streams.video[0]  # type: ignore[attr-defined]
    src.thread_type = "AUTO"
    width, height = cached_size(src.codec_context.width, src.codec_context.height, short_side)
    start = src.start_time or 0
    buffer = io.BytesIO()
    with av().open(buffer, mode="w", format="mp4") as out:
        rate = src.average_rate or Fraction(30)
        stream = out.add_stream("libx264", rate=rate)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.codec_context.time_base = src.time_base
        stream.codec_context.thread_count = 1
        stream.options = {"crf": str(crf), "preset": preset, **({"g": str(gop)} if gop else {})}
        for frame in source.decode(src):  # type: ignore[attr-defined]
            small = frame.reformat(
                width=width, height=height, format="yuv420p", interpolation="AREA", **scaler_threads(1)
            )
            small.pts, small.time_base = frame.pts - start, src.time_base
            for packet in stream.encode(small):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return buffer.getvalue()
