"""Unseen-class masking."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from ego_cl.learners.adaptation.masking import MASK_VALUE, allowed_classes, mask_logits


@given(st.integers(1, 12).flatmap(lambda n: st.tuples(st.just(n), st.sets(st.integers(0, n - 1)))))
def test_mask_keeps_allowed_and_pushes_the_rest_down(case):
    n, labels = case
    logits = torch.randn(3, n)
    before = logits.clone()
    allowed = allowed_classes(labels, n)
    out = mask_logits(logits, allowed)
    assert torch.equal(logits, before), "input must not change"
    for c in range(n):
        if c in labels:
            assert torch.equal(out[:, c], logits[:, c])
        else:
            assert (out[:, c] == MASK_VALUE).all()


def test_masked_classes_are_never_the_argmax_and_get_no_gradient():
    logits = torch.tensor([[5.0, 1.0, 0.0]], requires_grad=True)
    out = mask_logits(logits, torch.tensor([False, True, True]))
    assert out.argmax(dim=1).item() == 1
    torch.nn.functional.cross_entropy(out, torch.tensor([1])).backward()
    assert logits.grad[0, 0].item() == 0.0
    assert logits.grad[0, 1].item() != 0.0


def test_half_precision_stays_finite():
    out = mask_logits(torch.zeros(1, 2, dtype=torch.float16), torch.tensor([True, False]))
    assert torch.isfinite(out).all()
    assert out[0, 1].item() == torch.finfo(torch.float16).min


def test_none_masks_nothing_and_bad_inputs_are_rejected():
    logits = torch.randn(2, 3)
    assert mask_logits(logits, None) is logits
    with pytest.raises(ValueError, match="3 classes"):
        mask_logits(torch.randn(2, 4), torch.ones(3, dtype=torch.bool))
    with pytest.raises(TypeError):
        mask_logits(logits, torch.ones(3))
    with pytest.raises(ValueError, match=r"\[0, 3\)"):
        allowed_classes([3], 3)


def test_per_sample_masks_broadcast_per_row():
    allowed = torch.tensor([[True, False], [False, True]])
    out = mask_logits(torch.zeros(2, 2), allowed)
    assert out[0, 1] == MASK_VALUE
    assert out[1, 0] == MASK_VALUE
    assert out[0, 0] == 0
    assert out[1, 1] == 0
