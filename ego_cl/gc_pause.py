"""Pausing Python's cyclic garbage collector while a library call builds many small objects.

Loading an Ego4D-sized annotation set allocates millions of dicts, lists, ``Fraction`` s and attrs
records, and building its user streams about a million more spans, segments and samples; none of
them are in reference cycles. The collector still walks the growing heap again and again as they
accumulate: about a quarter of the loading time at 120,000 annotations, and about 30% of the time
to build every stream of such a set. :func:`gc_paused` turns automatic collection off for the
duration of such a bulk build and restores the previous state (it stays off if the host had turned
it off); reference counting frees everything as usual meanwhile.

It sits at the bottom of the package, beside :mod:`ego_cl.types`, so that ``data`` (the loaders,
the user split) and ``streams`` (:func:`~ego_cl.streams.stream.build_user_stream`) share it.
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator

__all__ = ["gc_paused"]


@contextlib.contextmanager
def gc_paused() -> Iterator[None]:
    """Disable automatic cyclic garbage collection inside the ``with`` block (nests safely).

    Example:
        >>> with gc_paused():
        ...     gc.isenabled()
        False
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
