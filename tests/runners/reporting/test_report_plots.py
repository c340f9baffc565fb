"""Report figures on hand-made run directories: every figure is written as PNG and PDF."""

from __future__ import annotations

import numpy as np

from ego_cl.metrics.stream_metrics import hindsight_metrics
from ego_cl.metrics.transfer import transfer_matrix
from ego_cl.runners import report
from ego_cl.runners.reporting.data import read_log
from ego_cl.runners.reporting.extra import run_transfer
from tests.runners.report_fixtures import make_log, make_run, stream_labels, write_user


def _hindsight(run_dir, users, n_samples=12):
    for j, stream in enumerate(users):
        labels = stream_labels(n_samples + j, seed=j)
        write_user(
            run_dir / "hindsight" / "_pretrained" / stream, make_log(labels, accuracy=0.3, seed=50 + j)
        )
        for i, model in enumerate(users):
            acc = 0.9 if model == stream else 0.5
            write_user(
                run_dir / "hindsight" / model / stream, make_log(labels, accuracy=acc, seed=10 * i + j)
            )


def test_report_writes_every_figure(tmp_path):
    users = ("u1", "u2", "u3")
    run_dir = make_run(tmp_path, "2025-01-01_00-00-00_defaults", users=users, n_samples=30, past=True)
    _hindsight(run_dir, users, n_samples=30)
    methods = report.collect([run_dir])
    out = tmp_path / "out"
    report.write_report(methods, out)
    names = {p.name for p in (out / "plots").iterdir()}
    stems = ("oag_per_user", "running_accuracy_finetune", "transfer_finetune", "forgetting", "labels_u1")
    for stem in stems:
        assert {f"{stem}.png", f"{stem}.pdf"} <= names, stem
    assert (out / "plots" / "transfer_finetune.csv").is_file()
    markdown = (out / "summary.md").read_text()
    assert "Hindsight adaptation gain (HAG)" in markdown


def test_transfer_matrix_is_the_metrics_functions_over_hindsight_logs(tmp_path):
    users = ("u1", "u2")
    run_dir = make_run(tmp_path, "r", users=users)
    _hindsight(run_dir, users)
    matrix, pretrained = run_transfer(run_dir)
    pairs = {(m, s): hindsight_metrics(read_log(run_dir / "hindsight" / m / s)) for m in users for s in users}
    reference = {s: hindsight_metrics(read_log(run_dir / "hindsight" / "_pretrained" / s)) for s in users}
    expected = transfer_matrix(pairs, reference, metric="hindsight/action/balanced_top1")
    np.testing.assert_array_equal(matrix.gain, expected.gain)
    assert pretrained["u2"] == reference["u2"]["hindsight/action/balanced_top1"]


def test_no_transfer_without_off_diagonal_pairs(tmp_path):
    run_dir = make_run(tmp_path, "r", users=("u1",))
    assert run_transfer(run_dir) is None
