"""Hypothesis strategies for the metrics tests: small random online streams of (prediction, batch)."""

from __future__ import annotations

import torch
from hypothesis import strategies as st

from ego_cl.types import Batch, Prediction, Target

Step = tuple[Prediction, Batch]


def make_step(first: int, verb_logits, noun_logits, label_sets) -> Step:
    """A labelled step of ``len(label_sets)`` samples starting at stream index ``first``."""
    indices = torch.arange(first, first + len(label_sets))
    batch = Batch(
        indices=indices, clips=torch.zeros(len(label_sets), 0), target=Target.from_label_sets(label_sets)
    )
    pred = Prediction(
        indices=indices,
        verb_logits=torch.as_tensor(verb_logits, dtype=torch.float32),
        noun_logits=torch.as_tensor(noun_logits, dtype=torch.float32),
    )
    return pred, batch


@st.composite
def streams(draw, max_steps: int = 6, max_batch: int = 4, max_labels: int = 3) -> list[Step]:
    """A stream of steps over a few classes; integer-valued logits make ties common."""
    n_verbs = draw(st.integers(1, 4))
    n_nouns = draw(st.integers(1, 5))
    n_steps = draw(st.integers(0, max_steps))
    steps, first = [], 0
    for _ in range(n_steps):
        size = draw(st.integers(1, max_batch))
        pair = st.tuples(st.integers(0, n_verbs - 1), st.integers(0, n_nouns - 1))
        labels = [draw(st.lists(pair, min_size=1, max_size=max_labels)) for _ in range(size)]
        logit = st.integers(-3, 3)
        verb = [draw(st.lists(logit, min_size=n_verbs, max_size=n_verbs)) for _ in range(size)]
        noun = [draw(st.lists(logit, min_size=n_nouns, max_size=n_nouns)) for _ in range(size)]
        steps.append(make_step(first, verb, noun, labels))
        first += size
    return steps
