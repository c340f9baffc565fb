"""How a stream pass is dealt to DataLoader decode workers and collated back.

:func:`worker_order` gives each worker contiguous runs of batches (round-robin dispatch would
hand consecutive batches to different workers, each seeking again); :func:`data_loader` builds
the persistent-worker DataLoader of a pass, whose workers run one torch thread and never collect
the heap they inherited (:func:`init_worker`, :func:`start_pass`); :func:`stack_decoded` collates
a request into one stacked tensor, so a batch crosses processes as one shared-memory block.
"""

from __future__ import annotations

import functools
import gc
from collections.abc import Callable, Iterable, Iterator

import torch
from torch.utils.data import DataLoader, Dataset

__all__ = [
    "Collated",
    "Request",
    "RequestPlan",
    "data_loader",
    "init_worker",
    "merge_collated",
    "request_units",
    "stack_decoded",
    "start_pass",
    "worker_order",
]

Request = tuple[int, bool]
"""``(stream index, decode?)``: ``False`` means the calling process already holds the clip."""

Collated = tuple[list[int], torch.Tensor | None]
"""A request's stream indices, in order, and its decoded clips stacked (``None``: none decoded)."""


def stack_decoded(items: list[tuple[int, torch.Tensor | None]]) -> Collated:
    """Collate in the worker: one stacked tensor per request, so a batch crosses to the calling
    process as one shared-memory block (one handle to pass, not one per clip)."""
    decoded = [clip for _, clip in items if clip is not None]
    return [i for i, _ in items], torch.stack(decoded) if decoded else None


def init_worker(worker_id: int, extra: Callable[[int], None] | None = None) -> None:
    """Worker init: one torch thread per decode worker, and never collect inherited objects;
    then the caller's ``worker_init`` (``extra``), if any.

    A forked worker inherits the parent's objects, including decoder contexts whose threads did
    not survive the fork; finalising one of those in the child crashes it. Freezing the inherited
    heap keeps the cyclic GC away from them; the collector, off since the fork
    (:func:`start_pass`), then runs again for the objects the worker creates.
    """
    torch.set_num_threads(1)
    gc.freeze()
    gc.enable()
    if extra is not None:
        extra(worker_id)


def start_pass(loader: DataLoader, started: set[int]) -> Iterator:
    """``iter(loader)``; a loader's workers are first forked with the cyclic GC off.

    Unreachable decoder objects (e.g. of an earlier in-process pass) are copied into forked
    workers; finalised there, where their threads do not exist, they crash the worker. A worker
    starts with the collector off and its :func:`init_worker` freezes the inherited heap before
    turning it on, so the worker's GC never examines those objects. This costs nothing, where a
    full collection of a process with torch loaded took ~0.14 s of every user's first batch, and
    leaves the parent's own frozen objects (``gc.freeze`` by a runner) frozen.
    """
    if not loader.num_workers or id(loader) in started:
        return iter(loader)
    started.add(id(loader))
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        return iter(loader)
    finally:
        if was_enabled:
            gc.enable()


class RequestPlan:
    """Batch sampler whose batches are replaced before each pass (runs in the calling process)."""

    def __init__(self) -> None:
        self.batches: Iterable[list[Request]] = ()

    def __iter__(self) -> Iterator[list[Request]]:
        return iter(self.batches)


def worker_order(n_batches: int, workers: int, run_batches: int) -> list[int | None]:
    """Send order of batch positions ``0..n_batches-1`` giving each worker consecutive runs.

    Round-robin dispatch sends request ``k`` to worker ``k % workers``. Positions are grouped in
    rounds of ``workers`` runs of ``run_batches`` (the last round split evenly between the
    workers); the runs of a round are interleaved so that worker ``w`` gets the ``w``-th run.
    ``None`` marks an empty request that keeps the dispatch aligned at the end of a short round.

    Example:
        >>> worker_order(7, 2, 2)
        [0, 2, 1, 3, 4, 6, 5]
        >>> worker_order(5, 2, 4)
        [0, 3, 1, 4, 2]
        >>> worker_order(3, 2, 4)
        [0, 2, 1]
    """
    if workers <= 1 or run_batches <= 1:
        return list(range(n_batches))
    order: list[int | None] = []
    start = 0
    while start < n_batches:
        run = min(run_batches, -(-(n_batches - start) // workers))
        for j in range(run):
            for w in range(workers):
                position = start + w * run + j
                order.append(position if position < min(n_batches, start + (w + 1) * run) else None)
        start += workers * run
    while order and order[-1] is None:
        order.pop()
    return order


def request_units(plan: list[list[int]], workers: int, run_batches: int) -> list[tuple[int, list[int]]]:
    """The requests of a pass, ``(batch position, stream indices)``, in batch order.

    One request per batch, except at the end of a pass that the workers cannot share evenly:
    the batches after the last whole round (``workers`` runs of ``run_batches``) are then each
    split into ``workers`` consecutive chunks, so every worker ends the pass with the same number of
    clips instead of one worker decoding a last batch alone (a 35-clip pass on 2 workers: 16 and
    19 clips before, 18 and 17 after). :func:`worker_order` still gives each worker consecutive
    runs, and :func:`merge_collated` puts a split batch back together.

    Example:
        >>> request_units([[0, 1, 2, 3], [4, 5, 6, 7], [8, 9, 10]], 2, 1)
        [(0, [0, 1, 2, 3]), (1, [4, 5, 6, 7]), (2, [8, 9]), (2, [10])]
        >>> request_units([[0, 1], [2, 3], [4]], 2, 2)
        [(0, [0]), (0, [1]), (1, [2]), (1, [3]), (2, [4]), (2, [])]
    """
    whole = len(plan) // (workers * run_batches) * (workers * run_batches) if workers > 1 else len(plan)
    if (len(plan) - whole) % max(workers, 1) == 0:
        return list(enumerate(plan))
    units = list(enumerate(plan[:whole]))
    for position in range(whole, len(plan)):
        indices = plan[position]
        size, extra = divmod(len(indices), workers)
        start = 0
        for w in range(workers):
            end = start + size + (w < extra)
            units.append((position, indices[start:end]))
            start = end
    return units


def merge_collated(parts: list[Collated]) -> Collated:
    """The chunks of one split batch (:func:`request_units`), in order, as one request's result."""
    if len(parts) == 1:
        return parts[0]
    stacks = [decoded for _, decoded in parts if decoded is not None]
    merged = None if not stacks else stacks[0] if len(stacks) == 1 else torch.cat(stacks)
    return [i for indices, _ in parts for i in indices], merged


def data_loader(
    dataset: Dataset,
    plan: RequestPlan,
    workers: int,
    prefetch_batches: int,
    pin_memory: bool,
    context,
    worker_init: Callable[[int], None] | None = None,
) -> DataLoader:
    kwargs = {}
    if workers > 0:
        kwargs = {
            "persistent_workers": True,
            "prefetch_factor": max(1, -(-prefetch_batches // workers)),
            "worker_init_fn": functools.partial(init_worker, extra=worker_init),
            "multiprocessing_context": context,
        }
    return DataLoader(
        dataset,
        batch_sampler=plan,
        num_workers=workers,
        collate_fn=stack_decoded,
        pin_memory=pin_memory,
        **kwargs,
    )
