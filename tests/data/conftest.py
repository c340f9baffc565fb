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


SMALL_SYNTHETIC = dict(
    seed=3,
    n_eval_users=3,
    n_train_users=1,
    n_pretrain_users=4,
    eval_user_s=90,
    pretrain_user_s=70,
    nan_video_s=10,
    recordings_per_user=2,
    clip_s=25,
    overlap_share=0.3,
    n_unseen_pairs=2,
)


@pytest.fixture(scope="session")
def synthetic_config():
    from ego_cl.data.config import SyntheticConfig

    return SyntheticConfig(**SMALL_SYNTHETIC)


@pytest.fixture(scope="session")
def synthetic_root(tmp_path_factory, synthetic_config):
    """A small synthetic Ego4D-format dataset plus its random user split in ``usersplits/``."""
    from ego_cl.runners.datasets import generate_dataset, write_user_split

    root = generate_dataset(tmp_path_factory.mktemp("synthetic") / "ego4d", synthetic_config)
    write_user_split(root, root / "usersplits", criterion="random", n_eval=3, n_train=1, seed=0)
    return root
