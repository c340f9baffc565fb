"""ER-ACE: experience replay with asymmetric cross-entropy (Caccia et al., ICLR 2022).

The new batch's loss lets only the verbs (nouns) present in that batch compete in the softmax,
so learning new samples does not push down the logits of classes that are absent from it; the
replayed samples use the ordinary (masked) cross-entropy over all classes. Loss =
``mean_new(ACE) + mean_memory(CE)`` (summed, as in the paper). New and memory clips share one
forward pass.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
from torch import nn

from ego_cl.learners.adapted import AdaptedNetwork
from ego_cl.learners.buffer import Fetch, ReplayBuffer
from ego_cl.learners.losses import action_losses
from ego_cl.learners.masking import mask_logits
from ego_cl.learners.memory import MemoryPolicy
from ego_cl.learners.optim import OptimizerKind, Trainable, build_optimizer
from ego_cl.learners.unseen import MaskMode, batch_classes
from ego_cl.types import Batch, LearnStats, Prediction, Target

__all__ = ["ERACELearner"]


class ERACELearner:
    """Replay with asymmetric cross-entropy on the incoming batch.

    Args:
        network: The pretrained ``VideoNetwork`` (moved to ``device``, trained in place).
        fetch: The runner's ``fetch(indices) -> Batch``.
        memory, capacity, replay_batch_size, resample_each_update: As in
            :class:`~ego_cl.learners.replay.ReplayLearner`.
        lr, head_lr, momentum, nesterov, weight_decay, optimizer, k_updates, trainable,
        allowed_verbs, allowed_nouns, mask_unseen, device, seed, upstream_train_mode_predict:
            As in :class:`~ego_cl.learners.finetune.FinetuneLearner`.
    """

    is_hindsight = False

    def __init__(
        self,
        network: nn.Module,
        *,
        fetch: Fetch,
        memory: MemoryPolicy = "reservoir",
        capacity: int = 64,
        replay_batch_size: int | None = None,
        resample_each_update: bool = True,
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
        self._buffer = ReplayBuffer(policy=memory, capacity=capacity, fetch=fetch, seed=seed)
        self.k_updates, self.replay_batch_size = k_updates, replay_batch_size
        self.resample_each_update = resample_each_update
        self.n_batches = 0

    def predict(self, batch: Batch) -> Prediction:
        """Masked logits of the current network."""
        return self._net.predict(batch)

    def learn(self, batch: Batch) -> LearnStats:
        """K updates on ``ACE(new) + CE(memory)``, then store the new indices."""
        n_replay = self.replay_batch_size if self.replay_batch_size is not None else len(batch)
        replay = self._buffer.sample(n_replay)
        stats: LearnStats = {}
        for k in range(self.k_updates):
            if k > 0 and self.resample_each_update:
                replay = self._buffer.sample(n_replay)
            loss_new, loss_mem = self._losses(batch, replay)
            loss = loss_new + loss_mem
            self._optimizer.zero_grad(set_to_none=True)
            loss.backward()
            self._optimizer.step()
            if k == 0:
                stats = {"loss": float(loss.detach()), "loss_new": float(loss_new.detach())}
                stats["loss_mem"] = float(loss_mem.detach())
        self._buffer.add(batch)
        self._net.mask.observe(batch.labelled())
        self.n_batches += 1
        return {**stats, "memory_size": float(len(self._buffer))}

    def _losses(self, batch: Batch, replay: Batch | None) -> tuple[torch.Tensor, torch.Tensor]:
        clips = batch.clips.to(self._net.device)
        if replay is not None:
            clips = torch.cat([clips, replay.clips.to(self._net.device)])
        verb, noun = self._net.forward(clips)
        n = len(batch)
        loss_new = self._asymmetric_ce(verb[:n], noun[:n], batch.labelled())
        if replay is None:
            return loss_new, torch.zeros((), device=loss_new.device)
        loss_mem = self._net.losses((verb[n:], noun[n:]), replay.labelled()).action.mean()
        return loss_new, loss_mem

    def _asymmetric_ce(self, verb: torch.Tensor, noun: torch.Tensor, target: Target) -> torch.Tensor:
        present_verbs = batch_classes(target, 0, verb.shape[1])
        present_nouns = batch_classes(target, 1, noun.shape[1])
        masked = (mask_logits(verb, present_verbs), mask_logits(noun, present_nouns))
        return action_losses(*masked, target).action.mean()

    def state_dict(self) -> dict[str, Any]:
        """Network, optimiser, memory, mask, dropout stream, batch count."""
        return {
            **self._net.state_dict(),
            "optimizer": self._optimizer.state_dict(),
            "buffer": self._buffer.state_dict(),
            "n_batches": self.n_batches,
        }

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore what :meth:`state_dict` returned."""
        self._net.load_state_dict(state)
        self._optimizer.load_state_dict(state["optimizer"])
        self._buffer.load_state_dict(state["buffer"])
        self.n_batches = int(state["n_batches"])
