"""Report figures (matplotlib, Agg backend), each saved as PNG and PDF.

Every value plotted comes from the metrics package over saved logs: per-user OAG bars with the
mean ± SE, running class-balanced accuracy over each stream (method vs frozen model), the
transfer matrix, forgetting vs time since the last exposure, and stream label histograms.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import structlog
from matplotlib.patches import Patch
from matplotlib.ticker import MaxNLocator

from ego_cl.metrics.counts import label_histogram
from ego_cl.metrics.forgetting import ForgettingBin
from ego_cl.metrics.stream_metrics import metric_curves
from ego_cl.metrics.transfer import TransferMatrix
from ego_cl.runners.reporting.data import read_log
from ego_cl.runners.reporting.sections import MODES, MethodResult
from ego_cl.types import Action

__all__ = [
    "class_label",
    "plot_forgetting",
    "plot_label_histograms",
    "plot_oag_bars",
    "plot_running_accuracy",
    "plot_transfer",
    "save",
]

log = structlog.get_logger(__name__)


def save(fig: plt.Figure, path: Path) -> list[Path]:
    """Save ``fig`` as ``<path>.png`` and ``<path>.pdf`` (``path`` has no suffix; dots in its
    name are kept), then close it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    out = [path.parent / f"{path.name}.png", path.parent / f"{path.name}.pdf"]
    fig.savefig(out[0], dpi=120, bbox_inches="tight")
    fig.savefig(out[1], bbox_inches="tight")
    plt.close(fig)
    return out


def plot_oag_bars(methods: Sequence[MethodResult], path: Path) -> list[Path]:
    """Per-user OAG bars (class-balanced top-1) per mode, with each method's mean ± SE."""
    users = sorted({u for m in methods for u in m.per_user})
    width_in = min(16, max(6, 0.35 * (len(users) + 1) * len(methods) + 2))
    fig, axes = plt.subplots(3, 1, figsize=(width_in, 8.5), squeeze=False)
    width = 0.8 / max(1, len(methods))
    x = np.arange(len(users) + 1)
    for ax, mode in zip(axes[:, 0], MODES, strict=True):
        name = f"oag/{mode}/balanced_top1"
        for j, m in enumerate(methods):
            values = [m.per_user.get(u, {}).get(name, np.nan) for u in users]
            agg = m.summary.get(name)
            mean, se = (agg.mean, agg.se) if agg else (np.nan, np.nan)
            offset = (j - (len(methods) - 1) / 2) * width
            ax.bar(x[:-1] + offset, values, width, label=m.label, color=f"C{j}")
            ax.bar(x[-1] + offset, mean, width, yerr=0 if np.isnan(se) else se, capsize=3, color=f"C{j}")
        ax.axhline(0, color="black", linewidth=0.8)
        ax.set_xticks(
            x,
            [*users, "mean ± SE"],
            rotation=45 if len(users) > 8 else 0,
            ha="right" if len(users) > 8 else "center",
        )
        ax.set_xlabel("user")
        ax.set_ylabel("OAG (%-points)")
        ax.set_title(f"{mode}: class-balanced top-1")
    handles, labels = axes[0][0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=min(3, len(methods)), fontsize=8)
    fig.suptitle("Online adaptation gain per user (method − frozen pretrained model)")
    fig.tight_layout(rect=(0, 0.04, 1, 1))
    return save(fig, path)


def _curve(log_table) -> tuple[np.ndarray, np.ndarray]:
    curves = metric_curves(log_table)
    seen = np.array([c["online/n_samples"] for c in curves.values()])
    return seen, np.array([c["online/action/balanced_top1"] for c in curves.values()])


def plot_running_accuracy(method: MethodResult, path: Path) -> list[Path]:
    """Running class-balanced action top-1 over each user's stream: method vs frozen model."""
    users = sorted(method.per_user)
    cols = min(3, max(1, len(users)))
    rows = -(-len(users) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(4.2 * cols, 3.2 * rows), squeeze=False)
    for ax, uid in zip(axes.flat, users, strict=False):
        for role, label, style in (("users", method.label, "-"), ("baseline", "frozen pretrained", "--")):
            table = read_log(method.run_dir / role / uid)
            if table is not None and table.num_rows:
                ax.plot(*_curve(table), style, label=label)
        ax.set_title(f"user {uid}")
        ax.set_xlabel("stream samples seen")
        ax.set_ylabel("balanced top-1, action (%)")
        ax.grid(alpha=0.3)
    for ax in list(axes.flat)[len(users) :]:
        ax.set_visible(False)
    handles, labels = axes.flat[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=2, fontsize=8, bbox_to_anchor=(0.5, -0.02))
    fig.suptitle(f"Running class-balanced accuracy over the stream: {method.label}")
    fig.tight_layout(rect=(0, 0.05, 1, 1))
    return save(fig, path)


def plot_transfer(
    absolute: TransferMatrix, path: Path, *, pretrained_row: Mapping[str, float], title: str = ""
) -> list[Path]:
    """Heatmaps: hindsight values (pretrained model as an extra row) and gains vs pretrained."""
    users = list(absolute.users)
    values = np.vstack([absolute.absolute, [[pretrained_row.get(u, np.nan) for u in users]]])
    fig, axes = plt.subplots(1, 2, figsize=(4 + 1.6 * len(users), 1.5 + 0.6 * len(users)), squeeze=False)
    panels = (
        (values, [*users, "pretrained"], "viridis", None, "hindsight value", "%"),
        (
            absolute.gain,
            users,
            "RdBu",
            np.nanmax(np.abs(absolute.gain)) or 1.0,
            "gain vs pretrained",
            "%-points",
        ),
    )
    for ax, (data, rows, cmap, limit, panel, unit) in zip(axes[0], panels, strict=True):
        kw = {"vmin": -limit, "vmax": limit} if limit is not None else {}
        image = ax.imshow(data, cmap=cmap, **kw)
        for (r, c), v in np.ndenumerate(data):
            if not np.isnan(v):
                shade = image.norm(v)
                dark = shade < 0.35 if limit is None else abs(shade - 0.5) > 0.3
                ax.text(
                    c, r, f"{v:.1f}", ha="center", va="center", fontsize=7, color="white" if dark else "black"
                )
        ax.set_xticks(range(len(users)), users, rotation=45, ha="right")
        ax.set_yticks(range(len(rows)), rows)
        ax.set_xlabel("stream of user")
        ax.set_ylabel("final model of user")
        ax.set_title(panel)
        fig.colorbar(image, ax=ax, label=f"{absolute.metric} ({unit})")
    fig.suptitle(f"Transfer matrix: {absolute.metric}" + (f" ({title})" if title else ""))
    fig.tight_layout()
    return save(fig, path)


def plot_forgetting(bins: Mapping[str, Sequence[ForgettingBin]], path: Path, *, metric: str) -> list[Path]:
    """Mean ± SE re-exposure forgetting per bin of steps since the last exposure, per method."""
    fig, ax = plt.subplots(figsize=(6, 3.8))
    for j, (label, method_bins) in enumerate(bins.items()):
        full = [b for b in method_bins if b.n]
        x = [np.sqrt(b.low * max(b.low, b.high - 1)) for b in full]
        se = [0 if np.isnan(b.se) else b.se for b in full]
        ax.errorbar(x, [b.mean for b in full], yerr=se, marker="o", capsize=3, label=label, color=f"C{j}")
    ax.axhline(0, color="black", linewidth=0.8)
    ax.set_xscale("log", base=2)
    ax.set_xlabel("batches since the class was last learned (log scale)")
    ax.set_ylabel(f"forgetting, {metric} (%-points)")
    ax.set_title("Re-exposure forgetting vs time since exposure (positive = forgotten)")
    ax.legend(fontsize=7)
    fig.tight_layout()
    return save(fig, path)


def class_label(mode: str, cls: int | Action, names: Mapping[str, Sequence[str]] | None = None) -> str:
    """A class as the reader should see it: its taxonomy name(s) where known, else its id.

    Example:
        >>> names = {"verb": ["take", "cut"], "noun": ["knife"]}
        >>> class_label("action", (1, 0), names), class_label("noun", 3, names), class_label("verb", 1)
        ('cut knife', '3', '1')
    """
    if isinstance(cls, tuple):
        if names is None:
            return f"{cls[0]},{cls[1]}"
        return f"{class_label('verb', cls[0], names)} {class_label('noun', cls[1], names)}"
    known = names.get(mode) if names else None
    return known[cls] if known is not None and 0 <= cls < len(known) else str(cls)


_NAMED_BARS = 10
"""How many of the most frequent classes get their name written on the bar when there are too
many classes for tick labels."""


def plot_label_histograms(
    label_sets: Sequence[Sequence[Action]],
    path: Path,
    *,
    title: str,
    seen: Mapping[str, frozenset] | None = None,
    names: Mapping[str, Sequence[str]] | None = None,
) -> list[Path]:
    """Sorted class frequencies of a stream per mode; pretrain-seen classes highlighted; classes
    named from the taxonomy (``names["verb"|"noun"]``) where given, else by label id."""
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.6), squeeze=False)
    for ax, mode in zip(axes[0], MODES, strict=True):
        hist = label_histogram(label_sets, mode)
        classes = sorted(hist, key=lambda c: (-hist[c], str(c)))
        counts = [hist[c] for c in classes]
        known = seen.get(mode) if seen else None
        colors = ["C0" if known is None or c in known else "C3" for c in classes]
        ax.bar(range(len(classes)), counts, color=colors, width=0.9)
        if known is not None:
            n_seen = sum(1 for c in classes if c in known)
            handles = [
                Patch(color="C0", label=f"seen in pretraining ({n_seen})"),
                Patch(color="C3", label=f"unseen in pretraining ({len(classes) - n_seen})"),
            ]
            ax.legend(handles=handles, fontsize=7)
        what = "name" if names else "label id"
        if len(classes) <= 15:
            ticks = [class_label(mode, c, names) for c in classes]
            rotate = 45 if mode == "action" or names else 0
            ax.set_xticks(
                range(len(classes)), ticks, rotation=rotate, ha="right" if rotate else "center", fontsize=7
            )
            ax.set_xlabel(f"{mode} class ({what}), by frequency")
        else:
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
            ax.set_ylim(top=max(counts) * 1.5)  # room for the names written on the top bars
            for x, c in enumerate(classes[:_NAMED_BARS]):
                ax.text(
                    x,
                    counts[x],
                    f" {class_label(mode, c, names)}",
                    rotation=90,
                    va="bottom",
                    ha="center",
                    fontsize=6,
                )
            ax.set_xlabel(
                f"{mode} class, ranked by frequency ({len(classes)} distinct; top {_NAMED_BARS} by {what})"
            )
        ax.set_ylabel("samples (clips)")
        ax.set_title(f"{mode}")
    fig.suptitle(title)
    fig.tight_layout()
    return save(fig, path)
