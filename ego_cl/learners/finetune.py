"""Plain online fine-tuning: K optimiser steps on each new batch (the original ``Finetuning``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

import attrs
from torch import nn

from ego_cl.learners.adaptation.adapted import AdaptContext, adapt
from ego_cl.learners.adaptation.optim import TrainOptions
from ego_cl.types import Batch, LearnStats, Prediction

__all__ = ["FinetuneConfig", "FinetuneLearner"]


@attrs.frozen(kw_only=True)
class FinetuneConfig(TrainOptions):
    """Plain online fine-tuning with SGD (or Adam).

    Attributes: the optimiser options of :class:`~ego_cl.learners.adaptation.optim.TrainOptions`
    (``lr``, ``head_lr``, ``momentum``, ``nesterov``, ``weight_decay``, ``optimizer``,
    ``k_updates``, ``trainable``, ``upstream_train_mode_predict``).
    """

    kind: Literal["finetune"] = "finetune"


class FinetuneLearner:
    """SGD (or Adam) on the mean action loss ``CE(verb) + CE(noun)`` of each new batch.

    ``learn`` always re-forwards the batch in train mode (``predict`` ran in eval mode, so its
    forward cannot be reused). With ``trainable="head"`` the frozen backbone's features are
    computed once per batch and the K steps run on the head alone (exactly equivalent, since a
    frozen backbone runs in eval mode).

    Args:
        network: The pretrained ``VideoNetwork`` (left unchanged: a copy is trained).
        config: Optimiser options (the original's lr 0.01 for the full model, 0.1 head-only).
        context: Class masks, device and the seed of the dropout stream (``None``: defaults).
    """

    is_hindsight = False

    def __init__(
        self,
        network: nn.Module,
        config: FinetuneConfig = FinetuneConfig(),
        *,
        context: AdaptContext | None = None,
    ):
        self._net, self._optimizer = adapt(
            network, config, context, trainable=config.trainable, head_lr=config.head_lr
        )
        self.k_updates = config.k_updates
        self.n_batches = 0

    def predict(self, batch: Batch) -> Prediction:
        """Masked logits of the current network (eval mode unless upstream)."""
        return self._net.predict(batch)

    def learn(self, batch: Batch) -> LearnStats:
        """``k_updates`` steps on the batch's mean action loss."""
        target = batch.labelled()
        features = self._net.frozen_features(batch.clips) if self._net.uses_frozen_features() else None
        losses = []
        for _ in range(self.k_updates):
            logits = self._net.forward(batch.clips) if features is None else self._net.head_forward(features)
            loss = self._net.losses(logits, target).action.mean()
            self._optimizer.zero_grad(set_to_none=True)
            loss.backward()
            self._optimizer.step()
            losses.append(float(loss.detach()))
        self._net.mask.observe(target)
        self.n_batches += 1
        return {"loss": losses[0], "loss_last": losses[-1]}

    def state_dict(self) -> dict[str, Any]:
        """Network, optimiser state, mask, dropout stream, batch count."""
        return {
            **self._net.state_dict(),
            "optimizer": self._optimizer.state_dict(),
            "n_batches": self.n_batches,
        }

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore what :meth:`state_dict` returned."""
        self._net.load_state_dict(state)
        self._optimizer.load_state_dict(state["optimizer"])
        self.n_batches = int(state["n_batches"])
