"""The grid's console output (issue 18.4): rows named by their grid values; a grid on the test
users says it tunes on the test set."""

from __future__ import annotations

import pytest

from ego_cl.runners.cli import guarded_main
from ego_cl.runners.engine.summary import format_table
from ego_cl.runners.stream import TEST_GRID_NOTE, main
from tests.runners.tiny_run import make_tiny, tiny_overrides


def _summary(learner, label=None):
    out = {"learner": learner, "oag": {}, "n_done": 1, "failed": [], "run_dir": f"runs/{learner}"}
    return out | ({"label": label} if label else {})


def test_rows_are_named_by_label_else_learner_and_stay_aligned():
    long = "finetune [learner.lr=0.1,learner.momentum=0.9]"
    table = format_table([_summary("finetune", long), _summary("replay")]).splitlines()
    assert table[2].startswith(long + " ")
    assert table[3].startswith("replay ")
    assert table[2].index(" n/a") == table[3].index(" n/a")  # columns line up after a long label
    assert f"run directory ({long}): runs/finetune" in table


@pytest.mark.integration
@pytest.mark.parametrize("subset", ["test", "train"])
def test_grid_cli_labels_rows_and_notes_test_users(tmp_path, capsys, subset):
    tiny = make_tiny(tmp_path / "home")
    overrides = tiny_overrides(tiny, tmp_path / "runs", f"data.subset={subset}", "stream.max_samples=4")
    code = guarded_main(main, [*overrides, "--grid", "learner.lr=0.1,0.001"])
    out = capsys.readouterr().out
    if subset == "train" and code == 2:  # the tiny split may have no train users
        pytest.skip("no train users in the tiny split")
    assert code == 0, out
    assert "finetune [learner.lr=0.1]" in out
    assert "finetune [learner.lr=0.001]" in out
    assert (TEST_GRID_NOTE in out) is (subset == "test")


def test_resuming_a_grid_with_another_config_names_the_differing_keys(tmp_path):
    from ego_cl.runners.config import ConfigError
    from ego_cl.runners.engine.grid import prepare_grid

    overrides = [f"run.out_dir={tmp_path}", "run.timestamp=t0"]
    parent, _ = prepare_grid(None, overrides, ["learner.lr=0.1,0.2"])
    with pytest.raises(ConfigError) as info:
        prepare_grid(None, [*overrides, "learner.momentum=0.5"], ["learner.lr=0.1,0.2"], resume=parent)
    [line] = info.value.lines()
    assert line.endswith("learner.momentum: 0.0 -> 0.5")
