"""Configuration of networks and learners (structured by ``ego_cl.runners.config``).

Every learner config carries a ``kind`` literal; ``LEARNER_CONFIGS`` is the closed set the
config loader selects from. Add a learner by adding its config class here and to that map.
"""

from __future__ import annotations

from typing import Literal

import attrs

__all__ = [
    "LEARNER_CONFIGS",
    "FinetuneConfig",
    "FrozenConfig",
    "LearnerConfig",
    "ModelConfig",
    "ReplayConfig",
]

_nonneg = attrs.validators.ge(0)
_positive = attrs.validators.gt(0)


@attrs.frozen(kw_only=True)
class ModelConfig:
    """The network and its pretrained weights.

    Attributes:
        kind: Architecture: ``tiny3d`` (CPU demo), ``x3d_xs``, ``x3d_s``, ``slowfast_r50``,
            ``slowfast_r101`` (the paper's).
        checkpoint: Pretrained population checkpoint; ``None`` = the embedded demo's pretrained
            ``tiny3d`` (built once, cached).
        dropout: Dropout before the verb/noun heads.
        mask_unseen: Which classes get their logits masked to a large negative value:
            ``none``, ``pretrain`` (never seen in pretraining; the original) or
            ``pretrain_or_stream`` (nor seen so far in the stream).
    """

    kind: Literal["tiny3d", "x3d_xs", "x3d_s", "slowfast_r50", "slowfast_r101"] = "tiny3d"
    checkpoint: str | None = None
    dropout: float = attrs.field(default=0.5, validator=[_nonneg, attrs.validators.lt(1)])
    mask_unseen: Literal["none", "pretrain", "pretrain_or_stream"] = "pretrain"


@attrs.frozen(kw_only=True)
class FrozenConfig:
    """The pretrained model, never updated: the per-user baseline."""

    kind: Literal["frozen"] = "frozen"
    upstream_train_mode_predict: bool = False


@attrs.frozen(kw_only=True)
class FinetuneConfig:
    """Plain online fine-tuning with SGD (or Adam).

    Attributes:
        lr: Learning rate of the trained parameters.
        head_lr: Learning rate of the verb/noun heads; ``None`` = ``lr``.
        momentum: SGD momentum.
        nesterov: Nesterov momentum.
        weight_decay: L2 weight decay (never applied to BatchNorm parameters).
        optimizer: ``sgd`` or ``adam``.
        k_updates: Gradient steps per batch.
        trainable: ``all``, ``head`` (frozen backbone) or ``features`` (frozen head).
        upstream_train_mode_predict: Predict with BN batch statistics and dropout active, as the
            original did.
    """

    kind: Literal["finetune"] = "finetune"
    lr: float = attrs.field(default=0.01, validator=_positive)
    head_lr: float | None = None
    momentum: float = attrs.field(default=0.0, validator=_nonneg)
    nesterov: bool = False
    weight_decay: float = attrs.field(default=0.0, validator=_nonneg)
    optimizer: Literal["sgd", "adam"] = "sgd"
    k_updates: int = attrs.field(default=1, validator=_positive)
    trainable: Literal["all", "head", "features"] = "all"
    upstream_train_mode_predict: bool = False


@attrs.frozen(kw_only=True)
class ReplayConfig:
    """Fine-tuning on each new batch plus samples replayed from a memory of stream indices.

    Attributes:
        memory: Memory policy: ``fifo``, ``reservoir`` or ``class_balanced`` (CBRS by action).
        capacity: Memory size in samples; ``0`` = unlimited.
        replay_batch_size: Memory samples per update; ``None`` = ``stream.batch_size``.
        resample_each_update: Draw new memory samples for every one of the ``k_updates``.
        upstream_half_loss_when_empty: Halve the new-sample loss while the memory is empty (the
            original's quirk).
        upstream_fifo_lag: The FIFO memory lags one batch (the original's quirk).
        upstream_batch_nobs: Reservoir uses the batch-end count for all samples of a batch (the
            original's quirk).
        (other attributes as in :class:`FinetuneConfig`)
    """

    kind: Literal["replay"] = "replay"
    lr: float = attrs.field(default=0.01, validator=_positive)
    head_lr: float | None = None
    momentum: float = attrs.field(default=0.0, validator=_nonneg)
    nesterov: bool = False
    weight_decay: float = attrs.field(default=0.0, validator=_nonneg)
    optimizer: Literal["sgd", "adam"] = "sgd"
    k_updates: int = attrs.field(default=1, validator=_positive)
    trainable: Literal["all", "head", "features"] = "all"
    upstream_train_mode_predict: bool = False
    memory: Literal["fifo", "reservoir", "class_balanced"] = "reservoir"
    capacity: int = attrs.field(default=64, validator=_nonneg)
    replay_batch_size: int | None = None
    resample_each_update: bool = True
    upstream_half_loss_when_empty: bool = False
    upstream_fifo_lag: bool = False
    upstream_batch_nobs: bool = False


LearnerConfig = FrozenConfig | FinetuneConfig | ReplayConfig

LEARNER_CONFIGS: dict[str, type] = {
    "frozen": FrozenConfig,
    "finetune": FinetuneConfig,
    "replay": ReplayConfig,
}
"""The closed set of learner kinds selectable by ``learner.kind``."""
