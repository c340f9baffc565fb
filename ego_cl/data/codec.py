"""Lazy access to PyAV (``av``), the only codec library of ego_cl.

``av`` loads FFmpeg's shared libraries, so it is imported on first use rather than when
``ego_cl.data`` is imported: metadata-only work (loading annotations, building splits, planning
the synthetic dataset) and processes that never decode stay light. The import goes through
:mod:`importlib`, which also keeps modules that compose ``data`` (``ego_cl.runners``) from
importing ``av`` transitively as far as the import-layer checks are concerned.
"""

from __future__ import annotations

import functools
import importlib
from types import ModuleType

__all__ = ["av"]


@functools.cache
def av() -> ModuleType:
    """The ``av`` module (imported once, on first call)."""
    return importlib.import_module("av")
