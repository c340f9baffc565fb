"""Hindsight evaluation: final user models over whole streams, as pool jobs.

The engine behind ``python -m ego_cl.runners.hindsight`` (its docstring says what is evaluated
and where results go): one job per (model, stream) pair, run in the run's pool, each writing a
prediction log, ``metrics.json`` and ``DONE`` under the run's ``hindsight/`` directory; finished
pairs are skipped, so an interrupted evaluation resumes.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import attrs
import structlog

from ego_cl.learners.frozen import FrozenConfig
from ego_cl.learners.registry import LearnerConfig
from ego_cl.metrics.stream_metrics import hindsight_metrics
from ego_cl.runners.checkpoint_io import read_checkpoint
from ego_cl.runners.config import StreamRunConfig, load_config
from ego_cl.runners.engine.build import baseline_learner, user_parts_from
from ego_cl.runners.engine.dispatch import run_on_backend
from ego_cl.runners.engine.loop import check_indices
from ego_cl.runners.engine.plan import baseline_key
from ego_cl.runners.engine.pool import Job, Outcome
from ego_cl.runners.engine.preflight import check_devices
from ego_cl.runners.engine.user import seed_everything
from ego_cl.runners.inputs import DefaultCheckpoint, Inputs, load_inputs, resolve_inputs
from ego_cl.runners.results import PRETRAINED, RunDir, UserDir
from ego_cl.types import InputError

__all__ = [
    "PairJob",
    "check_same_inputs",
    "eval_learner",
    "hindsight_pairs",
    "run_hindsight",
    "run_pair_job",
]

log = structlog.get_logger(__name__)


@attrs.frozen(kw_only=True)
class PairJob:
    """One hindsight evaluation: ``model``'s final state over ``stream``'s stream (pool payload).

    Attributes:
        cfg: The run's config.
        inputs: Its resolved input paths.
        model: User id of the model, or :data:`PRETRAINED`.
        stream: User id of the stream.
        state_path: The model's ``learner.pt`` (``None`` for the pretrained model).
        out_dir: Result directory of the pair.
    """

    cfg: StreamRunConfig
    inputs: Inputs
    model: str
    stream: str
    state_path: str | None
    out_dir: str


def eval_learner(cfg: LearnerConfig) -> LearnerConfig:
    """The run's learner config predicting in eval mode (``upstream_train_mode_predict`` off)."""
    if getattr(cfg, "upstream_train_mode_predict", False):
        return attrs.evolve(cfg, upstream_train_mode_predict=False)
    return cfg


def run_pair_job(job: PairJob, device: str, report: Callable[[int, int], None]) -> dict[str, Any]:
    """Pool target: predict every sample of the stream with the fixed final model, write results."""
    udir = UserDir(Path(job.out_dir))
    if udir.is_done:
        return {**udir.read_json("metrics.json"), "skipped": True}
    with structlog.contextvars.bound_contextvars(model=job.model, stream=job.stream):
        loaded = load_inputs(job.cfg, job.inputs)
        seed_everything(job.cfg.run.seed)
        learner = FrozenConfig() if job.state_path is None else eval_learner(job.cfg.learner)
        parts = user_parts_from(job.cfg, loaded, job.stream, device=device, learner=learner)
        if job.state_path is not None:
            parts.learner.load_state_dict(read_checkpoint(job.state_path))
        columns: dict[str, list] = {}
        step = -1
        for step, batch in enumerate(parts.batches(0)):
            prediction = parts.learner.predict(batch.without_labels())
            check_indices(prediction, batch, f"hindsight batch {step}")
            for name, values in parts.log_columns(prediction, batch, step).items():
                columns.setdefault(name, []).extend(values)
            report(len(columns.get("index", ())), parts.n_samples)
        udir.drop_parts_from(0)
        udir.write_part(columns, 0, step + 1)
        metrics = hindsight_metrics(udir.read_log(), k=job.cfg.metrics.top_k)
        udir.write_json("metrics.json", metrics)
        udir.mark_done()
    log.info("hindsight_pair_finished", model=job.model, stream=job.stream, n_samples=parts.n_samples)
    return metrics


def check_same_inputs(run_dir: Path, cfg: StreamRunConfig, inputs: Inputs) -> None:
    """Refuse to evaluate when the inputs resolve differently than for the run (another
    checkpoint, split or stream config): the run's ``baseline/<uid>`` links name the cache key
    of its inputs, which must equal the key of the inputs resolved now.

    Raises:
        InputError: The keys differ (the message names both).
    """
    root = RunDir(run_dir).baseline_root
    links = sorted(root.glob("*")) if root.is_dir() else []
    used = {p.resolve().parent.name for p in links if p.is_symlink()}
    if not used:
        return
    now = baseline_key(cfg, inputs, baseline_learner(cfg), load_inputs(cfg, inputs).frames)
    if now not in used:
        raise InputError(
            f"{run_dir}: its inputs resolved to baseline key(s) {sorted(used)}, now to {now} "
            f"(checkpoint {inputs.checkpoint}); the checkpoint, split files or stream config changed since "
            "the run, so its final models cannot be compared with this pretrained model"
        )


def hindsight_pairs(users: Sequence[str], *, transfer: bool) -> list[tuple[str, str]]:
    """``(model, stream)`` pairs: the diagonal, or every pair plus the pretrained model's row.

    Example:
        >>> hindsight_pairs(["a", "b"], transfer=False)
        [('a', 'a'), ('b', 'b')]
        >>> hindsight_pairs(["a", "b"], transfer=True)[:3]
        [('_pretrained', 'a'), ('_pretrained', 'b'), ('a', 'a')]
    """
    if not transfer:
        return [(u, u) for u in users]
    return [(PRETRAINED, s) for s in users] + [(m, s) for m in users for s in users]


def run_hindsight(
    run_dir: str | Path,
    *,
    transfer: bool = False,
    processes: int | None = None,
    target: Callable[[PairJob, str, Callable[[int, int], None]], dict[str, Any]] | None = None,
    default_checkpoint: DefaultCheckpoint | None = None,
) -> list[Outcome]:
    """Evaluate the final models of a finished (or partly finished) run; returns the outcomes.

    Args:
        run_dir: The stream run directory.
        transfer: Every model on every stream, plus the pretrained model.
        processes: Local pool processes instead of the run's ``pool.processes`` (``0`` =
            in-process); with ``pool.backend=slurm`` the pairs go to SLURM as one job array.
        target: Replaces :func:`run_pair_job` (tests).
        default_checkpoint: The checkpoint of a run whose ``config.yaml`` names none.

    Raises:
        InputError: Not a run directory, a device of the run missing here, or no user finished.
    """
    run = RunDir(run_dir)
    if not run.config.is_file():
        raise InputError(f"{run.path}: not a run directory (no config.yaml)")
    cfg = load_config(StreamRunConfig, run.config)
    check_devices(cfg.pool)  # the run's devices may not exist on this machine
    inputs = resolve_inputs(cfg, default_checkpoint=default_checkpoint)
    check_same_inputs(run.path, cfg, inputs)
    users = [u for u in load_inputs(cfg, inputs).users if run.user(u).is_done]
    if not users:
        raise InputError(f"{run.path}: no finished user (users/<id>/DONE); run or resume the stream first")
    jobs = []
    for model, stream in hindsight_pairs(users, transfer=transfer):
        state = None if model == PRETRAINED else str(run.learner_state(model))
        out = run.hindsight(model, stream).path
        payload = PairJob(
            cfg=cfg, inputs=inputs, model=model, stream=stream, state_path=state, out_dir=str(out)
        )
        stderr = str(UserDir(out).stderr_log)  # the worker's stderr while it runs this pair
        jobs.append(Job(key=f"hindsight/{model}/{stream}", size=1, payload=payload, stderr_path=stderr))
    log.info("hindsight_started", run_dir=str(run.path), n_pairs=len(jobs), transfer=transfer)

    def on_outcome(outcome: Outcome) -> None:
        if not outcome.ok:
            pair = next(j.payload for j in jobs if j.key == outcome.key)
            UserDir(Path(pair.out_dir)).record_failure(
                {"error": outcome.error, "traceback": outcome.traceback, "exit_code": outcome.exit_code}
            )
            log.error("hindsight_pair_failed", key=outcome.key, error=outcome.error)

    pool = cfg.pool if processes is None else attrs.evolve(cfg.pool, processes=processes)
    return run_on_backend(
        jobs,
        target or run_pair_job,
        pool=pool,
        folder=run.slurm_hindsight,
        log_file=str(run.log_file),
        on_outcome=on_outcome,
        decode_workers=cfg.stream.workers,
    )
