"""The run's own settings: where results go and how the run is driven (``run.*``), where user
streams run (``pool.*``, ``pool.slurm.*``). The components' settings live next to them; the
composition, the converter and loading are :mod:`ego_cl.runners.config`.

Values that cannot work are refused here, naming the key: a path-like ``run.experiment``
(:func:`~ego_cl.runners.names.check_name`), ``run.users=[]`` or a repeated id, a device name that
does not parse, ``pool.processes < 0``. Whether a device exists is checked before a run, on its
machine (:mod:`ego_cl.runners.engine.preflight`).
"""

from __future__ import annotations

import re
import typing
from typing import Any, Literal

import attrs

from ego_cl.runners.names import name_component

__all__ = ["PoolConfig", "RunConfig", "SlurmConfig", "UserIds", "structure_user_ids"]


@attrs.frozen(kw_only=True)
class SlurmConfig:
    """SLURM submission through submitit (``pool.backend=slurm``).

    Attributes:
        partition: SLURM partition.
        time_min: Time limit per user job, minutes.
        gpus_per_task: GPUs per user job.
        cpus_per_task: CPUs per user job.
        array_parallelism: At most this many user jobs run at once.
        folder: submitit's log folder; ``None`` = ``<run dir>/slurm``.
        local: Use submitit's local executor instead of SLURM (testing).
    """

    partition: str = ""
    time_min: int = attrs.field(default=240, validator=attrs.validators.gt(0))
    gpus_per_task: int = attrs.field(default=1, validator=attrs.validators.ge(0))
    cpus_per_task: int = attrs.field(default=8, validator=attrs.validators.gt(0))
    array_parallelism: int = attrs.field(default=16, validator=attrs.validators.gt(0))
    folder: str | None = None
    local: bool = False


_DEVICE = re.compile(r"cpu|cuda(:[0-9]+)?|mps")


_optional_nonneg = attrs.validators.optional(attrs.validators.ge(0))


def _check_devices(_: Any, __: Any, devices: tuple[str, ...]) -> None:
    """Device names must parse (whether they exist is checked before a run, on its machine)."""
    if not devices:
        raise ValueError("'devices' must name at least one device, e.g. [cpu] or [cuda:0]")
    bad = [d for d in devices if not _DEVICE.fullmatch(d)]
    if bad:
        raise ValueError(f"'devices' unknown device {bad[0]!r} (expected cpu, cuda, cuda:N or mps)")


def _check_users(_: Any, __: Any, users: tuple[str, ...] | None) -> None:
    if users is not None and not users:
        raise ValueError("'users' must name at least one user (or be null: every user of the subset)")
    if users is not None and len(set(users)) != len(users):
        raise ValueError(f"'users' names a user twice: {sorted(u for u in set(users) if users.count(u) > 1)}")


@attrs.frozen(kw_only=True)
class PoolConfig:
    """Where user streams run.

    Attributes:
        devices: Devices to spread users over, e.g. ``["cuda:0", "cuda:1"]`` or ``["cpu"]``.
        users_per_device: Concurrent users per device; slots = devices x users_per_device.
        processes: ``None`` = one worker process per slot; ``0`` = run in-process (debugging,
            tests, API embedding).
        recycle_after: Replace a worker process after this many users (bounds memory creep).
        threads_per_slot: torch intra-op threads per worker; ``None`` = ``max(1, cores // slots
            - stream.workers)``: each decode worker process runs 1 torch thread and 1 decoder
            thread on a core of its own, so a slot's busy threads stay within its share of the
            cores (no oversubscription). The SLURM backend uses ``slurm.cpus_per_task``.
        start_method: How the local pool starts a worker. ``forkserver``: forked from a server
            process that imported torch (and ``torch._dynamo``, imported by the first optimiser)
            once, so a worker starts in milliseconds instead of seconds (every recycled worker
            too). ``spawn``: a fresh interpreter per worker. ``auto`` = ``forkserver`` on Linux
            when every device is a CPU, else ``spawn``.
        backend: ``local`` (the process pool) or ``slurm`` (submitit job array).
        slurm: SLURM settings for ``backend=slurm``.
    """

    devices: tuple[str, ...] = attrs.field(default=("cpu",), validator=_check_devices)
    users_per_device: int = attrs.field(default=2, validator=attrs.validators.gt(0))
    processes: int | None = attrs.field(default=None, validator=_optional_nonneg)
    recycle_after: int = attrs.field(default=8, validator=attrs.validators.gt(0))
    threads_per_slot: int | None = None
    start_method: Literal["auto", "forkserver", "spawn"] = "auto"
    backend: Literal["local", "slurm"] = "local"
    slurm: SlurmConfig = SlurmConfig()


UserIds = typing.NewType("UserIds", tuple)
"""A list of participant ids. Ids are strings, but ``run.users=[68, 265]`` is what people type,
so integers are accepted here (and only here) and turned into strings."""


def structure_user_ids(value: Any, _: type) -> tuple[str, ...]:
    """cattrs hook of :data:`UserIds`: a list of strings or integers → a tuple of strings."""
    if isinstance(value, str) or not isinstance(value, list | tuple):
        raise TypeError(f"expected a list of user ids, got {value!r}")
    bad = [v for v in value if isinstance(v, bool) or not isinstance(v, int | str)]
    if bad:
        raise TypeError(f"expected user ids (strings or integers), got {bad[0]!r}")
    return tuple(str(v) for v in value)


@attrs.frozen(kw_only=True)
class RunConfig:
    """Where results go and how the run is driven.

    Attributes:
        out_dir: Parent of experiment directories.
        experiment: Experiment name (first directory level under ``out_dir``).
        seed: Seed of every random choice in the run.
        users: Only these user ids (``None`` = all users of the subset).
        checkpoint_every: Save resumable state every N batches.
        baseline: Also run (or reuse from cache) the frozen pretrained model on every stream.
        timestamp: Launch time for the run directory name (``None`` = now).
        copy_final_to: Also copy the final summary files to this directory.
        learn_every: Learn only on every n-th batch (fixed compute budget); the other batches
            are predicted by the stale model.
        time_budget_s: Per-batch learning-time budget in seconds (RealtimeOCL-style: learning
            beyond it skips later updates); ``None`` = off. Not bit-reproducible.
        paranoid: Also check every step that predict changes no learner state and that learn
            does not rewrite returned predictions (slow; debugging).
        tensorboard: Write TensorBoard scalars under ``tb/<user_id>/`` (the frozen baseline's
            under ``tb/<user_id>/baseline``, so the curves overlay).
        tb_every: Write the online metrics to TensorBoard every n-th batch (and after the last).
        baseline_cache: Directory of cached frozen-baseline results; ``None`` =
            ``<out_dir>/baseline-cache``.
        log_format: Console log lines: ``auto`` (pretty on a TTY, JSON otherwise), ``console``
            or ``json`` (``--log-format`` wins).
        log_level: Lowest console level (``--log-level`` wins); ``log.jsonl`` keeps debug too.
    """

    out_dir: str = "runs"
    experiment: str = attrs.field(default="default", validator=name_component)
    seed: int = 0
    users: UserIds | None = attrs.field(default=None, validator=_check_users)
    checkpoint_every: int = attrs.field(default=50, validator=attrs.validators.gt(0))
    baseline: bool = True
    timestamp: str | None = None
    copy_final_to: str | None = None
    learn_every: int = attrs.field(default=1, validator=attrs.validators.gt(0))
    time_budget_s: float | None = None
    paranoid: bool = False
    tensorboard: bool = True
    tb_every: int = attrs.field(default=1, validator=attrs.validators.gt(0))
    baseline_cache: str | None = None
    log_format: Literal["auto", "console", "json"] = "auto"
    log_level: Literal["debug", "info", "warning", "error"] = "info"
