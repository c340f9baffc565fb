"""Checks a run makes before any work, each failing with one line (exit code 2).

:func:`check_before_run` (fresh runs and grids) and :func:`check_devices` (also on ``--resume``,
whose machine may differ) refuse, before a dataset is generated, a model is loaded or a worker
starts:

- a ``pool.devices`` entry that does not exist here: ``cuda:N`` on a machine with fewer CUDA
  devices or none, ``mps`` without MPS (not checked for ``pool.backend=slurm``: its devices are
  on the compute nodes);
- a ``run.out_dir`` that is a regular file, or an existing non-empty directory that is not an
  ego_cl output directory (:func:`is_out_dir`); an ``<out_dir>/<experiment>`` that is a file;
  a ``run.out_dir`` that cannot be created or written;
- a ``run.copy_final_to`` (or its ``<experiment>`` folder) that is a regular file, or that cannot be
  created or written (today's alternative: a traceback after the whole run);
- for pretraining (:func:`check_pretrain_dir`): an ``out_dir`` that is a file, a run directory
  that is a file or a non-empty directory without a pretraining run's ``config.yaml``.

An accepted ``run.out_dir`` is claimed with a :data:`OUT_DIR_MARKER` file, so later runs know it
as ego_cl's. Other values that cannot work (``stream.crop_px > stream.side_px``, negative
``stream.max_samples`` or ``pool.processes``, ``run.users=[]``, path-like ``run.experiment``)
are refused by the config itself; a ``run.users`` id missing from the split is refused by
:func:`check_users_in_split` once the inputs are resolved, before the run directory is created.
"""

from __future__ import annotations

import os
from pathlib import Path

import torch

from ego_cl.data.problems import read_json
from ego_cl.data.usersplit import find_split_file
from ego_cl.runners.config import PoolConfig, StreamRunConfig
from ego_cl.runners.files import atomic_write_text
from ego_cl.types import InputError

__all__ = [
    "check_pretrain_dir",
    "check_users_in_split",
    "OUT_DIR_MARKER",
    "check_before_run",
    "check_devices",
    "check_out_dir",
    "claim_out_dir",
    "is_out_dir",
]

OUT_DIR_MARKER = ".ego_cl"
"""File that marks a directory as an ego_cl output directory (``run.out_dir``)."""

_SCAN = 100
"""Entries looked at per level when recognising an unmarked ego_cl output directory."""


def check_devices(pool: PoolConfig) -> None:
    """Every device of ``pool.devices`` exists on this machine (``slurm``: not checked).

    Raises:
        InputError: Naming the first missing device and what this machine has.
    """
    if pool.backend == "slurm":
        return
    n_cuda = torch.cuda.device_count()
    for device in pool.devices:
        if device.startswith("cuda"):
            index = int(device.partition(":")[2] or 0)
            if n_cuda == 0:
                raise InputError(f"pool.devices: {device} requested, but this machine has no CUDA device")
            if index >= n_cuda:
                raise InputError(
                    f"pool.devices: {device} does not exist (this machine has {n_cuda} CUDA "
                    f"device{'s' if n_cuda > 1 else ''}: cuda:0..cuda:{n_cuda - 1})"
                )
        elif device == "mps" and not torch.backends.mps.is_available():
            raise InputError("pool.devices: mps requested, but MPS is not available on this machine")


def is_out_dir(path: Path) -> bool:
    """Whether ``path`` is (or may become) an ego_cl output directory: missing, empty, marked
    with :data:`OUT_DIR_MARKER`, or holding ego_cl's layout from before the marker existed
    (``baseline-cache/``, ``<experiment>/<run>/config.yaml`` or ``<experiment>/<grid>/grid.txt``)."""
    if not path.exists():
        return True
    if not path.is_dir():
        return False
    if (path / OUT_DIR_MARKER).is_file() or (path / "baseline-cache").is_dir():
        return True
    entries = _first(path)
    if not entries:
        return True
    return any(entry.is_dir() and any(_is_run_or_grid(run) for run in _first(entry)) for entry in entries)


def _is_run_or_grid(path: Path) -> bool:
    return (path / "config.yaml").is_file() or (path / "grid.txt").is_file()


def _first(directory: Path) -> list[Path]:
    try:
        with os.scandir(directory) as it:
            return [Path(e.path) for _, e in zip(range(_SCAN), it)]
    except OSError:
        return []


def _writable(path: Path, key: str) -> None:
    """``path`` (or its nearest existing ancestor) is a directory this process may write to."""
    existing = path
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        raise InputError(f"{key}: {existing} is a file, not a directory")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise InputError(f"{key}: cannot write to {existing} (permission denied)")


def check_out_dir(out_dir: str | Path, experiment: str) -> None:
    """``run.out_dir`` may take a new run of ``experiment`` without touching anything else.

    Raises:
        InputError: A file, a foreign non-empty directory, or not writable.
    """
    path = Path(out_dir)
    if path.exists() and not path.is_dir():
        raise InputError(f"run.out_dir: {path} is a file, not a directory")
    if not is_out_dir(path):
        raise InputError(
            f"run.out_dir: {path} is a non-empty directory that is not an ego_cl output directory "
            f"(no {OUT_DIR_MARKER} file); choose a new or empty directory"
        )
    experiment_dir = path / experiment
    if experiment_dir.exists() and not experiment_dir.is_dir():
        raise InputError(f"run.experiment: {experiment_dir} is a file, not a directory")
    _writable(experiment_dir, "run.out_dir")


def claim_out_dir(out_dir: str | Path) -> None:
    """Create ``run.out_dir`` if needed and mark it with :data:`OUT_DIR_MARKER`."""
    marker = Path(out_dir) / OUT_DIR_MARKER
    if not marker.is_file():
        atomic_write_text(marker, "ego_cl output directory: experiments, runs and the baseline cache\n")


def _check_copy_final_to(copy_to: str | Path, experiment: str) -> None:
    path = Path(copy_to)
    if path.exists() and not path.is_dir():
        raise InputError(f"run.copy_final_to: {path} is a file, not a directory")
    target = path / experiment
    if target.exists() and not target.is_dir():
        raise InputError(f"run.copy_final_to: {target} is a file, not a directory")
    _writable(target, "run.copy_final_to")


def check_pretrain_dir(run_dir: str | Path) -> None:
    """A pretraining run directory is new, empty, or a pretraining run (``config.yaml``); its
    parent ``run.out_dir`` is not a file.

    Raises:
        InputError: One line naming the path.
    """
    path = Path(run_dir)
    if path.exists() and not path.is_dir():
        raise InputError(f"run.name: {path} is a file, not a directory")
    _writable(path, "run.out_dir")
    if _first(path) and not (path / "config.yaml").is_file():
        raise InputError(
            f"run.name: {path} is a non-empty directory that is not a pretraining run (no config.yaml)"
        )


def check_users_in_split(cfg: StreamRunConfig) -> None:
    """Every ``run.users`` id is a user of the ``data.subset`` split (its keys only are read,
    nothing is validated or logged: that is :func:`~ego_cl.runners.inputs.load_inputs`' job).

    Call it on a config whose inputs are pinned (``data.split_dir`` set).

    Raises:
        InputError: Naming the unknown ids and the split file.
    """
    if cfg.run.users is None or cfg.data.split_dir is None:
        return
    path = find_split_file(cfg.data.split_dir, cfg.data.subset)
    raw = read_json(path)
    if not isinstance(raw, dict) or not isinstance(raw.get("users"), dict):
        return  # malformed: load_inputs reports every problem of the file
    unknown = sorted(set(cfg.run.users) - {str(k) for k in raw["users"]})
    if unknown:
        raise InputError(f"run.users: {unknown} not in the {cfg.data.subset} split ({path})")


def check_before_run(cfg: StreamRunConfig) -> None:
    """Everything about ``cfg`` that can fail before any work (module docstring), then claim
    ``run.out_dir``.

    Raises:
        InputError: One line naming the key and the problem.
    """
    check_devices(cfg.pool)
    check_out_dir(cfg.run.out_dir, cfg.run.experiment)
    if cfg.run.copy_final_to:
        _check_copy_final_to(cfg.run.copy_final_to, cfg.run.experiment)
    claim_out_dir(cfg.run.out_dir)
