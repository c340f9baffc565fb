"""End-of-run summary: OAG per user against the frozen baseline, mean ± SE over users, table.

Writes ``summary.json`` (per-user final metrics, per-user OAG, aggregates, failed users) and
``summary.csv`` (one row per user) into the run directory.
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from ego_cl.learners.registry import HINDSIGHT_KINDS
from ego_cl.metrics.aggregation import mean_se
from ego_cl.metrics.gains import user_gains
from ego_cl.runners.engine.plan import RunPlan
from ego_cl.runners.engine.pool import Outcome
from ego_cl.runners.files import atomic_write_text
from ego_cl.runners.results import RunDir, UserDir

__all__ = ["HEADLINE", "format_table", "summarize"]

HEADLINE = tuple(f"oag/{mode}/balanced_top1" for mode in ("action", "verb", "noun"))
"""The table's columns: OAG of class-balanced top-1 accuracy (%), action / verb / noun."""


def _final(udir: UserDir) -> dict[str, float] | None:
    return udir.read_json("metrics.json") if udir.is_done else None


def summarize(
    plan: RunPlan, failed: Mapping[str, Outcome], extra: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """Read every user's final metrics, compute OAG and write ``summary.json``/``summary.csv``
    (``extra``: more top-level entries, e.g. ``provenance``)."""
    run_dir = plan.run_dir
    method = {u: _final(RunDir(run_dir).user(u)) for u in plan.users}
    baseline = {u: _final(UserDir(d)) for u, d in (plan.baseline_dirs or {}).items()}
    done = {u: m for u, m in method.items() if m is not None}
    paired = {u: m for u, m in done.items() if baseline.get(u) is not None}
    gains = user_gains(paired, {u: baseline[u] for u in paired}) if paired else {}
    names = sorted({n for g in gains.values() for n in g})
    aggregate = {}
    for name in names:
        mean, se = mean_se([gains[u][name] for u in gains])
        aggregate[name] = {"mean": mean, "se": se, "n_users": len(gains)}
    summary = {
        "run_dir": str(run_dir),
        "learner": plan.cfg.learner.kind,
        "hindsight": plan.cfg.learner.kind in HINDSIGHT_KINDS,
        "n_users": len(plan.users),
        "n_done": len(done),
        "failed": sorted(k for k in failed if _mine(k, plan)),
        "n_failed_users": sum(k.startswith("users/") and _mine(k, plan) for k in failed),
        "n_baseline_done": sum(v is not None for v in baseline.values()),
        "n_failed_baseline": sum(k.startswith("baseline/") and _mine(k, plan) for k in failed),
        "errors": {k: o.error for k, o in sorted(failed.items()) if _mine(k, plan)},
        "oag": aggregate,
        "frames": plan.frames,
        "users": {
            u: {"metrics": method[u], "baseline": baseline.get(u), "oag": gains.get(u)} for u in plan.users
        },
        **(extra or {}),
    }
    atomic_write_text(
        RunDir(run_dir).summary_json, json.dumps(summary, indent=2, sort_keys=True, default=_nan) + "\n"
    )
    atomic_write_text(RunDir(run_dir).summary_csv, _csv(gains))
    return summary


def _mine(key: str, plan: RunPlan) -> bool:
    if key.startswith("users/"):
        return key.endswith(f"@{plan.run_dir.name}")
    mine = {f"baseline/{Path(d).parent.name}/{u}" for u, d in (plan.baseline_dirs or {}).items()}
    return key in mine


def _nan(value: Any) -> Any:
    return None if isinstance(value, float) and math.isnan(value) else str(value)


def _csv(gains: Mapping[str, Mapping[str, float]]) -> str:
    names = sorted({n for g in gains.values() for n in g})
    sink = io.StringIO()
    writer = csv.writer(sink)
    writer.writerow(["user_id", *names])
    for user, values in sorted(gains.items()):
        writer.writerow([user, *(values.get(n, "") for n in names)])
    return sink.getvalue()


def _cell(stats: Mapping[str, float] | None) -> str:
    if not stats:
        return "n/a"
    se = stats["se"]
    return f"{stats['mean']:+6.2f} ± {se:4.2f}" if not math.isnan(se) else f"{stats['mean']:+6.2f}"


def _row_name(summary: Mapping[str, Any]) -> str:
    return str(summary.get("label") or summary["learner"])


def format_table(summaries: Sequence[Mapping[str, Any]]) -> str:
    """A plain-text table: one row per method, OAG (balanced top-1, %) mean ± SE over users.

    A row is named by its ``label`` (a grid run: the learner and its grid values), else by the
    learner kind; ``*`` marks a hindsight oracle.
    """
    names = [f"{_row_name(s)}*" if s.get("hindsight") else _row_name(s) for s in summaries]
    width = max([10, *(len(n) for n in names)])
    header = (
        f"{'method':<{width}} {'action OAG':>15} {'verb OAG':>15} {'noun OAG':>15} {'users':>6} {'failed':>6}"
        f" {'baseline':>8} {'failed':>6}"
    )
    lines = [header, "-" * len(header)]
    for s, label in zip(summaries, names, strict=True):
        cells = [_cell(s["oag"].get(name)) for name in HEADLINE]
        method_failed = s.get("n_failed_users", len(s["failed"]))  # method users and baseline users apart
        baseline = f"{s.get('n_baseline_done', 0):>8} {s.get('n_failed_baseline', 0):>6}"
        counts = f"{s['n_done']:>6} {method_failed:>6} {baseline}"
        lines.append(f"{label:<{width}} {cells[0]:>15} {cells[1]:>15} {cells[2]:>15} {counts}")
    lines.append(
        "OAG = method minus frozen pretrained model, class-balanced top-1 accuracy (%), mean ± SE over users"
    )
    if any(s.get("hindsight") for s in summaries):
        lines.append("* hindsight oracle (sees the whole stream's labels up front): not an online result")
    lines += [f"run directory ({_row_name(s)}): {s['run_dir']}" for s in summaries]
    for s in summaries:
        errors = s.get("errors", {})
        lines += [
            f"FAILED {key}: {errors.get(key) or 'see FAILED.json in its user directory'}"
            for key in s["failed"]
        ]
    return "\n".join(lines)
