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
    """

    kind: NetworkKind = "tiny3d"
    checkpoint: str | None = None
    dropout: float = attrs.field(default=0.5, validator=[attrs.validators.ge(0), attrs.validators.lt(1)])
    mask_unseen: Literal["none", "pretrain", "pretrain_or_stream"] = "pretrain"
