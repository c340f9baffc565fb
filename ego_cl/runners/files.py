"""Atomic file writes: every file the runners publish is written whole or not at all.

A file is written to a temporary name in the same directory, flushed, fsynced and published
with ``os.replace``, so a reader (or a resumed run) never sees a half-written file. On any error
the temporary file is removed (nothing ``.tmp-PID`` is left behind) and the old file, if any,
stays as it was; a full disk (or a file-size limit, or a quota) raises :class:`NoSpaceError`,
whose message is one line naming the file.
"""

from __future__ import annotations

import errno
import os
from pathlib import Path

__all__ = [
    "NoSpaceError",
    "atomic_write_bytes",
    "atomic_write_text",
    "is_no_space",
    "remove_stale_temporaries",
]

_NO_SPACE = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG}
"""Errors that mean "this file does not fit": full disk, quota, file-size limit (``RLIMIT_FSIZE``)."""

TMP_MARK = ".tmp-"
"""Temporary files are named ``.<name>.tmp-<pid>``."""


class NoSpaceError(OSError):
    """A file could not be written because the disk (or quota, or file-size limit) is full."""

    def __init__(self, path: Path, cause: OSError):
        super().__init__(cause.errno, f"{path}: no space left ({cause.strerror or cause})")
        self.path = path

    def __str__(self) -> str:
        return str(self.args[1])


def is_no_space(exc: BaseException) -> bool:
    """Whether ``exc`` is an ``OSError`` meaning the disk, quota or file-size limit is full."""
    return isinstance(exc, OSError) and exc.errno in _NO_SPACE


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` via a temporary file and ``os.replace`` (never half-written).

    Raises:
        NoSpaceError: The disk is full (the old ``path`` is kept, no temporary file is left).
        OSError: Any other write error (same guarantees).
    """
    path = Path(path)
    tmp = path.with_name(f".{path.name}{TMP_MARK}{os.getpid()}")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with tmp.open("wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException as exc:
        tmp.unlink(missing_ok=True)
        if is_no_space(exc):
            raise NoSpaceError(path, exc) from None
        raise


def atomic_write_text(path: Path, text: str) -> None:
    """Text version of :func:`atomic_write_bytes` (UTF-8)."""
    atomic_write_bytes(path, text.encode())


def remove_stale_temporaries(directory: Path) -> list[Path]:
    """Delete temporary files a killed writer left in ``directory`` (and its subdirectories).

    Call only while no other process writes there (e.g. holding the user directory's lock).
    """
    removed = []
    if directory.is_dir():
        for tmp in directory.rglob(f".*{TMP_MARK}*"):
            if tmp.is_file():
                tmp.unlink(missing_ok=True)
                removed.append(tmp)
    return removed
