"""Unseen-class masking: logits of classes a model may not predict are pushed to a huge negative.

The original appends ``UnseenVerbNounMaskerHead`` to the head: a verb (noun) keeps its logit
only if it was seen in pretraining (optionally: or so far in the stream, or in the current
batch); every other logit becomes ``-1e12``, both at prediction and inside the loss. Here that
is a pure function over logits and a boolean "allowed" vector; learners decide what is allowed.
"""

from __future__ import annotations

from collections.abc import Iterable

import torch

__all__ = ["MASK_VALUE", "allowed_classes", "mask_logits"]

MASK_VALUE = -1e12
"""The logit given to disallowed classes (as in the original)."""


def allowed_classes(
    labels: Iterable[int], n_classes: int, device: torch.device | str | None = None
) -> torch.Tensor:
    """``BoolTensor[n_classes]`` that is True exactly at ``labels``.

    Raises:
        ValueError: A label outside ``0 .. n_classes-1``.

    Example:
        >>> allowed_classes([0, 2], 4).tolist()
        [True, False, True, False]
    """
    index = torch.tensor(sorted(set(labels)), dtype=torch.long)
    if index.numel() and (index.min() < 0 or index.max() >= n_classes):
        raise ValueError(f"class labels must lie in [0, {n_classes}), got {index.tolist()}")
    allowed = torch.zeros(n_classes, dtype=torch.bool)
    allowed[index] = True
    return allowed.to(device) if device is not None else allowed


def mask_logits(logits: torch.Tensor, allowed: torch.Tensor | None) -> torch.Tensor:
    """Set the logits of disallowed classes to :data:`MASK_VALUE` (a new tensor; input unchanged).

    Gradients flow only to allowed classes. Half-precision logits get the dtype's most negative
    finite value instead (``-1e12`` does not fit in float16).

    Args:
        logits: ``[B, n]`` scores.
        allowed: ``BoolTensor[n]`` (or ``[B, n]``) of classes that keep their logit; ``None``
            masks nothing.

    Example:
        >>> mask_logits(torch.tensor([[1.0, 2.0, 3.0]]), torch.tensor([True, False, True]))
        tensor([[ 1.0000e+00, -1.0000e+12,  3.0000e+00]])
    """
    if allowed is None:
        return logits
    if allowed.dtype != torch.bool:
        raise TypeError(f"allowed must be a BoolTensor, got {allowed.dtype}")
    if allowed.shape[-1] != logits.shape[-1]:
        raise ValueError(f"allowed has {allowed.shape[-1]} classes, logits have {logits.shape[-1]}")
    value = max(MASK_VALUE, torch.finfo(logits.dtype).min)
    return logits.masked_fill(~allowed.to(logits.device), value)
