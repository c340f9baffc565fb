"""Each run directory's ``log.jsonl`` holds exactly that run's events (users, baseline, summary),
also when one invocation runs several (issue 18.9); the engine leaves a host's logging alone."""

from __future__ import annotations

import io
import json

import structlog

from ego_cl.runners.engine.grid import run_grid
from ego_cl.runners.engine.run import run_stream
from ego_cl.runners.logs import configure_logging
from tests.runners.tiny_run import make_tiny, tiny_config, tiny_overrides


def _events(path):
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_grid_runs_each_log_their_own_events_and_the_shared_baseline(tmp_path):
    configure_logging(stream=io.StringIO())
    tiny = make_tiny(tmp_path / "home")
    overrides = tiny_overrides(tiny, tmp_path / "runs", "run.timestamp=t0")
    parent, summaries = run_grid(None, overrides, ["learner.lr=0.1,0.001"])
    run_dirs = sorted(p for p in parent.iterdir() if p.name.startswith("GRID_"))
    assert len(run_dirs) == 2
    for run_dir in run_dirs:
        events = _events(run_dir / "log.jsonl")
        finished = [e for e in events if e["event"] == "user_finished"]
        users = sorted(summaries[0]["users"])
        assert sorted((e["role"], e["user_id"]) for e in finished) == [
            *(("baseline", u) for u in users),
            *(("users", u) for u in users),
        ]
        lr = run_dir.name.split("=")[-1]
        assert {e["learner"] for e in finished if e["role"] == "users"} == {"finetune"}
        [done] = [e for e in events if e["event"] == "run_finished"]
        assert done["run_dir"] == str(run_dir)
        assert done["n_done"] == len(users)
        assert all(str(other) not in json.dumps(events) for other in run_dirs if other != run_dir), lr
    grid_events = [e["event"] for e in _events(parent / "log.jsonl")]
    assert "user_finished" not in grid_events
    assert "run_finished" not in grid_events


def test_run_stream_keeps_a_host_structlog_configuration(tmp_path):
    seen: list[dict] = []

    def host_processor(_logger, _name, event_dict):
        seen.append(dict(event_dict))
        raise structlog.DropEvent

    structlog.configure(processors=[structlog.contextvars.merge_contextvars, host_processor])
    before = structlog.get_config()
    cfg, overrides = tiny_config(make_tiny(tmp_path / "home"), tmp_path / "runs", "run.baseline=false")
    summary = run_stream(cfg, overrides)
    assert summary["n_done"] == summary["n_users"] > 0
    assert structlog.get_config() == before
    assert any(e["event"] == "run_finished" for e in seen)  # the host got the events
