"""A network under online adaptation: device, trainable part, modes, masking and dropout RNG.

Every network learner holds one :class:`AdaptedNetwork` (composition, not inheritance) and adds
its own update rule; :func:`adapt` builds the network and its optimiser from a learner's
:class:`~ego_cl.learners.adaptation.optim.OptimOptions` and the runner's :class:`AdaptContext`.
The network passed in is never changed: :class:`AdaptedNetwork` trains a private copy (weights,
``requires_grad``, train/eval mode and device of the caller's network stay as they were), so one
pretrained network can be handed to any number of learners.

Modes. ``predict`` runs the network in eval mode (running BN statistics, no dropout). During
``learn`` the trained parts run in train mode; a frozen backbone stays in eval mode (its BN
statistics do not drift). With ``upstream_train_mode_predict`` the whole network runs in train
mode everywhere, as in the original: at prediction BN uses the batch's statistics and dropout is
active. The original also let that prediction forward update BN running statistics; here
``predict`` stays free of side effects (it runs on copies of the BN buffers and draws dropout
from a stream derived from the seed and the batch's first index), and the running statistics
drift through the train-mode forwards of ``learn`` instead (``FrozenLearner`` does one
gradient-free train-mode forward per batch to reproduce the original's drift).
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping
from typing import Any

import attrs
import torch
from torch import nn

from ego_cl.learners.adaptation.losses import ActionLosses, action_losses
from ego_cl.learners.adaptation.masking import allowed_classes
from ego_cl.learners.adaptation.optim import OptimOptions, Trainable, build_optimizer, set_trainable
from ego_cl.learners.adaptation.rng import PrivateRng
from ego_cl.learners.adaptation.unseen import MaskMode, UnseenClassMask
from ego_cl.types import Batch, Prediction, Target

__all__ = ["AdaptContext", "AdaptedNetwork", "adapt"]

Logits = tuple[torch.Tensor, torch.Tensor]


@attrs.frozen(kw_only=True, eq=False)
class AdaptContext:
    """What the runner decides about a learner's network: class masks, device and seed.

    Attributes:
        allowed_verbs: ``BoolTensor[n_verbs]`` of verbs seen in pretraining (``None`` = all).
        allowed_nouns: ``BoolTensor[n_nouns]`` of nouns seen in pretraining (``None`` = all).
        mask_unseen: ``none``, ``pretrain`` or ``pretrain_or_stream``.
        device: Where the network runs.
        seed: Seed of the learner's random streams (dropout, memory draws).
    """

    allowed_verbs: torch.Tensor | None = None
    allowed_nouns: torch.Tensor | None = None
    mask_unseen: MaskMode = "pretrain"
    device: torch.device | str = "cpu"
    seed: int = 0

    @classmethod
    def from_labels(
        cls, network: nn.Module, verbs: Iterable[int], nouns: Iterable[int], **options: Any
    ) -> AdaptContext:
        """The context whose allowed classes are ``verbs`` and ``nouns`` (e.g. those seen in
        pretraining), sized for ``network``'s heads; ``options``: ``mask_unseen``, ``device``, ``seed``.

        Example:
            >>> from ego_cl.learners.networks.builders import build_network
            >>> net = build_network("tiny3d", n_verbs=3, n_nouns=2)
            >>> AdaptContext.from_labels(net, {0, 2}, {1}).allowed_verbs.tolist()
            [True, False, True]
        """
        return cls(
            allowed_verbs=allowed_classes(verbs, network.n_verbs),
            allowed_nouns=allowed_classes(nouns, network.n_nouns),
            **options,
        )

    def unseen_mask(self, n_verbs: int, n_nouns: int) -> UnseenClassMask:
        """A fresh unseen-class mask of this context (what every built-in network learner uses)."""
        return UnseenClassMask(
            mode=self.mask_unseen,
            allowed_verbs=self.allowed_verbs,
            allowed_nouns=self.allowed_nouns,
            n_verbs=n_verbs,
            n_nouns=n_nouns,
        )


class AdaptedNetwork:
    """The network of one learner and everything about running it.

    ``seed`` (the context's) is kept for the learner's other random streams (memory draws).

    Args:
        network: A ``VideoNetwork``; left unchanged (a copy on ``context.device`` is adapted).
        context: Class masks, device and the seed of the dropout stream.
        trainable: ``all``, ``head``, ``features`` (see
            :func:`~ego_cl.learners.adaptation.optim.set_trainable`) or ``None`` (nothing trains).
        upstream_train_mode_predict: Train-mode network everywhere, as in the original.
    """

    def __init__(
        self,
        network: nn.Module,
        context: AdaptContext,
        *,
        trainable: Trainable | None,
        upstream_train_mode_predict: bool,
    ):
        self.device = torch.device(context.device)
        self.seed = context.seed
        self.network = copy.deepcopy(network).to(self.device)  # the caller's network stays untouched
        self.trainable = trainable
        if trainable is None:
            self.network.requires_grad_(False)
        else:
            set_trainable(self.network, trainable)
        self.upstream_train_mode_predict = upstream_train_mode_predict
        self.mask = context.unseen_mask(network.n_verbs, network.n_nouns)
        self.rng = PrivateRng(seed=context.seed, device=self.device)

    # ---- prediction ---------------------------------------------------------------------------

    @torch.no_grad()
    def predict(self, batch: Batch) -> Prediction:
        """Masked logits for ``batch`` (labels never read); no state changes."""
        clips = batch.clips.to(self.device)
        if self.upstream_train_mode_predict:
            verb, noun = self._train_mode_predict(clips, key=int(batch.indices[0]))
        else:
            self.network.eval()
            verb, noun = self.network(clips)
        verb, noun = self.mask.predict_logits(verb, noun)
        return Prediction(indices=batch.indices.clone(), verb_logits=verb, noun_logits=noun)

    def _train_mode_predict(self, clips: torch.Tensor, *, key: int) -> Logits:
        self.network.train()
        buffers = {name: b.clone() for name, b in self.network.named_buffers()}
        with self.rng.side_stream(key):
            return torch.func.functional_call(self.network, buffers, (clips,))

    # ---- learning -----------------------------------------------------------------------------

    def set_learn_modes(self) -> None:
        """Train mode for trained parts; a frozen backbone stays in eval mode (unless upstream)."""
        self.network.train()
        if self.trainable == "head" and not self.upstream_train_mode_predict:
            self.network.backbone.eval()

    def forward(self, clips: torch.Tensor) -> Logits:
        """Train-time forward of whole clips (grads on, learn modes, private dropout stream)."""
        self.set_learn_modes()
        with self.rng.active():
            return self.network(clips.to(self.device))

    @torch.no_grad()
    def frozen_features(self, clips: torch.Tensor) -> torch.Tensor:
        """Pooled features of a frozen backbone in eval mode (deterministic, no grads)."""
        self.network.backbone.eval()
        return self.network.features(clips.to(self.device))

    def head_forward(self, features: torch.Tensor) -> Logits:
        """Train-time forward of the head alone (dropout from the private stream)."""
        self.network.head.train()
        with self.rng.active():
            return self.network.head(features)

    def losses(self, logits: Logits, target: Target) -> ActionLosses:
        """Per-sample losses of masked logits; the batch's own labels are never masked."""
        verb, noun = self.mask.loss_logits(*logits, target)
        return action_losses(verb, noun, target)

    def uses_frozen_features(self) -> bool:
        """Whether learning can reuse one feature pass per batch (frozen, eval-mode backbone)."""
        return self.trainable == "head" and not self.upstream_train_mode_predict

    # ---- state --------------------------------------------------------------------------------

    def state_dict(self) -> dict[str, Any]:
        """Network weights and buffers (live tensors, as ``nn.Module.state_dict``), the mask's
        stream-seen classes, the dropout stream."""
        return {
            "network": self.network.state_dict(),
            "mask": self.mask.state_dict(),
            "rng": self.rng.state_dict(),
        }

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore what :meth:`state_dict` returned."""
        self.network.load_state_dict(state["network"])
        self.mask.load_state_dict(state["mask"])
        self.rng.load_state_dict(state["rng"])


def adapt(
    network: nn.Module,
    options: OptimOptions,
    context: AdaptContext | None,
    *,
    trainable: Trainable,
    head_lr: float | None,
) -> tuple[AdaptedNetwork, torch.optim.Optimizer]:
    """The adapted network and its optimiser: the wiring every trained network learner shares.

    Args:
        network: The pretrained ``VideoNetwork`` (left unchanged: a copy is trained).
        options: The learner's optimiser options.
        context: Class masks, device, seed; ``None`` = ``AdaptContext()`` (no masks, CPU, seed 0).
        trainable: Which part trains (``all``, ``head`` or ``features``).
        head_lr: Learning rate of the head; ``None`` = ``options.lr``.
    """
    net = AdaptedNetwork(
        network,
        AdaptContext() if context is None else context,
        trainable=trainable,
        upstream_train_mode_predict=options.upstream_train_mode_predict,
    )
    optimizer = build_optimizer(
        net.network,
        optimizer=options.optimizer,
        lr=options.lr,
        head_lr=head_lr,
        momentum=options.momentum,
        nesterov=options.nesterov,
        weight_decay=options.weight_decay,
    )
    return net, optimizer
