"""Plain online fine-tuning: K optimiser steps on each new batch (the original ``Finetuning``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
from torch import nn

from ego_cl.learners.adapted import AdaptedNetwork
from ego_cl.learners.optim import OptimizerKind, Trainable, build_optimizer
from ego_cl.learners.unseen import MaskMode
from ego_cl.types import Batch, LearnStats, Prediction

__all__ = ["FinetuneLearner"]


class FinetuneLearner:
    """SGD (or Adam) on the mean action loss ``CE(verb) + CE(noun)`` of each new batch.

    ``learn`` always re-forwards the batch in train mode (``predict`` ran in eval mode, so its
    forward cannot be reused). With ``trainable="head"`` the frozen backbone's features are
    computed once per batch and the K steps run on the head alone (exactly equivalent, since a
    frozen backbone runs in eval mode).

    Args:
        network: The pretrained ``VideoNetwork`` (moved to ``device``, trained in place).
        lr: Learning rate (backbone; the original's 0.01 for the full model, 0.1 head-only).
        head_lr: Learning rate of the head; ``None`` = ``lr``.
        momentum: SGD momentum.
        nesterov: Nesterov momentum (ignored when momentum is 0).
        weight_decay: L2 weight decay (never on normalisation layers).
        optimizer: ``sgd`` or ``adam``.
        k_updates: Optimiser steps per batch.
        trainable: ``all``, ``head`` (frozen backbone) or ``features`` (frozen head).
        allowed_verbs: ``BoolTensor[n_verbs]`` of verbs seen in pretraining (``None`` = all).
        allowed_nouns: ``BoolTensor[n_nouns]`` of nouns seen in pretraining (``None`` = all).
        mask_unseen: ``none``, ``pretrain`` or ``pretrain_or_stream``.
        device: Where the network runs.
        seed: Seed of the dropout stream.
        upstream_train_mode_predict: Train-mode prediction and frozen parts, as the original.
    """

    is_hindsight = False

    def __init__(
        self,
        network: nn.Module,
        *,
        lr: float = 0.01,
        head_lr: float | None = None,
        momentum: float = 0.0,
        nesterov: bool = False,
        weight_decay: float = 0.0,
        optimizer: OptimizerKind = "sgd",
        k_updates: int = 1,
        trainable: Trainable = "all",
        allowed_verbs: torch.Tensor | None = None,
        allowed_nouns: torch.Tensor | None = None,
        mask_unseen: MaskMode = "pretrain",
        device: torch.device | str = "cpu",
        seed: int = 0,
        upstream_train_mode_predict: bool = False,
    ):
        if k_updates < 1:
            raise ValueError(f"k_updates must be >= 1, got {k_updates}")
        self._net = AdaptedNetwork(
            network,
            trainable=trainable,
            mask_unseen=mask_unseen,
            allowed_verbs=allowed_verbs,
            allowed_nouns=allowed_nouns,
            device=device,
            seed=seed,
            upstream_train_mode_predict=upstream_train_mode_predict,
        )
        self._optimizer = build_optimizer(
            self._net.network,
            optimizer=optimizer,
            lr=lr,
            head_lr=head_lr,
            momentum=momentum,
            nesterov=nesterov,
            weight_decay=weight_decay,
        )
        self.k_updates = k_updates
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
