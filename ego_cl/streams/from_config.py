"""A :class:`~ego_cl.streams.config.StreamConfig` → the clip sampler and a user's stream."""

from __future__ import annotations

from collections.abc import Sequence

from ego_cl.protocols import ClipSampler
from ego_cl.streams.config import StreamConfig
from ego_cl.streams.sampling import UniformClipSampler
from ego_cl.streams.stream import UserStream, build_user_stream
from ego_cl.streams.upstream_sampling import UpstreamUniformClipSampler
from ego_cl.types import Action, ActionAnnotation, UserId

__all__ = ["sampler_from_config", "stream_from_config"]


def sampler_from_config(cfg: StreamConfig) -> ClipSampler:
    """The online-stream clip sampler: exact, or the original's float one with
    ``upstream_float_boundaries``."""
    kind = UpstreamUniformClipSampler if cfg.upstream_float_boundaries else UniformClipSampler
    return kind(clip_s=cfg.clip_s, stride_s=cfg.stride_s, short_window=cfg.short_window)


def stream_from_config(
    cfg: StreamConfig,
    annotations: Sequence[ActionAnnotation],
    *,
    user_id: UserId,
    pretrain_actions: frozenset[Action] | None,
) -> UserStream:
    """One user's stream as ``cfg`` describes it (:func:`build_user_stream` with every option)."""
    return build_user_stream(
        annotations,
        user_id=user_id,
        policy=cfg.overlap,
        sampler=sampler_from_config(cfg),
        clip_s=cfg.clip_s,
        pretrain_actions=pretrain_actions,
        filter_unseen=cfg.filter_unseen,
        shuffle_seed=cfg.shuffle_seed,
        max_samples=cfg.max_samples,
        upstream_float_boundaries=cfg.upstream_float_boundaries,
    )
