"""Grid search: ``python -m ego_cl.runners.stream [overrides] --grid a.b=1,2 c.d=x,y``.

One stream run per combination of the grid values, all in one pool (a frozen baseline shared by
the combinations runs once). The runs live under one grid directory::

    <run.out_dir>/<run.experiment>/<timestamp>_<slug of overrides + grid>/
        GRID_learner.lr=0.01,learner.momentum=0/     a normal run directory
        GRID_learner.lr=0.01,learner.momentum=0.9/
        ...

Each combination directory is named from its sorted overrides (filesystem-safe, like the
original's ``GRID_...`` names). Resumable: ``--resume GRID_DIR --grid ...`` (or the same
``run.timestamp``) continues every unfinished combination. ``python -m ego_cl.runners.report
GRID_DIR`` makes one comparison table with the best setting marked.
"""

from __future__ import annotations

import functools
import itertools
import math
import shutil
from collections.abc import Sequence
from pathlib import Path

import attrs
import structlog

from ego_cl.runners.config import (
    ConfigError,
    StreamRunConfig,
    config_differences,
    converter,
    dump_yaml,
    load_config,
)
from ego_cl.runners.engine.dispatch import start_workers_early
from ego_cl.runners.engine.job import run_user_job
from ego_cl.runners.engine.plan import config_text, plan_run
from ego_cl.runners.engine.preflight import check_before_run, check_devices
from ego_cl.runners.engine.progress import Progress
from ego_cl.runners.engine.run import UserTarget, run_plans
from ego_cl.runners.engine.stopping import resumable, resume_command
from ego_cl.runners.engine.summary import HEADLINE
from ego_cl.runners.engine.threads import pin_threads
from ego_cl.runners.files import atomic_write_text
from ego_cl.runners.inputs import DefaultCheckpoint, resolve_inputs
from ego_cl.runners.provenance import resolve_timestamp
from ego_cl.runners.results import RunDir, override_slug, run_dir_name

__all__ = [
    "grid_combinations",
    "grid_dir_name",
    "grid_hparams",
    "grid_parent",
    "parse_grid",
    "prepare_grid",
    "prepare_grid_configs",
    "run_grid",
    "write_hparams",
]

log = structlog.get_logger(__name__)

MAX_NAME = 120


def _split_values(text: str) -> list[str]:
    """Split ``a,b,[c,d]`` at top-level commas (brackets and braces keep their commas).

    Example:
        >>> _split_values("0.1,[cpu,cuda:0],{a: 1, b: 2}")
        ['0.1', '[cpu,cuda:0]', '{a: 1, b: 2}']
    """
    parts, depth, current = [], 0, []
    for ch in text:
        depth += ch in "[{"
        depth -= ch in "]}"
        if ch == "," and depth == 0:
            parts.append("".join(current))
            current = []
        else:
            current.append(ch)
    parts.append("".join(current))
    return [p.strip() for p in parts]


def parse_grid(items: Sequence[str]) -> dict[str, list[str]]:
    """``["a.b=1,2", "c=x"]`` -> ``{"a.b": ["1", "2"], "c": ["x"]}`` (values kept as text).

    Raises:
        ConfigError: An item without ``=``, an empty value, a repeated key or value.

    Example:
        >>> parse_grid(["learner.lr=0.1,0.01", "learner.momentum=0,0.9"])
        {'learner.lr': ['0.1', '0.01'], 'learner.momentum': ['0', '0.9']}
    """
    grid: dict[str, list[str]] = {}
    problems = []
    for item in items:
        key, sep, text = item.partition("=")
        values = _split_values(text) if sep else []
        if not sep or not key or any(not v for v in values):
            problems.append(f"--grid {item!r}: expected dotted.key=value1,value2,...")
        elif key in grid:
            problems.append(f"--grid {key}: given twice")
        elif len(set(values)) != len(values):
            problems.append(f"--grid {key}: repeated value in {values}")
        else:
            grid[key] = values
    if problems:
        raise ConfigError(problems)
    return grid


def grid_combinations(grid: dict[str, list[str]]) -> list[list[str]]:
    """Every combination as sorted ``key=value`` overrides (keys sorted, values in given order).

    Example:
        >>> grid_combinations({"b": ["1", "2"], "a": ["x"]})
        [['a=x', 'b=1'], ['a=x', 'b=2']]
    """
    keys = sorted(grid)
    return [
        [f"{k}={v}" for k, v in zip(keys, values)] for values in itertools.product(*(grid[k] for k in keys))
    ]


def grid_dir_name(overrides: Sequence[str]) -> str:
    """Directory of one combination: ``GRID_`` + its sorted overrides, filesystem-safe; never a
    value cut in the middle: long values and items past the length budget become a short hash
    (:func:`~ego_cl.runners.names.override_slug`), so names stay unique.

    Example:
        >>> grid_dir_name(["learner.momentum=0.9", "learner.lr=0.1"])
        'GRID_learner.lr=0.1,learner.momentum=0.9'
        >>> grid_dir_name(["stream.overlap=first action"])
        'GRID_stream.overlap=first_action'
    """
    return "GRID_" + override_slug(sorted(overrides), max_len=MAX_NAME - len("GRID_"))


def grid_parent(cfg: StreamRunConfig, overrides: Sequence[str], grid_items: Sequence[str]) -> Path:
    """``<out_dir>/<experiment>/<timestamp>_<slug of the overrides and the grid>``."""
    slug_items = [*overrides, *(f"grid:{item}" for item in grid_items)]
    return Path(cfg.run.out_dir) / cfg.run.experiment / run_dir_name(cfg.run.timestamp, slug_items)


def prepare_grid(
    config: str | Path | None,
    overrides: Sequence[str],
    grid_items: Sequence[str],
    *,
    resume: str | Path | None = None,
) -> tuple[Path, list[tuple[Path, StreamRunConfig]]]:
    """Create (or reopen) the grid directory and one run directory per combination.

    A combination whose directory already holds ``config.yaml`` is reopened with that config
    (resume); the grid's own config must then agree with it.

    Raises:
        ConfigError: A bad grid item, or a combination whose config does not load.
    """
    grid = parse_grid(grid_items)
    base = load_config(StreamRunConfig, config, overrides)
    if resume is None:  # one run.timestamp for the grid, written into every combination's config
        base = resolve_timestamp(base)
        parent = grid_parent(base, overrides, grid_items)
    else:
        parent = Path(resume)
        base = resolve_timestamp(base, _saved_timestamp(parent))
    combos = [(c, load_config(StreamRunConfig, config, [*overrides, *c])) for c in grid_combinations(grid)]
    for _, cfg in combos:  # before anything is written (devices, out_dir, copy_final_to)
        if resume is None:
            check_before_run(cfg)
        else:
            check_devices(cfg.pool)
    runs = []
    for combo, cfg in combos:
        run_dir = parent / grid_dir_name(combo)
        run = RunDir(run_dir)
        cfg = resolve_timestamp(cfg, base.run.timestamp)
        if run.config.is_file():
            saved = load_config(StreamRunConfig, run.config)
            cfg = attrs.evolve(cfg, run=attrs.evolve(cfg.run, timestamp=saved.run.timestamp))
            cfg = pin_threads(cfg, like=saved)  # the thread count it ran with
            if dump_yaml(saved) != dump_yaml(cfg):
                was, now = converter.unstructure(saved), converter.unstructure(cfg)
                changed = "; ".join(config_differences(was, now))
                raise ConfigError([f"{run_dir}: its config.yaml differs from this grid's {combo}: {changed}"])
        else:
            cfg = pin_threads(cfg)  # recorded: --resume uses it on any machine
            atomic_write_text(run.config, config_text(cfg))
        runs.append((run_dir, cfg))
    atomic_write_text(
        parent / "grid.txt", "\n".join([*overrides, *(f"--grid {g}" for g in grid_items)]) + "\n"
    )
    log.info("grid_prepared", grid_dir=str(parent), n_runs=len(runs), slug=override_slug(grid_items))
    return parent, runs


def grid_hparams(cfg: StreamRunConfig, combo: Sequence[str]) -> dict[str, bool | int | float | str]:
    """The grid's keys of one combination with their values in ``cfg`` (TensorBoard hparams:
    numbers stay numbers; lists and other values become text).

    Example:
        >>> from ego_cl.runners.config import load_config
        >>> grid_hparams(load_config(StreamRunConfig, overrides=["learner.lr=1e-3"]), ["learner.lr=1e-3"])
        {'learner.lr': 0.001}
    """
    raw = converter.unstructure(cfg)
    out: dict[str, bool | int | float | str] = {}
    for item in combo:
        key = item.partition("=")[0]
        value = functools.reduce(lambda node, part: node[part], key.split("."), raw)
        out[key] = value if isinstance(value, bool | int | float | str) else str(value)
    return out


def write_hparams(
    runs: Sequence[tuple[Path, StreamRunConfig]], combos: Sequence[Sequence[str]], summaries: Sequence[dict]
) -> None:
    """TensorBoard hparams of each grid run (its grid values, headline OAG) in ``tb/_hparams``;
    rewritten (not appended) when a grid is resumed."""
    for (run_dir, cfg), combo, summary in zip(runs, combos, summaries, strict=True):
        if not cfg.run.tensorboard:
            continue
        from torch.utils.tensorboard import SummaryWriter  # heavy (tensorboard); only when used

        folder = RunDir(run_dir).tb_hparams
        shutil.rmtree(folder, ignore_errors=True)
        metrics = {f"hparam/{name}": summary["oag"].get(name, {}).get("mean", math.nan) for name in HEADLINE}
        with SummaryWriter(str(folder)) as writer:
            writer.add_hparams(grid_hparams(cfg, combo), metrics, run_name=".")


def _saved_timestamp(parent: Path) -> str | None:
    """The ``run.timestamp`` in the configs of an existing grid (``None`` if none records one)."""
    for path in sorted(parent.glob("GRID_*/config.yaml")):
        stamp = load_config(StreamRunConfig, path).run.timestamp
        if stamp is not None:
            return stamp
    return None


def run_grid(
    config: str | Path | None,
    overrides: Sequence[str],
    grid_items: Sequence[str],
    *,
    resume: str | Path | None = None,
    target: UserTarget | None = None,
    default_checkpoint: DefaultCheckpoint | None = None,
) -> tuple[Path, list[dict]]:
    """Run (or resume) every combination in one pool; returns the grid directory and summaries.

    ``default_checkpoint`` supplies the checkpoint of combinations without ``model.checkpoint``.
    """
    parent, runs = prepare_grid(config, overrides, grid_items, resume=resume)
    start_workers_early(runs[0][1].pool, target or run_user_job)  # imports while the runs plan
    with structlog.contextvars.bound_contextvars(log_to=(str(parent),)):  # the grid's own events
        log.info("grid_started", grid_dir=str(parent), n_runs=len(runs), grid=list(grid_items))
        plans = []
        for run_dir, cfg in runs:
            with structlog.contextvars.bound_contextvars(log_to=(str(run_dir),)):
                plans.append(
                    plan_run(cfg, resolve_inputs(cfg, default_checkpoint=default_checkpoint), run_dir)
                )
        n_jobs = len({job.key for plan in plans for job in plan.jobs})
        base = runs[0][1]
        resume_words = (["--config", str(config)] if config else []) + list(overrides)
        grid_words = ["--grid", *grid_items]
        with resumable(resume_command(parent, resume_words, grid_words)):
            summaries = run_plans(
                plans, base, progress=Progress(total=n_jobs), target=target, log_file=parent / "log.jsonl"
            )
    combos = grid_combinations(parse_grid(grid_items))
    write_hparams(runs, combos, summaries)
    for summary, combo in zip(summaries, combos, strict=True):  # console rows named by their values
        summary["label"] = f"{summary['learner']} [{','.join(combo)}]"
    return parent, summaries


def prepare_grid_configs(
    config: str | Path | None, overrides: Sequence[str], grid_items: Sequence[str]
) -> list[tuple[list[str], StreamRunConfig]]:
    """Every combination's overrides and config, without writing anything (``--print-config``)."""
    return [
        (combo, load_config(StreamRunConfig, config, [*overrides, *combo]))
        for combo in grid_combinations(parse_grid(grid_items))
    ]
