"""Lazy access to PyAV (``av``), the only codec library of ego_cl.

``av`` loads FFmpeg's shared libraries, so it is imported on first use rather than when
``ego_cl.data`` is imported: metadata-only work (loading annotations, building splits, planning
the synthetic dataset) and processes that never decode stay light. The import-layer contract
"only data touches av" checks direct imports: ``runners`` may reach ``av`` through ``data``.
"""

from __future__ import annotations

import functools
from types import ModuleType

__all__ = ["av"]


@functools.cache
def av() -> ModuleType:
    """The ``av`` module (imported once, on first call)."""
    import av as _av  # deliberately lazy: loads FFmpeg

    return _av
