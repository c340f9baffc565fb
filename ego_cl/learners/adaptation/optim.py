"""Which parameters train, and the optimiser over them (the original's three parameter groups).

Groups (as in the original ``optimizer.py``): normalisation-layer parameters (no weight
decay), the other backbone parameters (weight decay), and the verb/noun head (its own learning
rate). Frozen parts get ``requires_grad=False`` and no group. :data:`NORM_LAYERS` is the one set of
normalisation layers exempt from weight decay (pretraining uses it too). :class:`OptimOptions` and
:class:`TrainOptions` are the optimiser options every network learner's config inherits.
"""

from __future__ import annotations

from typing import Literal

import attrs
import torch
from torch import nn

__all__ = [
    "NORM_LAYERS",
    "OptimOptions",
    "OptimizerKind",
    "TrainOptions",
    "Trainable",
    "build_optimizer",
    "set_trainable",
]

Trainable = Literal["all", "head", "features"]
OptimizerKind = Literal["sgd", "adam"]

NORM_LAYERS: tuple[type[nn.Module], ...] = (
    nn.BatchNorm1d,
    nn.BatchNorm2d,
    nn.BatchNorm3d,
    nn.SyncBatchNorm,
    nn.GroupNorm,
    nn.LayerNorm,
    nn.InstanceNorm1d,
    nn.InstanceNorm2d,
    nn.InstanceNorm3d,
)
"""Normalisation layers whose parameters never get weight decay (online adaptation and pretraining)."""

_nonneg = attrs.validators.ge(0)
_positive = attrs.validators.gt(0)


@attrs.frozen(kw_only=True, slots=False)  # no slots: configs combine it with MemoryOptions
class OptimOptions:
    """How a network learner steps: the options every network learner's config has, defined once.

    Learner configs inherit these fields (attrs collects fields along the MRO), so the keys users
    type stay flat (``learner.lr=0.02``, ``learner.k_updates=2``). Data only: fields, defaults and
    validators.

    Defaults are the original's adaptation setting (spec §4, the reproduce configs'
    ``test_user_results/SGD``): SGD, lr 0.01, no momentum, no weight decay, one update per batch.

    Attributes:
        lr: Learning rate of the trained parameters (0.01, the original).
        momentum: SGD momentum (0, the original).
        nesterov: Nesterov momentum (ignored when momentum is 0; the original forces it off then).
        weight_decay: L2 weight decay (never applied to normalisation-layer parameters; 0, the
            original).
        optimizer: ``sgd`` or ``adam``.
        k_updates: Gradient steps per batch (1, the original's ``TRAIN.INNER_LOOP_ITERS``).
        upstream_train_mode_predict: Predict with BN batch statistics and dropout active, as the
            original did.
    """

    lr: float = attrs.field(default=0.01, validator=_positive)
    momentum: float = attrs.field(default=0.0, validator=_nonneg)
    nesterov: bool = False
    weight_decay: float = attrs.field(default=0.0, validator=_nonneg)
    optimizer: OptimizerKind = "sgd"
    k_updates: int = attrs.field(default=1, validator=_positive)
    upstream_train_mode_predict: bool = False


@attrs.frozen(kw_only=True, slots=False)
class TrainOptions(OptimOptions):
    """:class:`OptimOptions` plus the trained part and the head's learning rate.

    Attributes:
        head_lr: Learning rate of the verb/noun heads; ``None`` = ``lr``.
        trainable: ``all``, ``head`` (frozen backbone) or ``features`` (frozen head).
    """

    head_lr: float | None = None
    trainable: Trainable = "all"


def set_trainable(network: nn.Module, trainable: Trainable) -> None:
    """Set ``requires_grad``: ``all``, ``head`` (frozen backbone) or ``features`` (frozen head).

    ``network`` needs ``backbone`` and ``head`` submodules (a ``VideoNetwork``).
    """
    if trainable not in ("all", "head", "features"):
        raise ValueError(f"unknown trainable {trainable!r}; choose all, head or features")
    for p in network.backbone.parameters():
        p.requires_grad_(trainable in ("all", "features"))
    for p in network.head.parameters():
        p.requires_grad_(trainable in ("all", "head"))


def _backbone_groups(backbone: nn.Module) -> tuple[list[nn.Parameter], list[nn.Parameter]]:
    norm_ids = {
        id(p) for m in backbone.modules() if isinstance(m, NORM_LAYERS) for p in m.parameters(recurse=False)
    }
    params = [p for p in backbone.parameters() if p.requires_grad]
    return [p for p in params if id(p) in norm_ids], [p for p in params if id(p) not in norm_ids]


def build_optimizer(
    network: nn.Module,
    *,
    optimizer: OptimizerKind = "sgd",
    lr: float,
    head_lr: float | None = None,
    momentum: float = 0.0,
    nesterov: bool = False,
    weight_decay: float = 0.0,
) -> torch.optim.Optimizer:
    """The optimiser over the parameters with ``requires_grad`` (call :func:`set_trainable` first).

    Args:
        network: A ``VideoNetwork`` (``backbone`` + ``head``).
        optimizer: ``sgd`` or ``adam`` (Adam ignores ``momentum``/``nesterov``).
        lr: Learning rate of the backbone.
        head_lr: Learning rate of the head; ``None`` = ``lr``.
        momentum: SGD momentum (dampening 0).
        nesterov: Nesterov momentum; ignored when ``momentum`` is 0 (as in the original).
        weight_decay: L2 weight decay, never applied to normalisation layers.

    Raises:
        ValueError: Nothing is trainable, or an unknown optimiser.
    """
    norm, other = _backbone_groups(network.backbone)
    head = [p for p in network.head.parameters() if p.requires_grad]
    groups = [
        {"params": norm, "lr": lr, "weight_decay": 0.0},
        {"params": other, "lr": lr, "weight_decay": weight_decay},
        {"params": head, "lr": lr if head_lr is None else head_lr, "weight_decay": weight_decay},
    ]
    groups = [g for g in groups if g["params"]]
    if not groups:
        raise ValueError("no trainable parameters")
    if optimizer == "sgd":
        return torch.optim.SGD(groups, lr=lr, momentum=momentum, nesterov=nesterov and momentum > 0)
    if optimizer == "adam":
        return torch.optim.Adam(groups, lr=lr)
    raise ValueError(f"unknown optimizer {optimizer!r}; choose sgd or adam")
