"""Reports of finished runs: collect method results, write tables (md/csv/tex) and plots.

The engine behind ``python -m ego_cl.runners.report`` (its docstring lists the outputs). Every
number is computed from the saved prediction logs by the metrics package.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import attrs
import structlog

from ego_cl.metrics.blind_baseline import label_window_log
from ego_cl.metrics.counts import stream_label_sets
from ego_cl.metrics.gains import user_gains
from ego_cl.metrics.report_tables import class_counts_of, summarize_users, user_report
from ego_cl.runners.copy_final import copy_final
from ego_cl.runners.files import atomic_write_text
from ego_cl.runners.reporting.data import RunResults, find_run_dirs, load_run, read_log, unique_labels
from ego_cl.runners.reporting.extra import write_plots
from ego_cl.runners.reporting.format import latex_document, render_csv, render_markdown
from ego_cl.runners.reporting.sections import MethodResult, comparison_warnings, report_tables
from ego_cl.runners.results import PRETRAINED, RunDir
from ego_cl.types import InputError

__all__ = ["collect", "copy_report", "default_out_dir", "write_report"]

log = structlog.get_logger(__name__)


def _run_results(run: RunResults, *, label_window: int | None) -> list[MethodResult]:
    """The method's (and optionally the blind baseline's) per-user report values of one run."""
    k = run.top_k
    elementwise = run.config.metrics.upstream_elementwise_decorrelation
    upstream_hag = run.config.metrics.upstream_hag_reference
    rdir = RunDir(run.path)
    method, blind = {}, {}
    for uid in run.users:
        mine, base = read_log(rdir.user(uid).path), read_log(rdir.baseline(uid).path)
        if mine is None or base is None:
            raise InputError(f"{run.path}: user {uid} is DONE but has no prediction log parts")
        method[uid] = user_report(
            mine,
            base,
            k=k,
            hindsight=read_log(rdir.hindsight(uid, uid).path),
            hindsight_reference=None if upstream_hag else read_log(rdir.hindsight(PRETRAINED, uid).path),
            near_future=read_log(rdir.user(uid).path, "future"),
            near_future_reference=read_log(rdir.baseline(uid).path, "future"),
            upstream_elementwise=elementwise,
        )
        if label_window is not None:
            n_verbs, n_nouns = class_counts_of(mine, base)
            blind_log = label_window_log(
                stream_label_sets(base),
                window=label_window,
                n_verbs=n_verbs,
                n_nouns=n_nouns,
                batch_size=run.config.stream.batch_size,
                k=k,
            )
            blind[uid] = user_report(blind_log, base, k=k, upstream_elementwise=elementwise)
    if upstream_hag:
        _group_mean_hag(method)
    out = [
        MethodResult(
            label=run.label,
            run_dir=run.path,
            per_user=method,
            summary=summarize_users(method),
            config=run.config,
        )
    ]
    if blind:
        out.append(
            MethodResult(
                label=f"label window W={label_window} (blind)",
                run_dir=run.path,
                per_user=blind,
                summary=summarize_users(blind),
                blind=True,
                config=run.config,
            )
        )
    return out


def _group_mean_hag(rows: dict[str, dict[str, float]]) -> None:
    """The original's HAG (spec §6.6 [quirk]), in place: balanced top-1 against the group mean of
    the reference (``hindsight_ref/...``, here the baseline's online values) over the users."""
    users = [u for u, row in rows.items() if any(k.startswith("hindsight_ref/") for k in row)]
    if not users:
        return
    final = {u: {k: v for k, v in rows[u].items() if k.startswith("hindsight/")} for u in users}
    ref = {
        u: {
            "hindsight/" + k.removeprefix("hindsight_ref/"): v
            for k, v in rows[u].items()
            if k.startswith("hindsight_ref/")
        }
        for u in users
    }
    for u, gains in user_gains(final, ref, kind="hag", upstream_group_mean_reference=True).items():
        rows[u].update(gains)


def collect(paths: Sequence[str | Path], *, label_window: int | None = 4) -> list[MethodResult]:
    """Report values of every run under ``paths`` (blind baseline once per distinct stream).

    Raises:
        InputError: No run directory, or no run with a finished user.
    """
    runs = [load_run(p) for p in find_run_dirs(paths)]
    runs = [r for r in runs if r.users]
    labels = unique_labels([r.label for r in runs], [r.path for r in runs])
    runs = [attrs.evolve(r, label=label) for r, label in zip(runs, labels, strict=True)]
    if not runs:
        raise InputError(f"{', '.join(map(str, paths))}: no run with a finished user (users/<id>/DONE)")
    results = [r for run in runs for r in _run_results(run, label_window=label_window)]
    blind: list[MethodResult] = []
    for r in (r for r in results if r.blind):  # one blind row per distinct set of streams
        if all(r.per_user != other.per_user for other in blind):
            blind.append(r)
    if len(blind) > 1:
        labels = {m.run_dir: m.label for m in results if not m.blind}
        blind = [attrs.evolve(b, label=f"{b.label} [streams of {labels[b.run_dir]}]") for b in blind]
    return [r for r in results if not r.blind] + blind


def default_out_dir(run_dirs: Sequence[Path]) -> Path:
    """``<run>/report`` for one run, else ``<deepest common parent>/report``."""
    if len(run_dirs) == 1:
        return RunDir(run_dirs[0]).report
    return RunDir(os.path.commonpath([str(p.resolve()) for p in run_dirs])).report


def _csv_files(methods: Sequence[MethodResult]) -> tuple[str, str]:
    summary_rows, user_rows = [], []
    for m in methods:
        for name, agg in sorted(m.summary.items()):
            summary_rows.append([m.label, str(m.run_dir), name, agg.mean, agg.se, agg.n_users])
        for uid, values in sorted(m.per_user.items()):
            user_rows += [[m.label, str(m.run_dir), uid, n, v] for n, v in sorted(values.items())]
    summary = render_csv(["method", "run_dir", "metric", "mean", "se", "n_users"], summary_rows)
    per_user = render_csv(["method", "run_dir", "user", "metric", "value"], user_rows)
    return summary, per_user


def write_report(methods: Sequence[MethodResult], out_dir: Path, *, plots: bool = True) -> str:
    """Write ``summary.{md,csv,tex}``, ``per_user.csv`` and plots; return the Markdown."""
    tables = report_tables(methods)
    runs = sorted({str(m.run_dir) for m in methods})
    warnings = comparison_warnings(methods)
    for warning in warnings:
        log.warning("report_comparison_warning", warning=warning)
    markdown = "# ego_cl report\n\n" + "".join(f"**Warning:** {w}.\n\n" for w in warnings)
    markdown += "\n".join(render_markdown(t) for t in tables)
    markdown += "\nRun directories:\n" + "".join(f"- {r}\n" for r in runs)
    summary_csv, per_user_csv = _csv_files(methods)
    atomic_write_text(out_dir / "summary.md", markdown)
    atomic_write_text(out_dir / "summary.csv", summary_csv)
    atomic_write_text(out_dir / "per_user.csv", per_user_csv)
    atomic_write_text(out_dir / "summary.tex", latex_document(tables))
    if plots:
        write_plots(methods, out_dir / "plots")
    log.info("report_written", out_dir=str(out_dir), n_methods=len(methods))
    return markdown


def copy_report(methods: Sequence[MethodResult], out_dir: Path) -> None:
    """``run.copy_final_to`` of the reported runs: copy the report (and the run's summary files)."""
    for run_dir, config in {m.run_dir: m.config for m in methods}.items():
        if config is not None and config.run.copy_final_to:
            source = run_dir if out_dir.resolve() == RunDir(run_dir).report.resolve() else out_dir.parent
            copy_final(source, config.run.copy_final_to, experiment=config.run.experiment)
