"""Reading run directories for reports: which runs, which users, their prediction logs.

A run directory (``ego_cl.runners.results``) holds ``config.yaml``, ``users/<uid>/`` and
``baseline/<uid>/`` (each with Parquet log parts and ``DONE``) and, after
``python -m ego_cl.runners.hindsight``, ``hindsight/<model>/<stream>/`` in the same format
(``<model>`` is a user id or :data:`PRETRAINED`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import attrs
import pyarrow as pa
import structlog
import yaml

from ego_cl.runners.results import UserDir
from ego_cl.types import InputError

__all__ = [
    "PRETRAINED",
    "RunResults",
    "find_run_dirs",
    "hindsight_dir",
    "is_run_dir",
    "load_run",
    "method_label",
    "read_log",
]

log = structlog.get_logger(__name__)

PRETRAINED = "_pretrained"
"""Model id of the pretrained population model in ``hindsight/<model>/<stream>/``."""

_STAMPED = re.compile(r"^\d{4}-\d\d-\d\d_\d\d-\d\d-\d\d_(?P<slug>.+)$")


def is_run_dir(path: Path) -> bool:
    """Whether ``path`` looks like a stream run directory (``config.yaml`` and ``users/``)."""
    return (path / "config.yaml").is_file() and (path / "users").is_dir()


def find_run_dirs(paths: Iterable[str | Path], *, max_depth: int = 4) -> list[Path]:
    """Run directories among ``paths``: each path itself, or every run directory below it
    (e.g. a grid's parent directory), sorted, without duplicates.

    Raises:
        InputError: A path does not exist or holds no run directory.
    """
    found: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if not path.exists():
            raise InputError(f"{path}: no such run directory")
        if is_run_dir(path):
            found.append(path)
            continue
        below = sorted(
            p.parent
            for p in path.rglob("config.yaml")
            if len(p.relative_to(path).parts) <= max_depth + 1 and is_run_dir(p.parent)
        )
        if not below:
            raise InputError(f"{path}: not a run directory (no config.yaml + users/) and none below it")
        found.extend(below)
    unique = sorted({p.resolve(): p for p in found}.items())
    return [p for _, p in unique]


def method_label(path: Path, config: Mapping[str, Any]) -> str:
    """A short name of a run: learner kind plus its overrides (from the directory name).

    Example:
        >>> method_label(Path("runs/x/2025-01-02_03-04-05_learner.lr=0.1"), {"learner": {"kind": "finetune"}})
        'finetune [learner.lr=0.1]'
        >>> method_label(Path("runs/x/2025-01-02_03-04-05_defaults"), {"learner": {"kind": "replay"}})
        'replay'
    """
    kind = str(config.get("learner", {}).get("kind", "finetune"))
    match = _STAMPED.match(path.name)
    slug = match["slug"] if match else path.name
    return kind if slug in ("defaults", "") else f"{kind} [{slug}]"


@attrs.frozen(kw_only=True)
class RunResults:
    """One run directory's finished users.

    Attributes:
        path: The run directory.
        label: Method label (:func:`method_label`).
        config: The resolved config (raw dict from ``config.yaml``).
        users: Users finished both with the method and the baseline, sorted.
        unfinished: Users of ``users/`` without ``DONE`` or without a finished baseline.
    """

    path: Path
    label: str
    config: Mapping[str, Any]
    users: tuple[str, ...]
    unfinished: tuple[str, ...]

    @property
    def top_k(self) -> int:
        """The top-k the logs were written with."""
        return int(self.config.get("metrics", {}).get("top_k", 5))


def load_run(path: str | Path) -> RunResults:
    """Read a run directory's config and list its finished users.

    Raises:
        InputError: ``config.yaml`` is missing or not a mapping.
    """
    path = Path(path)
    try:
        config = yaml.safe_load((path / "config.yaml").read_text()) or {}
    except (OSError, yaml.YAMLError) as err:
        raise InputError(f"{path / 'config.yaml'}: cannot read run config ({err})") from None
    if not isinstance(config, dict):
        raise InputError(f"{path / 'config.yaml'}: top level must be a mapping")
    done, unfinished = [], []
    for udir in sorted(p for p in (path / "users").iterdir() if p.is_dir()):
        if UserDir(udir).is_done and UserDir(path / "baseline" / udir.name).is_done:
            done.append(udir.name)
        else:
            unfinished.append(udir.name)
    if unfinished:
        log.warning("report_users_unfinished", run_dir=str(path), users=unfinished)
    return RunResults(
        path=path,
        label=method_label(path, config),
        config=config,
        users=tuple(done),
        unfinished=tuple(unfinished),
    )


def hindsight_dir(run_dir: Path, model: str, stream: str) -> Path:
    """Where the hindsight pass of ``model``'s final state over ``stream``'s stream goes."""
    return Path(run_dir) / "hindsight" / model / stream


def read_log(path: Path, *, require_done: bool = True) -> pa.Table | None:
    """The prediction log of a result directory (``None`` if unfinished or absent)."""
    udir = UserDir(path)
    if require_done and not udir.is_done:
        return None
    return udir.read_log()
