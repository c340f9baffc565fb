"""structlog configuration: JSON off a TTY, a JSON-lines file, bound context."""

from __future__ import annotations

import io
import json

import structlog

from ego_cl.runners.logs import configure_logging


def test_json_lines_with_bound_context_and_file(tmp_path):
    out = io.StringIO()
    configure_logging(stream=out, log_file=tmp_path / "log.jsonl")
    log = structlog.get_logger("ego_cl.test")
    with structlog.contextvars.bound_contextvars(user_id="68", run_id="r1"):
        log.info("user_stream_finished", n_samples=3)
    log.debug("hidden")
    line = json.loads(out.getvalue().strip())
    assert line["event"] == "user_stream_finished"
    assert line["user_id"] == "68"
    assert line["n_samples"] == 3
    assert line["level"] == "info"
    saved = [json.loads(x) for x in (tmp_path / "log.jsonl").read_text().splitlines()]
    assert [s["event"] for s in saved] == ["user_stream_finished"]
