"""Reading run directories for reports: which runs, which users, their prediction logs.

The layout is :class:`~ego_cl.runners.results.RunDir`'s: ``config.yaml`` (read through the
strict converter), ``users/<uid>/`` and ``baseline/<uid>/`` (each with Parquet log parts and
``DONE``) and, after ``python -m ego_cl.runners.hindsight``, ``hindsight/<model>/<stream>/`` in
the same format (``<model>`` is a user id or :data:`~ego_cl.runners.results.PRETRAINED`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

import attrs
import pyarrow as pa
import structlog

from ego_cl.learners.registry import LEARNER_CONFIGS
from ego_cl.runners.config import ConfigError, StreamRunConfig, converter, load_config
from ego_cl.runners.results import RunDir, UserDir
from ego_cl.types import InputError

__all__ = [
    "RunResults",
    "find_run_dirs",
    "load_run",
    "method_label",
    "read_log",
    "unique_labels",
]

log = structlog.get_logger(__name__)


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
        if RunDir(path).is_run:
            found.append(path)
            continue
        below = sorted(
            p.parent
            for p in path.rglob(RunDir(path).config.name)
            if len(p.relative_to(path).parts) <= max_depth + 1 and RunDir(p.parent).is_run
        )
        if not below:
            raise InputError(f"{path}: not a run directory (no config.yaml + users/) and none below it")
        found.extend(below)
    unique = sorted({p.resolve(): p for p in found}.items())
    return [p for _, p in unique]


def method_label(path: Path, config: StreamRunConfig) -> str:
    """A short name of a run: the learner kind, plus the grid combination (``GRID_...``
    directories) or else the learner settings that differ from that kind's defaults.

    Example:
        >>> cfg = load_config(StreamRunConfig, overrides=["learner.kind=finetune", "learner.lr=0.5"])
        >>> method_label(Path("runs/x/GRID_learner.lr=0.5"), cfg)
        'finetune [learner.lr=0.5]'
        >>> method_label(Path("runs/x/2025-01-02_03-04-05_a"), cfg)
        'finetune [lr=0.5]'
        >>> method_label(Path("runs/x/2025-01-02_03-04-05_defaults"), load_config(StreamRunConfig))
        'finetune'
    """
    learner = converter.unstructure(config.learner)
    kind = str(learner.get("kind", "finetune"))
    if path.name.startswith("GRID_"):
        return f"{kind} [{path.name[len('GRID_') :]}]"
    defaults = converter.unstructure(LEARNER_CONFIGS[kind]()) if kind in LEARNER_CONFIGS else {}
    changed = [f"{k}={v}" for k, v in learner.items() if k != "kind" and defaults.get(k, object()) != v]
    return f"{kind} [{', '.join(changed)}]" if changed else kind


def unique_labels(labels: Sequence[str], paths: Sequence[Path]) -> list[str]:
    """Labels made unique by appending the run directory name where two runs share one.

    Example:
        >>> unique_labels(["a", "a", "b"], [Path("x/r1"), Path("x/r2"), Path("x/r3")])
        ['a (r1)', 'a (r2)', 'b']
    """
    counts = {label: labels.count(label) for label in labels}
    return [f"{lab} ({p.name})" if counts[lab] > 1 else lab for lab, p in zip(labels, paths, strict=True)]


@attrs.frozen(kw_only=True)
class RunResults:
    """One run directory's finished users.

    Attributes:
        path: The run directory.
        label: Method label (:func:`method_label`).
        config: The resolved config (``config.yaml`` through the strict converter).
        users: Users finished both with the method and the baseline, sorted.
        unfinished: Users of ``users/`` without ``DONE`` or without a finished baseline.
    """

    path: Path
    label: str
    config: StreamRunConfig
    users: tuple[str, ...]
    unfinished: tuple[str, ...]

    @property
    def top_k(self) -> int:
        """The top-k the logs were written with."""
        return self.config.metrics.top_k


def load_run(path: str | Path) -> RunResults:
    """Read a run directory's config and list its finished users.

    Raises:
        InputError: ``config.yaml`` is missing or not a valid run config.
    """
    run = RunDir(path)
    path = run.path
    try:
        config = load_config(StreamRunConfig, run.config)
    except (OSError, ConfigError) as err:
        raise InputError(f"{run.config}: cannot read run config ({err})") from None
    done, unfinished = [], []
    for udir in sorted(p for p in run.users_root.iterdir() if p.is_dir()):
        if UserDir(udir).is_done and run.baseline(udir.name).is_done:
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


def read_log(path: Path, prefix: str = "predictions", *, require_done: bool = True) -> pa.Table | None:
    """The ``prefix`` log (``predictions``, ``past``, ``future``) of a result directory (``None`` if
    unfinished or absent)."""
    udir = UserDir(path)
    if require_done and not udir.is_done:
        return None
    return udir.read_log(prefix)
