"""The report's tables, built from per-method results (pure: numbers in, :class:`Table` out).

Every number is a value of :func:`ego_cl.metrics.report_tables.user_report` (per user) or its
mean ± SE over users (:func:`ego_cl.metrics.report_tables.summarize_users`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import attrs

from ego_cl.metrics.aggregation import UserAggregate
from ego_cl.metrics.report_tables import best_index
from ego_cl.runners.config import StreamRunConfig
from ego_cl.runners.reporting.format import Table, mean_se_cell, number_cell

__all__ = ["MODES", "MethodResult", "report_tables"]

MODES = ("action", "verb", "noun")
HEADLINE = "oag/action/balanced_top1"
"""The metric the best setting is chosen by."""


@attrs.frozen(kw_only=True)
class MethodResult:
    """One table row source: a method (run directory) or a blind baseline.

    Attributes:
        label: Row name.
        run_dir: The run directory it came from.
        per_user: User -> report values.
        summary: Name -> mean ± SE over users.
        blind: Whether this is the blind label-window baseline (never marked best).
        config: The run's resolved config (``None`` when not read from a run directory).
    """

    label: str
    run_dir: Path
    per_user: Mapping[str, Mapping[str, float]]
    summary: Mapping[str, UserAggregate]
    blind: bool = False
    config: StreamRunConfig | None = None

    @property
    def n_users(self) -> int:
        """Users in the aggregate."""
        return len(self.per_user)


def _metric_names(methods: Sequence[MethodResult]) -> list[tuple[str, str]]:
    """``(suffix, label)`` of the metrics present: balanced top-1, top-1, top-k, loss."""
    names = [("balanced_top1", "balanced top-1 (%)"), ("top1", "top-1 (%)")]
    ks = sorted({n.rsplit("/", 1)[-1] for m in methods for n in m.summary if n.startswith("online/verb/top")})
    names += [(k, f"top-{k[3:]} (%)") for k in ks if k not in ("top1",) and k[3:].isdigit()]
    return [*names, ("loss", "loss (nats)")]


def _cells(m: MethodResult, prefix: str, suffix: str, *, signed: bool) -> tuple[str, ...]:
    return tuple(mean_se_cell(m.summary.get(f"{prefix}/{mode}/{suffix}"), signed=signed) for mode in MODES)


def headline_table(methods: Sequence[MethodResult]) -> Table:
    """Method x (OAG, HAG) of class-balanced top-1, best non-blind method marked."""
    rows, scores = [], []
    for m in methods:
        cells = (
            *_cells(m, "oag", "balanced_top1", signed=True),
            *_cells(m, "hag", "balanced_top1", signed=True),
        )
        rows.append((m.label, str(m.n_users), *cells))
        agg = m.summary.get(HEADLINE)
        scores.append(float("nan") if m.blind or agg is None else agg.mean)
    candidates = sum(1 for m in methods if not m.blind)
    return Table(
        title="Adaptation gains over the frozen pretrained model: class-balanced top-1 accuracy, "
        "mean ± SE over users",
        header=("method", "users", *(f"OAG {x}" for x in MODES), *(f"HAG {x}" for x in MODES)),
        rows=tuple(rows),
        best_row=best_index(scores) if candidates > 1 else None,
        note="Gains in %-points (positive = better than the frozen model). OAG: online, each sample "
        "predicted before it is learned; HAG: final model over its whole stream "
        "(n/a until the hindsight command ran).",
    )


def detail_table(methods: Sequence[MethodResult], prefix: str, title: str, *, signed: bool) -> Table:
    """Method x metric rows, action/verb/noun columns, of ``prefix/*`` values."""
    rows = []
    for m in methods:
        for suffix, name in _metric_names(methods):
            rows.append((m.label, name, *_cells(m, prefix, suffix, signed=signed)))
    return Table(title=title, header=("method", "metric", *MODES), rows=tuple(rows))


def absolute_table(methods: Sequence[MethodResult]) -> Table:
    """Online values of each method, the frozen model and the blind baseline (deduplicated)."""
    rows, seen_frozen = [], set()
    for m in methods:
        key = tuple(sorted(m.per_user))
        for suffix, name in _metric_names(methods):
            rows.append((m.label, name, *_cells(m, "online", suffix, signed=False)))
        if not m.blind and (m.run_dir.parent, key) not in seen_frozen:
            seen_frozen.add((m.run_dir.parent, key))
            for suffix, name in _metric_names(methods):
                rows.append(
                    (f"frozen pretrained ({m.label})", name, *_cells(m, "baseline", suffix, signed=False))
                )
    return Table(
        title="Online values (final running values), mean ± SE over users",
        header=("method", "metric", *MODES),
        rows=tuple(rows),
    )


def decorrelation_table(methods: Sequence[MethodResult]) -> Table:
    """OAG of balanced top-1 on decorrelated (label changed) and correlated samples."""
    rows = []
    for m in methods:
        for subset in ("decorrelated", "correlated"):
            rows.append((m.label, subset, *_cells(m, "oag", f"balanced_top1_{subset}", signed=True)))
        rows.append((m.label, "% decorrelated", *_cells(m, "online", "decorrelated_percent", signed=False)))
    return Table(
        title="Decorrelated / correlated OAG: class-balanced top-1 (%-points), mean ± SE over users",
        header=("method", "samples", *MODES),
        rows=tuple(rows),
        note="Decorrelated: the sample's label differs from the previous sample's (first sample included); "
        "correlated: it repeats it.",
    )


def per_user_table(m: MethodResult) -> Table:
    """One row per user of a method: samples, online/frozen balanced top-1, OAG and HAG."""
    rows = []
    for uid in sorted(m.per_user):
        v = m.per_user[uid]
        rows.append(
            (
                uid,
                number_cell(v.get("online/n_samples"), digits=0),
                number_cell(v.get("online/action/balanced_top1")),
                number_cell(v.get("baseline/action/balanced_top1")),
                *(number_cell(v.get(f"oag/{mode}/balanced_top1"), signed=True) for mode in MODES),
                number_cell(v.get("hag/action/balanced_top1"), signed=True),
            )
        )
    return Table(
        title=f"Per user: {m.label} (class-balanced top-1, %)",
        header=(
            "user",
            "samples",
            "method action",
            "frozen action",
            *(f"OAG {x}" for x in MODES),
            "HAG action",
        ),
        rows=tuple(rows),
    )


def report_tables(methods: Sequence[MethodResult]) -> list[Table]:
    """Every table of the report, in print order."""
    tables = [
        headline_table(methods),
        detail_table(
            methods, "oag", "Online adaptation gain (OAG) per metric, mean ± SE over users", signed=True
        ),
        absolute_table(methods),
    ]
    if any(name.startswith("hag/") for m in methods for name in m.summary):
        title = "Hindsight adaptation gain (HAG) per metric, mean ± SE over users"
        with_hag = [m for m in methods if any(n.startswith("hag/") for n in m.summary)]
        tables.append(detail_table(with_hag, "hag", title, signed=True))
    with_nfg = [m for m in methods if any(n.startswith("nfg/") for n in m.summary)]
    if with_nfg:
        title = "Near-future gain (samples k ahead, predicted before the update) per metric, mean ± SE"
        tables.append(detail_table(with_nfg, "nfg", title, signed=True))
    tables.append(decorrelation_table(methods))
    tables += [per_user_table(m) for m in methods if not m.blind]
    return tables
