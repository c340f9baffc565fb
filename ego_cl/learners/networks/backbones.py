"""Backbones built from ``pytorchvideo.models`` builders: SlowFast R50/R101 and X3D XS/S.

Built from scratch (random init; nothing is ever downloaded). The classification layers of
pytorchvideo's heads are dropped and replaced by global average pooling, so each backbone maps
a clip ``[B, 3, T, H, W]`` of any size that survives its strides to a pooled feature; the
verb/noun head lives in :class:`~ego_cl.learners.networks.heads.MultiTaskHead`. Module names below
``blocks`` are pytorchvideo's, so pytorchvideo-format weights load by prefix.

Only this module imports pytorchvideo (which pulls in torchvision); it is imported lazily.
"""

from __future__ import annotations

import warnings

import torch
from torch import nn

with warnings.catch_warnings():  # pytorchvideo 0.1.5 calls the deprecated torch.jit.script at import
    warnings.simplefilter("ignore", FutureWarning)
    from pytorchvideo.models.slowfast import create_slowfast
    from pytorchvideo.models.x3d import create_x3d

__all__ = ["SlowFastBackbone", "X3dBackbone", "build_pytorchvideo_backbone"]

SLOWFAST_ALPHA = 4
"""Frame-rate ratio fast/slow (32 input frames → slow 8, fast 32)."""

SLOWFAST_BETA_INV = 8
"""Channel ratio slow/fast."""

SLOWFAST_FUSION_RATIO = 2
"""Channel ratio of the fast→slow lateral connection."""

_X3D_SIZES = {"x3d_xs": (4, 160), "x3d_s": (13, 160)}
_SLOWFAST_DEPTHS = {"slowfast_r50": 50, "slowfast_r101": 101}


def pack_pathways(clips: torch.Tensor, alpha: int = SLOWFAST_ALPHA) -> list[torch.Tensor]:
    """SlowFast input: ``[slow, fast]`` from one clip ``[B, C, T, H, W]``.

    The slow pathway takes ``T // alpha`` frames evenly spread over the clip (SlowFast's
    ``PackPathway``: ``linspace(0, T-1, T // alpha)``); the fast pathway takes all ``T``.

    Example:
        >>> slow, fast = pack_pathways(torch.zeros(1, 3, 32, 8, 8))
        >>> slow.shape[2], fast.shape[2]
        (8, 32)
    """
    n_frames = clips.shape[2]
    if n_frames < alpha:
        raise ValueError(f"SlowFast needs at least alpha={alpha} frames, got {n_frames}")
    index = torch.linspace(0, n_frames - 1, n_frames // alpha, device=clips.device).long()
    return [clips.index_select(2, index), clips]


class SlowFastBackbone(nn.Module):
    """SlowFast trunk + per-pathway global average pool, concatenated: ``2048 + 256 = 2304``-d.

    ``forward`` hands pytorchvideo's blocks a fresh pathway list on every call, because its
    multipathway blocks overwrite the list they are given.
    """

    def __init__(self, *, depth: int, fusion_kernel: int):
        super().__init__()
        if fusion_kernel < 1 or fusion_kernel % 2 == 0:
            raise ValueError(f"SlowFast fusion kernel must be a positive odd number, got {fusion_kernel}")
        net = create_slowfast(
            model_depth=depth,
            slowfast_channel_reduction_ratio=(SLOWFAST_BETA_INV,),
            slowfast_conv_channel_fusion_ratio=SLOWFAST_FUSION_RATIO,
            slowfast_fusion_conv_kernel_size=(fusion_kernel, 1, 1),
            slowfast_fusion_conv_stride=(SLOWFAST_ALPHA, 1, 1),
            head=None,
            head_pool=nn.AdaptiveAvgPool3d,
            head_output_size=((1, 1, 1), (1, 1, 1)),
        )
        self.blocks = net.blocks
        self.alpha = SLOWFAST_ALPHA
        self.fusion_kernel = fusion_kernel
        self.out_dim = 2048 + 2048 // SLOWFAST_BETA_INV

    def forward(self, clips: torch.Tensor) -> torch.Tensor:
        """``[B, 3, T, H, W]`` → ``[B, 2304]``."""
        x = pack_pathways(clips, self.alpha)
        for block in self.blocks:
            x = block(x)
        return x.flatten(1)


class X3dBackbone(nn.Module):
    """X3D trunk and its projected pooling (conv → global pool → 2048-d conv), no classifier."""

    def __init__(self, *, clip_length: int, crop_px: int):
        super().__init__()
        net = create_x3d(input_clip_length=clip_length, input_crop_size=crop_px, depth_factor=2.2)
        head = net.blocks[-1]
        head.pool.pool = nn.AdaptiveAvgPool3d(1)  # any clip size; no parameters change
        head.dropout = None
        head.proj = None
        head.activation = None
        head.output_pool = nn.AdaptiveAvgPool3d(1)
        self.blocks = net.blocks
        self.out_dim = head.pool.post_conv.out_channels

    def forward(self, clips: torch.Tensor) -> torch.Tensor:
        """``[B, 3, T, H, W]`` → ``[B, 2048]``."""
        x = clips
        for block in self.blocks:
            x = block(x)
        return x


def build_pytorchvideo_backbone(kind: str, *, fusion_kernel: int | None = None) -> tuple[nn.Module, int]:
    """The backbone for ``kind`` (``x3d_xs``, ``x3d_s``, ``slowfast_r50``, ``slowfast_r101``).

    Args:
        kind: The architecture.
        fusion_kernel: SlowFast only: temporal kernel of the fast→slow fusion convolutions;
            required for SlowFast (:func:`~ego_cl.learners.networks.builders.build_backbone` fills in
            the kind's default).
    """
    if kind in _X3D_SIZES:
        if fusion_kernel is not None:
            raise ValueError(f"fusion_kernel applies to SlowFast networks only, not {kind!r}")
        clip_length, crop_px = _X3D_SIZES[kind]
        backbone: nn.Module = X3dBackbone(clip_length=clip_length, crop_px=crop_px)
    elif kind in _SLOWFAST_DEPTHS:
        if fusion_kernel is None:
            raise ValueError(f"{kind}: fusion_kernel is required (build_backbone gives the kind's default)")
        backbone = SlowFastBackbone(depth=_SLOWFAST_DEPTHS[kind], fusion_kernel=fusion_kernel)
    else:
        raise ValueError(f"not a pytorchvideo backbone: {kind!r}")
    return backbone, backbone.out_dim
