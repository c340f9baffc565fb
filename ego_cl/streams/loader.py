"""The ordered, prefetching stream loader: labelled :class:`Batch`\\ es of consecutive samples.

Decoding runs ahead in DataLoader worker processes while the learner computes: a map-style
dataset over the sample tuple, a sequential batch plan (so batches come back in stream order for
any worker count), persistent workers (started once, on first use), bounded prefetch, one torch
thread per worker (decode + torch never oversubscribe the cores), and the source's own per-process
open containers (the source is pickled into each worker before it ever reads).

**Contiguous runs.** DataLoader hands requests to its workers strictly round-robin, so the pass
sends its batches in the order :func:`worker_order` gives: each worker receives runs of
``run_batches`` consecutive batches (a reader that decodes forward then reads each run with one
seek), and the batches are put back in stream order here before they are yielded. At most
``(workers - 1) * run_batches`` finished batches wait in that reorder buffer. The batches after the
last whole round of runs are shared among the workers by clip count
(:func:`~ego_cl.streams.workers.pass_requests`), so no worker decodes the end of a pass alone.

A bounded decode-once :class:`~ego_cl.streams.cache.ClipCache` (LRU by bytes) sits in the calling
process: a clip already decoded by the stream, a replay fetch or another loader sharing the cache
is not decoded again. Only deterministic transforms (``transform.deterministic``) are cached.
"""

from __future__ import annotations

import pickle
from collections.abc import Callable, Iterator, Sequence
from fractions import Fraction

import structlog
import torch

from ego_cl.protocols import StreamSource
from ego_cl.streams.cache import ClipCache
from ego_cl.streams.sampling import padded_read
from ego_cl.streams.workers import (
    Collated,
    Request,
    RequestPlan,
    data_loader,
    merge_collated,
    pass_requests,
    start_pass,
    worker_order,
)
from ego_cl.types import Batch, StreamSample, Target

__all__ = ["ClipDataset", "StreamLoader", "worker_order"]

log = structlog.get_logger(__name__)

ClipTransform = Callable[[torch.Tensor], torch.Tensor]


class ClipDataset:
    """Map-style dataset over a stream's samples; an item is a decode request.

    ``dataset[(i, True)]`` reads sample ``i`` through the source and transforms it;
    ``dataset[(i, False)]`` returns ``(i, None)`` without decoding (a cache hit in the caller).

    Args:
        source: Where clips are read (``read_clip``).
        samples: The stream; ``samples[i].index == i``.
        transform: uint8 ``[T, H, W, 3]`` → float ``[C, T, H, W]``.
        n_frames: Frames decoded per clip.
        clip_s: Clip length; a sample span shorter than this (``short_window=pad``) is read on the
            full clip's frame grid and its last in-window frame repeated (see
            :func:`~ego_cl.streams.sampling.padded_read`). ``None`` reads every span as it is.
    """

    def __init__(
        self,
        source: StreamSource,
        samples: Sequence[StreamSample],
        transform: ClipTransform,
        *,
        n_frames: int,
        clip_s: Fraction | None = None,
    ):
        self.source = source
        self.samples = tuple(samples)
        self.transform = transform
        self.n_frames = n_frames
        self.clip_s = clip_s

    def __len__(self) -> int:
        return len(self.samples)

    def read(self, index: int) -> torch.Tensor:
        """The decoded uint8 clip ``[n_frames, H, W, 3]`` of sample ``index``."""
        sample = self.samples[index]
        if self.clip_s is None or sample.span.duration_s >= self.clip_s:
            return self.source.read_clip(sample.clip_uid, sample.span, self.n_frames)
        read_span, n_read = padded_read(sample.span, self.clip_s, self.n_frames)
        clip = self.source.read_clip(sample.clip_uid, read_span, n_read)
        missing = self.n_frames - clip.shape[0]
        if missing <= 0:
            return clip
        return torch.cat([clip, clip[-1:].expand(missing, *clip.shape[1:])])

    def load(self, index: int) -> torch.Tensor:
        """The transformed clip of sample ``index``."""
        return self.transform(self.read(index))

    def __getitem__(self, request: Request) -> tuple[int, torch.Tensor | None]:
        index, decode = request
        return index, self.load(index) if decode else None


class _Pass(Iterator[Batch]):
    """One stream pass: its DataLoader pass begins on the first ``next`` or on :meth:`begin`."""

    def __init__(
        self,
        begin: Callable[[], Iterator[Collated]],
        ordered: Callable[[Iterator[Collated]], Iterator[Batch]],
    ):
        self._begin, self._ordered = begin, ordered
        self._batches: Iterator[Batch] | None = None

    def begin(self) -> None:
        """Start the DataLoader pass now (workers forked, the first requests sent)."""
        if self._batches is None:
            self._batches = self._ordered(self._begin())

    def __next__(self) -> Batch:
        self.begin()
        assert self._batches is not None
        return next(self._batches)


class StreamLoader:
    """Labelled batches of consecutive stream samples, decoded ahead in worker processes.

    Iterating yields ``Batch(indices, clips [B, C, T, H, W], target)`` for samples
    ``0..B-1, B..2B-1, ...`` (the last batch may be smaller); :meth:`batches` starts at a batch
    position (resume). :meth:`fetch` gives any samples by index (replay), with its own workers.
    Only one pass of :meth:`batches` may be live at a time (a new one abandons the old).

    Args:
        source: A picklable :class:`~ego_cl.protocols.StreamSource` that has not read yet.
        samples: The stream (``samples[i].index == i``), e.g. ``UserStream.samples``.
        transform: uint8 ``[T, H, W, 3]`` → float ``[C, T, H, W]`` (e.g. ``EvalTransform``).
        n_frames: Frames decoded per clip.
        batch_size: Samples per batch.
        workers: Decode processes for the stream pass (0 = decode in the calling process).
        fetch_workers: Decode processes for :meth:`fetch` (0 = in the calling process).
        prefetch_batches: Batches decoded ahead of the consumer (bounded prefetch).
        run_batches: Consecutive batches each stream worker decodes in a row (see the module
            docstring); 1 = plain round-robin.
        clip_s: Clip length, to read ``pad`` spans on the full-clip frame grid (``None``: as is).
        cache: Shared decode-once cache; ``None`` makes a private one of ``cache_bytes``.
        cache_bytes: Capacity of the private cache.
        with_video: ``False`` gives empty ``[B, 0]`` clips and decodes nothing (label-only learners).
        pin_memory: Pin batches for fast host-to-GPU copies.
        multiprocessing_context: ``"fork"``/``"spawn"``/``"forkserver"``; ``None`` = the default.
        worker_init: Also called (picklable, with the worker id) in every decode worker as it
            starts, e.g. the runner's hook that makes decode workers die with their parent.
    """

    def __init__(
        self,
        source: StreamSource,
        samples: Sequence[StreamSample],
        transform: ClipTransform,
        *,
        n_frames: int,
        batch_size: int = 4,
        workers: int = 0,
        fetch_workers: int = 0,
        prefetch_batches: int = 2,
        run_batches: int = 4,
        clip_s: Fraction | None = None,
        cache: ClipCache | None = None,
        cache_bytes: int = 512 * 2**20,
        with_video: bool = True,
        pin_memory: bool = False,
        multiprocessing_context: str | None = None,
        worker_init: Callable[[int], None] | None = None,
    ):
        if batch_size < 1 or workers < 0 or fetch_workers < 0 or prefetch_batches < 1 or run_batches < 1:
            raise ValueError(
                "need batch_size >= 1, workers >= 0, fetch_workers >= 0, prefetch_batches >= 1, "
                "run_batches >= 1"
            )
        self.samples = tuple(samples)
        bad = next((i for i, s in enumerate(self.samples) if s.index != i), None)
        if bad is not None:
            raise ValueError(f"samples[{bad}].index is {self.samples[bad].index}; a stream is indexed 0..n-1")
        self.batch_size = batch_size
        self.workers = workers
        self.run_batches = run_batches
        self.with_video = with_video
        self.cache = ClipCache(cache_bytes) if cache is None else cache
        self._use_cache = bool(getattr(transform, "deterministic", False))
        dataset = ClipDataset(source, self.samples, transform, n_frames=n_frames, clip_s=clip_s)
        # Worker loaders get `source` (never read here); decodes in this process use a copy, so a
        # forked worker never shares an open container with this process.
        local_source = pickle.loads(pickle.dumps(source)) if workers or fetch_workers else source
        self._local = ClipDataset(local_source, self.samples, transform, n_frames=n_frames, clip_s=clip_s)
        self._stream_plan, self._fetch_plan = RequestPlan(), RequestPlan()
        self._started: set[int] = set()
        self._early: tuple[int, Iterator[Batch]] | None = None
        context = multiprocessing_context
        stream_dataset = dataset if workers else self._local
        self._stream = data_loader(
            stream_dataset, self._stream_plan, workers, prefetch_batches, pin_memory, context, worker_init
        )
        self._fetch = (
            data_loader(
                dataset, self._fetch_plan, fetch_workers, prefetch_batches, pin_memory, context, worker_init
            )
            if fetch_workers
            else None
        )

    @property
    def n_batches(self) -> int:
        """Number of batches in one pass."""
        return -(-len(self.samples) // self.batch_size)

    def __len__(self) -> int:
        return self.n_batches

    def __iter__(self) -> Iterator[Batch]:
        return self.batches()

    def _make_batch(self, indices: Sequence[int], clips: Sequence[torch.Tensor] | None) -> Batch:
        target = Target.from_label_sets([self.samples[i].actions for i in indices])
        index_tensor = torch.tensor(list(indices), dtype=torch.long)
        video = torch.empty(len(indices), 0) if clips is None else torch.stack(list(clips))
        return Batch(indices=index_tensor, clips=video, target=target)

    def _cached(self, index: int) -> torch.Tensor | None:
        return self.cache.get(index) if self._use_cache else None

    def _remember(self, index: int, clip: torch.Tensor) -> None:
        if self._use_cache:  # a clip of a stacked batch is copied out: the cache holds its own bytes
            self.cache.put(index, clip.clone() if clip.untyped_storage().nbytes() > clip.nbytes else clip)

    def batches(self, start: int = 0) -> Iterator[Batch]:
        """Batches from batch position ``start`` (``0..n_batches``) to the end, in stream order.

        Continues the pass :meth:`prefetch` began at the same ``start``; otherwise abandons it.
        """
        if not 0 <= start <= self.n_batches:
            raise ValueError(f"start batch {start} outside 0..{self.n_batches}")
        early, self._early = self._early, None
        if early is not None and early[0] == start:
            return early[1]
        n, size = len(self.samples), self.batch_size
        plan = [list(range(b * size, min(n, (b + 1) * size))) for b in range(start, self.n_batches)]
        if not self.with_video:
            return (self._make_batch(indices, None) for indices in plan)
        return self._decoded_batches(plan)

    def prefetch(self, start: int = 0) -> None:
        """Begin the pass from batch ``start`` now: decode workers forked and decoding the first
        ``prefetch_batches`` while the caller does other work (e.g. builds its learner); the next
        :meth:`batches` call with the same ``start`` continues it.

        Creating the pass draws a worker seed from the global torch RNG (as any DataLoader pass
        does); callers that need that RNG untouched wrap this in ``torch.random.fork_rng``.
        """
        passed = self.batches(start)
        if isinstance(passed, _Pass):
            passed.begin()
        self._early = (start, passed)

    def _decoded_batches(self, plan: list[list[int]]) -> Iterator[Batch]:
        if not plan:
            return iter(())
        held: dict[int, torch.Tensor] = {}
        units, order = pass_requests(plan, self.workers, self.run_batches)
        first_unit = {}  # batch position -> (its first unit, one past its last)
        for u, (position, _) in enumerate(units):
            first_unit[position] = (first_unit.get(position, (u,))[0], u + 1)

        def requests() -> Iterator[list[Request]]:
            for unit in order:
                batch = []
                for i in units[unit][1] if unit is not None else ():
                    hit = self._cached(i)
                    if hit is not None:
                        held[i] = hit
                    batch.append((i, hit is None))
                yield batch

        def begin() -> Iterator[Collated]:
            self._stream_plan.batches = requests()
            return start_pass(self._stream, self._started)

        def ordered(results: Iterator[Collated]) -> Iterator[Batch]:
            ready: dict[int, Collated] = {}  # by unit
            wanted = 0  # the next batch position
            for sent, collated in enumerate(results):
                if order[sent] is None:
                    continue
                ready[order[sent]] = collated
                while wanted < len(plan) and all(u in ready for u in range(*first_unit[wanted])):
                    parts = [ready.pop(u) for u in range(*first_unit[wanted])]
                    yield self._assemble(*merge_collated(parts), held)
                    wanted += 1

        return _Pass(begin, ordered)

    def _assemble(
        self, indices: list[int], decoded: torch.Tensor | None, held: dict[int, torch.Tensor]
    ) -> Batch:
        """The batch of one request: its ``decoded`` clips (in order) and those ``held`` by the caller."""
        if decoded is not None and len(decoded) == len(indices):  # nothing held: the stack is the batch
            for i, clip in zip(indices, decoded, strict=True):
                self._remember(i, clip)
            target = Target.from_label_sets([self.samples[i].actions for i in indices])
            return Batch(indices=torch.tensor(indices, dtype=torch.long), clips=decoded, target=target)
        fresh = iter(() if decoded is None else decoded)
        clips = []
        for i in indices:
            clip = held.pop(i, None)
            if clip is None:
                clip = next(fresh)
                self._remember(i, clip)
            clips.append(clip)
        return self._make_batch(indices, clips)

    def fetch(self, indices: Sequence[int]) -> Batch:
        """Labelled batch of the given stream indices, in the given order (repeats allowed).

        Cached clips are reused; the rest are decoded by ``fetch_workers`` processes.
        """
        wanted = [int(i) for i in indices]
        if not wanted:
            raise ValueError("fetch needs at least one index")
        bad = [i for i in wanted if not 0 <= i < len(self.samples)]
        if bad:
            raise IndexError(f"stream index {bad[0]} outside 0..{len(self.samples) - 1}")
        if not self.with_video:
            return self._make_batch(wanted, None)
        got = {i: self._cached(i) for i in dict.fromkeys(wanted)}
        missing = [i for i, clip in got.items() if clip is None]
        for i, clip in self._decode(missing):
            self._remember(i, clip)
            got[i] = clip
        return self._make_batch(wanted, [got[i] for i in wanted])

    def _decode(self, indices: list[int]) -> Iterator[tuple[int, torch.Tensor]]:
        if not indices:
            return
        if self._fetch is None:
            for i in indices:
                yield i, self._local.load(i)
            return
        self._fetch_plan.batches = [[(i, True)] for i in indices]
        for (i,), decoded in start_pass(self._fetch, self._started):
            assert decoded is not None
            yield i, decoded[0]
