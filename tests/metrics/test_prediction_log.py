"""The prediction-log row function and schema: hand examples, brute force, validation."""

from __future__ import annotations

import math

import pyarrow as pa
import pytest
import torch
from hypothesis import given

from ego_cl.metrics.prediction_log import (
    LOG_COLUMNS,
    PREDICTION_LOG_SCHEMA,
    PredictionLogError,
    prediction_log_columns,
    prediction_log_table,
)
from ego_cl.types import Prediction, Target
from tests.metrics import oracle
from tests.metrics.streams import make_step, streams


def test_columns_follow_the_schema_and_hand_values():
    # verb p = (0.5, 0.3, 0.2), noun p = (0.7, 0.3): joint .35 (0,0) .21 (1,0) .15 (0,1) .14 (2,0) .09 .06
    verb = torch.tensor([[0.5, 0.3, 0.2]]).log()
    noun = torch.tensor([[0.7, 0.3]]).log()
    pred, batch = make_step(10, verb, noun, [[(2, 0), (1, 1)]])
    cols = prediction_log_columns(pred, batch.target, step=4, k=4)
    assert tuple(cols) == LOG_COLUMNS
    assert cols["step"] == [4]
    assert cols["index"] == [10]
    assert cols["verb_labels"] == [[2, 1]]
    assert cols["noun_labels"] == [[0, 1]]
    assert cols["verb_topk"] == [[0, 1, 2]]  # k capped at the number of classes
    assert cols["noun_topk"] == [[0, 1]]
    assert list(zip(cols["action_topk_verb"][0], cols["action_topk_noun"][0])) == [
        (0, 0),
        (1, 0),
        (0, 1),
        (2, 0),
    ]
    # multi-label losses: mean over the two pairs
    assert cols["verb_loss"][0] == pytest.approx((-math.log(0.2) - math.log(0.3)) / 2, rel=1e-6)
    assert cols["noun_loss"][0] == pytest.approx((-math.log(0.7) - math.log(0.3)) / 2, rel=1e-6)
    expected_action = (-math.log(0.2 * 0.7) - math.log(0.3 * 0.3)) / 2
    assert cols["action_loss"][0] == pytest.approx(expected_action, rel=1e-6)
    table = prediction_log_table(cols)
    assert table.schema == PREDICTION_LOG_SCHEMA


def test_ties_go_to_the_lower_index():
    pred, batch = make_step(0, [[1.0, 1.0, 1.0]], [[0.0, 0.0]], [[(2, 1)]])
    cols = prediction_log_columns(pred, batch.target, step=0, k=2)
    assert cols["verb_topk"] == [[0, 1]]
    assert list(zip(cols["action_topk_verb"][0], cols["action_topk_noun"][0])) == [(0, 0), (0, 1)]


@given(stream=streams(max_steps=3))
def test_columns_match_brute_force(stream):
    for step, (prediction, batch) in enumerate(stream):
        cols = prediction_log_columns(prediction, batch.target, step=step, k=3)
        rows = zip(
            prediction.verb_logits.tolist(), prediction.noun_logits.tolist(), batch.target.label_sets()
        )
        for i, (verb_row, noun_row, labels) in enumerate(rows):
            assert cols["verb_topk"][i] == oracle.ranked(verb_row)[:3]
            assert cols["noun_topk"][i] == oracle.ranked(noun_row)[:3]
            pairs = list(zip(cols["action_topk_verb"][i], cols["action_topk_noun"][i]))
            assert pairs == oracle.ranked_actions(verb_row, noun_row)[:3]
            facts = oracle.sample_facts(verb_row, noun_row, list(labels), 3)
            for mode in ("verb", "noun", "action"):
                assert cols[f"{mode}_loss"][i] == pytest.approx(facts["loss"][mode], rel=1e-9, abs=1e-12)


def test_masked_logits_give_finite_huge_losses():
    verb = torch.tensor([[0.0, -1e12]])
    pred, batch = make_step(0, verb, [[0.0]], [[(1, 0)]])
    loss = prediction_log_columns(pred, batch.target, step=0)["verb_loss"][0]
    assert math.isfinite(loss)
    assert loss > 1e11


@pytest.mark.parametrize(
    ("labels", "match"),
    [([[(5, 0)]], "verb label out of range"), ([[(0, 3)]], "noun label out of range")],
)
def test_out_of_range_labels_are_refused(labels, match):
    pred, batch = make_step(0, [[0.0, 1.0]], [[0.0, 1.0]], labels)
    with pytest.raises(PredictionLogError, match=match):
        prediction_log_columns(pred, batch.target, step=0)


def test_shape_mismatch_is_refused():
    pred = Prediction(
        indices=torch.tensor([0, 1]), verb_logits=torch.zeros(2, 3), noun_logits=torch.zeros(1, 3)
    )
    with pytest.raises(PredictionLogError, match="noun_logits"):
        prediction_log_columns(pred, Target.from_label_sets([[(0, 0)], [(1, 1)]]), step=0)


def test_table_refuses_missing_columns_and_nulls():
    pred, batch = make_step(0, [[0.0]], [[0.0]], [[(0, 0)]])
    cols = prediction_log_columns(pred, batch.target, step=0)
    with pytest.raises(PredictionLogError, match="lacks column"):
        prediction_log_table({k: v for k, v in cols.items() if k != "noun_topk"})
    with pytest.raises(PredictionLogError, match="null"):
        prediction_log_table({**cols, "verb_loss": [None]})
    extra = pa.table({**cols, "extra": [1]})
    assert prediction_log_table(extra).schema == PREDICTION_LOG_SCHEMA


def _samples(n: int):
    from fractions import Fraction

    from ego_cl.types import Span, StreamSample

    return [
        StreamSample(
            index=i,
            user_id="68",
            clip_uid=f"clip{i // 2}",
            video_uid="video",
            span=Span(Fraction(32 * i, 15), Fraction(32 * (i + 1), 15)),
            actions=[(0, 0)],
            annotation_index=i,
            clip_index=0,
        )
        for i in range(n)
    ]


def test_sample_columns_follow_their_schema_and_map_recorded_positions():
    from ego_cl.metrics.prediction_log import SAMPLE_COLUMNS, SAMPLE_LOG_SCHEMA, sample_log_columns

    samples = _samples(4)
    cols = sample_log_columns(samples, [3, 1], recorded_index=[2, 0, 3, 1])
    assert tuple(cols) == SAMPLE_COLUMNS
    assert cols["clip_uid"] == ["clip1", "clip0"]
    assert cols["start_exact"] == ["32/5", "32/15"]
    assert cols["end_s"] == [128 / 15, 64 / 15]
    assert cols["recorded_index"] == [1, 0]
    assert sample_log_columns(samples, [3], None)["recorded_index"] == [3]
    table = pa.table(cols).cast(SAMPLE_LOG_SCHEMA)
    assert table.num_rows == 2
    with pytest.raises(PredictionLogError, match="stream index 4 outside"):
        sample_log_columns(samples, [4])


def test_scoring_ignores_the_sample_columns_and_old_logs_without_them_still_score():
    from ego_cl.metrics.prediction_log import sample_log_columns
    from ego_cl.metrics.scores import sample_scores

    pred, batch = make_step(0, torch.zeros(2, 3), torch.zeros(2, 2), [[(1, 0)], [(2, 1)]])
    core = prediction_log_columns(pred, batch.target, step=0, k=2)
    wide = core | sample_log_columns(_samples(2), core["index"])
    assert prediction_log_table(wide).equals(prediction_log_table(core))
    assert sample_scores(prediction_log_table(wide)) is not None
