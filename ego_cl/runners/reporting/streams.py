"""What the user streams hold: per-user statistics, label histograms, a contact sheet.

The library half of ``python -m ego_cl.runners.summarize``: every evaluation user's stream is
built exactly as a stream run with the same config would (no model, no learning).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import structlog

from ego_cl.data.taxonomy import find_taxonomy
from ego_cl.runners.config import StreamRunConfig, dump_yaml
from ego_cl.runners.files import atomic_write_text
from ego_cl.runners.inputs import DefaultCheckpoint, build_stream, load_inputs, resolve_inputs
from ego_cl.runners.reporting.contact_sheet import write_contact_sheet
from ego_cl.runners.reporting.format import Table, number_cell, render_csv, render_markdown
from ego_cl.runners.reporting.plots import plot_label_histograms
from ego_cl.runners.results import safe_name
from ego_cl.streams.stream import UserStream
from ego_cl.types import Action, InputError

__all__ = ["STAT_COLUMNS", "stats_table", "stream_stats", "summarize_streams"]

log = structlog.get_logger(__name__)

STAT_COLUMNS = (
    "clips",
    "minutes",
    "recordings",
    "clip_files",
    "unique_verbs",
    "unique_nouns",
    "unique_actions",
    "multi_label",
    "annotations",
    "kept",
    "trimmed",
    "dropped",
    "split",
    "unseen_dropped",
    "cut",
    "pretrain_seen_action_percent",
    "pretrain_seen_verb_percent",
    "pretrain_seen_noun_percent",
)
"""Columns of the per-user statistics table, in order."""


def _percent(hits: int, n: int) -> float:
    return 100.0 * hits / n if n else float("nan")


def stream_stats(
    stream: UserStream,
    *,
    pretrain_actions: frozenset[Action],
    seen_verbs: frozenset[int],
    seen_nouns: frozenset[int],
) -> dict[str, float]:
    """Statistics of one user stream (every :data:`STAT_COLUMNS` entry).

    A sample counts as pretrain-seen when its primary label is (action: the pair; verb; noun).
    Minutes are the summed clip durations.
    """
    samples = stream.samples
    counts = stream.counts
    return {
        "clips": float(len(samples)),
        "minutes": float(sum(s.span.end_s - s.span.start_s for s in samples)) / 60,
        "recordings": float(len({s.video_uid for s in samples})),
        "clip_files": float(len({s.clip_uid for s in samples})),
        "unique_verbs": float(len(stream.verb_counts())),
        "unique_nouns": float(len(stream.noun_counts())),
        "unique_actions": float(len(stream.action_counts())),
        "multi_label": float(sum(1 for s in samples if len(s.actions) > 1)),
        "annotations": float(counts.n_annotations),
        "kept": float(counts.overlap.kept),
        "trimmed": float(counts.overlap.trimmed),
        "dropped": float(counts.overlap.dropped),
        "split": float(counts.overlap.split),
        "unseen_dropped": float(counts.n_unseen_dropped),
        "cut": float(counts.n_cut),
        "pretrain_seen_action_percent": _percent(
            sum(s.actions[0] in pretrain_actions for s in samples), len(samples)
        ),
        "pretrain_seen_verb_percent": _percent(
            sum(s.actions[0][0] in seen_verbs for s in samples), len(samples)
        ),
        "pretrain_seen_noun_percent": _percent(
            sum(s.actions[0][1] in seen_nouns for s in samples), len(samples)
        ),
    }


def _digits(column: str) -> int:
    return 1 if column == "minutes" or column.endswith("_percent") else 0


def stats_table(stats: Mapping[str, Mapping[str, float]], *, title: str) -> Table:
    """One row per user plus the mean over users."""
    rows = []
    for uid in sorted(stats):
        rows.append((uid, *(number_cell(stats[uid][c], digits=_digits(c)) for c in STAT_COLUMNS)))
    if stats:
        means = [sum(stats[u][c] for u in stats) / len(stats) for c in STAT_COLUMNS]
        rows.append(("mean", *(number_cell(m, digits=1) for m in means)))  # means keep a decimal
    return Table(
        title=title,
        header=("user", *STAT_COLUMNS),
        rows=tuple(rows),
        note="kept/trimmed/dropped/split: what the overlap policy did to the annotations; "
        "unseen_dropped: samples removed by stream.filter_unseen; cut: removed by stream.max_samples; "
        "pretrain_seen_*: % of samples whose primary label occurs in pretraining.",
    )


def summarize_streams(
    cfg: StreamRunConfig,
    out_dir: Path,
    *,
    contact_user: str | None = None,
    n_clips: int = 16,
    default_checkpoint: DefaultCheckpoint | None = None,
) -> str:
    """Build every user's stream, write the table, histograms and a contact sheet; return Markdown.

    ``default_checkpoint`` supplies the checkpoint (its label sets are read) without ``model.checkpoint``.
    """
    inputs = resolve_inputs(cfg, default_checkpoint=default_checkpoint)
    loaded = load_inputs(cfg, inputs)
    seen = {"verb": loaded.seen_verbs, "noun": loaded.seen_nouns, "action": loaded.pretrain_actions}
    names = _taxonomy_names(Path(inputs.ego4d_root), inputs.annotations_dir)
    streams, stats = {}, {}
    for uid, anns in loaded.users.items():
        stream = build_stream(cfg.stream, anns, user_id=uid, pretrain_actions=loaded.pretrain_actions)
        streams[uid] = stream
        stats[uid] = stream_stats(
            stream,
            pretrain_actions=loaded.pretrain_actions,
            seen_verbs=loaded.seen_verbs,
            seen_nouns=loaded.seen_nouns,
        )
        plot_label_histograms(
            [s.actions for s in stream.samples],
            out_dir / "plots" / f"labels_{safe_name(uid)}",
            title=f"Stream labels of user {uid} ({len(stream.samples)} clips, policy {cfg.stream.overlap})",
            seen=seen,
            names=names,
        )
    table = stats_table(stats, title=f"User streams of the {cfg.data.subset} split ({len(stats)} users)")
    markdown = render_markdown(table)
    atomic_write_text(out_dir / "streams.md", markdown)
    rows = [[uid, *(stats[uid][c] for c in STAT_COLUMNS)] for uid in sorted(stats)]
    atomic_write_text(out_dir / "streams.csv", render_csv(["user", *STAT_COLUMNS], rows))
    atomic_write_text(out_dir / "config.yaml", dump_yaml(cfg))
    user = contact_user or (sorted(streams)[0] if streams else None)
    if user is not None:
        if user not in streams:
            raise InputError(f"--user {user}: not a user of the {cfg.data.subset} split ({sorted(streams)})")
        samples = streams[user].samples[:n_clips]
        write_contact_sheet(loaded.source, samples, out_dir / f"contact_{safe_name(user)}.png", names=names)
    log.info("streams_summarized", out_dir=str(out_dir), n_users=len(stats))
    return markdown


def _taxonomy_names(root: Path, annotations_dir: str | None = None) -> Mapping[str, Sequence[str]] | None:
    taxonomy = find_taxonomy(root, annotations_dir=annotations_dir)
    if taxonomy is None:
        return None
    return {"verb": taxonomy.verbs, "noun": taxonomy.nouns}
