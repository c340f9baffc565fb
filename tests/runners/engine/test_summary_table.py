"""The final table counts method users and baseline users apart and names each failure."""

from __future__ import annotations

from ego_cl.runners.engine.summary import format_table


def _row(table: str, name: str) -> list[str]:
    return next(line for line in table.splitlines() if line.startswith(name)).split()


def test_method_and_baseline_users_are_counted_apart():
    summary = {
        "learner": "finetune",
        "oag": {},
        "n_users": 3,
        "n_done": 2,
        "n_failed_users": 1,
        "n_baseline_done": 1,
        "n_failed_baseline": 2,
        "failed": ["baseline/k/1", "baseline/k/2", "users/1@run"],
        "errors": {"users/1@run": "NoSpaceError: /r/users/1/checkpoint/state.next.pt: no space left"},
        "run_dir": "/r",
    }
    table = format_table([summary])
    header = table.splitlines()[0].split()
    assert header[-4:] == ["users", "failed", "baseline", "failed"]
    assert _row(table, "finetune")[-4:] == ["2", "1", "1", "2"]
    assert "FAILED users/1@run: NoSpaceError: /r/users/1/checkpoint/state.next.pt: no space left" in table
    assert "FAILED baseline/k/1: see FAILED.json in its user directory" in table


def test_a_summary_without_the_new_counts_still_prints():
    summary = {"learner": "replay", "oag": {}, "n_done": 1, "failed": [], "run_dir": "/r"}
    assert _row(format_table([summary]), "replay")[-4:] == ["1", "0", "0", "0"]
