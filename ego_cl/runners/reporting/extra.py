"""The report's figures: :func:`write_plots` draws the online ones (OAG bars, running accuracy)
and those that need more than the online logs: transfer matrices (hindsight results),
forgetting (past-window logs, ``metrics.past_eval=true``) and label histograms (with the
pretrain-seen classes when the run's split files can be found)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import structlog

from ego_cl.data.taxonomy import find_taxonomy
from ego_cl.metrics.counts import stream_label_sets
from ego_cl.metrics.forgetting import bin_forgetting, reexposure_forgetting
from ego_cl.metrics.stream_metrics import hindsight_metrics
from ego_cl.metrics.transfer import TransferMatrix, transfer_matrix
from ego_cl.runners.config import StreamRunConfig
from ego_cl.runners.files import atomic_write_text
from ego_cl.runners.inputs import load_pretrain_labels
from ego_cl.runners.reporting.data import read_log
from ego_cl.runners.reporting.format import render_csv
from ego_cl.runners.reporting.plots import (
    plot_forgetting,
    plot_label_histograms,
    plot_oag_bars,
    plot_running_accuracy,
    plot_transfer,
)
from ego_cl.runners.reporting.sections import MethodResult
from ego_cl.runners.results import PRETRAINED, RunDir, safe_name
from ego_cl.types import InputError

__all__ = ["class_names", "extra_plots", "pretrain_seen", "run_transfer", "write_plots"]

log = structlog.get_logger(__name__)

TRANSFER_METRIC = "hindsight/action/balanced_top1"


def run_transfer(
    run_dir: Path, *, metric: str = TRANSFER_METRIC
) -> tuple[TransferMatrix, dict[str, float]] | None:
    """The transfer matrix of a run's finished hindsight pairs and the pretrained model's row
    (``None`` when no pair of two different users finished)."""
    run = RunDir(run_dir)
    root = run.hindsight_root
    if not root.is_dir():
        return None
    pairs: dict[tuple[str, str], dict[str, float]] = {}
    for model_dir in sorted(p for p in root.iterdir() if p.is_dir()):
        for stream_dir in sorted(p for p in model_dir.iterdir() if p.is_dir()):
            table = read_log(stream_dir)
            if table is not None:
                pairs[(model_dir.name, stream_dir.name)] = hindsight_metrics(table)
    reference = {s: v for (m, s), v in pairs.items() if m == PRETRAINED}
    users = sorted({u for pair in pairs for u in pair} - {PRETRAINED})
    for stream in users:
        if stream not in reference:
            base = read_log(run.baseline(stream).path)
            if base is not None:
                reference[stream] = hindsight_metrics(base)
    user_pairs = {(m, s): v for (m, s), v in pairs.items() if m != PRETRAINED}
    if not any(m != s for m, s in user_pairs):
        return None
    matrix = transfer_matrix(user_pairs, reference, metric=metric, users=users)
    return matrix, {s: v[metric] for s, v in reference.items() if metric in v}


def _transfer_csv(matrix: TransferMatrix, pretrained: Mapping[str, float]) -> str:
    rows = [[m, s, matrix.absolute[i, j], matrix.gain[i, j]] for i, m in enumerate(matrix.users)
            for j, s in enumerate(matrix.users)]  # fmt: skip
    rows += [[PRETRAINED, s, pretrained.get(s, np.nan), 0.0] for s in matrix.users]
    return render_csv(["model_user", "stream_user", matrix.metric, "gain"], rows)


def _forgetting_bins(method: MethodResult) -> list[Any]:
    events = []
    for uid in sorted(method.per_user):
        udir = RunDir(method.run_dir).user(uid)
        online, past = udir.read_log(), udir.read_log("past")
        if online is not None and past is not None:
            events += reexposure_forgetting(online, past, mode="action", metric="top1")
    return bin_forgetting(events) if events else []


def pretrain_seen(config: StreamRunConfig | None) -> dict[str, frozenset] | None:
    """Pretrain-seen verbs, nouns and actions from the run's split files, if they can be found
    from ``data.split_dir`` or ``data.ego4d_root`` (``None`` otherwise)."""
    data = config.data if config is not None else None
    split_dir = data and (
        data.split_dir or (Path(data.ego4d_root) / "usersplits" if data.ego4d_root else None)
    )
    if split_dir is None:
        return None
    try:
        labels = load_pretrain_labels(split_dir)
    except (InputError, OSError) as err:
        log.warning("report_pretrain_split_unavailable", split_dir=str(split_dir), error=str(err))
        return None
    return {"verb": labels.verbs, "noun": labels.nouns, "action": labels.actions}


def class_names(config: StreamRunConfig | None) -> dict[str, Sequence[str]] | None:
    """Verb and noun names from the run's taxonomy file (``fho_lta_taxonomy.json``), if it can be
    found from ``data.annotations_dir`` or ``data.ego4d_root`` (``None`` otherwise)."""
    data = config.data if config is not None else None
    if data is None or data.ego4d_root is None:
        return None
    try:
        taxonomy = find_taxonomy(data.ego4d_root, annotations_dir=data.annotations_dir)
    except (InputError, OSError) as err:
        log.warning("report_taxonomy_unavailable", ego4d_root=str(data.ego4d_root), error=str(err))
        return None
    return None if taxonomy is None else {"verb": taxonomy.verbs, "noun": taxonomy.nouns}


def extra_plots(methods: Sequence[MethodResult], out_dir: Path) -> list[Path]:
    """Transfer heatmaps + CSVs, forgetting curves and label histograms, where data exist."""
    written: list[Path] = []
    for m in methods:
        found = run_transfer(m.run_dir)
        if found is not None:
            matrix, pretrained = found
            name = f"transfer_{safe_name(m.label)}"
            written += plot_transfer(matrix, out_dir / name, pretrained_row=pretrained, title=m.label)
            atomic_write_text(out_dir / f"{name}.csv", _transfer_csv(matrix, pretrained))
    bins = {m.label: b for m in methods if (b := _forgetting_bins(m))}
    if bins:
        written += plot_forgetting(bins, out_dir / "forgetting", metric="action top-1")
    if methods:
        first = methods[0]
        seen = pretrain_seen(first.config)
        names = class_names(first.config)
        for uid in sorted(first.per_user):
            table = read_log(RunDir(first.run_dir).baseline(uid).path)
            if table is not None:
                title = f"Stream labels of user {uid}" + ("" if seen else " (pretrain split not found)")
                written += plot_label_histograms(
                    stream_label_sets(table), out_dir / f"labels_{uid}", title=title, seen=seen, names=names
                )
    return written


def write_plots(methods: Sequence[MethodResult], out_dir: Path) -> list[Path]:
    """The report's figures for these methods (running accuracy per non-blind method)."""
    written = plot_oag_bars(methods, out_dir / "oag_per_user")
    for m in methods:
        if not m.blind:
            written += plot_running_accuracy(m, out_dir / f"running_accuracy_{safe_name(m.label)}")
    written += extra_plots([m for m in methods if not m.blind], out_dir)
    log.info("report_plots_written", n_files=len(written), out_dir=str(out_dir))
    return written
