"""Learning without Forgetting (Li & Hoiem 2016) towards the pretrained population model.

Loss = mean action loss + ``distill_weight`` · (KD(verb) + KD(noun)), where KD is the paper's
modified cross-entropy ``-Σ_c t_c log s_c`` between the temperature-softened (``T``) outputs of
the frozen pretrained model ``t`` (eval mode) and of the learner ``s``, on the new batch, with
the prediction-time class mask applied to both.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

import torch
from torch import nn
from torch.nn import functional as F  # noqa: N812

from ego_cl.learners.adapted import AdaptedNetwork
from ego_cl.learners.masking import mask_logits
from ego_cl.learners.optim import OptimizerKind, Trainable, build_optimizer
from ego_cl.learners.unseen import MaskMode
from ego_cl.types import Batch, LearnStats, Prediction

__all__ = ["LwFLearner", "distillation_loss"]


def distillation_loss(student: torch.Tensor, teacher: torch.Tensor, temperature: float) -> torch.Tensor:
    """Mean over the batch of ``-Σ_c softmax(teacher/T)_c · log_softmax(student/T)_c``.

    Example:
        >>> x = torch.tensor([[0.0, 0.0]])
        >>> round(float(distillation_loss(x, x, 2.0)), 4)  # entropy of a fair coin
        0.6931
    """
    target = F.softmax(teacher.float() / temperature, dim=1)
    log_p = F.log_softmax(student.float() / temperature, dim=1)
    return -(target * log_p).sum(dim=1).mean()


class LwFLearner:
    """Fine-tuning regularised by distillation to the pretrained model's outputs.

    Args:
        network: The pretrained ``VideoNetwork``; a frozen copy made here is the teacher.
        distill_weight: Weight ``λ_o`` of the distillation loss.
        temperature: Softmax temperature ``T``.
        lr, head_lr, momentum, nesterov, weight_decay, optimizer, k_updates, trainable,
        allowed_verbs, allowed_nouns, mask_unseen, device, seed, upstream_train_mode_predict:
            As in :class:`~ego_cl.learners.finetune.FinetuneLearner`.
    """

    is_hindsight = False

    def __init__(
        self,
        network: nn.Module,
        *,
        distill_weight: float = 1.0,
        temperature: float = 2.0,
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
        if temperature <= 0:
            raise ValueError(f"temperature must be > 0, got {temperature}")
        self._teacher = copy.deepcopy(network).to(device).eval().requires_grad_(False)
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
        self.distill_weight, self.temperature, self.k_updates = distill_weight, temperature, k_updates
        self.n_batches = 0

    def predict(self, batch: Batch) -> Prediction:
        """Masked logits of the current network."""
        return self._net.predict(batch)

    def learn(self, batch: Batch) -> LearnStats:
        """K updates on cross-entropy plus distillation to the teacher's outputs on the batch."""
        target = batch.labelled()
        allowed = self._net.mask.for_predict()
        with torch.no_grad():
            self._teacher.eval()
            teacher = self._teacher(batch.clips.to(self._net.device))
        stats: LearnStats = {}
        for k in range(self.k_updates):
            logits = self._net.forward(batch.clips)
            ce = self._net.losses(logits, target).action.mean()
            kd = sum(
                distillation_loss(mask_logits(s, a), mask_logits(t, a), self.temperature)
                for s, t, a in zip(logits, teacher, allowed)
            )
            loss = ce + self.distill_weight * kd
            self._optimizer.zero_grad(set_to_none=True)
            loss.backward()
            self._optimizer.step()
            if k == 0:
                stats = {
                    "loss": float(loss.detach()),
                    "loss_ce": float(ce.detach()),
                    "loss_kd": float(kd.detach()),
                }
        self._net.mask.observe(target)
        self.n_batches += 1
        return stats

    def state_dict(self) -> dict[str, Any]:
        """Network, teacher weights, optimiser, mask, dropout stream, batch count."""
        return {
            **self._net.state_dict(),
            "teacher": self._teacher.state_dict(),
            "optimizer": self._optimizer.state_dict(),
            "n_batches": self.n_batches,
        }

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore what :meth:`state_dict` returned."""
        self._net.load_state_dict(state)
        self._teacher.load_state_dict(state["teacher"])
        self._optimizer.load_state_dict(state["optimizer"])
        self.n_batches = int(state["n_batches"])
