"""The run directory: atomic writes, Parquet log parts, checkpoints, DONE markers.

Layout (DESIGN §6)::

    <out_dir>/<experiment>/<timestamp>_<override-slug>/
      config.yaml                 resolved config
      users/<user_id>/            one directory per user, written by exactly one process
        predictions-<first>-<end>.parquet   prediction-log parts (zstd), steps [first, end)
        past-<first>-<end>.parquet          past-window evaluation parts (if enabled)
        checkpoint/state.pt       latest resumable state (learner, metrics, RNG, position)
        metrics.json              final online metric values
        learner.pt                final learner state
        FAILED.json               error + traceback of a failed attempt (removed on success)
        DONE                      written last
      baseline/<user_id>/...      the same for the frozen pretrained model
      tb/<user_id>/               TensorBoard event files
      log.jsonl                   structured log of the run

Every file is written to a temporary name in the same directory and published with
``os.replace``, so a reader (or a resumed run) never sees a half-written file.
"""

from __future__ import annotations

import io
import json
import os
import re
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import torch

__all__ = [
    "UserDir",
    "atomic_write_bytes",
    "atomic_write_text",
    "override_slug",
    "run_dir_name",
    "safe_name",
]

_PART = re.compile(r"^(?P<prefix>[a-z]+)-(?P<first>\d{6,})-(?P<end>\d{6,})\.parquet$")


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` via a temporary file and ``os.replace`` (never half-written)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    with tmp.open("wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def atomic_write_text(path: Path, text: str) -> None:
    """Text version of :func:`atomic_write_bytes` (UTF-8)."""
    atomic_write_bytes(path, text.encode())


def safe_name(text: str) -> str:
    """A file-system-safe version of a user id or slug.

    Example:
        >>> safe_name("a/b c")
        'a_b_c'
    """
    return re.sub(r"[^A-Za-z0-9._=,+-]", "_", text) or "_"


def override_slug(overrides: Sequence[str], max_len: int = 80) -> str:
    """The run-directory suffix naming the overrides (``defaults`` when there are none).

    Example:
        >>> override_slug(["learner.kind=replay", "learner.lr=0.1"])
        'learner.kind=replay,learner.lr=0.1'
        >>> override_slug([])
        'defaults'
    """
    slug = safe_name(",".join(overrides)) if overrides else "defaults"
    return slug[:max_len]


def run_dir_name(timestamp: str | None, overrides: Sequence[str]) -> str:
    """``<timestamp>_<override-slug>``; ``timestamp=None`` means now (local time)."""
    stamp = timestamp or time.strftime("%Y-%m-%d_%H-%M-%S")
    return f"{safe_name(stamp)}_{override_slug(overrides)}"


class UserDir:
    """One user's result directory (``users/<uid>`` or ``baseline/<uid>``).

    Args:
        path: The directory (created on first write).
    """

    def __init__(self, path: Path):
        self.path = Path(path)

    def __repr__(self) -> str:
        return f"UserDir({str(self.path)!r})"

    @property
    def is_done(self) -> bool:
        """Whether the user finished (``DONE`` exists)."""
        return (self.path / "DONE").exists()

    def mark_done(self) -> None:
        """Publish ``DONE`` (call after every other file of the user is written)."""
        (self.path / "FAILED.json").unlink(missing_ok=True)
        atomic_write_text(self.path / "DONE", "")

    # ---- prediction-log parts -------------------------------------------------------------
    def write_part(
        self,
        columns: Mapping[str, Sequence[Any]],
        first_step: int,
        end_step: int,
        prefix: str = "predictions",
    ) -> Path:
        """Write log rows of steps ``[first_step, end_step)`` as one zstd Parquet part."""
        sink = io.BytesIO()
        pq.write_table(pa.table(dict(columns)), sink, compression="zstd")
        path = self.path / f"{prefix}-{first_step:06d}-{end_step:06d}.parquet"
        atomic_write_bytes(path, sink.getvalue())
        return path

    def parts(self, prefix: str = "predictions") -> list[Path]:
        """Published parts of ``prefix``, in step order."""
        found = []
        for path in self.path.glob(f"{prefix}-*.parquet"):
            match = _PART.match(path.name)
            if match and match["prefix"] == prefix:
                found.append((int(match["first"]), path))
        return [p for _, p in sorted(found)]

    def read_log(self, prefix: str = "predictions") -> pa.Table | None:
        """All parts of ``prefix`` concatenated in step order (``None`` if there are none)."""
        tables = [pq.read_table(p) for p in self.parts(prefix)]
        return pa.concat_tables(tables) if tables else None

    def drop_parts_from(self, step: int) -> None:
        """Delete parts that start at or after ``step`` (written after the last checkpoint)."""
        for path in self.path.glob("*.parquet"):
            match = _PART.match(path.name)
            if match and int(match["first"]) >= step:
                path.unlink()

    # ---- checkpoints and final state ------------------------------------------------------
    def save_checkpoint(self, state: Mapping[str, Any]) -> None:
        """Atomically replace ``checkpoint/state.pt``."""
        atomic_write_bytes(self.path / "checkpoint" / "state.pt", _torch_bytes(state))

    def load_checkpoint(self) -> dict[str, Any] | None:
        """The last checkpoint (``weights_only`` load), or ``None`` when there is none."""
        path = self.path / "checkpoint" / "state.pt"
        if not path.exists():
            return None
        return torch.load(path, map_location="cpu", weights_only=True)

    def save_learner(self, state: Mapping[str, Any]) -> None:
        """Write the final learner state to ``learner.pt``."""
        atomic_write_bytes(self.path / "learner.pt", _torch_bytes(state))

    def write_json(self, name: str, obj: Any) -> None:
        """Atomically write ``obj`` as pretty JSON to ``name``."""
        atomic_write_text(self.path / name, json.dumps(obj, indent=2, sort_keys=True, default=str) + "\n")

    def read_json(self, name: str) -> Any:
        """Read a JSON file of this directory."""
        return json.loads((self.path / name).read_text())

    def record_failure(self, record: Mapping[str, Any]) -> None:
        """Write ``FAILED.json`` (error, traceback, exit code) for a failed attempt."""
        self.write_json("FAILED.json", dict(record))


def _torch_bytes(state: Mapping[str, Any]) -> bytes:
    sink = io.BytesIO()
    torch.save(dict(state), sink)
    return sink.getvalue()
