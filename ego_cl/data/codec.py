"""Lazy access to PyAV (``av``), the only codec library of ego_cl.

``av`` loads FFmpeg's shared libraries, so it is imported on first use rather than when
``ego_cl.data`` is imported: metadata-only work (loading annotations, building splits, planning
the synthetic dataset) and processes that never decode stay light. The import-layer contract
"only data touches av" checks direct imports: ``runners`` may reach ``av`` through ``data``.
"""

from __future__ import annotations

import functools
from types import ModuleType

__all__ = ["av", "scaler_threads"]


@functools.cache
def av() -> ModuleType:
    """The ``av`` module (imported once, on first call)."""
    import av as _av  # deliberately lazy: loads FFmpeg

    return _av


@functools.cache
def _scaler_has_threads() -> bool:
    return int(av().__version__.split(".")[0]) >= 17


def scaler_threads(threads: int) -> dict[str, int]:
    """Keyword arguments that give swscale ``threads`` threads in ``reformat``/``to_ndarray``.

    PyAV >= 17 scales with a thread pool of one thread per CPU by default, created anew for every
    converted frame. Beside a busy core (a decode worker next to the learner) each frame then
    waits for a thread that has no core: measured here, one slow clip of ~25 ms per batch and
    the decode worker idle 40% of the time, for pixels identical to one thread's. ``0`` keeps
    PyAV's automatic choice; older PyAV scales with one thread and takes no such argument
    (empty dict).
    """
    return {"threads": threads} if _scaler_has_threads() and threads > 0 else {}
