"""Every prediction log a run writes (online, past, future, baseline, hindsight) names its clips:
user, clip, video, time span (float and exact) and recorded position, equal to the stream's."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import pytest

from ego_cl.metrics.prediction_log import LOG_COLUMNS, SAMPLE_COLUMNS
from ego_cl.metrics.stream_metrics import hindsight_metrics
from ego_cl.runners.engine.hindsight import run_hindsight
from ego_cl.runners.inputs import build_stream, load_inputs, resolve_inputs
from ego_cl.runners.results import PRETRAINED, RunDir
from ego_cl.runners.stream import run_stream
from tests.runners.tiny_run import make_tiny, tiny_config

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    return make_tiny(tmp_path_factory.mktemp("logcols"))


def _run(tiny, out: Path, *extra: str):
    cfg, overrides = tiny_config(
        tiny,
        out,
        "metrics.past_eval=true",
        "metrics.past_window=4",
        "metrics.near_future_k=2",
        "run.users=[" + _first_user(tiny) + "]",
        *extra,
    )
    summary = run_stream(cfg, overrides)
    assert summary["failed"] == []
    return cfg, RunDir(summary["run_dir"])


def _first_user(tiny) -> str:
    from ego_cl.data.usersplit import find_split_file, load_user_split

    split = load_user_split(find_split_file(tiny[0] / "usersplits", "test"))
    return sorted(split.users)[0]


def _stream(cfg):
    loaded = load_inputs(cfg, resolve_inputs(cfg))
    (uid, anns), *_ = loaded.users.items()
    return build_stream(cfg.stream, anns, user_id=uid, pretrain_actions=loaded.pretrain_actions)


def _check_rows(table, stream, *, shuffled: bool) -> None:
    assert set(LOG_COLUMNS) | set(SAMPLE_COLUMNS) <= set(table.column_names)
    rows = table.to_pylist()
    assert rows
    recorded = stream.recorded_indices()
    for row in rows:
        sample = stream.samples[row["index"]]
        assert row["user_id"] == sample.user_id
        assert row["clip_uid"] == sample.clip_uid
        assert row["video_uid"] == sample.video_uid
        assert Fraction(row["start_exact"]) == sample.span.start_s
        assert Fraction(row["end_exact"]) == sample.span.end_s
        assert row["start_s"] == float(sample.span.start_s)
        assert row["end_s"] == float(sample.span.end_s)
        assert row["recorded_index"] == recorded[row["index"]]
    moved = [r for r in rows if r["recorded_index"] != r["index"]]
    assert bool(moved) == shuffled


@pytest.mark.parametrize("shuffled", [False, True])
def test_online_past_future_baseline_and_hindsight_logs_name_their_clips(tiny, tmp_path, shuffled):
    extra = ("stream.shuffle_seed=3",) if shuffled else ()
    cfg, run = _run(tiny, tmp_path / "runs", *extra)
    stream = _stream(cfg)
    uid = str(stream.user_id)
    user, baseline = run.user(uid), run.baseline(uid)
    for kind in ("predictions", "past", "future"):
        _check_rows(user.read_log(kind), stream, shuffled=shuffled)
    _check_rows(baseline.read_log(), stream, shuffled=shuffled)
    outcomes = run_hindsight(run.path, transfer=True, processes=0)
    assert all(o.ok for o in outcomes), [o.error for o in outcomes if not o.ok]
    for model in (uid, PRETRAINED):
        table = run.hindsight(model, uid).read_log()
        _check_rows(table, stream, shuffled=shuffled)
        assert hindsight_metrics(table)  # the after-the-fact metrics read the wider table
    shuffled_positions = sorted(r["recorded_index"] for r in user.read_log().to_pylist())
    assert shuffled_positions == list(range(len(stream.samples)))  # a permutation of the stream


def test_a_run_resumed_across_the_schema_change_still_reads_its_log(tmp_path):
    from ego_cl.metrics.prediction_log import prediction_log_table
    from ego_cl.runners.results import UserDir

    old = {"step": [0], "index": [0], "verb_labels": [[1]], "noun_labels": [[2]], "verb_topk": [[1]]}
    old |= {"noun_topk": [[2]], "action_topk_verb": [[1]], "action_topk_noun": [[2]]}
    old |= {"verb_loss": [0.1], "noun_loss": [0.2], "action_loss": [0.3]}
    new = dict(old) | {"step": [1], "index": [1], "clip_uid": ["c"], "start_s": [0.5]}
    udir = UserDir(tmp_path)
    udir.write_part(old, 0, 1)
    udir.write_part(new, 1, 2)
    table = udir.read_log()
    assert table.column("clip_uid").to_pylist() == [None, "c"]
    assert prediction_log_table(table).num_rows == 2
