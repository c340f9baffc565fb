"""``stream --dry-run``: check everything a run would read and estimate its wall time, writing nothing.

:func:`dry_run` resolves the inputs (layout, split files, taxonomy, checkpoint), loads them exactly as
a run does (every split record validated, every clip path checked, every video looked for, the cache
coverage counted), builds every user's stream and returns one row per user. The time estimate comes
from a short measurement on this machine: a few online steps (decode + predict + learn, one batch
each) of the first user on the first configured device, the first step discarded as warm-up; a
user's time is its number of batches times the measured seconds per step, and the run's time is the
users spread over the pool's slots (``devices x users_per_device``, longest first). The baseline
(frozen model, predict only) is not in the estimate.
"""

from __future__ import annotations

import heapq
import time
from collections.abc import Sequence
from typing import Any

import attrs
import structlog

from ego_cl.runners.config import StreamRunConfig
from ego_cl.runners.engine.build import user_parts_from
from ego_cl.runners.engine.pool import slot_devices
from ego_cl.runners.inputs import DefaultCheckpoint, RunInputs, build_stream, load_inputs, resolve_inputs

__all__ = ["DryRunReport", "UserRow", "dry_run", "format_report"]

log = structlog.get_logger(__name__)


@attrs.frozen(kw_only=True)
class UserRow:
    """One user of a dry run.

    Attributes:
        user_id: The user.
        samples: Stream samples (clips the model sees).
        minutes: Minutes of video those samples cover.
        unique_actions: Distinct ``(verb, noun)`` pairs in the stream.
        clips_cache: Clip videos of the stream read from the resized cache.
        clips_source: Clip videos read from the source.
        skipped_annotations: Annotations dropped for missing videos.
        estimate_s: Estimated wall seconds of the user's stream (``None`` = not measured).
    """

    user_id: str
    samples: int
    minutes: float
    unique_actions: int
    clips_cache: int
    clips_source: int
    skipped_annotations: int
    estimate_s: float | None = None


@attrs.frozen(kw_only=True)
class DryRunReport:
    """What a dry run found.

    Attributes:
        rows: One per user.
        frames: Where the frames come from (one line).
        seconds_per_step: Measured seconds of one online step (``None`` = not measured).
        total_s: Estimated wall seconds of the whole run over the pool's slots.
        method: How the estimate was made (one sentence).
    """

    rows: tuple[UserRow, ...]
    frames: str
    seconds_per_step: float | None
    total_s: float | None
    method: str


def dry_run(
    cfg: StreamRunConfig,
    *,
    default_checkpoint: DefaultCheckpoint | None = None,
    measure_steps: int = 3,
) -> DryRunReport:
    """Validate every input of ``cfg``, build every user stream, estimate the wall time.

    Raises:
        InputError: Anything a run would refuse (one clear message).
    """
    inputs = resolve_inputs(cfg, default_checkpoint=default_checkpoint)
    loaded = load_inputs(cfg, inputs)
    source: Any = loaded.source
    rows = []
    for uid, anns in loaded.users.items():
        stream = build_stream(cfg.stream, anns, user_id=uid, pretrain_actions=loaded.pretrain_actions)
        clips = {s.clip_uid for s in stream.samples}
        cached = sum(1 for c in clips if source.is_cached(c))
        rows.append(
            UserRow(
                user_id=uid,
                samples=len(stream.samples),
                minutes=float(sum(s.span.end_s - s.span.start_s for s in stream.samples)) / 60,
                unique_actions=len({a for s in stream.samples for a in s.actions}),
                clips_cache=cached,
                clips_source=len(clips) - cached,
                skipped_annotations=loaded.dropped.get(uid, 0),
            )
        )
    slots = slot_devices(cfg.pool.devices, cfg.pool.users_per_device)
    user, per_step = (
        _measure(cfg, loaded, rows, slots[0], measure_steps) if measure_steps > 1 else (None, None)
    )
    if per_step is None:
        return DryRunReport(
            rows=tuple(rows),
            frames=loaded.frames.describe(),
            seconds_per_step=None,
            total_s=None,
            method="not measured",
        )
    batch = cfg.stream.batch_size
    rows = [attrs.evolve(r, estimate_s=-(-r.samples // batch) * per_step) for r in rows]
    processes = cfg.pool.processes
    n_slots = len(slots) if processes is None else max(1, min(processes, len(slots)))  # 0: in-process
    total = _makespan([r.estimate_s or 0.0 for r in rows], n_slots)
    method = (
        f"{per_step:.2f} s per online step (decode + predict + learn of {batch} clips) measured over "
        f"up to {measure_steps - 1} step(s) of user {user} on {slots[0]} after one warm-up step; users "
        f"spread over {n_slots} slot(s) ({', '.join(cfg.pool.devices)} x {cfg.pool.users_per_device}, "
        f"pool.processes={processes}); "
        "slots sharing a device or CPU cores slow each other, so this is a lower bound there; the "
        "frozen baseline (predict only) is extra"
    )
    return DryRunReport(
        rows=tuple(rows),
        frames=loaded.frames.describe(),
        seconds_per_step=per_step,
        total_s=total,
        method=method,
    )


def _measure(
    cfg: StreamRunConfig, loaded: RunInputs, rows: Sequence[UserRow], device: str, steps: int
) -> tuple[str | None, float | None]:
    """``(user, seconds per online step)`` timed on up to ``steps`` steps of the longest stream
    (the first step is warm-up); ``(None, None)`` when no stream has two steps."""
    longest = max(rows, key=lambda r: r.samples, default=None)
    if longest is None or longest.samples <= cfg.stream.batch_size:
        return None, None
    user = longest.user_id
    parts = user_parts_from(
        attrs.evolve(cfg, stream=attrs.evolve(cfg.stream, workers=0)), loaded, user, device=device
    )
    times = []
    started = time.perf_counter()
    for step, batch in enumerate(parts.batches(0)):
        if step >= steps:
            break
        parts.learner.predict(batch.without_labels())
        parts.learner.learn(batch)
        now = time.perf_counter()
        times.append(now - started)
        started = now
    close = getattr(parts, "close", None)
    if callable(close):
        close()
    measured = times[1:]
    return user, (sum(measured) / len(measured) if measured else None)


def _makespan(durations: Sequence[float], n_slots: int) -> float:
    """Wall time of jobs given longest first to the first free of ``n_slots`` slots.

    Example:
        >>> _makespan([4.0, 3.0, 2.0, 1.0], 2)
        5.0
    """
    free = [0.0] * max(1, n_slots)
    for d in sorted(durations, reverse=True):
        heapq.heappush(free, heapq.heappop(free) + d)
    return max(free)


def _clock(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    minutes, s = divmod(round(seconds), 60)
    hours, m = divmod(minutes, 60)
    return f"{hours}:{m:02d}:{s:02d}"


def format_report(report: DryRunReport) -> str:
    """The per-user table, totals, the frames line and how the estimate was made."""
    header = (
        "user",
        "samples",
        "minutes",
        "actions",
        "clips cache",
        "clips source",
        "skipped",
        "est. h:mm:ss",
    )
    lines = [" | ".join(header)]
    for r in report.rows:
        cells = (r.user_id, r.samples, f"{r.minutes:.1f}", r.unique_actions, r.clips_cache, r.clips_source)
        lines.append(" | ".join(str(c) for c in (*cells, r.skipped_annotations, _clock(r.estimate_s))))
    n = sum(r.samples for r in report.rows)
    minutes = sum(r.minutes for r in report.rows)
    lines.append(f"total: {len(report.rows)} user(s), {n} samples, {minutes:.1f} min of video")
    lines.append(f"frames: {report.frames}")
    lines.append(f"estimated wall time: {_clock(report.total_s)} ({report.method})")
    lines.append("dry run: inputs valid, nothing written")
    return "\n".join(lines) + "\n"
