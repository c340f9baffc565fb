"""The closed set of learners: ``learner.kind`` → (config class, constructor).

Each constructor takes the learner's config and the :class:`LearnerRuntime` the runner supplies,
and calls the learner class with explicit arguments, so this file shows what every learner
receives. Only learners marked hindsight (``is_hindsight = True``) receive ``stream_labels``.

Adding a learner = one new module (its config class beside its learner class) + one line in
:data:`LEARNERS` (with its constructor function here); :data:`LEARNER_CONFIGS`, the
:data:`LearnerConfig` union and :data:`HINDSIGHT_KINDS` follow from it.
"""

from __future__ import annotations

import functools
import operator
from collections.abc import Callable, Sequence
from typing import Any

import attrs
import torch
from torch import nn

from ego_cl.learners.adaptation.adapted import AdaptContext
from ego_cl.learners.adaptation.unseen import MaskMode
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
from ego_cl.learners.memory.buffer import Fetch
from ego_cl.learners.replay import ReplayConfig, ReplayLearner
from ego_cl.protocols import Learner
from ego_cl.types import Action

__all__ = [
    "HINDSIGHT_KINDS",
    "LEARNERS",
    "LEARNER_CONFIGS",
    "LearnerConfig",
    "LearnerRuntime",
    "LearnerSpec",
    "build_learner",
]


@attrs.frozen(kw_only=True, eq=False)
class LearnerRuntime:
    """What the runner supplies to a learner besides its config.

    Attributes:
        network: The pretrained ``VideoNetwork`` (``None`` for learners without a network).
        fetch: ``fetch(indices) -> Batch``: labelled clips of stream positions (replay learners).
        allowed_verbs: ``BoolTensor[n_verbs]`` of verbs seen in pretraining.
        allowed_nouns: ``BoolTensor[n_nouns]`` of nouns seen in pretraining.
        mask_unseen: ``none``, ``pretrain`` or ``pretrain_or_stream`` (``model.mask_unseen``).
        device: Where the network runs.
        seed: The run's seed (each learner derives its private random streams from it).
        stream_labels: The whole stream's label sets, in stream order; reaches hindsight learners
            only.
    """

    network: nn.Module | None
    fetch: Fetch
    allowed_verbs: torch.Tensor
    allowed_nouns: torch.Tensor
    mask_unseen: MaskMode
    device: str
    seed: int
    stream_labels: Sequence[Sequence[Action]] = ()


@attrs.frozen
class LearnerSpec:
    """One registry entry.

    Attributes:
        config: The config class (its ``kind`` literal is the registry key).
        learner: The learner class (its ``is_hindsight`` decides who gets ``stream_labels``).
        build: ``build(config, runtime) -> Learner``: calls ``learner`` with explicit arguments.
    """

    config: type
    learner: type
    build: Callable[[Any, LearnerRuntime], Learner]


def _network(runtime: LearnerRuntime, kind: str) -> nn.Module:
    if runtime.network is None:
        raise ValueError(f"learner kind {kind!r} needs a network")
    return runtime.network


def _context(runtime: LearnerRuntime) -> AdaptContext:
    return AdaptContext(
        allowed_verbs=runtime.allowed_verbs,
        allowed_nouns=runtime.allowed_nouns,
        mask_unseen=runtime.mask_unseen,
        device=runtime.device,
        seed=runtime.seed,
    )


def _frozen(cfg: FrozenConfig, rt: LearnerRuntime) -> Learner:
    return FrozenLearner(_network(rt, cfg.kind), cfg, context=_context(rt))


def _finetune(cfg: FinetuneConfig, rt: LearnerRuntime) -> Learner:
    return FinetuneLearner(_network(rt, cfg.kind), cfg, context=_context(rt))


def _replay(cfg: ReplayConfig, rt: LearnerRuntime) -> Learner:
    return ReplayLearner(_network(rt, cfg.kind), cfg, fetch=rt.fetch, context=_context(rt))


def _ewc(cfg: EwcConfig, rt: LearnerRuntime) -> Learner:
    return EWCLearner(_network(rt, cfg.kind), cfg, context=_context(rt))


def _lwf(cfg: LwfConfig, rt: LearnerRuntime) -> Learner:
    return LwFLearner(_network(rt, cfg.kind), cfg, context=_context(rt))


def _er_ace(cfg: ErAceConfig, rt: LearnerRuntime) -> Learner:
    return ERACELearner(_network(rt, cfg.kind), cfg, fetch=rt.fetch, context=_context(rt))


def _derpp(cfg: DerppConfig, rt: LearnerRuntime) -> Learner:
    return DERppLearner(_network(rt, cfg.kind), cfg, fetch=rt.fetch, context=_context(rt))


def _feature_replay(cfg: FeatureReplayConfig, rt: LearnerRuntime) -> Learner:
    return FeatureReplayLearner(_network(rt, cfg.kind), cfg, context=_context(rt))


def _lwp(cfg: LwpConfig, rt: LearnerRuntime) -> Learner:
    return LabelWindowPredictor(
        window=cfg.window, n_verbs=len(rt.allowed_verbs), n_nouns=len(rt.allowed_nouns)
    )


def _lwp_batched(cfg: LwpBatchedConfig, rt: LearnerRuntime) -> Learner:
    return BatchedLabelWindowPredictor(n_verbs=len(rt.allowed_verbs), n_nouns=len(rt.allowed_nouns))


def _lwp_hindsight(cfg: LwpHindsightConfig, rt: LearnerRuntime) -> Learner:
    return HindsightLabelWindowPredictor(
        stream_labels=list(rt.stream_labels),
        window=cfg.window,
        n_verbs=len(rt.allowed_verbs),
        n_nouns=len(rt.allowed_nouns),
    )


LEARNERS: dict[str, LearnerSpec] = {
    "frozen": LearnerSpec(FrozenConfig, FrozenLearner, _frozen),
    "finetune": LearnerSpec(FinetuneConfig, FinetuneLearner, _finetune),
    "replay": LearnerSpec(ReplayConfig, ReplayLearner, _replay),
    "lwp": LearnerSpec(LwpConfig, LabelWindowPredictor, _lwp),
    "lwp_batched": LearnerSpec(LwpBatchedConfig, BatchedLabelWindowPredictor, _lwp_batched),
    "lwp_hindsight": LearnerSpec(LwpHindsightConfig, HindsightLabelWindowPredictor, _lwp_hindsight),
    "ewc": LearnerSpec(EwcConfig, EWCLearner, _ewc),
    "lwf": LearnerSpec(LwfConfig, LwFLearner, _lwf),
    "er_ace": LearnerSpec(ErAceConfig, ERACELearner, _er_ace),
    "derpp": LearnerSpec(DerppConfig, DERppLearner, _derpp),
    "feature_replay": LearnerSpec(FeatureReplayConfig, FeatureReplayLearner, _feature_replay),
}
"""``learner.kind`` → (config class, learner class, constructor): the closed set of learners."""

LEARNER_CONFIGS: dict[str, type] = {kind: spec.config for kind, spec in LEARNERS.items()}
"""``learner.kind`` → config class (what the config loader structures)."""

HINDSIGHT_KINDS: frozenset[str] = frozenset(k for k, spec in LEARNERS.items() if spec.learner.is_hindsight)
"""Kinds whose learners see the whole stream up front: their numbers are never online results."""

LearnerConfig = functools.reduce(operator.or_, LEARNER_CONFIGS.values())
"""The union of every learner config (``FrozenConfig | FinetuneConfig | ...``)."""


def build_learner(cfg: Any, runtime: LearnerRuntime) -> Learner:
    """The learner of ``cfg.kind``, built from its config and the runner's runtime objects.

    Raises:
        ValueError: Unknown kind, or a network learner without a network.
    """
    if cfg.kind not in LEARNERS:
        raise ValueError(f"unknown learner kind {cfg.kind!r}; choose one of {sorted(LEARNERS)}")
    return LEARNERS[cfg.kind].build(cfg, runtime)
