"""Stream summaries on the tiny synthetic dataset: statistics vs the streams, files, contact sheet."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from ego_cl.runners import summarize
from ego_cl.runners.cli import guarded_main
from ego_cl.runners.inputs import build_stream, load_inputs, resolve_inputs
from ego_cl.runners.reporting.streams import summarize_streams
from tests.runners.tiny_run import make_tiny, tiny_config, tiny_overrides


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    return make_tiny(tmp_path_factory.mktemp("summarize"))


def test_statistics_match_the_built_streams(tiny, tmp_path):
    cfg, _ = tiny_config(tiny, tmp_path, "stream.max_samples=null", "stream.overlap=multi_action")
    out = tmp_path / "summary"
    markdown = summarize_streams(cfg, out, n_clips=6)
    loaded = load_inputs(cfg, resolve_inputs(cfg))
    with (out / "streams.csv").open() as fh:
        rows = {r["user"]: r for r in csv.DictReader(fh)}
    assert set(rows) == set(loaded.users)
    for uid, anns in loaded.users.items():
        stream = build_stream(cfg.stream, anns, user_id=uid, pretrain_actions=loaded.pretrain_actions)
        row = rows[uid]
        assert float(row["clips"]) == len(stream.samples)
        assert float(row["unique_actions"]) == len({a for s in stream.samples for a in s.actions})
        assert float(row["annotations"]) == len(anns)
        overlap = stream.counts.overlap
        assert sum(float(row[c]) for c in ("kept", "trimmed", "dropped", "split")) == overlap.total
        seen = sum(s.actions[0] in loaded.pretrain_actions for s in stream.samples)
        assert float(row["pretrain_seen_action_percent"]) == pytest.approx(100 * seen / len(stream.samples))
        assert (out / "plots" / f"labels_{uid}.png").is_file()
    assert "| mean |" in markdown
    first = sorted(loaded.users)[0]
    assert (out / f"contact_{first}.png").stat().st_size > 1000


@pytest.mark.integration
def test_cli_and_unknown_user(tiny, tmp_path, capsys):
    args = [*tiny_overrides(tiny, tmp_path), "--out", str(tmp_path / "s"), "--clips", "2"]
    assert guarded_main(summarize.main, args) == 0
    assert "User streams of the test split" in capsys.readouterr().out
    assert guarded_main(summarize.main, [*args, "--user", "nobody"]) == 2
    assert Path(tmp_path / "s" / "streams.csv").is_file()
