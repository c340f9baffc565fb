"""Configuration of user streams (structured by ``ego_cl.runners.config``)."""

from __future__ import annotations

from fractions import Fraction
from typing import Literal

import attrs

__all__ = ["StreamConfig"]

_positive = attrs.validators.gt(0)


@attrs.frozen(kw_only=True)
class StreamConfig:
    """How a user's annotations become an ordered stream of clips and batches.

    Attributes:
        overlap: Overlap policy: ``ignore``, ``first_action`` (FIFO, the original's rule: one
            last end, reset when the clip uid changes), ``first_action_per_clip`` (FIFO with a
            last end per clip uid) or ``multi_action``.
        clip_s: Clip length in seconds (default 32 frames x rate 2 / 30 fps = 32/15 s).
        stride_s: Step between clip starts; ``None`` = ``clip_s`` (no overlap).
        short_window: What a window shorter than one clip gives: ``extend`` (one clip running
            past the window, the original), ``pad`` (one clip, frames past the window repeat the
            window's last frame) or ``drop``.
        upstream_float_boundaries: Cut clips as the original does, in float arithmetic: windows
            from the float seconds of the file (not the frame fields), FIFO remainders as float
            differences, pytorchvideo 0.1.5's ``UniformClipSampler`` accumulation (clip ends
            drift by rounding; a window of exactly k clips may give k - 1). Needs
            ``stride_s <= clip_s``. Off: exact times (``ego_cl.data.frames``, ``sampling``).
        n_frames: Frames per clip fed to the network (uniform temporal subsample).
        side_px: Short-side resize in pixels before the centre crop.
        crop_px: Centre-crop size in pixels.
        batch_size: Consecutive samples per online step.
        filter_unseen: Drop samples whose (verb, noun) never occurs in pretraining.
        shuffle_seed: If set, one seeded shuffle of the stream (the IID control).
        max_samples: Keep only the first N samples of each stream (smoke runs).
        workers: Decoding worker processes for the online stream (0 = in the main process).
            Each runs 1 torch thread and 1 decoder thread; the runner's default torch threads
            per pool slot subtract them (``pool.threads_per_slot``).
        fetch_workers: Decoding worker processes for replay fetches (0 = in the main process).
        predict_workers: Decoding worker processes for whole-stream prediction (hindsight).
        prefetch_batches: How many batches the loader decodes ahead.
        decode_cache_mb: Memory for the decode-once clip cache (replay, look-ahead, hindsight).
    """

    overlap: Literal["ignore", "first_action", "first_action_per_clip", "multi_action"] = "first_action"
    clip_s: Fraction = Fraction(32, 15)
    stride_s: Fraction | None = None
    short_window: Literal["extend", "pad", "drop"] = "extend"
    upstream_float_boundaries: bool = False
    n_frames: int = attrs.field(default=8, validator=_positive)
    side_px: int = attrs.field(default=64, validator=_positive)
    crop_px: int = attrs.field(default=64, validator=_positive)
    batch_size: int = attrs.field(default=4, validator=_positive)
    filter_unseen: bool = True
    shuffle_seed: int | None = None
    max_samples: int | None = attrs.field(
        default=None, validator=attrs.validators.optional(attrs.validators.ge(0))
    )
    workers: int = attrs.field(default=1, validator=attrs.validators.ge(0))
    fetch_workers: int = attrs.field(default=0, validator=attrs.validators.ge(0))
    predict_workers: int = attrs.field(default=1, validator=attrs.validators.ge(0))
    prefetch_batches: int = attrs.field(default=2, validator=_positive)
    decode_cache_mb: int = attrs.field(default=512, validator=attrs.validators.ge(0))

    def __attrs_post_init__(self) -> None:
        if self.clip_s <= 0:
            raise ValueError(f"clip_s must be > 0, got {self.clip_s}")
        if self.stride_s is not None and self.stride_s <= 0:
            raise ValueError(f"stride_s must be > 0, got {self.stride_s}")
        if self.crop_px > self.side_px:
            raise ValueError(
                f"'crop_px' must be <= side_px ({self.crop_px} > {self.side_px}): the centre crop is "
                "cut from the frame resized to side_px"
            )
        if self.upstream_float_boundaries and self.stride_s is not None and self.stride_s > self.clip_s:
            raise ValueError(
                f"upstream_float_boundaries needs stride_s <= clip_s (pytorchvideo), got {self.stride_s}"
            )
