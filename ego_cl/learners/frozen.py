"""The pretrained model, never updated: the per-user baseline for online adaptation gains."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

import attrs
import torch
from torch import nn

from ego_cl.learners.adaptation.adapted import AdaptContext, AdaptedNetwork
from ego_cl.types import Batch, LearnStats, Prediction

__all__ = ["FrozenConfig", "FrozenLearner"]


@attrs.frozen(kw_only=True)
class FrozenConfig:
    """The pretrained model, never updated: the per-user baseline.

    Attributes:
        upstream_train_mode_predict: Reproduce the original's train-mode prediction.
    """

    kind: Literal["frozen"] = "frozen"
    upstream_train_mode_predict: bool = False


class FrozenLearner:
    """Predicts with fixed weights; ``learn`` only records which classes the stream has shown
    (for ``mask_unseen="pretrain_or_stream"``).

    With ``upstream_train_mode_predict`` (the original ``FixedNetwork``) predictions use BN batch
    statistics and dropout, and ``learn`` runs one gradient-free train-mode forward so that BN
    running statistics drift exactly as the original's prediction forward made them drift.

    Args:
        network: The pretrained ``VideoNetwork`` (left unchanged: the learner predicts with a copy).
        config: Whether to predict in train mode, as the original.
        context: Class masks, device and the seed of the dropout stream (used only in upstream
            mode); ``None``: defaults.
    """

    is_hindsight = False

    def __init__(
        self,
        network: nn.Module,
        config: FrozenConfig = FrozenConfig(),
        *,
        context: AdaptContext | None = None,
    ):
        self._net = AdaptedNetwork(
            network,
            AdaptContext() if context is None else context,
            trainable=None,
            upstream_train_mode_predict=config.upstream_train_mode_predict,
        )
        self.n_batches = 0

    def predict(self, batch: Batch) -> Prediction:
        """Masked logits of the fixed network."""
        return self._net.predict(batch)

    @torch.no_grad()
    def learn(self, batch: Batch) -> LearnStats:
        """No update (BN statistics drift only in upstream mode, see the class docs)."""
        target = batch.labelled()
        stats: LearnStats = {}
        if self._net.upstream_train_mode_predict:
            logits = self._net.forward(batch.clips)
            stats["loss"] = float(self._net.losses(logits, target).action.mean())
        self._net.mask.observe(target)
        self.n_batches += 1
        return stats

    def state_dict(self) -> dict[str, Any]:
        """Network (BN statistics drift in upstream mode), mask, dropout stream, batch count."""
        return {**self._net.state_dict(), "n_batches": self.n_batches}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore what :meth:`state_dict` returned."""
        self._net.load_state_dict(state)
        self.n_batches = int(state["n_batches"])
