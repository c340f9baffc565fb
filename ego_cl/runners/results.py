"""The run directory: its layout (:class:`RunDir`, the one place it is spelled out) and one
user's result directory (:class:`UserDir`: Parquet log parts, checkpoints, DONE markers).

Layout (DESIGN §6)::

    <out_dir>/<experiment>/<timestamp>_<override-slug>/
      config.yaml                 resolved config
      users/<user_id>/            one directory per user, written by exactly one process
        predictions-<first>-<end>.parquet   prediction-log parts (zstd), steps [first, end)
        past-<first>-<end>.parquet          past-window evaluation parts (if enabled)
        checkpoint/state.pt       latest resumable state (learner, metrics, RNG, position)
        checkpoint/state.prev.pt  the one before (kept until the next is complete; fallback)
        metrics.json              final online metric values
        learner.pt                final learner state
        FAILED.json               error + traceback of a failed attempt (removed on success)
        worker-stderr.log         the worker's stderr while it ran this user (kept if not empty)
        .lock                     held (POSIX lock, with the pid) by the process writing the user
                                  (removed once DONE)
        DONE                      written last
      baseline/<user_id>/...      the same for the frozen pretrained model
      hindsight/<model>/<stream>/ final models over whole streams (``<model>``: user or ``_pretrained``)
      tb/<user_id>/               TensorBoard event files
      slurm/                      submitit logs (``pool.backend=slurm``)
      summary.json, summary.csv   the run summary
      report/                     tables and plots of ``python -m ego_cl.runners.report``
      log.jsonl                   structured log of the run

Every file is written through :mod:`ego_cl.runners.files` (temporary name, ``os.replace``), so a
reader (or a resumed run) never sees a half-written file.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
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
import structlog

from ego_cl.runners.checkpoint_io import read_checkpoint, write_checkpoint
from ego_cl.runners.files import atomic_write_bytes, atomic_write_text, remove_stale_temporaries
from ego_cl.runners.names import override_slug, run_dir_name, safe_name
from ego_cl.types import InputError

__all__ = [
    "PRETRAINED",
    "RunDir",
    "UserDir",
    "UserDirBusyError",
    "override_slug",
    "run_dir_name",
    "safe_name",
]

log = structlog.get_logger(__name__)

PRETRAINED = "_pretrained"
"""Model id of the pretrained population model in ``hindsight/<model>/<stream>/``."""

_PART = re.compile(r"^(?P<prefix>[a-z]+)-(?P<first>\d{6,})-(?P<end>\d{6,})\.parquet$")


class RunDir:
    """The layout of one stream run directory (every path below it is named here).

    Args:
        path: The run directory.
    """

    def __init__(self, path: str | Path):
        self.path = Path(path)

    def __repr__(self) -> str:
        return f"RunDir({str(self.path)!r})"

    @property
    def config(self) -> Path:
        """``config.yaml``: the resolved config (input paths pinned)."""
        return self.path / "config.yaml"

    @property
    def log_file(self) -> Path:
        """``log.jsonl``: the structured log."""
        return self.path / "log.jsonl"

    @property
    def summary_json(self) -> Path:
        """``summary.json``: OAG per user and mean ± SE."""
        return self.path / "summary.json"

    @property
    def summary_csv(self) -> Path:
        """``summary.csv``: per-user gains."""
        return self.path / "summary.csv"

    @property
    def slurm(self) -> Path:
        """submitit's folder of the run's job arrays."""
        return self.path / "slurm"

    @property
    def slurm_hindsight(self) -> Path:
        """submitit's folder of the hindsight pass."""
        return self.slurm / "hindsight"

    @property
    def report(self) -> Path:
        """The default report directory."""
        return self.path / "report"

    @property
    def users_root(self) -> Path:
        """``users/``: one result directory per user of the configured learner."""
        return self.path / "users"

    @property
    def baseline_root(self) -> Path:
        """``baseline/``: links to the cached frozen-baseline result directories."""
        return self.path / "baseline"

    @property
    def hindsight_root(self) -> Path:
        """``hindsight/``: the hindsight pass results."""
        return self.path / "hindsight"

    @property
    def is_run(self) -> bool:
        """Whether this looks like a stream run directory (``config.yaml`` and ``users/``)."""
        return self.config.is_file() and self.users_root.is_dir()

    def user(self, user_id: str) -> UserDir:
        """The learner's result directory of ``user_id``."""
        return UserDir(self.users_root / safe_name(user_id))

    def baseline(self, user_id: str) -> UserDir:
        """The frozen baseline's result directory of ``user_id`` (a link into the cache)."""
        return UserDir(self.baseline_root / safe_name(user_id))

    def hindsight(self, model: str, stream: str) -> UserDir:
        """The pass of ``model``'s final state (or :data:`PRETRAINED`) over ``stream``'s stream."""
        return UserDir(self.hindsight_root / safe_name(model) / safe_name(stream))

    def learner_state(self, user_id: str) -> Path:
        """``users/<uid>/learner.pt``: the final learner state of ``user_id``."""
        return self.user(user_id).path / "learner.pt"

    def tb(self, user_id: str) -> Path:
        """``tb/<uid>/``: TensorBoard event files of ``user_id``."""
        return self.path / "tb" / safe_name(user_id)

    def baseline_tb(self, user_id: str) -> Path:
        """``tb/<uid>/baseline``: a link to the cached frozen baseline's TensorBoard files, so
        its curves overlay the method's (same tags, runs ``<uid>`` and ``<uid>/baseline``)."""
        return self.tb(user_id) / "baseline"

    @property
    def tb_hparams(self) -> Path:
        """``tb/_hparams/``: the run's hyperparameters and headline OAG (grid runs)."""
        return self.path / "tb" / "_hparams"


class UserDirBusyError(InputError):
    """Another live process (e.g. an orphan of a killed run) is writing this user directory."""


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
    def tb(self) -> Path:
        """``tb/``: TensorBoard event files written with this directory (cached baselines)."""
        return self.path / "tb"

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
        # parts written before a column was added (a run resumed across versions) get nulls there
        return pa.concat_tables(tables, promote_options="default") if tables else None

    def drop_parts_from(self, step: int) -> None:
        """Delete parts that start at or after ``step`` (written after the last checkpoint)."""
        for path in self.path.glob("*.parquet"):
            match = _PART.match(path.name)
            if match and int(match["first"]) >= step:
                path.unlink()

    # ---- the writer's lock ----------------------------------------------------------------
    @property
    def stderr_log(self) -> Path:
        """``worker-stderr.log``: a pool worker's stderr while it ran this user."""
        return self.path / "worker-stderr.log"

    @contextlib.contextmanager
    def writing(self, wait_s: float = 30.0, poll_s: float = 0.2):
        """Hold this directory's lock while writing it; clean temporaries a killed writer left.

        The lock is a POSIX record lock on ``.lock`` (holding the pid): the kernel drops it when
        the holding process dies, and decode workers forked by the holder do not inherit it. A
        live holder (an orphan of a killed run still finishing its user) is waited for up to
        ``wait_s`` seconds (orphans exit within about a second of their parent's death).

        Raises:
            UserDirBusyError: Another process still holds the lock after ``wait_s``.
        """
        self.path.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path / ".lock", os.O_RDWR | os.O_CREAT, 0o644)
        try:
            started = time.monotonic()
            deadline = started + wait_s
            while not _try_lock(fd):
                if time.monotonic() >= deadline:
                    holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "?"
                    raise UserDirBusyError(
                        f"{self.path}: being written by process {holder} (a run that is still "
                        "going, or its orphan); stop it, or wait and --resume again"
                    )
                time.sleep(poll_s)
            if time.monotonic() - started > poll_s:
                log.info("user_dir_waited", path=str(self.path), seconds=round(time.monotonic() - started, 2))
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
            for tmp in remove_stale_temporaries(self.path):
                log.info("stale_temporary_removed", path=str(tmp))
            yield self
        finally:
            if self.is_done:  # later writers see DONE before they look for the lock
                (self.path / ".lock").unlink(missing_ok=True)
            os.close(fd)  # releases the lock

    # ---- checkpoints and final state ------------------------------------------------------
    def _checkpoints(self) -> tuple[Path, Path, Path]:
        """``state.pt``, the complete next one not yet renamed, the previous one."""
        folder = self.path / "checkpoint"
        return folder / "state.pt", folder / "state.next.pt", folder / "state.prev.pt"

    def save_checkpoint(self, state: Mapping[str, Any]) -> None:
        """Replace ``checkpoint/state.pt``, keeping the previous one until the new one is whole.

        The new state is written completely (``state.next.pt``, fsynced) before ``state.pt``
        becomes ``state.prev.pt`` and the new file becomes ``state.pt``; at every instant a
        complete checkpoint exists under one of the three names.
        """
        current, upcoming, previous = self._checkpoints()
        write_checkpoint(upcoming, state)
        if current.exists():
            os.replace(current, previous)
        os.replace(upcoming, current)

    @property
    def has_checkpoint(self) -> bool:
        """Whether a checkpoint file exists (readable or not: :meth:`load_checkpoint` decides)."""
        return any(path.exists() for path in self._checkpoints())

    def load_checkpoint(self) -> dict[str, Any] | None:
        """The last good checkpoint (``weights_only`` load), or ``None`` when there is none.

        A damaged file (truncated, checksum mismatch) is named in a warning and the next
        candidate is tried (``state.pt``, then ``state.next.pt``, then ``state.prev.pt``); when
        none is readable the user starts over (``None``).
        """
        for path in self._checkpoints():
            if not path.exists():
                continue
            try:
                return read_checkpoint(path)
            except InputError as exc:
                log.warning("checkpoint_damaged", path=str(path), error=str(exc))
        return None

    def save_learner(self, state: Mapping[str, Any]) -> None:
        """Write the final learner state to ``learner.pt``."""
        write_checkpoint(self.path / "learner.pt", state)

    def write_json(self, name: str, obj: Any) -> None:
        """Atomically write ``obj`` as pretty JSON to ``name``."""
        atomic_write_text(self.path / name, json.dumps(obj, indent=2, sort_keys=True, default=str) + "\n")

    def read_json(self, name: str) -> Any:
        """Read a JSON file of this directory."""
        return json.loads((self.path / name).read_text())

    def record_failure(self, record: Mapping[str, Any]) -> None:
        """Write ``FAILED.json`` (error, traceback, exit code) for a failed attempt.

        Never raises for a full disk (the failure is then only logged): the run goes on.
        """
        try:
            self.write_json("FAILED.json", dict(record))
        except OSError as exc:
            log.error("failure_not_recorded", path=str(self.path / "FAILED.json"), error=str(exc))


def _try_lock(fd: int) -> bool:
    try:
        fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as exc:
        if exc.errno in (errno.EACCES, errno.EAGAIN):
            return False
        raise
    return True
