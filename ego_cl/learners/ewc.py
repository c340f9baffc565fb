"""Online elastic weight consolidation (EWC++ style; Kirkpatrick et al. 2017, Chaudhry et al. 2018).

Loss = mean action loss + ``ewc_lambda/2 · Σ_i F_i (θ_i - θ*_i)²``. A user stream has no task
boundaries, so every ``task_batches`` consecutive batches form one "task". At the end of a task
the Fisher diagonal ``F`` becomes the moving average ``fisher_decay · F + (1 - fisher_decay) ·
mean g²`` (``g²``: squared mini-batch loss gradients of the task's updates, the empirical
Fisher) and the anchor ``θ*`` becomes the current parameters. (With one-batch tasks and one
update per batch the penalty would vanish at every update: each update starts at its anchor.)
The penalty gradient ``ewc_lambda · F · (θ - θ*)`` is added analytically, so each update needs
one backward pass.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

import attrs
import torch
from torch import nn

from ego_cl.learners.adaptation.adapted import AdaptContext, adapt
from ego_cl.learners.adaptation.optim import TrainOptions
from ego_cl.types import Batch, LearnStats, Prediction

__all__ = ["EWCLearner", "EwcConfig"]


@attrs.frozen(kw_only=True)
class EwcConfig(TrainOptions):
    """Online EWC (EWC++ style): fine-tuning plus ``ewc_lambda/2 · Σ F (θ - θ*)²``.

    Every ``task_batches`` batches form one "task": then the Fisher diagonal (a moving average of
    squared loss gradients) is updated and the anchor ``θ*`` becomes the current parameters.

    Attributes:
        ewc_lambda: Penalty strength (10, as in the EWC baselines of Chaudhry et al. 2018).
        fisher_decay: Weight of the old Fisher in the moving average, in ``[0, 1)`` (0.9, EWC++).
        task_batches: Batches per task (16 = 64 clips at batch 4, the original's past window).
        (the optimiser options of :class:`~ego_cl.learners.adaptation.optim.TrainOptions`)
    """

    kind: Literal["ewc"] = "ewc"
    ewc_lambda: float = attrs.field(default=10.0, validator=attrs.validators.ge(0))
    fisher_decay: float = attrs.field(default=0.9, validator=[attrs.validators.ge(0), attrs.validators.lt(1)])
    task_batches: int = attrs.field(default=16, validator=attrs.validators.gt(0))


class EWCLearner:
    """Fine-tuning with an online EWC penalty towards the parameters after the previous batch.

    Args:
        network: The pretrained ``VideoNetwork`` (left unchanged: a copy is trained).
        config: Penalty and optimiser options.
        context: Class masks, device and the seed of the dropout stream (``None``: defaults).
    """

    is_hindsight = False

    def __init__(
        self,
        network: nn.Module,
        config: EwcConfig = EwcConfig(),
        *,
        context: AdaptContext | None = None,
    ):
        self._net, self._optimizer = adapt(
            network, config, context, trainable=config.trainable, head_lr=config.head_lr
        )
        self._params = {n: p for n, p in self._net.network.named_parameters() if p.requires_grad}
        self._fisher = {n: torch.zeros_like(p) for n, p in self._params.items()}
        self._anchor = {n: p.detach().clone() for n, p in self._params.items()}
        self._squared = {n: torch.zeros_like(p) for n, p in self._params.items()}
        self._n_squared = 0
        self.ewc_lambda, self.fisher_decay = config.ewc_lambda, config.fisher_decay
        self.k_updates, self.task_batches = config.k_updates, config.task_batches
        self.n_batches = 0

    def predict(self, batch: Batch) -> Prediction:
        """Masked logits of the current network."""
        return self._net.predict(batch)

    def learn(self, batch: Batch) -> LearnStats:
        """K penalised updates; at the end of a task, consolidate (Fisher average, anchor)."""
        target = batch.labelled()
        stats: LearnStats = {}
        for k in range(self.k_updates):
            loss = self._net.losses(self._net.forward(batch.clips), target).action.mean()
            self._optimizer.zero_grad(set_to_none=False)
            loss.backward()
            penalty = self._add_penalty_gradients()
            self._optimizer.step()
            if k == 0:
                stats = {"loss": float(loss.detach()), "ewc_penalty": penalty}
        self._net.mask.observe(target)
        self.n_batches += 1
        if self.n_batches % self.task_batches == 0:
            self._consolidate()
        return stats

    @torch.no_grad()
    def _consolidate(self) -> None:
        for name, p in self._params.items():
            new = self._squared[name] / max(self._n_squared, 1)
            self._fisher[name].mul_(self.fisher_decay).add_(new, alpha=1 - self.fisher_decay)
            self._anchor[name].copy_(p)
            self._squared[name].zero_()
        self._n_squared = 0

    @torch.no_grad()
    def _add_penalty_gradients(self) -> float:
        """Accumulate ``g²`` of the loss, add ``λ F (θ - θ*)`` to the gradients; the penalty value."""
        penalty = 0.0
        self._n_squared += 1
        for name, p in self._params.items():
            if p.grad is not None:
                self._squared[name].add_(p.grad.square())
            delta = p - self._anchor[name]
            penalty += float((self._fisher[name] * delta.square()).sum())
            if p.grad is not None:
                p.grad.add_(self._fisher[name] * delta, alpha=self.ewc_lambda)
        return self.ewc_lambda / 2 * penalty

    def state_dict(self) -> dict[str, Any]:
        """Network, optimiser, Fisher, anchor, the task's gradient sums, mask, RNG, batch count."""
        return {
            **self._net.state_dict(),
            "optimizer": self._optimizer.state_dict(),
            "fisher": dict(self._fisher),
            "anchor": dict(self._anchor),
            "squared": dict(self._squared),
            "n_squared": self._n_squared,
            "n_batches": self.n_batches,
        }

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore what :meth:`state_dict` returned."""
        self._net.load_state_dict(state)
        self._optimizer.load_state_dict(state["optimizer"])
        for name in self._params:
            self._fisher[name] = state["fisher"][name].clone().to(self._net.device)
            self._anchor[name] = state["anchor"][name].clone().to(self._net.device)
            self._squared[name] = state["squared"][name].clone().to(self._net.device)
        self._n_squared = int(state["n_squared"])
        self.n_batches = int(state["n_batches"])
