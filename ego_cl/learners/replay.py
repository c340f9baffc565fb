"""Experience replay (the original ``Replay``): each new batch is learned together with samples
drawn from a memory of earlier stream positions."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
from torch import nn

from ego_cl.learners.adapted import AdaptedNetwork
from ego_cl.learners.buffer import Fetch, ReplayBuffer, concat_targets
from ego_cl.learners.memory import MemoryPolicy
from ego_cl.learners.optim import OptimizerKind, Trainable, build_optimizer
from ego_cl.learners.unseen import MaskMode
from ego_cl.types import Batch, LearnStats, Prediction

__all__ = ["ReplayLearner"]


class ReplayLearner:
    """Fine-tuning on ``new ∪ replayed`` with loss ``½·mean_new + ½·mean_memory``.

    Per update, ``min(replay_batch_size, |memory|)`` stored indices are drawn uniformly without
    replacement and fetched; new and memory clips go through the network in one forward (shared
    BN batch statistics, as in the original). While the memory is empty the loss is the new
    batch's mean. After the K updates the new batch's indices are offered to the memory.

    Args:
        network: The pretrained ``VideoNetwork`` (moved to ``device``, trained in place).
        fetch: The runner's ``fetch(indices) -> Batch`` (labelled clips of stream positions).
        memory: ``fifo``, ``reservoir`` or ``class_balanced`` (CBRS keyed by action).
        capacity: Memory size in samples; ``0`` = unlimited (the original's 1e6 "full replay").
        replay_batch_size: Memory samples per update; ``None`` = the new batch's size.
        resample_each_update: Fresh memory draw for each of the K updates (else reuse the first).
        upstream_half_loss_when_empty: Halve the loss while the memory is empty (original quirk).
        upstream_fifo_lag: FIFO memory lags one batch (original quirk).
        upstream_batch_nobs: Reservoir draws use the batch-end count (original quirk).
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
        upstream_half_loss_when_empty: bool = False,
        upstream_fifo_lag: bool = False,
        upstream_batch_nobs: bool = False,
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
        self._buffer = ReplayBuffer(
            policy=memory,
            capacity=capacity,
            fetch=fetch,
            seed=seed,
            upstream_fifo_lag=upstream_fifo_lag,
            upstream_batch_nobs=upstream_batch_nobs,
        )
        self.k_updates = k_updates
        self.replay_batch_size = replay_batch_size
        self.resample_each_update = resample_each_update
        self.upstream_half_loss_when_empty = upstream_half_loss_when_empty
        self.n_batches = 0

    def predict(self, batch: Batch) -> Prediction:
        """Masked logits of the current network (new samples only)."""
        return self._net.predict(batch)

    def learn(self, batch: Batch) -> LearnStats:
        """K updates on the new batch joined with memory samples, then store the new indices."""
        n_new = len(batch)
        n_replay = self.replay_batch_size if self.replay_batch_size is not None else n_new
        replay = self._buffer.sample(n_replay)
        stats: LearnStats = {}
        for k in range(self.k_updates):
            if k > 0 and self.resample_each_update:
                replay = self._buffer.sample(n_replay)
            loss, parts = self._loss(batch, replay)
            self._optimizer.zero_grad(set_to_none=True)
            loss.backward()
            self._optimizer.step()
            if k == 0:
                stats = {"loss": float(loss.detach()), **parts, "n_replayed": float(len(replay or ()))}
        self._buffer.add(batch)
        self._net.mask.observe(batch.labelled())
        self.n_batches += 1
        return {**stats, "memory_size": float(len(self._buffer))}

    def _loss(self, batch: Batch, replay: Batch | None) -> tuple[torch.Tensor, dict[str, float]]:
        target, clips = batch.labelled(), batch.clips.to(self._net.device)
        if replay is not None:
            target = concat_targets(target, replay.labelled())
            clips = torch.cat([clips, replay.clips.to(self._net.device)])
        if self._net.uses_frozen_features():
            logits = self._net.head_forward(self._net.frozen_features(clips))
        else:
            logits = self._net.forward(clips)
        per_sample = self._net.losses(logits, target).action
        loss_new = per_sample[: len(batch)].mean()
        if replay is None:
            loss = loss_new / 2 if self.upstream_half_loss_when_empty else loss_new
            return loss, {"loss_new": float(loss_new.detach()), "loss_mem": 0.0}
        loss_mem = per_sample[len(batch) :].mean()
        parts = {"loss_new": float(loss_new.detach()), "loss_mem": float(loss_mem.detach())}
        return (loss_new + loss_mem) / 2, parts

    def state_dict(self) -> dict[str, Any]:
        """Network, optimiser, memory (indices, counts, generators), mask, dropout stream."""
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
