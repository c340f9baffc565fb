"""run.copy_final_to and run.timestamp: the final files get a second copy; the launch time names the run."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from ego_cl.runners import report
from ego_cl.runners.cli import guarded_main
from ego_cl.runners.copy_final import copy_final
from ego_cl.runners.stream import run_stream
from tests.runners.report_fixtures import make_run
from tests.runners.tiny_run import make_tiny, tiny_config


def test_copy_final_copies_summaries_and_the_report_only(tmp_path):
    run_dir = make_run(tmp_path / "runs" / "exp", "2025-01-01_00-00-00_defaults")
    (run_dir / "summary.json").write_text('{"a": 1}\n')
    (run_dir / "report" / "plots").mkdir(parents=True)
    (run_dir / "report" / "plots" / "x.png").write_bytes(b"png")
    written = copy_final(run_dir, tmp_path / "backup", experiment="exp")
    dest = tmp_path / "backup" / "exp" / run_dir.name
    assert sorted(p.relative_to(dest).as_posix() for p in written) == [
        "config.yaml",
        "report/plots/x.png",
        "summary.json",
    ]
    assert (dest / "summary.json").read_text() == '{"a": 1}\n'
    assert not (dest / "users").exists()  # logs and states stay in the run directory
    (run_dir / "summary.json").write_text('{"a": 2}\n')
    copy_final(run_dir, tmp_path / "backup", experiment="exp")
    assert (dest / "summary.json").read_text() == '{"a": 2}\n'


@pytest.mark.integration
def test_stream_run_uses_the_launch_timestamp_and_copies_its_final_files(tmp_path):
    tiny = make_tiny(tmp_path / "home")
    backup = tmp_path / "backup"
    cfg, overrides = tiny_config(
        tiny, tmp_path / "runs", "run.timestamp=2031-02-03_04-05-06", f"run.copy_final_to={backup}"
    )
    summary = run_stream(cfg, overrides)
    run_dir = Path(summary["run_dir"])
    assert run_dir.name.startswith("2031-02-03_04-05-06_")
    dest = backup / "default" / run_dir.name
    assert (dest / "summary.json").read_bytes() == (run_dir / "summary.json").read_bytes()
    assert yaml.safe_load((dest / "config.yaml").read_text())["run"]["copy_final_to"] == str(backup)
    # the report of that run is copied too
    assert guarded_main(report.main, [str(run_dir), "--no-plots"]) == 0
    assert (dest / "report" / "summary.tex").read_bytes() == (run_dir / "report" / "summary.tex").read_bytes()
