"""Report tables on hand-made run directories, checked against the metrics package."""

from __future__ import annotations

import csv

import pytest

from ego_cl.metrics.aggregation import mean_se
from ego_cl.metrics.blind_baseline import blind_baseline_metrics
from ego_cl.metrics.decorrelation import decorrelated_metrics
from ego_cl.metrics.report_tables import user_report
from ego_cl.metrics.stream_metrics import stream_metrics
from ego_cl.runners import report
from ego_cl.runners.config import StreamRunConfig, load_config
from ego_cl.runners.reporting.data import find_run_dirs, load_run, method_label, read_log
from ego_cl.runners.reporting.report import collect, write_report
from ego_cl.types import InputError
from tests.runners.report_fixtures import N_NOUNS, N_VERBS, make_log, make_run, stream_labels, write_user


def test_per_user_values_are_the_metrics_functions_over_the_saved_logs(tmp_path):
    run_dir = make_run(tmp_path, "2025-01-01_00-00-00_defaults")
    (method,) = collect([run_dir], label_window=None)
    assert sorted(method.per_user) == ["u1", "u2", "u3"]
    for uid, row in method.per_user.items():
        mine, base = read_log(run_dir / "users" / uid), read_log(run_dir / "baseline" / uid)
        online, frozen = stream_metrics(mine), stream_metrics(base)
        assert row["online/action/balanced_top1"] == online["online/action/balanced_top1"]
        assert row["baseline/verb/top1"] == frozen["online/verb/top1"]
        assert row["oag/noun/loss"] == pytest.approx(frozen["online/noun/loss"] - online["online/noun/loss"])
        dec, dec_base = decorrelated_metrics(mine), decorrelated_metrics(base)
        expected = (
            dec["online/verb/balanced_top1_correlated"] - dec_base["online/verb/balanced_top1_correlated"]
        )
        assert row["oag/verb/balanced_top1_correlated"] == pytest.approx(expected, nan_ok=True)
        assert "hag/action/balanced_top1" not in row
    for name in ("oag/action/balanced_top1", "online/verb/top5", "oag/action/balanced_top1_decorrelated"):
        mean, se = mean_se([method.per_user[u][name] for u in sorted(method.per_user)])
        assert method.summary[name].mean == pytest.approx(mean)
        assert method.summary[name].se == pytest.approx(se)
        assert method.summary[name].n_users == 3


def test_a_better_method_has_a_positive_oag(tmp_path):
    run_dir = make_run(tmp_path, "r", accuracy=1.0, baseline_accuracy=0.0)
    (method,) = collect([run_dir], label_window=None)
    assert method.summary["oag/action/balanced_top1"].mean == 100.0
    assert method.summary["oag/verb/top1"].mean == 100.0
    assert method.summary["oag/action/loss"].mean > 0


def test_written_files_agree_with_the_computed_aggregates(tmp_path):
    run_dir = make_run(
        tmp_path, "2025-01-01_00-00-00_learner.lr=0.1", learner={"kind": "finetune", "lr": 0.1}
    )
    methods = collect([run_dir])
    assert [m.blind for m in methods] == [False, True]
    out = tmp_path / "out"
    markdown = write_report(methods, out, plots=False)
    assert (out / "summary.md").read_text() == markdown
    assert "finetune [lr=0.1]" in markdown
    assert "label window W=4 (blind)" in markdown
    tex = (out / "summary.tex").read_text()
    assert "\\toprule" in tex
    assert "\\midrule" in tex
    assert "\\bottomrule" in tex
    assert "$\\pm$" in tex
    with (out / "summary.csv").open() as fh:
        rows = {(r["method"], r["metric"]): r for r in csv.DictReader(fh)}
    for m in methods:
        agg = m.summary["oag/action/balanced_top1"]
        assert float(rows[(m.label, "oag/action/balanced_top1")]["mean"]) == pytest.approx(agg.mean)
    with (out / "per_user.csv").open() as fh:
        per_user = list(csv.DictReader(fh))
    assert {r["user"] for r in per_user} == {"u1", "u2", "u3"}


def test_grid_parent_gives_one_table_with_the_best_setting_marked(tmp_path):
    grid = tmp_path / "grid"
    make_run(grid, "GRID_learner.lr=0.1", accuracy=0.2, learner={"kind": "finetune", "lr": 0.1})
    make_run(grid, "GRID_learner.lr=0.01", accuracy=0.9, learner={"kind": "finetune", "lr": 0.01})
    methods = collect([grid])
    assert [m.label for m in methods if not m.blind] == [
        "finetune [learner.lr=0.01]",
        "finetune [learner.lr=0.1]",
    ]
    assert sum(m.blind for m in methods) == 1  # same stream: one blind baseline
    markdown = write_report(methods, tmp_path / "out", plots=False)
    assert "| **finetune [learner.lr=0.01]** (best) |" in markdown
    assert (
        report.default_out_dir([grid / "GRID_learner.lr=0.1", grid / "GRID_learner.lr=0.01"])
        == (grid / "report").resolve()
    )


def test_unfinished_users_are_left_out(tmp_path):
    run_dir = make_run(tmp_path, "r", users=("u1", "u2"))
    write_user(run_dir / "users" / "u3", make_log(stream_labels(6, 3), accuracy=1.0, seed=9), done=False)
    run = load_run(run_dir)
    assert run.users == ("u1", "u2")
    assert run.unfinished == ("u3",)


def test_hindsight_logs_give_hag(tmp_path):
    run_dir = make_run(tmp_path, "r", users=("u1",))
    labels = stream_labels(12, seed=0)
    final = make_log(labels, accuracy=1.0, seed=5)
    ref = make_log(labels, accuracy=0.5, seed=6)
    write_user(run_dir / "hindsight" / "u1" / "u1", final)
    write_user(run_dir / "hindsight" / "_pretrained" / "u1", ref)
    (method,) = collect([run_dir], label_window=None)
    expected = user_report(
        read_log(run_dir / "users" / "u1"),
        read_log(run_dir / "baseline" / "u1"),
        hindsight=final,
        hindsight_reference=ref,
    )
    assert method.per_user["u1"]["hag/action/balanced_top1"] == expected["hag/action/balanced_top1"]
    assert method.per_user["u1"]["hindsight/action/balanced_top1"] == 100.0


def test_upstream_hag_reference_is_the_group_mean_of_the_baselines_online_values(tmp_path):
    import numpy as np
    import yaml

    from ego_cl.metrics.stream_metrics import hindsight_metrics

    users = ("u1", "u2", "u3")
    run_dir = make_run(tmp_path, "r", users=users)
    config = yaml.safe_load((run_dir / "config.yaml").read_text())
    config["metrics"]["upstream_hag_reference"] = True
    (run_dir / "config.yaml").write_text(yaml.safe_dump(config))
    finals = {}
    for j, uid in enumerate(users):
        finals[uid] = make_log(stream_labels(12 + j, seed=j), accuracy=0.9, seed=50 + j)
        write_user(run_dir / "hindsight" / uid / uid, finals[uid])
        # an eval-mode pretrained pass that the upstream reference must ignore
        write_user(run_dir / "hindsight" / "_pretrained" / uid, finals[uid])
    (method,) = collect([run_dir], label_window=None)
    online = {u: hindsight_metrics(read_log(run_dir / "baseline" / u)) for u in users}
    group = np.mean([online[u]["hindsight/action/balanced_top1"] for u in users])
    for u in users:
        final = hindsight_metrics(finals[u])
        row = method.per_user[u]
        expected = final["hindsight/action/balanced_top1"] - group
        assert row["hag/action/balanced_top1"] == pytest.approx(expected)
        expected_top1 = final["hindsight/action/top1"] - online[u]["hindsight/action/top1"]
        assert row["hag/action/top1"] == pytest.approx(expected_top1)  # per user, not the group
    assert method.per_user["u1"]["hag/action/top1"] != 0.0


def test_missing_or_empty_paths_are_input_errors(tmp_path):
    with pytest.raises(InputError, match="no such run directory"):
        find_run_dirs([tmp_path / "nope"])
    with pytest.raises(InputError, match="not a run directory"):
        find_run_dirs([tmp_path])


@pytest.mark.integration
def test_cli_writes_the_report(tmp_path, capsys):
    run_dir = make_run(tmp_path, "r")
    from ego_cl.runners.cli import guarded_main

    assert guarded_main(report.main, [str(run_dir), "--no-plots"]) == 0
    assert "Adaptation gains" in capsys.readouterr().out
    assert (run_dir / "report" / "summary.tex").is_file()
    assert guarded_main(report.main, [str(tmp_path / "missing")]) == 2


def test_labels_name_the_changed_learner_settings_and_stay_unique(tmp_path):
    cfg = load_config(StreamRunConfig, overrides=["learner.kind=replay", "learner.capacity=8"])
    assert method_label(tmp_path / "x", cfg) == "replay [capacity=8]"
    make_run(tmp_path / "p", "2025-01-01_00-00-00_a")
    make_run(tmp_path / "p", "2025-01-01_00-00-00_b")
    labels = [m.label for m in collect([tmp_path / "p"], label_window=None)]
    assert labels == ["finetune (2025-01-01_00-00-00_a)", "finetune (2025-01-01_00-00-00_b)"]


def test_blind_row_is_the_metrics_packages_label_window_baseline(tmp_path):
    run_dir = make_run(tmp_path, "r")
    methods = collect([run_dir], label_window=3)
    blind = next(m for m in methods if m.blind)
    for uid, row in blind.per_user.items():
        base = read_log(run_dir / "baseline" / uid)
        expected = blind_baseline_metrics(base, window=3, n_verbs=N_VERBS, n_nouns=N_NOUNS, batch_size=4)
        for mode in ("action", "verb", "noun"):
            assert row[f"online/{mode}/balanced_top1"] == expected[f"blind/{mode}/balanced_top1"]
            frozen = stream_metrics(base)[f"online/{mode}/top1"]
            assert row[f"oag/{mode}/top1"] == pytest.approx(expected[f"blind/{mode}/top1"] - frozen)


def test_near_future_gain_is_method_minus_baseline_per_user(tmp_path):
    from ego_cl.metrics.near_future import near_future_metrics
    from ego_cl.metrics.report_tables import user_report
    from tests.runners.report_fixtures import make_log, stream_labels

    labels = stream_labels(24, seed=3)
    method, baseline = make_log(labels, accuracy=0.7, seed=1), make_log(labels, accuracy=0.3, seed=2)
    future_m, future_b = (
        make_log(labels[4:], accuracy=0.8, seed=4),
        make_log(labels[4:], accuracy=0.2, seed=5),
    )
    row = user_report(method, baseline, near_future=future_m, near_future_reference=future_b)
    mine, theirs = near_future_metrics(future_m), near_future_metrics(future_b)
    for mode in ("verb", "noun", "action"):
        top1 = f"{mode}/balanced_top1"
        assert row[f"nfg/{top1}"] == pytest.approx(
            mine[f"near_future/{top1}"] - theirs[f"near_future/{top1}"]
        )
        loss = f"{mode}/loss"
        assert row[f"nfg/{loss}"] == pytest.approx(
            theirs[f"near_future/{loss}"] - mine[f"near_future/{loss}"]
        )
    assert row["nfg/action/balanced_top1"] > 0  # 0.8 vs 0.2 accuracy
    assert not any(n.startswith("nfg/") for n in user_report(method, baseline))
