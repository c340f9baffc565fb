"""Online MetricSet values equal the values recomputed from a saved prediction log, exactly."""

from __future__ import annotations

import io
import math

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import given

from ego_cl.metrics.metric_set import MetricSet
from ego_cl.metrics.prediction_log import PredictionLogError, prediction_log_columns, prediction_log_table
from ego_cl.metrics.stream_metrics import hindsight_metrics, metric_curves, stream_metrics
from tests.metrics import oracle
from tests.metrics.streams import make_step, streams


def run_online(stream, k):
    """Feed a MetricSet as the runner does; return the per-step values and the log table."""
    metric_set, curves, parts = MetricSet(k=k), {}, []
    for step, (prediction, batch) in enumerate(stream):
        parts.append(prediction_log_table(prediction_log_columns(prediction, batch.target, step=step, k=k)))
        metric_set.update(prediction, batch)
        curves[step] = metric_set.get()
    return metric_set, curves, parts


def same_dict(a: dict, b: dict) -> None:
    assert a.keys() == b.keys()
    for key in a:
        assert a[key] == b[key] or (math.isnan(a[key]) and math.isnan(b[key])), key


def parquet_round_trip(parts, sink) -> pa.Table:
    pq.write_table(pa.concat_tables(parts), sink, compression="zstd")
    return pq.read_table(sink)


def test_recompute_every_metric_from_a_saved_log(tmp_path):
    stream = [
        make_step(
            0, [[2.0, 0.0, 1.0], [0.0, 3.0, 0.0]], [[1.0, 0.0], [0.0, 0.5]], [[(0, 0)], [(1, 1), (2, 0)]]
        ),
        make_step(2, [[0.0, 0.0, 4.0]], [[0.3, 0.2]], [[(2, 1)]]),
        make_step(3, [[1.0, 2.0, 3.0], [5.0, 0.0, 0.0]], [[0.0, 1.0], [1.0, 0.0]], [[(2, 1)], [(1, 0)]]),
    ]
    metric_set, curves, parts = run_online(stream, k=2)
    table = parquet_round_trip([p for p in parts], tmp_path / "predictions-000000-000003.parquet")
    online = {k: v for k, v in metric_set.get().items() if k.startswith("online/")}
    same_dict(stream_metrics(table, k=2), online)
    same_dict(metric_curves(table, k=2), curves)
    hindsight = hindsight_metrics(table, k=2)
    assert hindsight["hindsight/action/top1"] == online["online/action/top1"]
    assert hindsight["hindsight/n_samples"] == 5.0


@given(stream=streams())
def test_online_equals_after_the_fact_exactly(stream):
    metric_set, curves, parts = run_online(stream, k=3)
    if not parts:
        return
    table = parquet_round_trip(parts, io.BytesIO())
    online = {k: v for k, v in metric_set.get().items() if k.startswith("online/")}
    same_dict(stream_metrics(table, k=3), online)
    same_dict(metric_curves(table, k=3), curves)
    shuffled = table.take(np.random.default_rng(0).permutation(table.num_rows))
    same_dict(stream_metrics(shuffled, k=3), online)


@given(stream=streams())
def test_online_values_match_brute_force(stream):
    metric_set, _, _ = run_online(stream, k=3)
    values = metric_set.get()
    facts = oracle.stream_facts(stream, 3)
    for mode in ("verb", "noun", "action"):
        expected = {
            f"online/{mode}/top1": oracle.micro(facts, mode, "top1"),
            f"online/{mode}/top3": oracle.micro(facts, mode, "topk"),
            f"online/{mode}/balanced_top1": oracle.balanced(facts, mode),
            f"online/{mode}/loss": oracle.mean_loss(facts, mode),
        }
        for key, value in expected.items():
            assert values[key] == pytest.approx(value, rel=1e-9, abs=1e-9, nan_ok=True), key
    if stream:
        last = oracle.stream_facts(stream[-1:], 3)
        assert values["batch/action/top1"] == pytest.approx(oracle.micro(last, "action", "top1"))
        assert values["batch/n_samples"] == len(last)


def test_repeated_indices_are_refused():
    _, _, parts = run_online([make_step(0, [[0.0]], [[0.0]], [[(0, 0)]])], k=1)
    with pytest.raises(PredictionLogError, match="repeats stream index"):
        stream_metrics(pa.concat_tables(parts + parts), k=1)
