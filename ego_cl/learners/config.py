"""Configuration of networks and learners (structured by ``ego_cl.runners.config``).

Every learner config carries a ``kind`` literal; ``LEARNER_CONFIGS`` is the closed set the
config loader selects from. Add a learner by adding its config class here and to that map.
"""

from __future__ import annotations

from typing import Literal

import attrs

__all__ = [
    "LEARNER_CONFIGS",
    "DerppConfig",
    "ErAceConfig",
    "EwcConfig",
    "FeatureReplayConfig",
    "FinetuneConfig",
    "FrozenConfig",
    "LearnerConfig",
    "LwfConfig",
    "LwpBatchedConfig",
    "LwpConfig",
    "LwpHindsightConfig",
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


@attrs.frozen(kw_only=True)
class LwpConfig:
    """Label-window predictor: the label histogram of the ``window`` samples before each batch.

    Attributes:
        window: Preceding samples in the window (the original's grid: 1, 4, 32, 1e7).
    """

    kind: Literal["lwp"] = "lwp"
    window: int = attrs.field(default=4, validator=_positive)


@attrs.frozen(kw_only=True)
class LwpBatchedConfig:
    """Label-window predictor over the previous batch's labels (the original's batched LWP)."""

    kind: Literal["lwp_batched"] = "lwp_batched"


@attrs.frozen(kw_only=True)
class LwpHindsightConfig:
    """HINDSIGHT oracle: the label histogram of the last ``window`` labels of the whole stream.

    Its results are hindsight numbers ("HAG of LWP"), never online ones.

    Attributes:
        window: Final stream samples in the window.
    """

    kind: Literal["lwp_hindsight"] = "lwp_hindsight"
    window: int = attrs.field(default=4, validator=_positive)


@attrs.frozen(kw_only=True)
class EwcConfig:
    """Online EWC (EWC++ style): fine-tuning plus ``ewc_lambda/2 · Σ F (θ - θ*)²``.

    Every ``task_batches`` batches form one "task": then the Fisher diagonal (a moving average of
    squared loss gradients) is updated and the anchor ``θ*`` becomes the current parameters.

    Attributes:
        ewc_lambda: Penalty strength (10, as in the EWC baselines of Chaudhry et al. 2018).
        fisher_decay: Weight of the old Fisher in the moving average (0.9, EWC++).
        task_batches: Batches per task (16 = 64 clips at batch 4, the original's past window).
        (other attributes as in :class:`FinetuneConfig`)
    """

    kind: Literal["ewc"] = "ewc"
    ewc_lambda: float = attrs.field(default=10.0, validator=_nonneg)
    fisher_decay: float = attrs.field(default=0.9, validator=[_nonneg, attrs.validators.lt(1)])
    task_batches: int = attrs.field(default=16, validator=_positive)
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
class LwfConfig:
    """Learning without Forgetting (Li & Hoiem 2016): fine-tuning plus distillation of the
    pretrained model's softened verb/noun outputs on the new batch.

    Attributes:
        distill_weight: Weight of the distillation loss (λ_o = 1 in the paper).
        temperature: Softmax temperature of the distillation (T = 2 in the paper).
        (other attributes as in :class:`FinetuneConfig`)
    """

    kind: Literal["lwf"] = "lwf"
    distill_weight: float = attrs.field(default=1.0, validator=_nonneg)
    temperature: float = attrs.field(default=2.0, validator=_positive)
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
class ErAceConfig:
    """ER-ACE (Caccia et al. 2022): replay where the new batch's cross-entropy only competes
    among the classes present in that batch (asymmetric CE); memory samples use the full CE.

    Attributes: as in :class:`ReplayConfig` (without the upstream flags).
    """

    kind: Literal["er_ace"] = "er_ace"
    memory: Literal["fifo", "reservoir", "class_balanced"] = "reservoir"
    capacity: int = attrs.field(default=64, validator=_nonneg)
    replay_batch_size: int | None = None
    resample_each_update: bool = True
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
class DerppConfig:
    """DER++ (Buzzega et al. 2020): replay of stored logits (MSE) and labels (CE).

    Loss = CE(new) + ``alpha`` · MSE(logits, stored logits) on one memory draw + ``beta`` ·
    CE on another. Logits are stored with the stream indices when a batch is learned.

    Attributes:
        alpha: Weight of the logit-matching term (0.1).
        beta: Weight of the replayed-label term (0.5).
        (other attributes as in :class:`ErAceConfig`)
    """

    kind: Literal["derpp"] = "derpp"
    alpha: float = attrs.field(default=0.1, validator=_nonneg)
    beta: float = attrs.field(default=0.5, validator=_nonneg)
    memory: Literal["fifo", "reservoir", "class_balanced"] = "reservoir"
    capacity: int = attrs.field(default=64, validator=_nonneg)
    replay_batch_size: int | None = None
    resample_each_update: bool = True
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
class FeatureReplayConfig:
    """Head-only adaptation with replay of the frozen backbone's pooled features (no re-decoding).

    Attributes: as in :class:`ReplayConfig` (without ``trainable`` and the memory quirks); ``lr``
    defaults to 0.1, the original's head-only learning rate.
    """

    kind: Literal["feature_replay"] = "feature_replay"
    memory: Literal["fifo", "reservoir", "class_balanced"] = "reservoir"
    capacity: int = attrs.field(default=64, validator=_nonneg)
    replay_batch_size: int | None = None
    resample_each_update: bool = True
    lr: float = attrs.field(default=0.1, validator=_positive)
    momentum: float = attrs.field(default=0.0, validator=_nonneg)
    nesterov: bool = False
    weight_decay: float = attrs.field(default=0.0, validator=_nonneg)
    optimizer: Literal["sgd", "adam"] = "sgd"
    k_updates: int = attrs.field(default=1, validator=_positive)
    upstream_train_mode_predict: bool = False


LearnerConfig = (
    FrozenConfig
    | FinetuneConfig
    | ReplayConfig
    | LwpConfig
    | LwpBatchedConfig
    | LwpHindsightConfig
    | EwcConfig
    | LwfConfig
    | ErAceConfig
    | DerppConfig
    | FeatureReplayConfig
)

LEARNER_CONFIGS: dict[str, type] = {
    "frozen": FrozenConfig,
    "finetune": FinetuneConfig,
    "replay": ReplayConfig,
    "lwp": LwpConfig,
    "lwp_batched": LwpBatchedConfig,
    "lwp_hindsight": LwpHindsightConfig,
    "ewc": EwcConfig,
    "lwf": LwfConfig,
    "er_ace": ErAceConfig,
    "derpp": DerppConfig,
    "feature_replay": FeatureReplayConfig,
}
"""The closed set of learner kinds selectable by ``learner.kind``."""
