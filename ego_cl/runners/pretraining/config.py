"""Configuration of population pretraining (``python -m ego_cl.runners.pretrain``).

The defaults pretrain ``tiny3d`` on the embedded synthetic dataset in a few CPU minutes; the
paper's setting (SlowFast R101, 46 epochs, lr 1e-4, batch 64) is ``configs/pretrain_paper.yaml``.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Literal

import attrs

from ego_cl.data.config import DataConfig
from ego_cl.learners.networks.builders import NetworkKind
from ego_cl.runners.names import name_component

__all__ = [
    "PretrainClipConfig",
    "PretrainConfig",
    "PretrainNetworkConfig",
    "PretrainOptimConfig",
    "PretrainRunConfig",
]

_positive = attrs.validators.gt(0)
_nonneg = attrs.validators.ge(0)


@attrs.frozen(kw_only=True)
class PretrainNetworkConfig:
    """The network to pretrain.

    Attributes:
        kind: One of :data:`~ego_cl.learners.networks.builders.NETWORK_KINDS`.
        dropout: Dropout before the verb/noun classifiers.
        init_checkpoint: Initialise the backbone from this checkpoint (any supported layout;
            the head is never loaded), as the original did from Kinetics weights.
    """

    kind: NetworkKind = "tiny3d"
    dropout: float = attrs.field(default=0.5, validator=[_nonneg, attrs.validators.lt(1)])
    init_checkpoint: str | None = None


@attrs.frozen(kw_only=True)
class PretrainClipConfig:
    """Which clip of each annotation is read and how it is augmented.

    Attributes:
        clip_s: Clip length in seconds; each epoch reads one clip at a random start inside each
            annotated window (the original: 64 frames at 30 fps).
        n_frames: Frames decoded and fed to the network.
        short_window: A window shorter than a clip: ``extend`` (read past its end), ``pad``
            (repeat its last frame) or ``drop`` (skip the annotation).
        train_min_side_px: Smallest random short side of the training transform.
        train_max_side_px: Largest random short side.
        crop_px: Square crop fed to the network (random in training, centre in validation).
        eval_side_px: Short side before the centre crop in validation.
        flip_p: Probability of a horizontal flip in training.
    """

    clip_s: Fraction = Fraction(32, 15)
    n_frames: int = attrs.field(default=8, validator=_positive)
    short_window: Literal["extend", "pad", "drop"] = "extend"
    train_min_side_px: int = attrs.field(default=64, validator=_positive)
    train_max_side_px: int = attrs.field(default=80, validator=_positive)
    crop_px: int = attrs.field(default=64, validator=_positive)
    eval_side_px: int = attrs.field(default=64, validator=_positive)
    flip_p: float = attrs.field(default=0.0, validator=[_nonneg, attrs.validators.le(1)])

    def __attrs_post_init__(self) -> None:
        if not self.crop_px <= self.train_min_side_px <= self.train_max_side_px:
            raise ValueError("need crop_px <= train_min_side_px <= train_max_side_px")
        if self.crop_px > self.eval_side_px:
            raise ValueError("need crop_px <= eval_side_px")
        if self.clip_s <= 0:
            raise ValueError(f"clip_s must be > 0, got {self.clip_s}")


@attrs.frozen(kw_only=True)
class PretrainOptimConfig:
    """SGD with Nesterov momentum and a per-step cosine schedule.

    Attributes:
        epochs: Passes over the pretraining annotations (one clip per annotation each).
        batch_size: Clips per forward/backward pass.
        accumulate: Batches whose gradients are summed before one optimiser step; the effective
            batch is ``batch_size * accumulate``.
        lr: Peak learning rate (cosine-annealed to 0 over all steps, no warm-up).
        momentum: SGD momentum.
        nesterov: Nesterov momentum.
        weight_decay: L2 weight decay; never applied to normalisation-layer parameters.
        amp: Mixed precision (float16 autocast + gradient scaling); CUDA only.
        channels_last: ``channels_last_3d`` memory format; CUDA only.
    """

    epochs: int = attrs.field(default=12, validator=_positive)
    batch_size: int = attrs.field(default=16, validator=_positive)
    accumulate: int = attrs.field(default=1, validator=_positive)
    lr: float = attrs.field(default=0.05, validator=_positive)
    momentum: float = attrs.field(default=0.9, validator=_nonneg)
    nesterov: bool = True
    weight_decay: float = attrs.field(default=1e-4, validator=_nonneg)
    amp: bool = True
    channels_last: bool = True


@attrs.frozen(kw_only=True)
class PretrainRunConfig:
    """Where and how the pretraining run executes.

    Attributes:
        out_dir: Parent directory of pretraining runs.
        name: Run directory name under ``out_dir``; ``None`` = the network kind.
        seed: Seed of the weight init, clip draws, augmentation, order and dropout.
        device: ``auto`` (CUDA when available), ``cpu``, ``cuda`` or ``cuda:N``.
        workers: Decoding worker processes (0 = decode in the main process).
        threads: torch intra-op threads of the main process; ``None`` = leave torch's default.
        resume: Continue from ``last.pt`` when the run directory has one (the config must match).
        log_every: Steps between training-loss scalars in TensorBoard.
        max_train: Use only the first N pretraining annotations (smoke runs).
        max_val: Use only the first N validation annotations.
    """

    out_dir: str = "runs/pretrain"
    name: str | None = attrs.field(default=None, validator=name_component)
    seed: int = 0
    device: str = "auto"
    workers: int = attrs.field(default=2, validator=_nonneg)
    threads: int | None = None
    resume: bool = True
    log_every: int = attrs.field(default=10, validator=_positive)
    max_train: int | None = None
    max_val: int | None = None


@attrs.frozen(kw_only=True)
class PretrainConfig:
    """Everything ``python -m ego_cl.runners.pretrain`` needs."""

    data: DataConfig = DataConfig()
    network: PretrainNetworkConfig = PretrainNetworkConfig()
    clips: PretrainClipConfig = PretrainClipConfig()
    optim: PretrainOptimConfig = PretrainOptimConfig()
    run: PretrainRunConfig = PretrainRunConfig()
