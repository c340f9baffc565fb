"""Hand-made run directories (the stream runner's layout) with prediction logs, for report tests."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pyarrow as pa
import torch
import yaml

from ego_cl.metrics.prediction_log import prediction_log_columns, prediction_log_table
from ego_cl.runners.results import UserDir
from ego_cl.types import Prediction, Target

N_VERBS, N_NOUNS = 4, 5


def make_log(
    labels: Sequence[tuple[int, int]], *, accuracy: float, seed: int, batch_size: int = 2, k: int = 5
) -> pa.Table:
    """A prediction log of a stream with these primary labels; each sample is predicted
    correctly with probability ``accuracy`` (seeded), else a wrong class wins."""
    rng = np.random.default_rng(seed)
    columns: dict[str, list] = {}
    for step, start in enumerate(range(0, len(labels), batch_size)):
        chunk = labels[start : start + batch_size]
        verb_logits = torch.as_tensor(rng.normal(size=(len(chunk), N_VERBS)), dtype=torch.float32)
        noun_logits = torch.as_tensor(rng.normal(size=(len(chunk), N_NOUNS)), dtype=torch.float32)
        for i, (verb, noun) in enumerate(chunk):
            hit = rng.random() < accuracy
            verb_logits[i, verb if hit else (verb + 1) % N_VERBS] += 10
            noun_logits[i, noun if hit else (noun + 1) % N_NOUNS] += 10
        pred = Prediction(
            indices=torch.arange(start, start + len(chunk)), verb_logits=verb_logits, noun_logits=noun_logits
        )
        cols = prediction_log_columns(pred, Target.from_label_sets([[lab] for lab in chunk]), step=step, k=k)
        for name, values in cols.items():
            columns.setdefault(name, []).extend(values)
    return prediction_log_table(columns)


def stream_labels(n: int, seed: int) -> list[tuple[int, int]]:
    """Labels with runs of repeats (so decorrelated and correlated subsets are both non-empty)."""
    rng = np.random.default_rng(seed)
    out, current = [], (0, 0)
    for _ in range(n):
        if rng.random() < 0.5:
            current = (int(rng.integers(N_VERBS)), int(rng.integers(N_NOUNS)))
        out.append(current)
    return out


def write_user(path: Path, table: pa.Table, *, done: bool = True, prefix: str = "predictions") -> None:
    """Write ``table`` as two Parquet parts (split at the middle step) and ``DONE``."""
    udir = UserDir(path)
    steps = table.column("step").to_numpy()
    middle = int(steps.max() // 2 + 1) if len(steps) else 0
    for first, end in ((0, middle), (middle, int(steps.max()) + 1 if len(steps) else 0)):
        rows = table.filter(pa.array((steps >= first) & (steps < end)))
        if rows.num_rows:
            udir.write_part(rows.to_pydict(), first, end, prefix=prefix)
    if done:
        udir.mark_done()


def make_run(
    root: Path,
    name: str,
    *,
    users: Sequence[str] = ("u1", "u2", "u3"),
    accuracy: float = 0.7,
    baseline_accuracy: float = 0.3,
    n_samples: int = 12,
    learner: dict | None = None,
    past: bool = False,
) -> Path:
    """A finished run directory with method and baseline logs for ``users``."""
    run_dir = root / name
    (run_dir / "users").mkdir(parents=True)
    config = {"learner": learner or {"kind": "finetune", "lr": 0.01}, "metrics": {"top_k": 5}, "stream": {}}
    (run_dir / "config.yaml").write_text(yaml.safe_dump(config))
    for j, uid in enumerate(users):
        labels = stream_labels(n_samples + j, seed=j)
        if past:
            past_log = make_past_log(labels, accuracy=accuracy / 2, seed=300 + j)
            write_user(run_dir / "users" / uid, past_log, done=False, prefix="past")
        write_user(run_dir / "users" / uid, make_log(labels, accuracy=accuracy, seed=100 + j))
        write_user(run_dir / "baseline" / uid, make_log(labels, accuracy=baseline_accuracy, seed=200 + j))
    return run_dir


def make_past_log(
    labels: Sequence[tuple[int, int]], *, batch_size: int = 2, window: int = 4, accuracy: float, seed: int
) -> pa.Table:
    """A past-window log: after learning step ``t``, the last ``window`` seen samples scored."""
    columns: dict[str, list] = {}
    n_steps = -(-len(labels) // batch_size)
    for step in range(n_steps - 1):
        end = (step + 1) * batch_size
        seen = list(range(max(0, end - window), end))
        table = make_log([labels[i] for i in seen], accuracy=accuracy, seed=seed + step, batch_size=len(seen))
        cols = table.to_pydict()
        cols["step"], cols["index"] = [step] * len(seen), seen
        for name, values in cols.items():
            columns.setdefault(name, []).extend(values)
    return prediction_log_table(columns)
