"""Clip transforms: decoded uint8 ``[T, H, W, 3]`` → network input float ``[C, T, H, W]``.

:class:`EvalTransform` is deterministic and is used for online prediction, learning, replay and
hindsight alike (so a re-read clip looks identical). :class:`TrainTransform` (pretraining) adds a
random short-side scale, a random crop and a horizontal flip, drawing only from the
``torch.Generator`` it is given.

Both: uniform temporal subsample to ``n_frames`` (indices ``floor(linspace(0, T-1, n_frames))``,
as pytorchvideo's ``uniform_temporal_subsample``; frames repeat when ``T < n_frames``), /255,
short-side resize (bilinear, antialiased), crop, normalise with ``mean``/``std``. Resizing and
cropping are linear with unit-sum weights, so normalising after them equals normalising first;
doing it last is cheaper.

The resize and the crops are the operations ``torchvision.transforms.v2.functional`` runs on float
tensors (same ``interpolate`` call, output size and crop anchor; pixel-identical, tested), written
out so that a stream worker does not import torchvision (its import pulls in ``torch._dynamo``:
about 190 MiB of resident memory and seconds of start-up per worker).
"""

from __future__ import annotations

import attrs
import torch
from torch.nn.functional import interpolate

__all__ = ["EvalTransform", "TrainTransform", "uniform_temporal_indices"]

_positive = attrs.validators.gt(0)


def uniform_temporal_indices(n_in: int, n_out: int) -> torch.Tensor:
    """Indices of ``n_out`` frames spread evenly over ``n_in`` (first and last included).

    Example:
        >>> uniform_temporal_indices(10, 4).tolist()
        [0, 3, 6, 9]
        >>> uniform_temporal_indices(2, 4).tolist()
        [0, 0, 0, 1]
    """
    if n_in == n_out:
        return torch.arange(n_in)
    return torch.linspace(0, n_in - 1, n_out).clamp(0, n_in - 1).long()


def _check_clip(clip: torch.Tensor) -> None:
    if clip.dtype != torch.uint8 or clip.dim() != 4 or clip.shape[-1] != 3 or clip.shape[0] == 0:
        raise ValueError(
            f"expected a uint8 clip [T, H, W, 3] with T > 0, got {clip.dtype} {tuple(clip.shape)}"
        )


def _to_float_frames(clip: torch.Tensor, n_frames: int) -> torch.Tensor:
    """uint8 ``[T, H, W, 3]`` → float ``[n_frames, 3, H, W]`` in ``[0, 1]``."""
    _check_clip(clip)
    clip = clip[uniform_temporal_indices(clip.shape[0], n_frames)]
    return clip.permute(0, 3, 1, 2).float().div_(255.0)


def _short_side_resize(frames: torch.Tensor, side_px: int) -> torch.Tensor:
    """Float ``[T, C, H, W]`` with short side ``side_px`` (torchvision's ``resize(x, [side_px])``)."""
    n, _, height, width = frames.shape
    if min(height, width) == side_px:
        return frames
    long_px = int(side_px * max(height, width) / min(height, width))
    size = [side_px, long_px] if height <= width else [long_px, side_px]
    strides = frames.stride()
    if n == 1 and frames.is_contiguous(memory_format=torch.channels_last) and frames.numel() != strides[0]:
        # torchvision restrides a single channels-last image so interpolate keeps that layout
        frames = frames.as_strided(frames.shape, [frames.numel(), *strides[1:]])
    return interpolate(frames, size=size, mode="bilinear", align_corners=False, antialias=True)


def _crop(frames: torch.Tensor, top: int, left: int, side_px: int) -> torch.Tensor:
    return frames[..., top : top + side_px, left : left + side_px]


def _center_crop(frames: torch.Tensor, side_px: int) -> torch.Tensor:
    """torchvision's ``center_crop`` anchor (``side_px`` is at most the frame size here)."""
    height, width = frames.shape[-2:]
    return _crop(frames, round((height - side_px) / 2.0), round((width - side_px) / 2.0), side_px)


def _finish(frames: torch.Tensor, mean: float, std: float) -> torch.Tensor:
    """Normalise and reorder ``[T, C, H, W]`` → ``[C, T, H, W]``."""
    return frames.sub_(mean).div_(std).permute(1, 0, 2, 3).contiguous()


@attrs.frozen(kw_only=True)
class EvalTransform:
    """Deterministic test-time transform.

    Args:
        n_frames: Output frames ``T``.
        side_px: Short side after resizing.
        crop_px: Side of the centre crop (``<= side_px``).
        mean: Normalisation mean (all channels).
        std: Normalisation standard deviation.

    Example:
        >>> clip = torch.zeros(16, 40, 60, 3, dtype=torch.uint8)
        >>> EvalTransform(n_frames=8, side_px=32, crop_px=24)(clip).shape
        torch.Size([3, 8, 24, 24])
    """

    n_frames: int = attrs.field(validator=_positive)
    side_px: int = attrs.field(validator=_positive)
    crop_px: int = attrs.field(validator=_positive)
    mean: float = 0.45
    std: float = attrs.field(default=0.225, validator=_positive)

    deterministic = True
    """Same input, same output: the loader may cache transformed clips."""

    def __attrs_post_init__(self) -> None:
        if self.crop_px > self.side_px:
            raise ValueError(f"crop_px ({self.crop_px}) must be <= side_px ({self.side_px})")

    def __call__(self, clip: torch.Tensor) -> torch.Tensor:
        """uint8 ``[T, H, W, 3]`` → float ``[3, n_frames, crop_px, crop_px]``."""
        frames = _short_side_resize(_to_float_frames(clip, self.n_frames), self.side_px)
        frames = _center_crop(frames, self.crop_px)
        return _finish(frames, self.mean, self.std)


@attrs.define(kw_only=True)
class TrainTransform:
    """Seeded random training transform (pretraining augmentation).

    Each call draws a short side uniformly in ``[min_side_px, max_side_px]``, a crop position
    uniformly, and flips horizontally with probability ``flip_p`` (the original's setting made
    that 1, see spec §9.5; the default here is 0.5). All draws come from ``generator``; in
    DataLoader workers every worker holds a copy, so seed each worker's copy differently.

    Args:
        n_frames: Output frames ``T``.
        min_side_px: Smallest short side after resizing.
        max_side_px: Largest short side after resizing.
        crop_px: Side of the random square crop (``<= min_side_px``).
        generator: Source of all randomness.
        flip_p: Probability of a horizontal flip.
        mean: Normalisation mean.
        std: Normalisation standard deviation.
    """

    n_frames: int = attrs.field(validator=_positive)
    min_side_px: int = attrs.field(validator=_positive)
    max_side_px: int = attrs.field(validator=_positive)
    crop_px: int = attrs.field(validator=_positive)
    generator: torch.Generator
    flip_p: float = attrs.field(default=0.5, validator=[attrs.validators.ge(0), attrs.validators.le(1)])
    mean: float = 0.45
    std: float = attrs.field(default=0.225, validator=_positive)

    deterministic = False

    def __attrs_post_init__(self) -> None:
        if not self.crop_px <= self.min_side_px <= self.max_side_px:
            raise ValueError(
                f"need crop_px <= min_side_px <= max_side_px, got {self.crop_px}, {self.min_side_px}, "
                f"{self.max_side_px}"
            )

    def _randint(self, low: int, high_inclusive: int) -> int:
        return int(torch.randint(low, high_inclusive + 1, (1,), generator=self.generator))

    def __call__(self, clip: torch.Tensor) -> torch.Tensor:
        """uint8 ``[T, H, W, 3]`` → float ``[3, n_frames, crop_px, crop_px]``."""
        frames = _short_side_resize(
            _to_float_frames(clip, self.n_frames), self._randint(self.min_side_px, self.max_side_px)
        )
        height, width = frames.shape[-2:]
        top = self._randint(0, height - self.crop_px)
        left = self._randint(0, width - self.crop_px)
        frames = _crop(frames, top, left, self.crop_px)
        if float(torch.rand((), generator=self.generator)) < self.flip_p:
            frames = frames.flip(-1)
        return _finish(frames, self.mean, self.std)
