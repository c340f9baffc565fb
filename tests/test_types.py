"""The typed core: spans, samples, targets, label-free batches."""

from __future__ import annotations

import inspect
from fractions import Fraction

import pytest
import torch

from ego_cl import protocols
from ego_cl.types import Batch, LabelLeakError, Span, StreamSample, Target


def test_span_is_half_open_and_validated():
    with pytest.raises(ValueError, match="start_s < end_s"):
        Span(Fraction(1), Fraction(1))
    a, b = Span(0, 1), Span(1, 2)
    assert not a.overlaps(b)
    assert Span(0, 2).contains(a)
    assert Span(Fraction(1, 3), 1).duration_s == Fraction(2, 3)


def test_span_keeps_json_floats_exact():
    assert Span(41.2, 49.2).start_s == Fraction("41.2")


def test_span_refuses_bool():
    with pytest.raises(TypeError):
        Span(True, 2)


def test_stream_sample_needs_a_label():
    with pytest.raises(ValueError, match="no label"):
        StreamSample(
            index=0,
            user_id="1",
            clip_uid="c",
            video_uid="v",
            span=Span(0, 1),
            actions=(),
            annotation_index=0,
            clip_index=0,
        )


def test_target_packs_multi_label_sets():
    t = Target.from_label_sets([[(1, 2)], [(3, 4), (5, 6)]])
    assert t.actions.shape == (2, 2, 2)
    assert t.verb.tolist() == [1, 3]
    assert t.noun.tolist() == [2, 4]
    assert t.mask.tolist() == [[True, False], [True, True]]
    assert t.label_sets() == (((1, 2),), ((3, 4), (5, 6)))


def test_label_free_batch_refuses_label_reads():
    batch = Batch(
        indices=torch.arange(2),
        clips=torch.zeros(2, 3, 1, 1, 1),
        target=Target.from_label_sets([[(0, 0)], [(1, 1)]]),
    )
    free = batch.without_labels()
    assert free.target is None
    assert free.clips is batch.clips
    with pytest.raises(LabelLeakError):
        free.labelled()


@pytest.mark.parametrize("name", ["StreamSource", "ClipSampler", "Learner", "Metric"])
def test_protocols_document_every_method(name):
    proto = getattr(protocols, name)
    assert inspect.getdoc(proto)
    methods = [m for m, v in vars(proto).items() if callable(v) and not m.startswith("_")]
    assert methods
    for method in methods:
        assert inspect.getdoc(getattr(proto, method)), f"{name}.{method} has no docstring"
