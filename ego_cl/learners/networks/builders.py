"""Video networks: a backbone that pools a clip into one feature, plus the verb/noun head.

Every network takes one clip tensor ``[B, C, T, H, W]`` (normalised float, C = 3). SlowFast's
two-pathway packing happens inside its backbone adapter, so callers never see pathways.

``tiny3d`` is a small 3D CNN for CPU demos and tests; the other kinds are built from
``pytorchvideo.models`` builders (never downloaded; see :mod:`ego_cl.learners.networks.backbones`).
Weights are initialised from the global torch RNG: seed it (in the runner) before building.
"""

from __future__ import annotations

from typing import Literal, get_args

import attrs
import torch
from torch import nn

from ego_cl.learners.networks.heads import MultiTaskHead

__all__ = [
    "DEFAULT_FUSION_KERNEL",
    "NETWORK_INPUTS",
    "NETWORK_KINDS",
    "InputSpec",
    "NetworkKind",
    "VideoNetwork",
    "build_backbone",
    "build_network",
]

NetworkKind = Literal["tiny3d", "x3d_xs", "x3d_s", "slowfast_r50", "slowfast_r101"]
"""Every network kind: the one list (configs validate against it, :func:`build_network` builds it)."""

NETWORK_KINDS: tuple[str, ...] = get_args(NetworkKind)
"""The kinds of :data:`NetworkKind` as a tuple (for ``attrs.validators.in_`` and messages)."""


@attrs.frozen(kw_only=True)
class InputSpec:
    """The clip a network is designed for.

    Attributes:
        n_frames: Frames per clip ``T`` (SlowFast: the fast pathway's; slow = ``T / alpha``).
        crop_px: Square spatial size ``H = W`` in pixels.
    """

    n_frames: int
    crop_px: int


NETWORK_INPUTS: dict[str, InputSpec] = {
    "tiny3d": InputSpec(n_frames=8, crop_px=64),
    "x3d_xs": InputSpec(n_frames=4, crop_px=160),
    "x3d_s": InputSpec(n_frames=13, crop_px=160),
    "slowfast_r50": InputSpec(n_frames=32, crop_px=224),
    "slowfast_r101": InputSpec(n_frames=32, crop_px=224),
}
"""The native input size of every network kind (any size that survives the strides also works)."""

DEFAULT_FUSION_KERNEL: dict[str, int] = {"slowfast_r50": 7, "slowfast_r101": 5}
"""Temporal kernel of SlowFast's fast→slow fusion convolutions, per kind, when not given.

R50: 7, as PySlowFast's Kinetics ``SLOWFAST_8x8_R50`` config and pytorchvideo's ``create_slowfast``
default; R101: 5, as the EgoAdapt and Ego4D LTA configs (spec §4). PySlowFast's own default
(``SLOWFAST.FUSION_KERNEL_SZ``) is 5, so an R50 trained with the original code's defaults has 5:
pass ``fusion_kernel`` (``model.fusion_kernel``), or load the checkpoint, which says which.
"""


class VideoNetwork(nn.Module):
    """A clip classifier: ``backbone`` (clip → pooled feature) then ``head`` (feature → logits).

    Attributes:
        kind: The architecture name.
        backbone: Module mapping ``[B, C, T, H, W]`` to ``[B, feature_dim]``.
        head: :class:`~ego_cl.learners.networks.heads.MultiTaskHead` (dropout inside).
    """

    def __init__(self, *, kind: str, backbone: nn.Module, head: MultiTaskHead):
        super().__init__()
        self.kind = kind
        self.backbone = backbone
        self.head = head

    @property
    def n_verbs(self) -> int:
        """Number of verb classes."""
        return self.head.n_verbs

    @property
    def n_nouns(self) -> int:
        """Number of noun classes."""
        return self.head.n_nouns

    @property
    def feature_dim(self) -> int:
        """Size of the pooled feature the head reads."""
        return self.head.feature_dim

    def features(self, clips: torch.Tensor) -> torch.Tensor:
        """Pooled clip features: ``clips[B, C, T, H, W]`` → ``[B, feature_dim]``."""
        if clips.dim() != 5:
            raise ValueError(f"expected clips [B, C, T, H, W], got shape {tuple(clips.shape)}")
        return self.backbone(clips)

    def forward(self, clips: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(verb_logits[B, n_verbs], noun_logits[B, n_nouns])`` = ``head(features(clips))``."""
        return self.head(self.features(clips))


def _conv_bn_relu(c_in: int, c_out: int, kernel: tuple[int, int, int], stride: tuple[int, int, int]):
    padding = tuple(k // 2 for k in kernel)
    return nn.Sequential(
        nn.Conv3d(c_in, c_out, kernel, stride=stride, padding=padding, bias=False),
        nn.BatchNorm3d(c_out),
        nn.ReLU(inplace=True),
    )


class Tiny3dBackbone(nn.Module):
    """Four strided conv-BN-ReLU blocks and global average pooling (CPU demo network).

    At 8 x 64 x 64 input the feature maps are 8x32², 8x16², 4x8², 2x4²; the feature is the
    global average of the last map, ``width * 8`` channels.

    Args:
        width: Channels of the first block (doubles at each block).
    """

    def __init__(self, width: int = 16):
        super().__init__()
        w = width
        self.blocks = nn.Sequential(
            _conv_bn_relu(3, w, (3, 5, 5), (1, 2, 2)),
            _conv_bn_relu(w, 2 * w, (3, 3, 3), (1, 2, 2)),
            _conv_bn_relu(2 * w, 4 * w, (3, 3, 3), (2, 2, 2)),
            _conv_bn_relu(4 * w, 8 * w, (3, 3, 3), (2, 2, 2)),
        )
        self.out_dim = 8 * w
        for module in self.modules():
            if isinstance(module, nn.Conv3d):
                nn.init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")

    def forward(self, clips: torch.Tensor) -> torch.Tensor:
        """``[B, 3, T, H, W]`` → ``[B, out_dim]``."""
        return self.blocks(clips).mean(dim=(2, 3, 4))


def build_backbone(kind: str, *, fusion_kernel: int | None = None) -> tuple[nn.Module, int]:
    """The backbone of ``kind`` and its feature size (``fusion_kernel``: SlowFast only).

    Raises:
        ValueError: Unknown kind, or a fusion kernel for a network without one.
    """
    if fusion_kernel is not None and kind not in DEFAULT_FUSION_KERNEL:
        raise ValueError(f"fusion_kernel applies to SlowFast networks only, not {kind!r}")
    if kind == "tiny3d":
        backbone = Tiny3dBackbone()
        return backbone, backbone.out_dim
    if kind in NETWORK_KINDS:
        from ego_cl.learners.networks import backbones  # lazy: pytorchvideo + torchvision import slowly

        if kind in DEFAULT_FUSION_KERNEL and fusion_kernel is None:
            fusion_kernel = DEFAULT_FUSION_KERNEL[kind]
        return backbones.build_pytorchvideo_backbone(kind, fusion_kernel=fusion_kernel)
    raise ValueError(f"unknown network kind {kind!r}; choose one of {list(NETWORK_KINDS)}")


def build_network(
    kind: str, *, n_verbs: int, n_nouns: int, dropout: float = 0.5, fusion_kernel: int | None = None
) -> VideoNetwork:
    """Build a randomly initialised network (global torch RNG; seed it first).

    Args:
        kind: One of :data:`NETWORK_KINDS`.
        n_verbs: Verb classes (115 for Ego4D v1 LTA).
        n_nouns: Noun classes (478 for Ego4D v1 LTA).
        dropout: Dropout before the verb/noun classifiers.
        fusion_kernel: SlowFast only: temporal kernel of the fast→slow fusion convolutions
            (``None`` = :data:`DEFAULT_FUSION_KERNEL` of the kind).

    Example:
        >>> net = build_network("tiny3d", n_verbs=4, n_nouns=6).eval()
        >>> verb, noun = net(torch.zeros(2, 3, 8, 64, 64))
        >>> tuple(verb.shape), tuple(noun.shape), net.feature_dim
        ((2, 4), (2, 6), 128)
    """
    backbone, feature_dim = build_backbone(kind, fusion_kernel=fusion_kernel)
    head = MultiTaskHead(feature_dim=feature_dim, n_verbs=n_verbs, n_nouns=n_nouns, dropout=dropout)
    return VideoNetwork(kind=kind, backbone=backbone, head=head)
