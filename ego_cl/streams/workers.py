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
import itertools
from collections.abc import Callable, Iterable, Iterator

import torch
from torch.utils.data import DataLoader, Dataset

from ego_cl.gc_pause import gc_paused

__all__ = [
    "Collated",
    "Request",
    "RequestPlan",
    "data_loader",
    "init_worker",
    "merge_collated",
    "pass_requests",
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
    with gc_paused():
        return iter(loader)


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


def pass_requests(
    plan: list[list[int]], workers: int, run_batches: int
) -> tuple[list[tuple[int, list[int]]], list[int | None]]:
    """The requests of a pass, ``(batch position, stream indices)`` in batch order, and their send
    order (indices into the requests; ``None``: an empty request that keeps the dispatch aligned).

    The whole rounds (``workers`` runs of ``run_batches`` batches) go one request per batch in
    :func:`worker_order`. The batches after them are shared by clip count instead: their clips are
    cut into ``workers`` consecutive, nearly equal ranges, one per worker, each sent as one request
    per batch it touches. So every worker ends the pass within one clip of the others rather than
    one worker decoding a last batch alone (a 35-clip pass in batches of 4 on 2 workers: 18 and 17
    clips, not 19 and 16). :func:`merge_collated` puts a batch split between workers back together.

    Example:
        >>> units, order = pass_requests([[0, 1, 2, 3], [4, 5, 6, 7], [8, 9, 10]], 2, 1)
        >>> units, order
        ([(0, [0, 1, 2, 3]), (1, [4, 5, 6, 7]), (2, [8]), (2, [9, 10])], [0, 1, 2, 3])
        >>> pass_requests([[0, 1], [2, 3], [4]], 2, 2)  # clips 0-1 to worker 0, 2-4 to worker 1
        ([(0, [0, 1]), (1, [2, 3]), (2, [4])], [0, 1, None, 2])
    """
    if workers <= 1:
        return list(enumerate(plan)), list(range(len(plan)))
    whole = len(plan) // (workers * run_batches) * (workers * run_batches)
    units = list(enumerate(plan[:whole]))
    order: list[int | None] = list(worker_order(whole, workers, run_batches))  # whole rounds: aligned
    clips = [(position, i) for position in range(whole, len(plan)) for i in plan[position]]
    mine: list[list[int]] = []
    for w in range(workers):
        mine.append([])
        for position, group in itertools.groupby(
            clips[len(clips) * w // workers : len(clips) * (w + 1) // workers], key=lambda c: c[0]
        ):
            mine[w].append(len(units))
            units.append((position, [i for _, i in group]))
    for j in range(max(len(m) for m in mine)):
        order.extend(m[j] if j < len(m) else None for m in mine)
    while order and order[-1] is None:
        order.pop()
    return units, order


def merge_collated(parts: list[Collated]) -> Collated:
    """The parts of one batch split between workers (:func:`pass_requests`), in order, as one
    request's result."""
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
