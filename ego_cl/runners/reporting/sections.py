"""The report's tables, built from per-method results (pure: numbers in, :class:`Table` out).

Every number is a value of :func:`ego_cl.metrics.report_tables.user_report` (per user) or its
mean ± SE over users (:func:`ego_cl.metrics.report_tables.summarize_users`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import attrs

from ego_cl.metrics.aggregation import UserAggregate
from ego_cl.metrics.paired import N_RESAMPLES, PairedDifference, paired_bootstrap
from ego_cl.metrics.report_tables import best_index
from ego_cl.runners.config import StreamRunConfig
from ego_cl.runners.reporting.format import Table, mean_se_cell, number_cell

__all__ = ["MODES", "MethodResult", "comparison_warnings", "report_tables", "top_comparisons"]

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


def _headline_per_user(m: MethodResult) -> dict[str, float]:
    return {u: v.get(HEADLINE, float("nan")) for u, v in m.per_user.items()}


def top_comparisons(methods: Sequence[MethodResult]) -> tuple[int | None, dict[int, PairedDifference]]:
    """The non-blind method with the highest mean action OAG and, for every other row, the
    paired bootstrap CI of (top minus that row) over their common users."""
    scores = [
        float("nan") if m.blind or m.summary.get(HEADLINE) is None else m.summary[HEADLINE].mean
        for m in methods
    ]
    top = best_index(scores)
    if top is None:
        return None, {}
    mine = _headline_per_user(methods[top])
    return top, {
        i: paired_bootstrap(mine, _headline_per_user(m), seed=0) for i, m in enumerate(methods) if i != top
    }


def headline_table(methods: Sequence[MethodResult]) -> Table:
    """Method x (OAG, HAG) of class-balanced top-1, with the paired bootstrap CI of the top
    method's action OAG minus each row's; the top method is marked best only when it beats every
    other non-blind method significantly."""
    top, diffs = top_comparisons(methods)
    rows = []
    for i, m in enumerate(methods):
        cells = (
            *_cells(m, "oag", "balanced_top1", signed=True),
            *_cells(m, "hag", "balanced_top1", signed=True),
        )
        versus = "top" if i == top else diffs[i].describe() if i in diffs else "n/a"
        rows.append((m.label, str(m.n_users), *cells, versus))
    rivals = [diffs[i] for i, m in enumerate(methods) if i in diffs and not m.blind]
    marked = top is not None and bool(rivals) and all(d.significant for d in rivals)
    verdict = ""
    if rivals and not marked:
        verdict = " No method is marked best: the top one does not beat every other one significantly."
    return Table(
        title="Adaptation gains over the frozen pretrained model: class-balanced top-1 accuracy, "
        "mean ± SE over users",
        header=(
            "method",
            "users",
            *(f"OAG {x}" for x in MODES),
            *(f"HAG {x}" for x in MODES),
            "top − row, action OAG [95% CI]",
        ),
        rows=tuple(rows),
        best_row=top if marked else None,
        note="Gains in %-points (positive = better than the frozen model). OAG: online, each sample "
        "predicted before it is learned; HAG: final model over its whole stream "
        "(n/a until the hindsight command ran). Last column: the top method's action OAG minus the "
        f"row's, mean over their common users with a paired bootstrap 95% CI ({N_RESAMPLES} resamples "
        "of the users, seed 0); best is marked only when every other method's CI lies above 0." + verdict,
    )


def comparison_warnings(methods: Sequence[MethodResult]) -> list[str]:
    """Why the compared methods may not be comparable: different users, different stream
    lengths on the same user, or a grid compared on the test users."""
    rivals = [m for m in methods if not m.blind]
    warnings = []
    user_sets = {frozenset(m.per_user) for m in rivals}
    if len(user_sets) > 1:
        common = frozenset.intersection(*user_sets)
        warnings.append(
            "the compared runs have different users ("
            + "; ".join(f"{m.label}: {len(m.per_user)}" for m in rivals)
            + f"); paired comparisons use the {len(common)} common users"
        )
    lengths: dict[str, set[float]] = {}
    for m in rivals:
        for uid, values in m.per_user.items():
            lengths.setdefault(uid, set()).add(values.get("online/n_samples", float("nan")))
    uneven = sorted(u for u, n in lengths.items() if len(n) > 1)
    if uneven:
        warnings.append(
            f"stream lengths differ between the compared runs for users {uneven[:5]}"
            + (f" and {len(uneven) - 5} more" if len(uneven) > 5 else "")
            + " (different stream settings): their OAGs are not over the same samples"
        )
    grid_on_test = [m for m in rivals if m.run_dir.name.startswith("GRID_") and _subset(m) == "test"]
    if len(rivals) > 1 and grid_on_test:
        warnings.append(
            "grid settings are compared on the test users (data.subset=test): choosing the best "
            "one here tunes on the test set; tune with data.subset=train, then run the chosen "
            "setting once on test"
        )
    return warnings


def _subset(m: MethodResult) -> str | None:
    return m.config.data.subset if m.config is not None else None


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
