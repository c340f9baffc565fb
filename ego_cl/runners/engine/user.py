"""The writing shell around :func:`ego_cl.runners.engine.loop.online_loop` for one user.

:func:`stream_user` takes already built parts (learner, metrics, batches) and a
:class:`~ego_cl.runners.results.UserDir`; it seeds, resumes from the last checkpoint, writes
Parquet log parts and checkpoints every ``checkpoint_every`` batches, TensorBoard scalars, the
final ``metrics.json`` and ``learner.pt``, and ``DONE`` last. A run killed at any point and
started again continues from the last checkpoint and ends with bit-identical logs and metrics
(on CPU, without a wall-clock compute budget).
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any, Protocol

import attrs
import numpy as np
import structlog
import torch

from ego_cl.metrics.near_future import near_future_metrics
from ego_cl.protocols import Learner
from ego_cl.runners.engine.label_gate import LabelGate
from ego_cl.runners.engine.loop import LogColumns, LoopState, NearFuture, PastWindow, online_loop
from ego_cl.runners.results import UserDir
from ego_cl.types import Batch

__all__ = ["MetricSetLike", "UserParts", "rng_state", "seed_everything", "set_rng_state", "stream_user"]

log = structlog.get_logger(__name__)


class MetricSetLike(Protocol):
    """The metric container the shell needs: update, current values, and resumable state."""

    def update(self, prediction: Any, batch: Batch) -> None: ...

    def get(self) -> Mapping[str, float]: ...

    def state_dict(self) -> dict[str, Any]: ...

    def load_state_dict(self, state: Mapping[str, Any]) -> None: ...


@attrs.frozen(kw_only=True)
class UserParts:
    """Everything one user's stream run needs, already built.

    Attributes:
        user_id: The user.
        learner: A fresh learner (state as after pretraining).
        metrics: Fresh online metrics.
        batches: ``batches(start_step)`` yields labelled batches from batch ``start_step`` on.
        log_columns: Prediction-log row function.
        n_samples: Stream length in samples.
        past: Past-window evaluation, or ``None``.
        near_future: Near-future evaluation, or ``None``.
        gate: The guarded fetch the learner was built with (the loop opens it batch by batch),
            or ``None`` when the learner has none.
        learn_every: Learn on every n-th batch only.
        time_budget_s: Per-batch learning time budget, or ``None``.
    """

    user_id: str
    learner: Learner
    metrics: MetricSetLike
    batches: Callable[[int], Iterable[Batch]]
    log_columns: LogColumns
    n_samples: int
    past: PastWindow | None = None
    near_future: NearFuture | None = None
    gate: LabelGate | None = None
    learn_every: int = 1
    time_budget_s: float | None = None


def seed_everything(seed: int) -> None:
    """Seed python, numpy and torch (CPU and CUDA) global generators."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def rng_state() -> dict[str, Any]:
    """Global RNG states as plain values (loadable with ``torch.load(weights_only=True)``)."""
    np_state = np.random.get_state(legacy=False)
    out: dict[str, Any] = {
        "python": random.getstate(),
        "numpy": {
            "key": np_state["state"]["key"].tolist(),
            "pos": int(np_state["state"]["pos"]),
            "has_gauss": int(np_state["has_gauss"]),
            "gauss": float(np_state["gauss"]),
        },
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available():
        out["cuda"] = torch.cuda.get_rng_state_all()
    return out


def set_rng_state(state: Mapping[str, Any]) -> None:
    """Restore what :func:`rng_state` returned."""
    version, internal, gauss = state["python"]
    random.setstate((version, tuple(internal), gauss))
    npy = state["numpy"]
    np.random.set_state(
        {
            "bit_generator": "MT19937",
            "state": {"key": np.asarray(npy["key"], dtype=np.uint32), "pos": npy["pos"]},
            "has_gauss": npy["has_gauss"],
            "gauss": npy["gauss"],
        }
    )
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def _isolated(batches: Iterable[Batch]) -> Iterator[Batch]:
    """Iterate ``batches`` without letting the data pipeline touch the global torch RNG
    (a DataLoader draws its worker seed from it), so resume does not shift dropout draws."""
    iterator = None
    while True:
        with torch.random.fork_rng(devices=[]):
            if iterator is None:
                iterator = iter(batches)
            try:
                batch = next(iterator)
            except StopIteration:
                return
        yield batch


def stream_user(
    parts: UserParts,
    udir: UserDir,
    *,
    checkpoint_every: int,
    seed: int,
    tb_dir: Path | None = None,
    tb_every: int = 1,
    paranoid: bool = False,
    report: Callable[[int, int], None] | None = None,
    setup_s: float | None = None,
) -> dict[str, Any]:
    """Run (or resume, or skip if ``DONE``) one user's stream and write its results.

    TensorBoard (``tb_dir``): the online metrics and the learner's stats every ``tb_every``
    batches and after the last one, each tag once per step (a resumed run purges the steps
    from its checkpoint on before writing them again).

    Returns:
        ``{"user_id", "n_samples", "n_batches", "metrics", "seconds", "resumed_at", "startup"}``;
        ``startup`` is the user's fixed cost: ``setup_s`` as given (the job's input loading and
        building, seconds) and ``first_batch_s``, from the stream's start to its first batch
        done (loader workers started, first clips decoded, first predict and learn).
    """
    if udir.is_done:
        return udir.read_json("summary.json")
    with udir.writing():  # one writer per user directory (an orphan of a killed run is waited for)
        if udir.is_done:  # finished by another writer while this one waited
            return udir.read_json("summary.json")
        options = dict(tb_dir=tb_dir, tb_every=tb_every, paranoid=paranoid, report=report, setup_s=setup_s)
        return _stream_locked(parts, udir, checkpoint_every=checkpoint_every, seed=seed, **options)


def _stream_locked(
    parts: UserParts,
    udir: UserDir,
    *,
    checkpoint_every: int,
    seed: int,
    tb_dir: Path | None,
    tb_every: int,
    paranoid: bool,
    report: Callable[[int, int], None] | None,
    setup_s: float | None,
) -> dict[str, Any]:
    started = time.perf_counter()
    first_batch_s = None
    state = _resume(parts, udir, seed)
    writer = _tb_writer(tb_dir, purge_step=state.next_step)
    pending: dict[str, dict[str, list[Any]]] = {"predictions": {}, "past": {}, "future": {}}
    part_first = state.next_step
    step = state.next_step - 1
    stats: Mapping[str, float] = {}
    records = online_loop(
        parts.learner,
        _isolated(parts.batches(state.next_step)),
        parts.metrics,
        log_columns=parts.log_columns,
        state=state,
        learn_every=parts.learn_every,
        time_budget_s=parts.time_budget_s,
        past=parts.past,
        near_future=parts.near_future,
        paranoid=paranoid,
        gate=parts.gate,
    )
    for record in records:
        step = record.step
        if first_batch_s is None:
            first_batch_s = round(time.perf_counter() - started, 3)
        if report is not None:
            report(int(record.log["index"][-1]) + 1, parts.n_samples)
        _extend(pending["predictions"], record.log)
        if record.past_log is not None:
            _extend(pending["past"], record.past_log)
        if record.future_log is not None:
            _extend(pending["future"], record.future_log)
        stats = record.stats
        if (step + 1) % tb_every == 0:
            _tb_scalars(writer, parts.metrics, stats, step)
        if (step + 1) % checkpoint_every == 0:
            _flush(udir, pending, part_first, step + 1)
            part_first = step + 1
            udir.save_checkpoint(_checkpoint(parts, record.state))
    _flush(udir, pending, part_first, step + 1)
    if (step + 1) % tb_every != 0:  # the last batch, unless just written
        _tb_scalars(writer, parts.metrics, stats, step)
    if writer is not None:
        writer.close()
    summary = {
        "user_id": parts.user_id,
        "n_samples": parts.n_samples,
        "n_batches": step + 1,
        "metrics": {k: float(v) for k, v in parts.metrics.get().items()} | _near_future_metrics(udir),
        "seconds": round(time.perf_counter() - started, 3),
        "resumed_at": state.next_step,
        "startup": {"setup_s": setup_s, "first_batch_s": first_batch_s},
    }
    udir.write_json("metrics.json", summary["metrics"])
    udir.save_learner(parts.learner.state_dict())
    udir.write_json("summary.json", summary)
    udir.mark_done()
    return summary


def _near_future_metrics(udir: UserDir) -> dict[str, float]:
    """``near_future/...`` values from the saved near-future log (empty when it was off)."""
    table = udir.read_log("future")
    if table is None or table.num_rows == 0:
        return {}
    top_k = len(table.column("verb_topk")[0])  # the width the log was written with (metrics.top_k)
    return {k: float(v) for k, v in near_future_metrics(table, k=top_k).items()}


def _resume(parts: UserParts, udir: UserDir, seed: int) -> LoopState:
    checkpoint = udir.load_checkpoint()
    if checkpoint is None:
        udir.drop_parts_from(0)
        seed_everything(seed)
        return LoopState()
    parts.learner.load_state_dict(checkpoint["learner"])
    parts.metrics.load_state_dict(checkpoint["metrics"])
    set_rng_state(checkpoint["rng"])
    state = LoopState(**checkpoint["loop"])
    udir.drop_parts_from(state.next_step)
    log.info("user_resumed", user_id=parts.user_id, step=state.next_step)
    return state


def _checkpoint(parts: UserParts, state: LoopState) -> dict[str, Any]:
    return {
        "loop": attrs.asdict(state),
        "learner": parts.learner.state_dict(),
        "metrics": parts.metrics.state_dict(),
        "rng": rng_state(),
    }


def _extend(into: dict[str, list[Any]], columns: Mapping[str, Any]) -> None:
    for key, values in columns.items():
        into.setdefault(key, []).extend(values)


def _flush(udir: UserDir, pending: dict[str, dict[str, list[Any]]], first: int, end: int) -> None:
    for prefix, columns in pending.items():
        if any(columns.values()):
            udir.write_part(columns, first, end, prefix=prefix)
        columns.clear()


def _tb_writer(tb_dir: Path | None, purge_step: int) -> Any:
    if tb_dir is None:
        return None
    from torch.utils.tensorboard import SummaryWriter  # heavy (tensorboard); only with run.tensorboard

    return SummaryWriter(log_dir=str(tb_dir), purge_step=purge_step or None)


def _tb_scalars(writer: Any, metrics: MetricSetLike, stats: Mapping[str, float], step: int) -> None:
    """The online metrics (their own tags, e.g. ``online/action/top1``) and the learner's
    stats (``learn/<name>``) at ``step``."""
    if writer is None or step < 0:
        return
    for key, value in metrics.get().items():
        writer.add_scalar(key, float(value), step)
    for key, value in stats.items():
        writer.add_scalar(f"learn/{key}", float(value), step)
