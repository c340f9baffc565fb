"""Online elastic weight consolidation: EWC++ (Chaudhry et al., ECCV 2018, "Riemannian Walk").

A user stream has no task boundaries, so every ``task_batches`` consecutive batches form one
"task". At the end of a task the running Fisher diagonal becomes EWC++'s moving average (eq. 6,
``α`` = ``fisher_new_weight`` = 0.9 weights the *new* estimate)::

    F ← α · F_new + (1 − α) · F          (the first task's estimate initialises F)

where ``F_new`` is the mean of the squared mini-batch loss gradients of the task's updates (the
empirical Fisher, as in the paper's appendix and code), and the anchor ``θ*`` becomes the
current parameters. The penalty, with ``penalty="normalized"`` (default, as in the paper and its
released code, where λ = 10 is tuned for it)::

    λ · Σ_i F̂_i (θ_i − θ*_i)²,   F̂ = (F − min F) / (max F − min F)   (min/max over all parameters)

i.e. the Fisher rescaled to [0, 1] and no ½. ``penalty="raw_half"`` is Kirkpatrick et al.'s
``λ/2 · Σ F_i (θ_i − θ*_i)²`` on the raw Fisher: with cross-entropy gradients of a pretrained
video model the raw Fisher is tiny, so at λ = 10 that penalty is ~1e-4 of the loss and EWC is
indistinguishable from fine-tuning. Measured on the demo (5 synthetic users, tiny3d, lr 0.02,
λ = 10, 16-batch tasks): the penalty is 0.46 % of the loss on average (up to 1.8 %) with
``normalized`` against 0.07 % with ``raw_half``; action OAG +15.30 ± 2.62 against +15.11 ± 2.59
for both ``raw_half`` and plain fine-tuning (identical to two decimals). With one-batch tasks
and one update per batch the penalty would vanish at every update (each update starts at its
anchor). The penalty gradient is added analytically, so each update needs one backward pass.
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

__all__ = ["EWCLearner", "EwcConfig", "EwcPenalty", "penalty_weights"]


EwcPenalty = Literal["normalized", "raw_half"]


@attrs.frozen(kw_only=True)
class EwcConfig(TrainOptions):
    """Online EWC (EWC++, Chaudhry et al. 2018): fine-tuning plus ``λ · Σ F̂ (θ - θ*)²``.

    Every ``task_batches`` batches form one "task": then the running Fisher diagonal becomes
    ``fisher_new_weight · F_new + (1 - fisher_new_weight) · F`` and the anchor ``θ*`` becomes the
    current parameters.

    Attributes:
        ewc_lambda: Penalty strength λ (10: Chaudhry et al. 2018, their EWC/EWC++ setting, which
            applies to the [0, 1]-normalised Fisher).
        fisher_new_weight: EWC++'s α, the weight of the *new* task's Fisher estimate in the moving
            average, in ``(0, 1]`` (0.9: Chaudhry et al. 2018, eq. 6; 1 = only the last task).
            Replaces ``fisher_decay`` (which weighted the old Fisher by 0.9).
        penalty: ``normalized``: ``λ Σ F̂ Δθ²`` with the Fisher min-max rescaled to [0, 1] over all
            parameters, no ½ (Chaudhry et al. 2018, paper and code); ``raw_half``:
            ``λ/2 Σ F Δθ²`` on the raw Fisher (Kirkpatrick et al. 2017).
        task_batches: Batches per task (16 = 64 clips at batch 4, the original's past window).
        (the optimiser options of :class:`~ego_cl.learners.adaptation.optim.TrainOptions`)
    """

    kind: Literal["ewc"] = "ewc"
    ewc_lambda: float = attrs.field(default=10.0, validator=attrs.validators.ge(0))
    fisher_new_weight: float = attrs.field(
        default=0.9, validator=[attrs.validators.gt(0), attrs.validators.le(1)]
    )
    penalty: EwcPenalty = "normalized"
    task_batches: int = attrs.field(default=16, validator=attrs.validators.gt(0))


def penalty_weights(fisher: Mapping[str, torch.Tensor], penalty: EwcPenalty) -> dict[str, torch.Tensor]:
    """Per-parameter weights ``w`` of the penalty ``λ Σ w (θ - θ*)²``.

    ``normalized``: ``(F - min F) / (max F - min F)`` with min and max over all parameters (all
    zeros while the Fisher is constant, e.g. before the first task ends); ``raw_half``: ``F / 2``.

    Example:
        >>> w = penalty_weights({"a": torch.tensor([1.0, 3.0]), "b": torch.tensor([5.0])}, "normalized")
        >>> w["a"].tolist(), w["b"].tolist()
        ([0.0, 0.5], [1.0])
        >>> penalty_weights({"a": torch.tensor([1.0, 3.0])}, "raw_half")["a"].tolist()
        [0.5, 1.5]
    """
    if penalty == "raw_half":
        return {name: f / 2 for name, f in fisher.items()}
    if not fisher:
        return {}
    low = min(float(f.min()) for f in fisher.values())
    span = max(float(f.max()) for f in fisher.values()) - low
    if span <= 0:
        return {name: torch.zeros_like(f) for name, f in fisher.items()}
    return {name: (f - low) / span for name, f in fisher.items()}


class EWCLearner:
    """Fine-tuning with an online EWC penalty towards the parameters at the end of the last task.

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
        self._n_tasks = 0
        self.ewc_lambda, self.fisher_new_weight = config.ewc_lambda, config.fisher_new_weight
        self.penalty = config.penalty
        self._weights = penalty_weights(self._fisher, self.penalty)
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
        """End of a task: EWC++ average (the first task initialises), new anchor, new weights."""
        alpha = self.fisher_new_weight if self._n_tasks else 1.0
        for name, p in self._params.items():
            new = self._squared[name] / max(self._n_squared, 1)
            self._fisher[name].mul_(1 - alpha).add_(new, alpha=alpha)
            self._anchor[name].copy_(p)
            self._squared[name].zero_()
        self._n_squared = 0
        self._n_tasks += 1
        self._weights = penalty_weights(self._fisher, self.penalty)

    @torch.no_grad()
    def _add_penalty_gradients(self) -> float:
        """Accumulate ``g²`` of the loss, add ``2 λ w (θ - θ*)`` to the gradients; the penalty value."""
        penalty = 0.0
        self._n_squared += 1
        for name, p in self._params.items():
            if p.grad is not None:
                self._squared[name].add_(p.grad.square())
            delta = p - self._anchor[name]
            penalty += float((self._weights[name] * delta.square()).sum())
            if p.grad is not None:
                p.grad.add_(self._weights[name] * delta, alpha=2 * self.ewc_lambda)
        return self.ewc_lambda * penalty

    def state_dict(self) -> dict[str, Any]:
        """Network, optimiser, running Fisher, anchor, the task's gradient sums, counts, mask, RNG."""
        return {
            **self._net.state_dict(),
            "optimizer": self._optimizer.state_dict(),
            "fisher": dict(self._fisher),
            "anchor": dict(self._anchor),
            "squared": dict(self._squared),
            "n_squared": self._n_squared,
            "n_tasks": self._n_tasks,
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
        self._n_tasks = int(state["n_tasks"])
        self._weights = penalty_weights(self._fisher, self.penalty)
        self.n_batches = int(state["n_batches"])
