"""Configuration of the network a stream run adapts (structured by ``ego_cl.runners.config``)."""

from __future__ import annotations

from typing import Literal

import attrs

from ego_cl.learners.networks.builders import NetworkKind

__all__ = ["ModelConfig"]


@attrs.frozen(kw_only=True)
class ModelConfig:
    """The network and its pretrained weights.

    Attributes:
        kind: Architecture (one of :data:`~ego_cl.learners.networks.builders.NETWORK_KINDS`):
            ``tiny3d`` (CPU demo), ``x3d_xs``, ``x3d_s``, ``slowfast_r50``, ``slowfast_r101``
            (the paper's).
        checkpoint: Pretrained population checkpoint; ``None`` = the embedded demo's pretrained
            ``tiny3d`` (built once, cached).
        dropout: Dropout before the verb/noun heads.
        mask_unseen: Which classes get their logits masked to a large negative value:
            ``none``, ``pretrain`` (never seen in pretraining; the original) or
            ``pretrain_or_stream`` (nor seen so far in the stream).
        fusion_kernel: SlowFast only: temporal kernel of the fast→slow fusion convolutions (odd).
            ``None`` = what the checkpoint's weights have, else the kind's default (R50 7, R101
            5; see :data:`~ego_cl.learners.networks.builders.DEFAULT_FUSION_KERNEL`). An R50
            trained with PySlowFast/EgoAdapt defaults has 5.
    """

    kind: NetworkKind = "tiny3d"
    checkpoint: str | None = None
    dropout: float = attrs.field(default=0.5, validator=[attrs.validators.ge(0), attrs.validators.lt(1)])
    mask_unseen: Literal["none", "pretrain", "pretrain_or_stream"] = "pretrain"
    fusion_kernel: int | None = attrs.field(default=None)

    @fusion_kernel.validator
    def _check_fusion_kernel(self, attribute: attrs.Attribute, value: int | None) -> None:
        if value is None:
            return
        if not self.kind.startswith("slowfast"):
            raise ValueError(f"fusion_kernel applies to slowfast kinds only, not {self.kind!r}")
        if value < 1 or value % 2 == 0:
            raise ValueError(f"fusion_kernel must be a positive odd number, got {value}")
