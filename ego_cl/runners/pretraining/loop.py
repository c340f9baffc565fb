"""The pretraining step machinery: optimiser, schedule, mixed precision, accumulation, validation.

:class:`Trainer` owns SGD (Nesterov momentum; no weight decay on normalisation layers), a
per-step cosine schedule, the gradient scaler (CUDA mixed precision) and the step counter; its
``state_dict`` is part of every pretraining checkpoint.
"""

from __future__ import annotations

import sys
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from contextlib import nullcontext
from typing import Any

import torch
from torch import nn

from ego_cl.learners.adaptation.losses import action_correct, action_losses
from ego_cl.learners.adaptation.optim import NORM_LAYERS
from ego_cl.learners.networks.builders import VideoNetwork
from ego_cl.runners.pretraining.config import PretrainOptimConfig
from ego_cl.types import ActionAnnotation, Target

__all__ = ["Trainer", "chance_levels", "param_groups", "validate"]


def param_groups(network: nn.Module, weight_decay: float) -> list[dict[str, Any]]:
    """Two SGD parameter groups: normalisation-layer parameters without weight decay, the rest with."""
    norm_ids = {
        id(p) for m in network.modules() if isinstance(m, NORM_LAYERS) for p in m.parameters(recurse=False)
    }
    params = [p for p in network.parameters() if p.requires_grad]
    return [
        {"params": [p for p in params if id(p) not in norm_ids], "weight_decay": weight_decay},
        {"params": [p for p in params if id(p) in norm_ids], "weight_decay": 0.0},
    ]


def _target(verbs: torch.Tensor, nouns: torch.Tensor) -> Target:
    return Target(actions=torch.stack([verbs, nouns], dim=1).unsqueeze(1))


class Trainer:
    """Optimiser, schedule and precision policy around one network on one device.

    Args:
        network: Moved to ``device`` (and to ``channels_last_3d`` on CUDA when enabled).
        optim: Optimiser settings.
        device: Where to train.
        total_steps: Optimiser steps of the whole run (length of the cosine schedule).
    """

    def __init__(
        self, network: VideoNetwork, optim: PretrainOptimConfig, *, device: torch.device, total_steps: int
    ):
        cuda = device.type == "cuda"
        self.device, self.amp, self.channels_last = device, optim.amp and cuda, optim.channels_last and cuda
        self.network = network.to(device)
        if self.channels_last:
            self.network = self.network.to(memory_format=torch.channels_last_3d)
        self.optimizer = torch.optim.SGD(
            param_groups(self.network, optim.weight_decay),
            lr=optim.lr,
            momentum=optim.momentum,
            nesterov=optim.nesterov and optim.momentum > 0,
        )
        self.scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(self.optimizer, T_max=max(1, total_steps))
        self.scaler = torch.amp.GradScaler(device.type, enabled=self.amp)
        self.accumulate = optim.accumulate
        self.step = 0

    def state_dict(self) -> dict[str, Any]:
        """Optimiser, schedule, scaler and step (everything but the network weights)."""
        return {
            "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict(),
            "scaler": self.scaler.state_dict(),
            "step": self.step,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore what :meth:`state_dict` returned."""
        self.optimizer.load_state_dict(state["optimizer"])
        self.scheduler.load_state_dict(state["scheduler"])
        if state.get("scaler"):
            self.scaler.load_state_dict(state["scaler"])
        self.step = int(state["step"])

    def autocast(self):
        """float16 autocast on CUDA when mixed precision is on; otherwise a no-op context."""
        return torch.autocast("cuda", dtype=torch.float16) if self.amp else nullcontext()

    def to_device(self, clips: torch.Tensor) -> torch.Tensor:
        """Move a clip batch to the training device (and memory format)."""
        fmt = torch.channels_last_3d if self.channels_last else torch.preserve_format
        return clips.to(self.device, non_blocking=True, memory_format=fmt)

    def _optimizer_step(self) -> None:
        self.scaler.step(self.optimizer)
        self.scaler.update()
        self.optimizer.zero_grad(set_to_none=True)
        self.scheduler.step()
        self.step += 1

    def train_epoch(
        self,
        batches: Iterable[tuple[torch.Tensor, torch.Tensor, torch.Tensor]],
        *,
        n_batches: int,
        description: str = "train",
        on_step: Callable[[int, float, float], None] | None = None,
    ) -> dict[str, float]:
        """One pass; an optimiser step every ``accumulate`` batches and after the last one.

        Returns:
            Mean training ``action_loss`` and top-1 ``verb_top1``/``noun_top1`` (percent) over
            the epoch's samples (train mode, augmented clips).
        """
        self.network.train()
        self.optimizer.zero_grad(set_to_none=True)
        totals = Counter()
        with _Progress(description, n_batches) as advance:
            for index, (clips, verbs, nouns) in enumerate(batches):
                target = _target(verbs.to(self.device), nouns.to(self.device))
                with self.autocast():
                    verb_logits, noun_logits = self.network(self.to_device(clips))
                losses = action_losses(verb_logits, noun_logits, target)
                self.scaler.scale(losses.action.mean() / self.accumulate).backward()
                _accumulate(totals, losses.action, action_correct(verb_logits, noun_logits, target))
                if (index + 1) % self.accumulate == 0 or index + 1 == n_batches:
                    lr = self.optimizer.param_groups[0]["lr"]
                    self._optimizer_step()
                    if on_step is not None:
                        on_step(self.step, float(losses.action.detach().mean()), lr)
                advance()
        n = max(1, totals["n"])
        return {
            "train_action_loss": totals["action_loss"] / n,
            "train_verb_top1": 100 * totals["verb"] / n,
            "train_noun_top1": 100 * totals["noun"] / n,
        }


def _accumulate(totals: Counter, action_loss: torch.Tensor, correct, verb_loss=None, noun_loss=None) -> None:
    totals["n"] += int(action_loss.shape[0])
    totals["action_loss"] += float(action_loss.detach().sum())
    totals["verb"] += int(correct.verb.sum())
    totals["noun"] += int(correct.noun.sum())
    totals["action"] += int(correct.action.sum())
    if verb_loss is not None:
        totals["verb_loss"] += float(verb_loss.sum())
        totals["noun_loss"] += float(noun_loss.sum())


@torch.no_grad()
def validate(trainer: Trainer, batches: Iterable, *, n_batches: int) -> dict[str, float]:
    """Eval-mode losses and top-1 accuracies (percent) over all validation samples."""
    trainer.network.eval()
    totals = Counter()
    with _Progress("validate", n_batches) as advance:
        for clips, verbs, nouns in batches:
            target = _target(verbs.to(trainer.device), nouns.to(trainer.device))
            with trainer.autocast():
                verb_logits, noun_logits = trainer.network(trainer.to_device(clips))
            losses = action_losses(verb_logits, noun_logits, target)
            correct = action_correct(verb_logits, noun_logits, target)
            _accumulate(totals, losses.action, correct, losses.verb, losses.noun)
            advance()
    n = max(1, totals["n"])
    return {
        "action_loss": totals["action_loss"] / n,
        "verb_loss": totals["verb_loss"] / n,
        "noun_loss": totals["noun_loss"] / n,
        "action_top1": 100 * totals["action"] / n,
        "verb_top1": 100 * totals["verb"] / n,
        "noun_top1": 100 * totals["noun"] / n,
    }


class _Progress:
    """A rich progress bar on a TTY (stderr); a no-op otherwise. Yields an ``advance()`` callable."""

    def __init__(self, description: str, total: int):
        self.description, self.total, self.bar = description, total, None

    def __enter__(self) -> Callable[[], None]:
        if not sys.stderr.isatty():
            return lambda: None
        from rich.progress import Progress  # rich only for a terminal

        self.bar = Progress(transient=True)
        self.bar.start()
        task = self.bar.add_task(self.description, total=self.total)
        return lambda: self.bar.advance(task)

    def __exit__(self, *exc: object) -> None:
        if self.bar is not None:
            self.bar.stop()


def chance_levels(
    train: Sequence[ActionAnnotation], val: Sequence[ActionAnnotation], n_verbs: int, n_nouns: int
) -> dict[str, float]:
    """Reference accuracies (percent) on ``val``: uniform guessing and always the commonest train label."""

    def majority(labels_train: list, labels_val: list) -> float:
        if not labels_train or not labels_val:
            return float("nan")
        top = Counter(labels_train).most_common(1)[0][0]
        return 100 * sum(label == top for label in labels_val) / len(labels_val)

    return {
        "uniform_verb": 100 / n_verbs,
        "uniform_noun": 100 / n_nouns,
        "majority_verb": majority([a.verb_label for a in train], [a.verb_label for a in val]),
        "majority_noun": majority([a.noun_label for a in train], [a.noun_label for a in val]),
        "majority_action": majority([a.action for a in train], [a.action for a in val]),
    }
