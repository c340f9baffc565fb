"""Small video fixtures written with PyAV (one slice per frame, like real data)."""

from __future__ import annotations

from fractions import Fraction

import av
import numpy as np
import pytest


def encode_video(path, n_frames=150, width=64, height=48, fps=30, gop=12, faststart=False, seed=0):
    """Write an H.264 mp4 of ``n_frames`` distinct frames; returns the path."""
    options = {"movflags": "faststart"} if faststart else {}
    rng = np.random.default_rng(seed)
    with av.open(str(path), mode="w", format="mp4", options=options) as container:
        stream = container.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.codec_context.thread_count = 1
        stream.options = {"crf": "18", "preset": "veryfast", "g": str(gop)}
        for i in range(n_frames):
            image = np.repeat(rng.integers(0, 255, (height // 8, width // 8, 3), dtype=np.uint8), 8, 0)
            image = np.repeat(image, 8, 1)
            image[:2, :2] = i % 256
            for packet in stream.encode(av.VideoFrame.from_ndarray(image, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


def decode_all(path, size=None):
    """Every frame of ``path`` with its exact time (the oracle for the reader)."""
    times, frames = [], []
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        start = stream.start_time or 0
        for frame in container.decode(stream):
            times.append(Fraction(frame.pts - start) * stream.time_base)
            kwargs = (
                {} if size is None else {"width": size[0], "height": size[1], "interpolation": "BILINEAR"}
            )
            frames.append(frame.to_ndarray(format="rgb24", **kwargs))
    return times, np.stack(frames)


@pytest.fixture(scope="session")
def small_video(tmp_path_factory):
    """A 5-s 64x48 video with a keyframe every 12 frames and B-frames."""
    return encode_video(tmp_path_factory.mktemp("video") / "small.mp4")
