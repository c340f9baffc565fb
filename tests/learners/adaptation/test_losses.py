"""Action semantics: per-sample losses and top-1 correctness, incl. multi-label samples."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from torch.nn import functional as F  # noqa: N812

from ego_cl.learners.adaptation.losses import action_correct, action_losses
from ego_cl.types import Target

N_VERBS, N_NOUNS = 5, 7

label_sets = st.lists(
    st.lists(st.tuples(st.integers(0, N_VERBS - 1), st.integers(0, N_NOUNS - 1)), min_size=1, max_size=3),
    min_size=1,
    max_size=5,
)


def _logits(seed: int, rows: int) -> tuple[torch.Tensor, torch.Tensor]:
    gen = torch.Generator().manual_seed(seed)
    return torch.randn(rows, N_VERBS, generator=gen), torch.randn(rows, N_NOUNS, generator=gen)


@given(label_sets, st.integers(0, 10_000))
def test_losses_are_the_mean_cross_entropy_over_each_samples_pairs(sets, seed):
    verb_logits, noun_logits = _logits(seed, len(sets))
    losses = action_losses(verb_logits, noun_logits, Target.from_label_sets(sets))
    for row, pairs in enumerate(sets):
        ce_v = [F.cross_entropy(verb_logits[row : row + 1], torch.tensor([v])).item() for v, _ in pairs]
        ce_n = [F.cross_entropy(noun_logits[row : row + 1], torch.tensor([n])).item() for _, n in pairs]
        assert losses.verb[row].item() == pytest.approx(sum(ce_v) / len(pairs), rel=1e-5, abs=1e-6)
        assert losses.noun[row].item() == pytest.approx(sum(ce_n) / len(pairs), rel=1e-5, abs=1e-6)
    assert torch.allclose(losses.action, losses.verb + losses.noun)


@given(label_sets, st.integers(0, 10_000))
def test_correct_iff_top1_pair_matches_any_label_pair(sets, seed):
    verb_logits, noun_logits = _logits(seed, len(sets))
    correct = action_correct(verb_logits, noun_logits, Target.from_label_sets(sets))
    for row, pairs in enumerate(sets):
        v, n = verb_logits[row].argmax().item(), noun_logits[row].argmax().item()
        assert correct.action[row].item() == ((v, n) in pairs)
        assert correct.verb[row].item() == (v in {p[0] for p in pairs})
        assert correct.noun[row].item() == (n in {p[1] for p in pairs})


def test_single_label_matches_plain_cross_entropy_and_gradients_flow():
    verb_logits = torch.randn(4, N_VERBS, requires_grad=True)
    noun_logits = torch.randn(4, N_NOUNS, requires_grad=True)
    target = Target.from_label_sets([[(1, 2)], [(0, 0)], [(4, 6)], [(3, 1)]])
    losses = action_losses(verb_logits, noun_logits, target)
    expected = F.cross_entropy(verb_logits, target.verb, reduction="none") + F.cross_entropy(
        noun_logits, target.noun, reduction="none"
    )
    assert torch.allclose(losses.action, expected)
    losses.action.mean().backward()
    assert verb_logits.grad is not None
    assert noun_logits.grad.abs().sum() > 0


def test_verb_right_noun_wrong_is_not_an_action_hit():
    target = Target.from_label_sets([[(1, 1)]])
    correct = action_correct(torch.tensor([[0.0, 3.0]]), torch.tensor([[3.0, 0.0]]), target)
    assert correct.verb.tolist() == [True]
    assert correct.noun.tolist() == [False]
    assert correct.action.tolist() == [False]


def test_mixing_pairs_of_a_multi_label_sample_is_not_an_action_hit():
    target = Target.from_label_sets([[(0, 0), (1, 1)]])
    correct = action_correct(torch.tensor([[0.0, 3.0]]), torch.tensor([[3.0, 0.0]]), target)
    assert correct.verb.tolist() == [True]
    assert correct.noun.tolist() == [True]
    assert correct.action.tolist() == [False]


def test_bad_targets_are_rejected():
    with pytest.raises(ValueError, match="row 0"):
        action_losses(torch.zeros(1, 2), torch.zeros(1, 2), Target(actions=torch.full((1, 1, 2), -1)))
    with pytest.raises(ValueError, match=r"\[2, L, 2\]"):
        action_losses(torch.zeros(2, 2), torch.zeros(2, 2), Target.from_label_sets([[(0, 0)]]))
