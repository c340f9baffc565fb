"""Pretraining clips: one random clip per annotation per epoch, seeded and stateless.

An item is requested as ``(epoch, index)``: the clip span comes from a
:class:`~ego_cl.streams.sampling.RandomClipSampler` seeded by ``(seed, epoch)`` and the
augmentation from a generator seeded by ``(seed, epoch, index)``. Every item is therefore a pure
function of its request, whichever worker decodes it, which makes resumed runs identical.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from fractions import Fraction

import torch

from ego_cl.protocols import StreamSource
from ego_cl.streams.sampling import RandomClipSampler, padded_read
from ego_cl.streams.transform import EvalTransform, TrainTransform
from ego_cl.types import ActionAnnotation

__all__ = ["EpochBatches", "PretrainClips", "item_seed"]

_MASK63 = (1 << 63) - 1


def item_seed(seed: int, epoch: int, index: int = -1) -> int:
    """A non-negative 63-bit seed derived from ``(seed, epoch, index)``.

    Example:
        >>> item_seed(0, 1, 2) == item_seed(0, 1, 2) != item_seed(0, 2, 1)
        True
    """
    return ((seed * 1_000_003 + epoch) * 10_000_019 + index + 1) * 0x9E3779B97F4A7C15 & _MASK63


class PretrainClips(torch.utils.data.Dataset):
    """``dataset[(epoch, i)]`` → ``(clip[C, T, H, W], verb, noun)`` for annotation ``i``.

    Args:
        source: Where clips are read (picklable before its first read).
        annotations: The annotations; ``drop`` mode should pass only windows >= ``clip_s``.
        seed: Base seed of clip draws and augmentation.
        clip_s: Clip length in seconds.
        n_frames: Frames decoded per clip.
        short_window: ``extend`` or ``pad`` for windows shorter than a clip.
        train: Random training transform if True, else the deterministic eval transform.
        min_side_px, max_side_px, crop_px, eval_side_px, flip_p: Transform settings.
    """

    def __init__(
        self,
        source: StreamSource,
        annotations: Sequence[ActionAnnotation],
        *,
        seed: int,
        clip_s: Fraction,
        n_frames: int,
        short_window: str = "extend",
        train: bool,
        min_side_px: int,
        max_side_px: int,
        crop_px: int,
        eval_side_px: int,
        flip_p: float = 0.5,
    ):
        self.source = source
        self.annotations = tuple(annotations)
        self.seed, self.clip_s, self.n_frames, self.train = seed, clip_s, n_frames, train
        self.short_window = "pad" if short_window == "pad" else "extend"
        self.side = (min_side_px, max_side_px, eval_side_px)
        self.crop_px, self.flip_p = crop_px, flip_p

    def __len__(self) -> int:
        return len(self.annotations)

    def span(self, epoch: int, index: int):
        """The clip span read for annotation ``index`` in ``epoch``."""
        sampler = RandomClipSampler(
            clip_s=self.clip_s, seed=item_seed(self.seed, epoch), short_window=self.short_window
        )
        return next(iter(sampler.spans(self.annotations[index].span)))

    def _read(self, clip_uid: str, span) -> torch.Tensor:
        if span.duration_s >= self.clip_s:
            return self.source.read_clip(clip_uid, span, self.n_frames)
        read_span, n_read = padded_read(span, self.clip_s, self.n_frames)
        clip = self.source.read_clip(clip_uid, read_span, n_read)
        missing = self.n_frames - clip.shape[0]
        return clip if missing <= 0 else torch.cat([clip, clip[-1:].expand(missing, *clip.shape[1:])])

    def _transform(self, epoch: int, index: int):
        if not self.train:
            return EvalTransform(n_frames=self.n_frames, side_px=self.side[2], crop_px=self.crop_px)
        generator = torch.Generator().manual_seed(item_seed(self.seed, epoch, index))
        return TrainTransform(
            n_frames=self.n_frames,
            min_side_px=self.side[0],
            max_side_px=self.side[1],
            crop_px=self.crop_px,
            generator=generator,
            flip_p=self.flip_p,
        )

    def __getitem__(self, request: tuple[int, int]) -> tuple[torch.Tensor, int, int]:
        epoch, index = request
        annotation = self.annotations[index]
        clip = self._read(annotation.clip_uid, self.span(epoch, index))
        return self._transform(epoch, index)(clip), annotation.verb_label, annotation.noun_label


class EpochBatches(torch.utils.data.Sampler):
    """Batches of ``(epoch, index)`` requests: a seeded permutation per epoch (or file order).

    Args:
        n: Number of annotations.
        batch_size: Requests per batch (the last batch may be smaller).
        epoch: Which epoch's order to produce.
        seed: Base seed; ``shuffle=False`` gives ``0 .. n-1`` in order.
        shuffle: Permute the annotations.
    """

    def __init__(self, n: int, *, batch_size: int, epoch: int, seed: int, shuffle: bool = True):
        self.n, self.batch_size, self.epoch, self.seed, self.shuffle = n, batch_size, epoch, seed, shuffle

    def order(self) -> list[int]:
        """The annotation order of this epoch."""
        if not self.shuffle:
            return list(range(self.n))
        generator = torch.Generator().manual_seed(item_seed(self.seed, self.epoch, -2))
        return torch.randperm(self.n, generator=generator).tolist()

    def __len__(self) -> int:
        return -(-self.n // self.batch_size)

    def __iter__(self) -> Iterator[list[tuple[int, int]]]:
        order = self.order()
        for start in range(0, self.n, self.batch_size):
            yield [(self.epoch, i) for i in order[start : start + self.batch_size]]
