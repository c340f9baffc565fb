"""Experience replay (the original ``Replay``; Chaudhry et al. 2019, "On Tiny Episodic Memories in
Continual Learning"): each new batch is learned together with samples drawn from a memory of
earlier stream positions."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

import attrs
import torch
from torch import nn

from ego_cl.learners.adaptation.adapted import AdaptContext, adapt
from ego_cl.learners.adaptation.optim import TrainOptions
from ego_cl.learners.memory.buffer import Fetch, ReplayBuffer, concat_targets
from ego_cl.learners.memory.policy import MemoryOptions
from ego_cl.types import Batch, LearnStats, Prediction

__all__ = ["ReplayConfig", "ReplayLearner", "replay_loss"]


@attrs.frozen(kw_only=True)
class ReplayConfig(TrainOptions, MemoryOptions):
    """Fine-tuning on each new batch plus samples replayed from a memory of stream indices.

    Attributes:
        upstream_half_loss_when_empty: Halve the new-sample loss while the memory is empty (the
            original's quirk).
        upstream_fifo_lag: The FIFO memory lags one batch (the original's quirk).
        upstream_batch_nobs: Reservoir uses the batch-end count for all samples of a batch (the
            original's quirk).
        upstream_joint_mean_after_first: With ``k_updates > 1``, updates 2..K use the plain mean
            over the joined new + memory batch instead of ``½ new + ½ memory`` (the original:
            its extra inner iterations re-forward the joint batch with mean CE, spec §5). Equal
            to the default whenever the memory draw is as large as the new batch.
        (the memory options of :class:`~ego_cl.learners.memory.policy.MemoryOptions` and the
        optimiser options of :class:`~ego_cl.learners.adaptation.optim.TrainOptions`)
    """

    kind: Literal["replay"] = "replay"
    upstream_half_loss_when_empty: bool = False
    upstream_fifo_lag: bool = False
    upstream_batch_nobs: bool = False
    upstream_joint_mean_after_first: bool = False


def replay_loss(
    per_sample: torch.Tensor,
    n_new: int,
    *,
    first_update: bool,
    half_when_empty: bool = False,
    joint_mean_after_first: bool = False,
) -> torch.Tensor:
    """The replay loss of one update from per-sample action losses ``[new..., memory...]``.

    Default: ``½·mean_new + ½·mean_memory``, or ``mean_new`` while nothing was replayed (``½·mean_new``
    with ``half_when_empty``, on the first update only when ``joint_mean_after_first``). With
    ``joint_mean_after_first``, updates after the first use the plain mean over all samples.

    Example:
        >>> losses = torch.tensor([1.0, 2.0, 3.0, 4.0, 10.0, 20.0])  # 4 new, 2 replayed
        >>> float(replay_loss(losses, 4, first_update=True, joint_mean_after_first=True))  # (2.5 + 15) / 2
        8.75
        >>> float(replay_loss(losses, 4, first_update=False, joint_mean_after_first=True))  # 40 / 6
        6.666666507720947
    """
    if joint_mean_after_first and not first_update:
        return per_sample.mean()
    loss_new = per_sample[:n_new].mean()
    if per_sample.shape[0] == n_new:
        return loss_new / 2 if half_when_empty else loss_new
    return (loss_new + per_sample[n_new:].mean()) / 2


class ReplayLearner:
    """Fine-tuning on ``new ∪ replayed`` with loss ``½·mean_new + ½·mean_memory`` (see :func:`replay_loss`).

    Per update, ``min(replay_batch_size, |memory|)`` stored indices are drawn uniformly without
    replacement and fetched; new and memory clips go through the network in one forward (shared
    BN batch statistics, as in the original). While the memory is empty the loss is the new
    batch's mean. After the K updates the new batch's indices are offered to the memory.

    Args:
        network: The pretrained ``VideoNetwork`` (left unchanged: a copy is trained).
        config: Memory, optimiser and upstream options.
        fetch: The runner's ``fetch(indices) -> Batch`` (labelled clips of stream positions).
        context: Class masks, device and the seed of the dropout and memory streams.
    """

    is_hindsight = False

    def __init__(
        self,
        network: nn.Module,
        config: ReplayConfig = ReplayConfig(),
        *,
        fetch: Fetch,
        context: AdaptContext | None = None,
    ):
        self._net, self._optimizer = adapt(
            network, config, context, trainable=config.trainable, head_lr=config.head_lr
        )
        self._buffer = ReplayBuffer(
            policy=config.memory,
            capacity=config.capacity,
            fetch=fetch,
            seed=self._net.seed,
            upstream_fifo_lag=config.upstream_fifo_lag,
            upstream_batch_nobs=config.upstream_batch_nobs,
        )
        self.k_updates = config.k_updates
        self.replay_batch_size = config.replay_batch_size
        self.resample_each_update = config.resample_each_update
        self.upstream_half_loss_when_empty = config.upstream_half_loss_when_empty
        self.upstream_joint_mean_after_first = config.upstream_joint_mean_after_first
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
            loss, parts = self._loss(batch, replay, first_update=k == 0)
            self._optimizer.zero_grad(set_to_none=True)
            loss.backward()
            self._optimizer.step()
            if k == 0:
                stats = {"loss": float(loss.detach()), **parts, "n_replayed": float(len(replay or ()))}
        self._buffer.add(batch)
        self._net.mask.observe(batch.labelled())
        self.n_batches += 1
        return {**stats, "memory_size": float(len(self._buffer))}

    def _loss(
        self, batch: Batch, replay: Batch | None, *, first_update: bool
    ) -> tuple[torch.Tensor, dict[str, float]]:
        target, clips = batch.labelled(), batch.clips.to(self._net.device)
        if replay is not None:
            target = concat_targets(target, replay.labelled())
            clips = torch.cat([clips, replay.clips.to(self._net.device)])
        if self._net.uses_frozen_features():
            logits = self._net.head_forward(self._net.frozen_features(clips))
        else:
            logits = self._net.forward(clips)
        per_sample = self._net.losses(logits, target).action
        loss = replay_loss(
            per_sample,
            len(batch),
            first_update=first_update,
            half_when_empty=self.upstream_half_loss_when_empty,
            joint_mean_after_first=self.upstream_joint_mean_after_first,
        )
        detached = per_sample.detach()
        loss_mem = float(detached[len(batch) :].mean()) if replay is not None else 0.0
        return loss, {"loss_new": float(detached[: len(batch)].mean()), "loss_mem": loss_mem}

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
