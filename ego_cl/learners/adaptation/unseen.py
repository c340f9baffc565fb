"""Which verb/noun classes a learner may predict and learn (the original's unseen-class masker).

Modes (``ModelConfig.mask_unseen``):

- ``none``: nothing is masked.
- ``pretrain``: only classes seen in pretraining keep their logit (the original, whose stream
  filter leaves no other classes).
- ``pretrain_or_stream``: classes seen in pretraining or earlier in this stream.

At prediction the allowed set is exactly that. In the loss the current batch's own labels are
allowed too (as in the original), so a label outside the allowed set gives a finite loss
instead of ``~1e12``. The allowed set at prediction never depends on the batch being predicted.

Every built-in network learner masks through :meth:`UnseenClassMask.predict_logits` and
:meth:`UnseenClassMask.loss_logits`; a custom learner gets the same masking from the same two
calls (``ego_cl.api.AdaptContext(...).unseen_mask(n_verbs, n_nouns)`` builds the mask).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

import torch

from ego_cl.learners.adaptation.masking import mask_logits
from ego_cl.types import Target

__all__ = ["MaskMode", "UnseenClassMask", "batch_classes"]

MaskMode = Literal["none", "pretrain", "pretrain_or_stream"]


def batch_classes(target: Target, column: int, n_classes: int) -> torch.Tensor:
    """``BoolTensor[n_classes]``: the verbs (``column=0``) or nouns (``1``) labelled in ``target``.

    Example:
        >>> batch_classes(Target.from_label_sets([[(0, 2)], [(1, 0), (0, 1)]]), 1, 4).tolist()
        [True, True, True, False]
    """
    labels = target.actions[:, :, column]
    present = torch.zeros(n_classes, dtype=torch.bool)
    present[labels[labels >= 0].cpu()] = True
    return present


class UnseenClassMask:
    """The allowed-class vectors of one learner.

    Args:
        mode: ``none``, ``pretrain`` or ``pretrain_or_stream``.
        allowed_verbs: ``BoolTensor[n_verbs]`` of verbs seen in pretraining; ``None`` = all.
        allowed_nouns: ``BoolTensor[n_nouns]`` of nouns seen in pretraining; ``None`` = all.
        n_verbs: Verb classes.
        n_nouns: Noun classes.

    Example:
        >>> m = UnseenClassMask(mode="pretrain", allowed_verbs=torch.tensor([True, False]),
        ...                     allowed_nouns=None, n_verbs=2, n_nouns=3)
        >>> m.for_predict()[0].tolist(), m.for_predict()[1]
        ([True, False], None)
    """

    def __init__(
        self,
        *,
        mode: MaskMode,
        allowed_verbs: torch.Tensor | None,
        allowed_nouns: torch.Tensor | None,
        n_verbs: int,
        n_nouns: int,
    ):
        if mode not in ("none", "pretrain", "pretrain_or_stream"):
            raise ValueError(f"unknown mask mode {mode!r}; choose none, pretrain, pretrain_or_stream")
        self.mode = mode
        self.n_verbs, self.n_nouns = n_verbs, n_nouns
        self._pretrain = (
            _checked(allowed_verbs, n_verbs, "allowed_verbs"),
            _checked(allowed_nouns, n_nouns, "allowed_nouns"),
        )
        self._seen = (torch.zeros(n_verbs, dtype=torch.bool), torch.zeros(n_nouns, dtype=torch.bool))

    def for_predict(self) -> tuple[torch.Tensor | None, torch.Tensor | None]:
        """``(allowed_verbs, allowed_nouns)`` for prediction; ``None`` = no masking."""
        if self.mode == "none":
            return None, None
        if self.mode == "pretrain":
            return self._pretrain
        return tuple(  # type: ignore[return-value]
            None if base is None else base | seen for base, seen in zip(self._pretrain, self._seen)
        )

    def for_loss(self, target: Target) -> tuple[torch.Tensor | None, torch.Tensor | None]:
        """The prediction masks plus the classes labelled in ``target``."""
        verbs, nouns = self.for_predict()
        return (
            None if verbs is None else verbs | batch_classes(target, 0, self.n_verbs),
            None if nouns is None else nouns | batch_classes(target, 1, self.n_nouns),
        )

    def predict_logits(self, verb: torch.Tensor, noun: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(verb, noun)`` logits masked for prediction, as every built-in learner predicts.

        Example:
            >>> m = UnseenClassMask(mode="pretrain", allowed_verbs=torch.tensor([True, False]),
            ...                     allowed_nouns=None, n_verbs=2, n_nouns=1)
            >>> verb, noun = m.predict_logits(torch.tensor([[1.0, 2.0]]), torch.tensor([[0.5]]))
            >>> (verb < -1e11).tolist(), noun.tolist()
            ([[False, True]], [[0.5]])
        """
        allowed_verbs, allowed_nouns = self.for_predict()
        return mask_logits(verb, allowed_verbs), mask_logits(noun, allowed_nouns)

    def loss_logits(
        self, verb: torch.Tensor, noun: torch.Tensor, target: Target
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """``(verb, noun)`` logits masked for the loss of ``target`` (its own labels stay allowed)."""
        allowed_verbs, allowed_nouns = self.for_loss(target)
        return mask_logits(verb, allowed_verbs), mask_logits(noun, allowed_nouns)

    def observe(self, target: Target) -> None:
        """Record the labels of a learned batch as seen in the stream."""
        self._seen = (
            self._seen[0] | batch_classes(target, 0, self.n_verbs),
            self._seen[1] | batch_classes(target, 1, self.n_nouns),
        )

    def state_dict(self) -> dict[str, Any]:
        """The stream-seen class vectors."""
        return {"seen_verbs": self._seen[0].clone(), "seen_nouns": self._seen[1].clone()}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore what :meth:`state_dict` returned."""
        self._seen = (state["seen_verbs"].clone().bool(), state["seen_nouns"].clone().bool())


def _checked(allowed: torch.Tensor | None, n: int, name: str) -> torch.Tensor | None:
    if allowed is None:
        return None
    if allowed.dtype != torch.bool or tuple(allowed.shape) != (n,):
        raise ValueError(
            f"{name} must be a BoolTensor of shape ({n},), got {allowed.dtype} {tuple(allowed.shape)}"
        )
    return allowed.detach().cpu().clone()
