"""A contact sheet of a stream's first clips: three frames per clip with its labels and times.

The "stream summarizer / video player" the seed notes wish for: one PNG to check by eye that
the stream order, the clip spans and the labels agree with what the video shows.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from ego_cl.protocols import StreamSource
from ego_cl.types import StreamSample

__all__ = ["clip_caption", "write_contact_sheet"]

FRAMES_PER_CLIP = 3


def clip_caption(sample: StreamSample, names: Mapping[str, Sequence[str]] | None = None) -> str:
    """``#index start–end s`` and one ``verb noun (v,n)`` line per label.

    Example:
        >>> from fractions import Fraction
        >>> from ego_cl.types import Span
        >>> s = StreamSample(index=3, user_id="u", clip_uid="c", video_uid="v", actions=[(1, 0)],
        ...     span=Span(Fraction(0), Fraction(32, 15)), annotation_index=0, clip_index=0)
        >>> print(clip_caption(s, {"verb": ["take", "put"], "noun": ["cup"]}))
        #3  0.00–2.13 s  c
        put cup (1,0)
    """
    span = f"{float(sample.span.start_s):.2f}–{float(sample.span.end_s):.2f} s"
    lines = [f"#{sample.index}  {span}  {sample.clip_uid[:12]}"]
    for verb, noun in sample.actions:
        named = f"{names['verb'][verb]} {names['noun'][noun]} " if names else ""
        lines.append(f"{named}({verb},{noun})")
    return "\n".join(lines)


def write_contact_sheet(
    source: StreamSource,
    samples: Sequence[StreamSample],
    path: Path,
    *,
    names: Mapping[str, Sequence[str]] | None = None,
    n_frames: int = 8,
) -> Path:
    """Decode ``samples`` (``n_frames`` each) and save a grid: first, middle and last frame per clip.

    Returns:
        The PNG path.
    """
    cols = 4
    rows = max(1, -(-len(samples) // cols))
    fig, axes = plt.subplots(rows, cols, figsize=(3.4 * cols, 1.5 + 1.4 * rows), squeeze=False)
    for ax, sample in zip(axes.flat, samples, strict=False):
        frames = source.read_clip(sample.clip_uid, sample.span, n_frames).numpy()
        picks = np.linspace(0, len(frames) - 1, FRAMES_PER_CLIP).round().astype(int)
        ax.imshow(np.concatenate([frames[i] for i in picks], axis=1))
        ax.set_title(clip_caption(sample, names), fontsize=6, loc="left")
        ax.axis("off")
    for ax in list(axes.flat)[len(samples) :]:
        ax.axis("off")
    user = samples[0].user_id if samples else "?"
    fig.suptitle(f"First {len(samples)} clips of user {user}'s stream (first | middle | last frame)")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
