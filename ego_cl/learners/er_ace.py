"""ER-ACE: experience replay with asymmetric cross-entropy (Caccia et al., ICLR 2022).

The new batch's loss lets only the verbs (nouns) present in that batch compete in the softmax,
so learning new samples does not push down the logits of classes that are absent from it; the
replayed samples use the ordinary (masked) cross-entropy over all classes. Loss =
``mean_new(ACE) + mean_memory(CE)`` (summed, as in the paper). New and memory clips share one
forward pass.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

import attrs
import torch
from torch import nn

from ego_cl.learners.adaptation.adapted import AdaptContext, adapt
from ego_cl.learners.adaptation.losses import action_losses
from ego_cl.learners.adaptation.masking import mask_logits
from ego_cl.learners.adaptation.optim import TrainOptions
from ego_cl.learners.adaptation.unseen import batch_classes
from ego_cl.learners.memory.buffer import Fetch, ReplayBuffer
from ego_cl.learners.memory.policy import MemoryOptions
from ego_cl.types import Batch, LearnStats, Prediction, Target

__all__ = ["ERACELearner", "ErAceConfig"]


@attrs.frozen(kw_only=True)
class ErAceConfig(TrainOptions, MemoryOptions):
    """ER-ACE (Caccia et al. 2022): replay where the new batch's cross-entropy only competes
    among the classes present in that batch (asymmetric CE); memory samples use the full CE.

    As published (§4, ``L_ace``): the incoming batch's softmax is restricted to the classes in that
    batch, from the first batch on, and loss = mean ACE(new) + mean CE(memory), unweighted. The
    authors' code additionally leaves classes with an index above the largest seen so far
    unmasked and masks only from the second task on; both refer to class-incremental task
    splits with ordered class indices and have no meaning on a pretrained model's user stream,
    so they are not reproduced. Memory CE uses the prediction-time unseen-class mask.

    Attributes: the memory options of :class:`~ego_cl.learners.memory.policy.MemoryOptions` and
    the optimiser options of :class:`~ego_cl.learners.adaptation.optim.TrainOptions`.
    """

    kind: Literal["er_ace"] = "er_ace"


class ERACELearner:
    """Replay with asymmetric cross-entropy on the incoming batch.

    Args:
        network: The pretrained ``VideoNetwork`` (left unchanged: a copy is trained).
        config: Memory and optimiser options.
        fetch: The runner's ``fetch(indices) -> Batch``.
        context: Class masks, device and the seed of the dropout and memory streams.
    """

    is_hindsight = False

    def __init__(
        self,
        network: nn.Module,
        config: ErAceConfig = ErAceConfig(),
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
        self.k_updates, self.replay_batch_size = config.k_updates, config.replay_batch_size
        self.resample_each_update = config.resample_each_update
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
