"""The report's best mark needs a significant paired difference (issue 18.4), shows the CI, and
warns when compared runs differ in users or stream lengths, or a grid ran on the test users."""

from __future__ import annotations

from pathlib import Path

from ego_cl.metrics.paired import paired_bootstrap
from ego_cl.metrics.report_tables import summarize_users
from ego_cl.runners.config import StreamRunConfig, load_config
from ego_cl.runners.reporting.format import render_markdown
from ego_cl.runners.reporting.sections import HEADLINE, MethodResult, comparison_warnings, headline_table

TRAIN = load_config(StreamRunConfig, overrides=["data.subset=train"])
TEST = load_config(StreamRunConfig, overrides=["data.subset=test"])


def _method(label, oag, *, n_samples=10, run_dir="runs/x/r", blind=False, config=TRAIN) -> MethodResult:
    per_user = {
        u: {HEADLINE: v, "online/n_samples": float(n_samples if isinstance(n_samples, int) else n_samples[u])}
        for u, v in oag.items()
    }
    return MethodResult(
        label=label,
        run_dir=Path(run_dir) / label,
        per_user=per_user,
        summary=summarize_users(per_user),
        blind=blind,
        config=config,
    )


USERS = ("u1", "u2", "u3", "u4", "u5")


def test_a_method_better_on_every_user_is_marked_best_with_its_ci():
    good = _method("good", {u: 10.0 + i for i, u in enumerate(USERS)})
    worse = _method("worse", {u: 6.0 + 1.5 * i for i, u in enumerate(USERS)})
    table = headline_table([worse, good])
    assert table.best_row == 1
    expected = paired_bootstrap(
        {u: v[HEADLINE] for u, v in good.per_user.items()},
        {u: v[HEADLINE] for u, v in worse.per_user.items()},
        seed=0,
    )
    assert table.rows[0][-1] == expected.describe()
    assert table.rows[1][-1] == "top"
    assert "| **good** (best) |" in render_markdown(table)


def test_a_higher_mean_without_a_significant_difference_is_not_marked():
    lucky = _method("lucky", dict(zip(USERS, [30.0, -10.0, 15.0, -5.0, 0.0])))
    plain = _method("plain", dict.fromkeys(USERS, 0.0))
    table = headline_table([plain, lucky])
    assert table.best_row is None
    assert "No method is marked best" in table.note
    assert "paired bootstrap 95% CI" in table.note
    lo, hi = table.rows[0][-1].split("[")[1].rstrip("]").split(", ")
    assert float(lo) < 0 < float(hi)


def test_the_blind_baseline_is_neither_top_nor_a_rival():
    a = _method("a", {u: 5.0 + i for i, u in enumerate(USERS)})
    b = _method("b", {u: 1.0 + i for i, u in enumerate(USERS)})
    blind = _method("blind", {u: 50.0 - i for i, u in enumerate(USERS)}, blind=True)
    table = headline_table([a, b, blind])
    assert table.best_row == 0
    assert table.rows[2][-1].startswith("-")  # shown, but it cannot block the mark


def test_one_method_is_never_marked():
    assert headline_table([_method("only", dict.fromkeys(USERS, 3.0))]).best_row is None


def test_warnings_for_different_users_and_stream_lengths():
    a = _method("a", dict.fromkeys(USERS, 1.0))
    b = _method("b", dict.fromkeys(USERS[:3], 1.0))
    c = _method("c", dict.fromkeys(USERS, 1.0), n_samples={u: 10 + (u == "u2") for u in USERS})
    assert comparison_warnings([a, a]) == []
    [users] = comparison_warnings([a, b])
    assert "different users" in users
    assert "3 common users" in users
    [lengths] = comparison_warnings([a, c])
    assert "stream lengths differ" in lengths
    assert "u2" in lengths


def test_a_grid_compared_on_test_users_says_so():
    on_test = [_method(f"GRID_learner.lr={lr}", dict.fromkeys(USERS, lr), config=TEST) for lr in (1, 2)]
    on_train = [_method(f"GRID_learner.lr={lr}", dict.fromkeys(USERS, lr), config=TRAIN) for lr in (1, 2)]
    assert any("tunes on the test set" in w for w in comparison_warnings(on_test))
    assert comparison_warnings(on_train) == []
    assert comparison_warnings(on_test[:1]) == []  # nothing chosen from one run
