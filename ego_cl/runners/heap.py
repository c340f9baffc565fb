"""Keeping a process's long-lived inputs out of the cyclic garbage collector, where ego_cl owns it.

A run's inputs (split files: at Ego4D scale about a million records) live as long as its process.
Every full collection would walk them again; ``gc.freeze`` moves them out of the collector's
reach once (reference counting still frees them, and forked decode workers keep sharing their
pages). :func:`long_lived` does this around a load: one full collection before it, so that no
garbage already there (e.g. what an earlier user of a pool worker left) is frozen too, no
automatic collection during it, and the freeze after it. That collection walks only what was not
frozen before (about 0.1 s with torch loaded).

Freezing is a policy for the whole process, so it applies only in processes ego_cl owns: a command
(:func:`ego_cl.runners.cli.guarded_main`) or a pool worker. Called through the API from a host's
process (a notebook, another benchmark), nothing of the host's heap is frozen.
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator

from ego_cl.gc_pause import gc_paused

__all__ = ["long_lived", "own_process", "owns_process"]

_owned = False


def own_process() -> None:
    """Mark this process as ego_cl's own (a command's or a pool worker's)."""
    global _owned
    _owned = True


def owns_process() -> bool:
    """Whether :func:`own_process` was called in this process."""
    return _owned


@contextlib.contextmanager
def long_lived() -> Iterator[None]:
    """Around loading what lives as long as the process: in a process ego_cl owns, a full
    collection before, no automatic collection inside, and ``gc.freeze()`` after (not after an
    exception); elsewhere nothing.

    Without the pause inside, the first collection after each loader (its own ``gc_paused`` ends
    with the collector back on) would walk everything the loader built once more, just before it
    is frozen: about 0.3 s at Ego4D scale. The collector's earlier state is restored after the
    freeze (it stays off if it was off).

    Example:
        >>> with long_lived():
        ...     records = [{"clip_uid": "c"}]
    """
    if not _owned:
        yield
        return
    gc.collect()
    with gc_paused():
        yield
        gc.freeze()
