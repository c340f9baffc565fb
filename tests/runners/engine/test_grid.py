"""Grid search: parsing, naming, a 2x2 grid of tiny real runs, resume, and its comparison report."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ego_cl.runners import report
from ego_cl.runners.config import ConfigError
from ego_cl.runners.engine.grid import grid_combinations, grid_dir_name, parse_grid, run_grid
from ego_cl.runners.results import UserDir
from tests.runners.tiny_run import make_tiny, tiny_overrides


def test_parse_grid_and_combinations():
    grid = parse_grid(["learner.lr=0.1,0.01", "learner.momentum=0,0.9", "pool.devices=[cpu],[cpu,cpu]"])
    assert grid["pool.devices"] == ["[cpu]", "[cpu,cpu]"]
    combos = grid_combinations(grid)
    assert len(combos) == 8
    assert combos[0] == ["learner.lr=0.1", "learner.momentum=0", "pool.devices=[cpu]"]
    for bad in (["learner.lr"], ["learner.lr=0.1,"], ["a=1", "a=2"], ["a=1,1"]):
        with pytest.raises(ConfigError):
            parse_grid(bad)


@given(st.lists(st.text(min_size=1, max_size=30), min_size=1, max_size=4, unique=True))
def test_grid_dir_names_are_safe_short_and_order_free(values):
    overrides = [f"k{i}={v}" for i, v in enumerate(values)]
    name = grid_dir_name(overrides)
    assert name == grid_dir_name(list(reversed(overrides)))
    assert len(name) <= 120
    assert "/" not in name
    assert name.startswith("GRID_")
    assert name not in ("GRID_.", "GRID_..")


def test_long_names_stay_unique():
    a = grid_dir_name([f"x.y=a{'b' * 200}1"])
    b = grid_dir_name([f"x.y=a{'b' * 200}2"])
    assert a != b
    assert len(a) <= 120


def test_two_by_two_grid_resume_and_comparison_report(tmp_path):
    tiny = make_tiny(tmp_path / "home")
    overrides = tiny_overrides(tiny, tmp_path / "runs", "run.timestamp=t0")
    grid = ["learner.lr=0.1,0.001", "learner.momentum=0,0.9"]
    parent, summaries = run_grid(None, overrides, grid)
    assert len(summaries) == 4
    assert all(s["failed"] == [] for s in summaries)
    names = sorted(p.name for p in parent.iterdir() if p.name.startswith("GRID_"))
    assert names == [
        "GRID_learner.lr=0.001,learner.momentum=0",
        "GRID_learner.lr=0.001,learner.momentum=0.9",
        "GRID_learner.lr=0.1,learner.momentum=0",
        "GRID_learner.lr=0.1,learner.momentum=0.9",
    ]
    # resume: an unfinished user is re-run, finished ones are skipped, results unchanged
    victim = parent / names[0] / "users"
    uid = sorted(p.name for p in victim.iterdir())[0]
    before = UserDir(victim / uid).read_log()
    (victim / uid / "DONE").unlink()
    parent_again, again = run_grid(None, overrides, grid, resume=parent)
    assert parent_again == parent
    assert UserDir(victim / uid).read_log().equals(before)
    assert [s["oag"] for s in again] == [s["oag"] for s in summaries]
    methods = report.collect([parent])
    assert len([m for m in methods if not m.blind]) == 4
    markdown = report.write_report(methods, parent / "report", plots=False)
    # momentum does not change the tiny runs at lr 0.1: the top two tie, so none is marked best
    assert "(best)" not in markdown
    assert "No method is marked best" in markdown
    assert "tunes on the test set" in markdown  # the grid ran on data.subset=test
    assert Path(parent / "report" / "summary.tex").is_file()


@pytest.mark.integration
def test_stream_cli_grid_print_config_and_bad_grid(tmp_path, capsys):
    from ego_cl.runners.cli import guarded_main
    from ego_cl.runners.stream import main

    assert guarded_main(main, ["--print-config", "--grid", "learner.lr=0.5,0.25"]) == 0
    out = capsys.readouterr().out
    assert "lr: 0.5" in out
    assert "lr: 0.25" in out
    assert guarded_main(main, ["--grid", "learner.lr"]) == 2
    assert not (tmp_path / "runs").exists()
