"""structlog configuration: formats and levels (flags, config keys), routing of events to each run
directory's ``log.jsonl``, and leaving an embedding host's logging alone."""

from __future__ import annotations

import io
import json
import subprocess
import sys

import pytest
import structlog

from ego_cl.runners.cli import add_config_arguments, setup_logging
from ego_cl.runners.config import StreamRunConfig, load_config
from ego_cl.runners.logs import configure_logging, configure_worker_logging


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def _lines(path):
    return [json.loads(x) for x in path.read_text().splitlines()]


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
    saved = _lines(tmp_path / "log.jsonl")
    assert [s["event"] for s in saved] == ["user_stream_finished", "hidden"]  # the file keeps debug


@pytest.mark.parametrize(
    ("log_format", "stream", "is_json"),
    [
        ("auto", io.StringIO, True),
        ("auto", _Tty, False),
        ("json", _Tty, True),
        ("console", io.StringIO, False),
    ],
)
def test_format_auto_follows_the_tty_and_is_switchable(log_format, stream, is_json):
    out = stream()
    configure_logging(stream=out, log_format=log_format)
    structlog.get_logger("t").info("hello", n=1)
    text = out.getvalue().strip()
    assert text.startswith("{") is is_json, text
    assert "hello" in text


@pytest.mark.parametrize("level", ["debug", "info", "warning", "error"])
def test_console_level(level):
    out = io.StringIO()
    configure_logging(stream=out, level=level, log_format="json")
    log = structlog.get_logger("t")
    log.debug("d")
    log.info("i")
    log.warning("w")
    log.error("e")
    shown = [json.loads(x)["event"] for x in out.getvalue().splitlines()]
    order = ["d", "i", "w", "e"]
    assert shown == order[["debug", "info", "warning", "error"].index(level) :]


def test_no_debug_on_the_console_by_default():
    out = _Tty()
    configure_logging(stream=out)
    structlog.get_logger("t").debug("worker_started")
    assert out.getvalue() == ""


def test_events_go_to_the_run_directories_they_belong_to(tmp_path):
    configure_logging(stream=io.StringIO(), log_file=tmp_path / "grid" / "log.jsonl")
    log = structlog.get_logger("t")
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir()
    b.mkdir()
    with structlog.contextvars.bound_contextvars(log_to=(str(a),)):
        log.info("user_finished", user_id="1")
    with structlog.contextvars.bound_contextvars(log_to=(str(b),)):
        log.info("user_finished", user_id="2")
    with structlog.contextvars.bound_contextvars(log_to=(str(a), str(b))):
        log.info("baseline_finished", user_id="1")
    log.info("pool_event")
    assert [e["user_id"] for e in _lines(a / "log.jsonl")] == ["1", "1"]
    assert [e["event"] for e in _lines(b / "log.jsonl")] == ["user_finished", "baseline_finished"]
    assert [e["event"] for e in _lines(tmp_path / "grid" / "log.jsonl")] == ["pool_event"]
    assert all("log_to" not in e for e in _lines(a / "log.jsonl"))


def test_log_to_never_reaches_the_console(tmp_path):
    out = io.StringIO()
    configure_logging(stream=out, log_format="json")
    with structlog.contextvars.bound_contextvars(log_to=(str(tmp_path),)):
        structlog.get_logger("t").info("x")
    assert "log_to" not in json.loads(out.getvalue())


def test_workers_inherit_format_and_level(tmp_path, capsys):
    configure_logging(stream=io.StringIO(), level="warning", log_format="console")
    configure_worker_logging(tmp_path / "w.jsonl")  # as a spawned worker would (same environment)
    log = structlog.get_logger("t")
    log.info("quiet")
    log.warning("loud")
    err = capsys.readouterr().err
    assert "loud" in err
    assert "quiet" not in err
    assert not err.lstrip().startswith("{")
    assert [e["event"] for e in _lines(tmp_path / "w.jsonl")] == ["quiet", "loud"]


def _args(argv):
    import argparse

    parser = argparse.ArgumentParser()
    add_config_arguments(parser)
    return parser.parse_args(argv)


def test_flags_win_over_config_keys(capsys):
    cfg = load_config(StreamRunConfig, overrides=["run.log_format=console", "run.log_level=error"])
    setup_logging(_args([]), cfg.run)
    structlog.get_logger("t").warning("w1")
    assert capsys.readouterr().err == ""  # run.log_level=error
    setup_logging(_args(["--log-format", "json", "--log-level", "warning"]), cfg.run)
    structlog.get_logger("t").warning("w2")
    assert json.loads(capsys.readouterr().err)["event"] == "w2"


def test_bad_log_keys_are_config_errors():
    from ego_cl.runners.config import ConfigError

    with pytest.raises(ConfigError, match=r"run\.log_format"):
        load_config(StreamRunConfig, overrides=["run.log_format=xml"])
    with pytest.raises(ConfigError, match=r"run\.log_level"):
        load_config(StreamRunConfig, overrides=["run.log_level=loud"])


def test_importing_and_building_leaves_the_host_logging_alone():
    """An embedding host that configured structlog keeps its configuration: importing the
    library and running the engine's entry points never call ``structlog.configure``."""
    code = (
        "import structlog, ego_cl.runners.stream, ego_cl.runners.engine.run, ego_cl.runners.engine.grid\n"
        "import ego_cl.runners.engine.run as r, inspect\n"
        "src = inspect.getsource(r) + inspect.getsource(ego_cl.runners.engine.grid)\n"
        "assert 'configure_logging' not in src, 'engine configures logging'\n"
        "print(structlog.is_configured())\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "False"


def test_routing_never_creates_a_directory(tmp_path):
    configure_logging(stream=io.StringIO())
    with structlog.contextvars.bound_contextvars(log_to=(str(tmp_path / "typo"),)):
        structlog.get_logger("t").info("x")
    assert not (tmp_path / "typo").exists()
