"""The public API for embedding ego_cl in another benchmark or training script: one import.

``from ego_cl import api`` gives everything an embedding needs, from the layer that owns it:

- data: :class:`Ego4dSource` (a :class:`StreamSource` over a user-split file and a clip
  directory), :func:`find_layout`, user splits (:func:`find_split_file`, :func:`load_user_split`;
  split names :data:`TRAIN_SPLIT`, :data:`TEST_SPLIT`, :data:`PRETRAIN_SPLIT`) and the pretrain
  label sets (:func:`load_pretrain_labels`);
- streams: :class:`StreamConfig`, :func:`stream_from_config` (one user's ordered clip samples),
  :class:`StreamLoader` / :func:`build_loader` (labelled batches, decoded ahead);
- networks: :func:`build_network`, :func:`load_network` (any supported checkpoint, read safely);
- learners: every built-in learner and its config, the registry (:data:`LEARNERS`,
  :func:`build_learner`), the unseen-class masking the built-in learners use
  (:class:`AdaptContext`, :class:`UnseenClassMask`, :func:`mask_logits`) and their losses;
- the online loop (:func:`online_loop`, predict → log → metrics → learn, with the runner's
  prediction-log columns by default; :func:`online_metrics` runs it and returns the final values;
  a replay learner's ``fetch`` goes through a :class:`LabelGate` passed as ``gate=``, as in the
  runner), :class:`MetricSet`, gains (:func:`online_gains`, ...) and aggregation over users
  (:func:`aggregate_users`);
- whole runs as the command line does them: :func:`load_config`, :class:`StreamRunConfig`,
  :func:`run_stream`.

A learner is anything with ``predict``, ``learn``, ``state_dict`` and ``load_state_dict``
(:class:`Learner`, structural: no subclassing). Learners never change the network they are given.
Importing this module has no side effects (it configures no logging, seeds nothing, writes no
files); the functions that write (``run_stream``) say so.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Iterator
from typing import Any

from ego_cl.data.layout import Ego4dLayout, find_layout
from ego_cl.data.source import Ego4dSource
from ego_cl.data.taxonomy import Taxonomy, find_taxonomy, load_taxonomy
from ego_cl.data.usersplit import (
    NAN_USER,
    PRETRAIN_SPLIT,
    SPLIT_NAMES,
    TEST_SPLIT,
    TRAIN_SPLIT,
    UserSplit,
    find_split_file,
    load_user_split,
    pretrain_action_set,
    seen_labels,
)
from ego_cl.learners.adaptation.adapted import AdaptContext, AdaptedNetwork, adapt
from ego_cl.learners.adaptation.losses import ActionLosses, action_losses
from ego_cl.learners.adaptation.masking import MASK_VALUE, allowed_classes, mask_logits
from ego_cl.learners.adaptation.unseen import UnseenClassMask
from ego_cl.learners.derpp import DerppConfig, DERppLearner
from ego_cl.learners.er_ace import ErAceConfig, ERACELearner
from ego_cl.learners.ewc import EwcConfig, EWCLearner
from ego_cl.learners.feature_replay import FeatureReplayConfig, FeatureReplayLearner
from ego_cl.learners.finetune import FinetuneConfig, FinetuneLearner
from ego_cl.learners.frozen import FrozenConfig, FrozenLearner
from ego_cl.learners.label_window import (
    BatchedLabelWindowPredictor,
    HindsightLabelWindowPredictor,
    LabelWindowPredictor,
    LwpBatchedConfig,
    LwpConfig,
    LwpHindsightConfig,
)
from ego_cl.learners.lwf import LwfConfig, LwFLearner
from ego_cl.learners.networks.builders import NETWORK_KINDS, VideoNetwork, build_network
from ego_cl.learners.networks.checkpoint import network_checkpoint
from ego_cl.learners.registry import (
    HINDSIGHT_KINDS,
    LEARNER_CONFIGS,
    LEARNERS,
    LearnerConfig,
    LearnerRuntime,
    build_learner,
)
from ego_cl.learners.replay import ReplayConfig, ReplayLearner
from ego_cl.metrics.aggregation import (
    UserAggregate,
    aggregate,
    aggregate_users,
    bootstrap_ci,
    mean_se,
    paired_differences,
)
from ego_cl.metrics.gains import hindsight_gains, online_gains, user_gains
from ego_cl.metrics.metric_set import MetricSet, running_metrics
from ego_cl.metrics.prediction_log import prediction_log_columns, prediction_log_table
from ego_cl.protocols import ClipSampler, Learner, Metric, StreamSource
from ego_cl.runners.checkpoint_io import load_network
from ego_cl.runners.config import StreamRunConfig, load_config
from ego_cl.runners.engine import build as _build
from ego_cl.runners.engine import loop as _loop
from ego_cl.runners.engine.build import build_loader, log_columns
from ego_cl.runners.engine.label_gate import LabelGate
from ego_cl.runners.engine.loop import LogColumns, LoopState, NearFuture, PastWindow, StepRecord
from ego_cl.runners.inputs import PretrainLabels, load_pretrain_labels
from ego_cl.runners.stream import run_stream
from ego_cl.streams.config import StreamConfig
from ego_cl.streams.from_config import sampler_from_config, stream_from_config
from ego_cl.streams.loader import StreamLoader
from ego_cl.streams.sampling import UniformClipSampler
from ego_cl.streams.stream import UserStream, build_user_stream
from ego_cl.streams.transform import EvalTransform
from ego_cl.types import (
    Action,
    ActionAnnotation,
    Batch,
    InputError,
    LabelLeakError,
    LearnStats,
    Prediction,
    Span,
    StreamSample,
    Target,
    UserId,
)

__all__ = [
    # split names and data
    "NAN_USER",
    "PRETRAIN_SPLIT",
    "SPLIT_NAMES",
    "TEST_SPLIT",
    "TRAIN_SPLIT",
    "Ego4dLayout",
    "Ego4dSource",
    "PretrainLabels",
    "Taxonomy",
    "UserSplit",
    "find_layout",
    "find_split_file",
    "find_taxonomy",
    "load_pretrain_labels",
    "load_taxonomy",
    "load_user_split",
    "pretrain_action_set",
    "seen_labels",
    # streams and loading
    "EvalTransform",
    "StreamConfig",
    "StreamLoader",
    "UniformClipSampler",
    "UserStream",
    "build_loader",
    "build_user_stream",
    "sampler_from_config",
    "stream_from_config",
    # networks
    "NETWORK_KINDS",
    "VideoNetwork",
    "build_network",
    "load_network",
    "network_checkpoint",
    # learners, registry, masking, losses
    "HINDSIGHT_KINDS",
    "LEARNERS",
    "LEARNER_CONFIGS",
    "MASK_VALUE",
    "ActionLosses",
    "AdaptContext",
    "AdaptedNetwork",
    "BatchedLabelWindowPredictor",
    "DERppLearner",
    "DerppConfig",
    "ERACELearner",
    "EWCLearner",
    "ErAceConfig",
    "EwcConfig",
    "FeatureReplayConfig",
    "FeatureReplayLearner",
    "FinetuneConfig",
    "FinetuneLearner",
    "FrozenConfig",
    "FrozenLearner",
    "HindsightLabelWindowPredictor",
    "LabelWindowPredictor",
    "LearnerConfig",
    "LearnerRuntime",
    "LwFLearner",
    "LwfConfig",
    "LwpBatchedConfig",
    "LwpConfig",
    "LwpHindsightConfig",
    "ReplayConfig",
    "ReplayLearner",
    "UnseenClassMask",
    "action_losses",
    "adapt",
    "allowed_classes",
    "build_learner",
    "mask_logits",
    # the online loop, metrics, gains, aggregation
    "LabelGate",
    "LogColumns",
    "LoopState",
    "MetricSet",
    "NearFuture",
    "PastWindow",
    "StepRecord",
    "UserAggregate",
    "aggregate",
    "aggregate_users",
    "bootstrap_ci",
    "hindsight_gains",
    "log_columns",
    "mean_se",
    "online_gains",
    "online_loop",
    "online_metrics",
    "paired_differences",
    "prediction_log_columns",
    "prediction_log_table",
    "running_metrics",
    "user_gains",
    # whole runs
    "StreamRunConfig",
    "load_config",
    "run_stream",
    # value types and protocols
    "Action",
    "ActionAnnotation",
    "Batch",
    "ClipSampler",
    "InputError",
    "LabelLeakError",
    "LearnStats",
    "Learner",
    "Metric",
    "Prediction",
    "Span",
    "StreamSample",
    "StreamSource",
    "Target",
    "UserId",
]

DEFAULT_TOP_K = 5
"""The top-k of the default prediction-log columns (the runner's ``metrics.top_k`` default)."""


def online_loop(
    learner: Learner,
    batches: Iterable[Batch],
    metrics: _loop.Updatable,
    *,
    log_columns: LogColumns | None = None,
    top_k: int = DEFAULT_TOP_K,
    **options: Any,
) -> Iterator[StepRecord]:
    """The runner's online loop (predict → log → metrics → learn), one :class:`StepRecord` per batch.

    :func:`ego_cl.runners.engine.loop.online_loop` with the prediction-log columns the stream
    runner writes as the default ``log_columns`` (top-``top_k`` verbs, nouns and actions,
    per-sample losses, labels; :data:`ego_cl.metrics.prediction_log.PREDICTION_LOG_SCHEMA`).

    Args:
        learner: Any :class:`Learner` (structural: ``predict``, ``learn``, ``state_dict``,
            ``load_state_dict``).
        batches: Labelled batches in stream order (e.g. a :class:`StreamLoader`).
        metrics: Updated with each prediction before the learner learns (e.g. :class:`MetricSet`).
        log_columns: ``(prediction, batch, step) -> columns``; ``None``: the runner's columns.
        top_k: The k of the default columns' top-k lists.
        **options: The loop's other keywords: ``state``, ``learn_every``, ``time_budget_s``,
            ``past``, ``near_future``, ``paranoid``, ...

    Example:
        >>> import torch
        >>> batch = Batch(indices=torch.tensor([0, 1]), clips=torch.zeros(2, 0),
        ...               target=Target.from_label_sets([[(1, 0)], [(0, 1)]]))
        >>> learner = LabelWindowPredictor(window=4, n_verbs=2, n_nouns=2)
        >>> metrics = MetricSet(k=1)
        >>> [r.log["index"] for r in online_loop(learner, [batch], metrics, top_k=1)]
        [[0, 1]]
    """
    columns = log_columns if log_columns is not None else functools.partial(_build.log_columns, k=top_k)
    return _loop.online_loop(learner, batches, metrics, log_columns=columns, **options)


def online_metrics(
    learner: Learner, batches: Iterable[Batch], *, top_k: int = DEFAULT_TOP_K, **options: Any
) -> dict[str, float]:
    """Run :func:`online_loop` over ``batches`` with a fresh :class:`MetricSet`; its final values.

    The values are what the stream runner writes to a user's ``metrics.json`` (``online/...``);
    :func:`online_gains` of a method's and the frozen baseline's values on the same stream is
    that user's OAG.

    Args:
        learner: Any :class:`Learner`.
        batches: Labelled batches in stream order (a :class:`StreamLoader` can be passed again for
            a second learner: each iteration is a new pass).
        top_k: The k of the top-k accuracies.
        **options: The loop's other keywords (see :func:`online_loop`).

    Example:
        >>> import torch
        >>> batches = [Batch(indices=torch.tensor([i]), clips=torch.zeros(1, 0),
        ...                  target=Target.from_label_sets([[(1, 1)]])) for i in range(3)]
        >>> learner = LabelWindowPredictor(window=4, n_verbs=2, n_nouns=2)
        >>> online_metrics(learner, batches)["online/action/top1"]  # right from the second sample on
        66.66666666666667
    """
    metrics = MetricSet(k=top_k)
    for _ in online_loop(learner, batches, metrics, top_k=top_k, **options):
        pass
    return metrics.get()
