"""Head-only adaptation with replay of pooled features (the seed notes' alternative to
re-decoding clips).

The backbone is frozen and runs in eval mode, so a sample's pooled feature never changes: the
memory stores ``(feature, label set)`` per stream index and replays through the head alone. No
``fetch`` and no decoding are needed; memory cost is ``feature_dim`` floats per sample.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

import attrs
import torch
from torch import nn

from ego_cl.learners.adaptation.adapted import AdaptContext, adapt
from ego_cl.learners.adaptation.optim import OptimOptions
from ego_cl.learners.memory.buffer import concat_targets, primary_actions
from ego_cl.learners.memory.payload import IndexedTensors
from ego_cl.learners.memory.policy import MemoryOptions, build_memory, draw
from ego_cl.types import Batch, LearnStats, Prediction, Target

__all__ = ["FeatureReplayConfig", "FeatureReplayLearner"]


@attrs.frozen(kw_only=True)
class FeatureReplayConfig(OptimOptions, MemoryOptions):
    """Head-only adaptation with replay of the frozen backbone's pooled features (no re-decoding).

    Not a published method: the seed notes' cheap variant of the original ``Replay`` (same
    ``½ new + ½ memory`` loss, same memory policies and default capacity 64) for a frozen backbone.

    Attributes:
        lr: Learning rate of the head (0.1: the original's head-only setting, spec §5
            ``test_user_results/SGD_head_only``).
        (the memory options of :class:`~ego_cl.learners.memory.policy.MemoryOptions` and the
        optimiser options of :class:`~ego_cl.learners.adaptation.optim.OptimOptions`, without
        ``head_lr``/``trainable``; ``upstream_train_mode_predict`` affects the *prediction*
        only: stored and learned features always come from the eval-mode backbone)
    """

    kind: Literal["feature_replay"] = "feature_replay"
    lr: float = attrs.field(default=0.1, validator=attrs.validators.gt(0))


class FeatureReplayLearner:
    """Head-only fine-tuning on ``new ∪ replayed features`` with loss ``½·mean_new + ½·mean_memory``.

    Args:
        network: The pretrained ``VideoNetwork`` (left unchanged: only a copy's head trains).
        config: Memory and optimiser options.
        context: Class masks, device and the seed of the dropout and memory streams.
    """

    is_hindsight = False

    def __init__(
        self,
        network: nn.Module,
        config: FeatureReplayConfig = FeatureReplayConfig(),
        *,
        context: AdaptContext | None = None,
    ):
        self._net, self._optimizer = adapt(network, config, context, trainable="head", head_lr=None)
        seed = self._net.seed
        self._memory = build_memory(config.memory, capacity=config.capacity, seed=2 * seed + 1)
        self._generator = torch.Generator().manual_seed(2 * seed)
        self._stored = IndexedTensors()
        self.k_updates, self.replay_batch_size = config.k_updates, config.replay_batch_size
        self.resample_each_update = config.resample_each_update
        self.n_batches = 0

    def predict(self, batch: Batch) -> Prediction:
        """Masked logits of the current network."""
        return self._net.predict(batch)

    def _sample(self, n: int) -> tuple[torch.Tensor, Target] | None:
        indices = draw(self._memory.contents(), n, self._generator)
        if not indices:
            return None
        features = self._stored.stack(indices, "feature").to(self._net.device)
        label_sets = [self._label_set(i) for i in indices]
        return features, Target.from_label_sets(label_sets)

    def _label_set(self, index: int) -> list[tuple[int, int]]:
        return [(int(v), int(n)) for v, n in self._stored.get(index, "actions").tolist() if v >= 0]

    def learn(self, batch: Batch) -> LearnStats:
        """K head updates on the new features joined with replayed ones; store the new ones."""
        target = batch.labelled()
        features = self._net.frozen_features(batch.clips)
        n_replay = self.replay_batch_size if self.replay_batch_size is not None else len(batch)
        replay = self._sample(n_replay)
        stats: LearnStats = {}
        for k in range(self.k_updates):
            if k > 0 and self.resample_each_update:
                replay = self._sample(n_replay)
            loss, parts = self._loss(features, target, replay)
            self._optimizer.zero_grad(set_to_none=True)
            loss.backward()
            self._optimizer.step()
            if k == 0:
                stats = {"loss": float(loss.detach()), **parts}
        indices = [int(i) for i in batch.indices.tolist()]
        self._memory.add(indices, primary_actions(target))
        self._stored.put(indices, feature=features, actions=target.actions)
        self._stored.keep_only(self._memory.contents())
        self._net.mask.observe(target)
        self.n_batches += 1
        return {**stats, "memory_size": float(len(self._memory))}

    def _loss(
        self, features: torch.Tensor, target: Target, replay: tuple[torch.Tensor, Target] | None
    ) -> tuple[torch.Tensor, dict[str, float]]:
        n = features.shape[0]
        if replay is not None:
            features = torch.cat([features, replay[0]])
            target = concat_targets(target, replay[1])
        per_sample = self._net.losses(self._net.head_forward(features), target).action
        loss_new = per_sample[:n].mean()
        if replay is None:
            return loss_new, {"loss_new": float(loss_new.detach()), "loss_mem": 0.0}
        loss_mem = per_sample[n:].mean()
        parts = {"loss_new": float(loss_new.detach()), "loss_mem": float(loss_mem.detach())}
        return (loss_new + loss_mem) / 2, parts

    def state_dict(self) -> dict[str, Any]:
        """Network, optimiser, memory, stored features and labels, generators, mask, counts."""
        return {
            **self._net.state_dict(),
            "optimizer": self._optimizer.state_dict(),
            "memory": self._memory.state_dict(),
            "generator": self._generator.get_state(),
            "stored": self._stored.state_dict(),
            "n_batches": self.n_batches,
        }

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore what :meth:`state_dict` returned."""
        self._net.load_state_dict(state)
        self._optimizer.load_state_dict(state["optimizer"])
        self._memory.load_state_dict(state["memory"])
        self._generator.set_state(state["generator"])
        self._stored.load_state_dict(state["stored"])
        self.n_batches = int(state["n_batches"])
