"""Learning without Forgetting (Li & Hoiem 2016) towards the pretrained population model.

Loss = mean action loss + ``distill_weight`` · (KD(verb) + KD(noun)), where KD is the paper's
modified cross-entropy ``-Σ_c t_c log s_c`` between the temperature-softened (``T``) outputs of
the frozen pretrained model ``t`` (eval mode) and of the learner ``s``, on the new batch, with
the prediction-time class mask applied to both.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any, Literal

import attrs
import torch
from torch import nn
from torch.nn import functional as F  # noqa: N812

from ego_cl.learners.adaptation.adapted import AdaptContext, adapt
from ego_cl.learners.adaptation.masking import mask_logits
from ego_cl.learners.adaptation.optim import TrainOptions
from ego_cl.types import Batch, LearnStats, Prediction

__all__ = ["LwFLearner", "LwfConfig", "distillation_loss"]


@attrs.frozen(kw_only=True)
class LwfConfig(TrainOptions):
    """Learning without Forgetting (Li & Hoiem 2016): fine-tuning plus distillation of the
    pretrained model's softened verb/noun outputs on the new batch.

    The distillation term is the paper's modified cross-entropy (eq. 2) on the recorded outputs
    of the original network, without Hinton's ``T²`` factor (the paper has none).

    Attributes:
        distill_weight: Weight ``λ_o`` of the distillation loss (1: Li & Hoiem 2016, §3, the
            value of most of their experiments).
        temperature: Softmax temperature ``T`` of the distillation (2: Li & Hoiem 2016, §3,
            following Hinton et al.).
        (the optimiser options of :class:`~ego_cl.learners.adaptation.optim.TrainOptions`)
    """

    kind: Literal["lwf"] = "lwf"
    distill_weight: float = attrs.field(default=1.0, validator=attrs.validators.ge(0))
    temperature: float = attrs.field(default=2.0, validator=attrs.validators.gt(0))


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
        config: Distillation and optimiser options.
        context: Class masks, device and the seed of the dropout stream (``None``: defaults).
    """

    is_hindsight = False

    def __init__(
        self,
        network: nn.Module,
        config: LwfConfig = LwfConfig(),
        *,
        context: AdaptContext | None = None,
    ):
        teacher = copy.deepcopy(network)  # its own copy: adapt() trains another one
        self._net, self._optimizer = adapt(
            network, config, context, trainable=config.trainable, head_lr=config.head_lr
        )
        self._teacher = teacher.to(self._net.device).eval().requires_grad_(False)
        self.distill_weight, self.temperature = config.distill_weight, config.temperature
        self.k_updates = config.k_updates
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
