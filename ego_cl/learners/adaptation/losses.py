"""Action semantics: per-sample verb/noun/action losses and top-1 correctness.

An action is a ``(verb, noun)`` pair; there is no joint action head. The predicted action is
(top-1 verb, top-1 noun) and it is correct iff both match. Per-sample losses are
``CE(verb)``, ``CE(noun)`` and ``action = CE(verb) + CE(noun)``. A multi-label sample (several
pairs, from the ``multi_action`` overlap policy) takes the mean of each loss over its pairs and
counts as correct when the prediction matches any one of its pairs. For single-label samples
everything reduces to the original definitions.
"""

from __future__ import annotations

import attrs
import torch
from torch.nn import functional as F  # noqa: N812

from ego_cl.types import Target

__all__ = ["ActionCorrect", "ActionLosses", "action_correct", "action_losses"]


@attrs.frozen(kw_only=True, eq=False)
class ActionLosses:
    """Per-sample losses, each ``FloatTensor[B]`` (float32)."""

    verb: torch.Tensor
    noun: torch.Tensor
    action: torch.Tensor


@attrs.frozen(kw_only=True, eq=False)
class ActionCorrect:
    """Per-sample top-1 correctness, each ``BoolTensor[B]``."""

    verb: torch.Tensor
    noun: torch.Tensor
    action: torch.Tensor


def _check(verb_logits: torch.Tensor, noun_logits: torch.Tensor, target: Target) -> torch.Tensor:
    actions = target.actions.to(verb_logits.device)
    n = verb_logits.shape[0]
    if actions.dim() != 3 or actions.shape[0] != n or actions.shape[2] != 2:
        raise ValueError(f"target.actions must be [{n}, L, 2], got {tuple(actions.shape)}")
    if noun_logits.shape[0] != n:
        raise ValueError(f"verb logits have {n} rows, noun logits {noun_logits.shape[0]}")
    if not bool((actions[:, 0, 0] >= 0).all()):
        raise ValueError("every sample needs at least one (verb, noun) label in row 0")
    return actions


def _mean_ce(logits: torch.Tensor, labels: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
    """Mean over the valid label columns of ``CE(logits[b], labels[b, l])``; ``labels[B, L]``."""
    log_p = F.log_softmax(logits.float(), dim=1)
    picked = log_p.gather(1, labels.clamp(min=0))
    nll = -(picked * valid).sum(dim=1)
    return nll / valid.sum(dim=1)


def action_losses(verb_logits: torch.Tensor, noun_logits: torch.Tensor, target: Target) -> ActionLosses:
    """Per-sample cross-entropy losses (computed in float32).

    Args:
        verb_logits: ``[B, n_verbs]``.
        noun_logits: ``[B, n_nouns]``.
        target: ``actions[B, L, 2]`` label pairs padded with ``-1``.

    Returns:
        :class:`ActionLosses` with verb, noun and action (= verb + noun) losses per sample;
        multi-label samples average over their pairs.

    Example:
        >>> t = Target.from_label_sets([[(0, 1)], [(0, 0), (1, 1)]])
        >>> losses = action_losses(torch.zeros(2, 2), torch.zeros(2, 2), t)
        >>> [round(x, 4) for x in losses.action.tolist()]
        [1.3863, 1.3863]
    """
    actions = _check(verb_logits, noun_logits, target)
    valid = (actions[:, :, 0] >= 0).to(torch.float32)
    verb = _mean_ce(verb_logits, actions[:, :, 0], valid)
    noun = _mean_ce(noun_logits, actions[:, :, 1], valid)
    return ActionLosses(verb=verb, noun=noun, action=verb + noun)


def action_correct(verb_logits: torch.Tensor, noun_logits: torch.Tensor, target: Target) -> ActionCorrect:
    """Top-1 correctness per sample; a multi-label sample is correct if any of its pairs matches.

    The verb (noun) is correct if the top-1 verb (noun) is the verb (noun) of any pair; the
    action is correct if (top-1 verb, top-1 noun) equals one pair. Ties go to the lowest index
    (``argmax``).

    Example:
        >>> t = Target.from_label_sets([[(0, 1)], [(1, 0), (0, 1)]])
        >>> c = action_correct(torch.tensor([[2.0, 0], [2.0, 0]]), torch.tensor([[0, 2.0], [0, 2.0]]), t)
        >>> c.action.tolist(), c.verb.tolist()
        ([True, True], [True, True])
    """
    actions = _check(verb_logits, noun_logits, target)
    valid = actions[:, :, 0] >= 0
    top_verb = verb_logits.argmax(dim=1, keepdim=True)
    top_noun = noun_logits.argmax(dim=1, keepdim=True)
    verb_hit = (actions[:, :, 0] == top_verb) & valid
    noun_hit = (actions[:, :, 1] == top_noun) & valid
    return ActionCorrect(
        verb=verb_hit.any(dim=1), noun=noun_hit.any(dim=1), action=(verb_hit & noun_hit).any(dim=1)
    )
