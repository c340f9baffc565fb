"""A realistic benchmark source: a panning noise-texture H.264 video (motion and bitrate like
camera footage, unlike a flat test pattern), one slice per frame like camera/ffmpeg files."""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np

__all__ = ["write_panning_video"]


def write_panning_video(
    path: Path, *, size: tuple[int, int], seconds: int, options: dict[str, str], fps: int = 30, seed: int = 0
) -> None:
    """Write ``seconds`` of a multi-octave noise texture panning over a ``size`` frame, with a
    little per-frame noise, encoded by libx264 with ``options`` (crf, preset, keyframe interval)."""
    width, height = size
    rng = np.random.default_rng(seed)
    tex = np.zeros((height + 256, width + 512), np.float32)
    for octave in range(5):
        cell = 2 ** (7 - octave)
        coarse = rng.random((tex.shape[0] // cell + 2, tex.shape[1] // cell + 2)).astype(np.float32)
        tex += np.kron(coarse, np.ones((cell, cell), np.float32))[: tex.shape[0], : tex.shape[1]] / 2**octave
    tex = (tex / tex.max() * 255).astype(np.uint8)
    rgb = np.stack([tex, np.roll(tex, 37, 1), np.roll(tex, 71, 0)], -1)
    with av.open(str(path), mode="w", format="mp4") as container:
        stream = container.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.thread_type = "FRAME"  # frame threads: one slice per frame, like camera/ffmpeg files
        stream.options = dict(options)
        for k in range(seconds * fps):
            x = int(256 + 200 * np.sin(k / 40)) % 512
            y = int(128 + 100 * np.cos(k / 55)) % 256
            noise = rng.integers(0, 6, (height, width, 1), dtype=np.uint8)
            frame = rgb[y : y + height, x : x + width] + noise
            for packet in stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
