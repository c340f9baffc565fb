"""Where and with what a run ran: versions, git commit, host, devices, times.

``config.yaml`` starts with a comment block of :func:`provenance` at the run's creation (comments,
so the file still loads strictly and round-trips), and ``summary.json`` holds it under
``provenance`` with the invocation's ``started``/``finished`` times and ``wall_s``. The
``run.timestamp`` a run directory is named with is written into its config
(:func:`resolve_timestamp`), so ``config.yaml`` names the value used, never ``null``.

Versions come from the installed distributions (``importlib.metadata``), so nothing heavy (or
``av``, which only ``data`` imports) is imported to read them.
"""

from __future__ import annotations

import datetime as dt
import platform
import socket
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from importlib import metadata
from pathlib import Path
from typing import Any

import attrs
import yaml

import ego_cl

__all__ = ["PACKAGES", "config_header", "git_commit", "now_iso", "provenance", "resolve_timestamp"]

PACKAGES = ("torch", "torchvision", "av", "numpy")
"""Distributions whose versions are recorded (besides python and ego_cl)."""

TIMESTAMP_FORMAT = "%Y-%m-%d_%H-%M-%S"
"""The format of a resolved ``run.timestamp`` (local time, as run-directory names use)."""


def now_iso() -> str:
    """The current time, ISO 8601 in UTC with seconds."""
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


def resolve_timestamp(cfg: Any, stamp: str | None = None) -> Any:
    """``cfg`` with ``run.timestamp`` set (to ``stamp`` or now) when it is ``None``."""
    if cfg.run.timestamp is not None:
        return cfg
    stamp = stamp or time.strftime(TIMESTAMP_FORMAT)
    return attrs.evolve(cfg, run=attrs.evolve(cfg.run, timestamp=stamp))


def _version(name: str) -> str | None:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def git_commit(path: str | Path | None = None) -> dict[str, Any] | None:
    """``{"commit", "dirty"}`` of the git checkout holding ``path`` (default: the ego_cl
    source), or ``None`` when it is not in one or git is missing."""
    where = Path(path) if path is not None else Path(ego_cl.__file__).resolve().parent
    try:
        head = subprocess.run(
            ["git", "-C", str(where), "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5
        )
        if head.returncode != 0:
            return None
        status = subprocess.run(
            ["git", "-C", str(where), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            timeout=10,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    dirty = bool(status.stdout.strip()) if status.returncode == 0 else None
    return {"commit": head.stdout.strip(), "dirty": dirty}


def _device_names(devices: Sequence[str]) -> dict[str, str]:
    """``{device: name}`` for the requested CUDA devices that exist (CPU: the processor)."""
    names: dict[str, str] = {}
    for device in devices:
        if device.startswith("cuda"):
            import torch  # only when a CUDA device is named

            if torch.cuda.is_available():
                index = int(device.split(":")[1]) if ":" in device else 0
                if index < torch.cuda.device_count():
                    names[device] = torch.cuda.get_device_name(index)
        elif device == "cpu":
            names[device] = platform.processor() or platform.machine()
    return names


def provenance(devices: Sequence[str] = ()) -> dict[str, Any]:
    """What this process runs with: ego_cl version, git commit, python and library versions,
    host, platform and the named devices."""
    return {
        "ego_cl": ego_cl.__version__,
        "git": git_commit(),
        "python": sys.version.split()[0],
        "packages": {name: _version(name) for name in PACKAGES},
        "host": socket.gethostname(),
        "platform": platform.platform(),
        "devices": list(devices),
        "device_names": _device_names(devices),
    }


def config_header(record: Mapping[str, Any]) -> str:
    """``record`` as a YAML comment block (the head of ``config.yaml``)."""
    body = yaml.safe_dump({"provenance": dict(record)}, sort_keys=False).rstrip("\n")
    return "".join(f"# {line}\n" for line in body.splitlines())
