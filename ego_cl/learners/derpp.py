"""DER++: dark experience replay with labels (Buzzega et al., NeurIPS 2020).

When a batch is learned, its raw (unmasked) verb and noun logits from the first training forward
are stored with its stream indices. Loss = mean CE(new) + ``alpha`` · MSE(current logits, stored
logits) on one memory draw + ``beta`` · mean CE on a second, independent draw. The three parts
share one forward pass.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

import attrs
import torch
from torch import nn
from torch.nn import functional as F  # noqa: N812

from ego_cl.learners.adaptation.adapted import AdaptContext, adapt
from ego_cl.learners.adaptation.optim import TrainOptions
from ego_cl.learners.memory.buffer import Fetch, ReplayBuffer
from ego_cl.learners.memory.payload import IndexedTensors
from ego_cl.learners.memory.policy import MemoryOptions
from ego_cl.types import Batch, LearnStats, Prediction

__all__ = ["DERppLearner", "DerppConfig"]


@attrs.frozen(kw_only=True)
class DerppConfig(TrainOptions, MemoryOptions):
    """DER++ (Buzzega et al. 2020): replay of stored logits (MSE) and labels (CE).

    Loss = CE(new) + ``alpha`` · MSE(logits, stored logits) on one memory draw + ``beta`` ·
    CE on another. Logits are stored with the stream indices when a batch is learned.

    The paper tunes ``alpha``/``beta`` per benchmark and buffer size (its appendix, "best
    hyper-parameters"; mammoth ``best_args``); the defaults are its Seq-CIFAR-10, buffer-200
    setting, the one closest to a small per-user memory. The stored logits are the raw logits of
    the batch's first training forward (the paper stores the outputs at insertion time); the MSE is
    the mean over samples and classes (``F.mse_loss``, as in the authors' code), and the two memory
    draws are independent, as in the paper's Algorithm 1.

    Attributes:
        alpha: Weight of the logit-matching term (0.1: Buzzega et al. 2020, Seq-CIFAR-10, M=200).
        beta: Weight of the replayed-label term (0.5: same setting).
        (the memory options of :class:`~ego_cl.learners.memory.policy.MemoryOptions`, with
        ``replay_batch_size`` per draw, and the optimiser options of
        :class:`~ego_cl.learners.adaptation.optim.TrainOptions`)
    """

    kind: Literal["derpp"] = "derpp"
    alpha: float = attrs.field(default=0.1, validator=attrs.validators.ge(0))
    beta: float = attrs.field(default=0.5, validator=attrs.validators.ge(0))


class DERppLearner:
    """Replay of stored logits (MSE, weight ``alpha``) and labels (CE, weight ``beta``).

    Args:
        network: The pretrained ``VideoNetwork`` (left unchanged: a copy is trained).
        config: Loss weights, memory and optimiser options.
        fetch: The runner's ``fetch(indices) -> Batch``.
        context: Class masks, device and the seed of the dropout and memory streams.
    """

    is_hindsight = False

    def __init__(
        self,
        network: nn.Module,
        config: DerppConfig = DerppConfig(),
        *,
        fetch: Fetch,
        context: AdaptContext | None = None,
    ):
        self._net, self._optimizer = adapt(
            network, config, context, trainable=config.trainable, head_lr=config.head_lr
        )
        self._buffer = ReplayBuffer(
            policy=config.memory, capacity=config.capacity, fetch=fetch, seed=self._net.seed
        )
        self._logits = IndexedTensors()
        self.alpha, self.beta = config.alpha, config.beta
        self.k_updates, self.replay_batch_size = config.k_updates, config.replay_batch_size
        self.resample_each_update = config.resample_each_update
        self.n_batches = 0

    def predict(self, batch: Batch) -> Prediction:
        """Masked logits of the current network."""
        return self._net.predict(batch)

    def _draws(self, n: int) -> tuple[Batch | None, Batch | None]:
        return self._buffer.sample(n), self._buffer.sample(n)

    def learn(self, batch: Batch) -> LearnStats:
        """K updates on CE(new) + α·MSE(logits) + β·CE(memory); store the new logits."""
        n_replay = self.replay_batch_size if self.replay_batch_size is not None else len(batch)
        draws = self._draws(n_replay)
        stats: LearnStats = {}
        for k in range(self.k_updates):
            if k > 0 and self.resample_each_update:
                draws = self._draws(n_replay)
            loss, parts, new_logits = self._loss(batch, *draws)
            self._optimizer.zero_grad(set_to_none=True)
            loss.backward()
            self._optimizer.step()
            if k == 0:
                stats, stored = {"loss": float(loss.detach()), **parts}, new_logits
        indices = [int(i) for i in batch.indices.tolist()]
        self._buffer.add(batch)
        self._logits.put(indices, logits=stored)
        self._logits.keep_only(self._buffer.memory.contents())
        self._net.mask.observe(batch.labelled())
        self.n_batches += 1
        return {**stats, "memory_size": float(len(self._buffer))}

    def _loss(
        self, batch: Batch, for_logits: Batch | None, for_labels: Batch | None
    ) -> tuple[torch.Tensor, dict[str, float], torch.Tensor]:
        parts = [batch] + [b for b in (for_logits, for_labels) if b is not None]
        clips = torch.cat([b.clips.to(self._net.device) for b in parts])
        verb, noun = self._net.forward(clips)
        n = len(batch)
        new_logits = torch.cat([verb[:n], noun[:n]], dim=1).detach()
        loss = self._net.losses((verb[:n], noun[:n]), batch.labelled()).action.mean()
        stats = {"loss_new": float(loss.detach()), "loss_logits": 0.0, "loss_labels": 0.0}
        start = n
        if for_logits is not None:
            end = start + len(for_logits)
            current = torch.cat([verb[start:end], noun[start:end]], dim=1)
            stored = self._logits.stack(for_logits.indices.tolist(), "logits").to(current.device)
            mse = F.mse_loss(current.float(), stored.float())
            loss, stats["loss_logits"], start = loss + self.alpha * mse, float(mse.detach()), end
        if for_labels is not None:
            ce = self._net.losses((verb[start:], noun[start:]), for_labels.labelled()).action.mean()
            loss, stats["loss_labels"] = loss + self.beta * ce, float(ce.detach())
        return loss, stats, new_logits

    def state_dict(self) -> dict[str, Any]:
        """Network, optimiser, memory, stored logits, mask, dropout stream, batch count."""
        return {
            **self._net.state_dict(),
            "optimizer": self._optimizer.state_dict(),
            "buffer": self._buffer.state_dict(),
            "logits": self._logits.state_dict(),
            "n_batches": self.n_batches,
        }

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore what :meth:`state_dict` returned."""
        self._net.load_state_dict(state)
        self._optimizer.load_state_dict(state["optimizer"])
        self._buffer.load_state_dict(state["buffer"])
        self._logits.load_state_dict(state["logits"])
        self.n_batches = int(state["n_batches"])
