"""Config → objects for the stream runner: sampler, stream, loader, network, learner, metrics.

Each ``build_*`` maps one config section to plain keyword arguments of a component; nothing
here reads argv or writes files. :func:`build_user_parts` assembles one user's
:class:`~ego_cl.runners.engine.user.UserParts` from a source, the user's annotations and a network.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from functools import partial
from typing import Any

import attrs
import torch

from ego_cl.learners.frozen import FrozenConfig
from ego_cl.learners.registry import LearnerConfig, LearnerRuntime, build_learner
from ego_cl.metrics.metric_set import MetricSet
from ego_cl.metrics.prediction_log import prediction_log_columns, sample_log_columns
from ego_cl.protocols import StreamSource
from ego_cl.runners.config import StreamRunConfig
from ego_cl.runners.engine.label_gate import LabelGate
from ego_cl.runners.engine.lifeline import decode_worker_init
from ego_cl.runners.engine.loop import NearFuture, PastWindow
from ego_cl.runners.engine.user import UserParts
from ego_cl.runners.inputs import RunInputs, build_stream
from ego_cl.streams.config import StreamConfig
from ego_cl.streams.loader import StreamLoader
from ego_cl.streams.stream import UserStream
from ego_cl.streams.transform import EvalTransform
from ego_cl.types import Action, ActionAnnotation, Batch, Prediction, StreamSample

__all__ = [
    "DECODE_WORKER_START",
    "allowed_mask",
    "build_loader",
    "build_user_parts",
    "log_columns",
    "user_parts_from",
]


DECODE_WORKER_START = "fork" if sys.platform.startswith("linux") else None
"""How decode workers start: forked from the user's process on Linux. A pool worker is itself
spawned, and a spawned process's default start method is ``spawn``: each user's decode worker
would be a fresh interpreter importing torch again (seconds of start-up per user, and a second
full-size process in memory). Forked, a worker starts in milliseconds and shares the parent's
pages; it never touches the parent's open files or CUDA (sources are copied, batches are pinned
in the parent). Elsewhere (macOS, Windows) the platform default."""


def build_loader(cfg: StreamConfig, source: StreamSource, stream: UserStream, *, device: str) -> StreamLoader:
    """The ordered, prefetching loader of a stream (deterministic eval transform)."""
    return StreamLoader(
        source,
        stream.samples,
        EvalTransform(n_frames=cfg.n_frames, side_px=cfg.side_px, crop_px=cfg.crop_px),
        n_frames=cfg.n_frames,
        batch_size=cfg.batch_size,
        workers=cfg.workers,
        fetch_workers=cfg.fetch_workers,
        prefetch_batches=cfg.prefetch_batches,
        clip_s=cfg.clip_s if cfg.short_window == "pad" else None,
        cache_bytes=cfg.decode_cache_mb * 2**20,
        pin_memory=device.startswith("cuda"),
        multiprocessing_context=DECODE_WORKER_START,
        worker_init=decode_worker_init,  # decode workers die with their parent, leave Ctrl-C to it
    )


def allowed_mask(labels: frozenset[int], n: int) -> torch.Tensor:
    """``BoolTensor[n]`` that is True at ``labels``.

    Example:
        >>> allowed_mask(frozenset({0, 2}), 4).tolist()
        [True, False, True, False]
    """
    mask = torch.zeros(n, dtype=torch.bool)
    mask[sorted(labels)] = True
    return mask


def log_columns(
    prediction: Prediction,
    batch: Batch,
    step: int,
    *,
    k: int,
    samples: Sequence[StreamSample] | None = None,
    recorded_index: Sequence[int] | None = None,
) -> dict[str, list[Any]]:
    """Prediction-log rows of one step (the metrics package's schema), on CPU; with the stream's
    ``samples`` also each row's user, clip, video, time span and recorded position
    (:func:`~ego_cl.metrics.prediction_log.sample_log_columns`)."""
    cpu = Prediction(
        indices=prediction.indices.cpu(),
        verb_logits=prediction.verb_logits.detach().cpu(),
        noun_logits=prediction.noun_logits.detach().cpu(),
    )
    columns = prediction_log_columns(cpu, batch.labelled(), step=step, k=k)
    if samples is not None:
        columns |= sample_log_columns(samples, columns["index"], recorded_index)
    return columns


def _to_device(batch: Batch, device: str) -> Batch:
    if device == "cpu":
        return batch
    return attrs.evolve(batch, clips=batch.clips.to(device, non_blocking=True))


def build_user_parts(
    cfg: StreamRunConfig,
    *,
    user_id: str,
    annotations: Sequence[ActionAnnotation],
    source: StreamSource,
    network: torch.nn.Module,
    pretrain_actions: frozenset[Action],
    seen_verbs: frozenset[int],
    seen_nouns: frozenset[int],
    device: str = "cpu",
    learner: LearnerConfig | None = None,
    prefetch: bool = False,
) -> UserParts:
    """Everything one user's stream run needs (``learner`` overrides ``cfg.learner``, e.g.
    :class:`~ego_cl.learners.frozen.FrozenConfig` for the baseline).

    ``prefetch``: begin decoding the stream from its first batch before the learner is built
    (a fresh user: the decode worker's start and first batches overlap the learner's setup).
    The global torch RNG is left as it was.
    """
    stream = build_stream(cfg.stream, annotations, user_id=user_id, pretrain_actions=pretrain_actions)
    loader = build_loader(cfg.stream, source, stream, device=device)
    if prefetch:
        with torch.random.fork_rng(devices=[]):
            loader.prefetch(0)

    def fetch(indices: Sequence[int]) -> Batch:
        return _to_device(loader.fetch(indices), device)

    gate = LabelGate(fetch)  # the learner's fetch: only positions whose labels it was shown
    runtime = LearnerRuntime(
        network=network,
        fetch=gate.fetch,
        allowed_verbs=allowed_mask(seen_verbs, network.n_verbs),
        allowed_nouns=allowed_mask(seen_nouns, network.n_nouns),
        mask_unseen=cfg.model.mask_unseen,
        device=device,
        seed=cfg.run.seed,
        stream_labels=[s.actions for s in stream.samples],
    )
    learner_obj = build_learner(learner or cfg.learner, runtime)
    m = cfg.metrics
    past = (
        PastWindow(fetch=fetch, window=m.past_window, batch_size=m.past_batch_size) if m.past_eval else None
    )
    future = (
        NearFuture(fetch=fetch, offset=m.near_future_k, n_samples=len(stream.samples))
        if m.near_future_k is not None
        else None
    )
    return UserParts(
        user_id=user_id,
        learner=learner_obj,
        metrics=MetricSet(k=m.top_k),
        batches=lambda start: (_to_device(b, device) for b in loader.batches(start)),
        log_columns=partial(
            log_columns,
            k=m.top_k,
            samples=stream.samples,
            recorded_index=stream.recorded_indices() if stream.shuffle_seed is not None else None,
        ),
        n_samples=len(stream.samples),
        past=past,
        near_future=future,
        gate=gate,
        learn_every=cfg.run.learn_every,
        time_budget_s=cfg.run.time_budget_s,
    )


def user_parts_from(
    cfg: StreamRunConfig,
    loaded: RunInputs,
    user_id: str,
    *,
    device: str = "cpu",
    learner: LearnerConfig | None = None,
    prefetch: bool = False,
) -> UserParts:
    """:func:`build_user_parts` for one user of a run's loaded inputs (the learner copies the
    network, so ``loaded`` is left as it was)."""
    return build_user_parts(
        cfg,
        user_id=user_id,
        annotations=loaded.users[user_id],
        source=loaded.source,
        network=loaded.network,
        pretrain_actions=loaded.pretrain_actions,
        seen_verbs=loaded.seen_verbs,
        seen_nouns=loaded.seen_nouns,
        device=device,
        learner=learner,
        prefetch=prefetch,
    )


def baseline_learner(cfg: StreamRunConfig) -> FrozenConfig:
    """The frozen pretrained model, predicting the way the run's learner predicts."""
    return FrozenConfig(
        upstream_train_mode_predict=getattr(cfg.learner, "upstream_train_mode_predict", False)
    )
