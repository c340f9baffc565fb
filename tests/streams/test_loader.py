"""The ordered prefetching loader and its decode-once cache, against an in-memory source."""

from __future__ import annotations

import itertools
import os
import time
from fractions import Fraction

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from ego_cl.streams.cache import ClipCache
from ego_cl.streams.loader import ClipDataset, StreamLoader, worker_order
from ego_cl.streams.transform import EvalTransform
from ego_cl.types import Span, StreamSample
from tests.streams.fakes import FRAME_RATE, FakeSource, decode_pixel, sample_times

N_FRAMES = 4
TRANSFORM = EvalTransform(n_frames=N_FRAMES, side_px=6, crop_px=6, mean=0.0, std=1.0)
STEP = Fraction(2, 3)


def _samples(n: int) -> tuple[StreamSample, ...]:
    out = []
    for i in range(n):
        actions = ((i % 7, i % 5), (9, 9)) if i % 4 == 0 else ((i % 7, i % 5),)
        out.append(
            StreamSample(
                index=i,
                user_id="u",
                clip_uid=f"c{i // 5}",
                video_uid="v",
                span=Span(i * STEP, (i + 1) * STEP),
                actions=actions,
                annotation_index=i,
                clip_index=0,
            )
        )
    return tuple(out)


def _truth(samples, indices) -> torch.Tensor:
    reference = FakeSource()
    return torch.stack(
        [TRANSFORM(reference.read_clip(samples[i].clip_uid, samples[i].span, N_FRAMES)) for i in indices]
    )


def _check_batch(batch, samples, indices):
    assert batch.indices.tolist() == list(indices)
    assert torch.equal(batch.clips, _truth(samples, indices))
    assert batch.target.label_sets() == tuple(samples[i].actions for i in indices)


def _loader(samples, source=None, **kwargs):
    kwargs.setdefault("batch_size", 3)
    return StreamLoader(source or FakeSource(), samples, TRANSFORM, n_frames=N_FRAMES, **kwargs)


@pytest.mark.parametrize("workers", [0, 1, 2])
def test_batches_equal_sequential_ground_truth_resume_and_fetch(workers):
    samples = _samples(10)
    loader = _loader(samples, workers=workers, fetch_workers=workers, cache_bytes=0)
    batches = list(loader)
    assert [len(b) for b in batches] == [3, 3, 3, 1]
    assert torch.cat([b.indices for b in batches]).tolist() == list(range(10))  # none lost, none twice
    for batch in batches:
        _check_batch(batch, samples, batch.indices.tolist())
    # abandon a pass half-way, then resume at batch 2 on the same (persistent) workers
    partial = loader.batches()
    next(partial)
    resumed = list(loader.batches(start=2))
    assert [b.indices.tolist() for b in resumed] == [[6, 7, 8], [9]]
    _check_batch(resumed[0], samples, [6, 7, 8])
    assert list(loader.batches(start=loader.n_batches)) == []
    _check_batch(loader.fetch([7, 2, 7, 0]), samples, [7, 2, 7, 0])


@given(n=st.integers(0, 20), batch_size=st.integers(1, 6), data=st.data())
def test_in_process_batches_cover_the_stream_in_order_from_any_start(n, batch_size, data):
    samples = _samples(n)
    loader = _loader(samples, batch_size=batch_size)
    start = data.draw(st.integers(0, loader.n_batches))
    batches = list(loader.batches(start))
    indices = [i for b in batches for i in b.indices.tolist()]
    assert indices == list(range(start * batch_size, n))
    assert all(len(b) == batch_size for b in batches[:-1])
    if batches:
        _check_batch(batches[-1], samples, batches[-1].indices.tolist())


def test_cache_serves_replay_and_a_second_loader_without_decoding_again():
    samples = _samples(8)
    source = FakeSource()
    cache = ClipCache(capacity_bytes=10 * 2**20)
    loader = _loader(samples, source, cache=cache)
    assert sum(len(b) for b in loader) == 8
    assert source.n_reads == 8
    _check_batch(loader.fetch([5, 1, 5]), samples, [5, 1, 5])
    hindsight = StreamLoader(source, samples, TRANSFORM, n_frames=N_FRAMES, batch_size=8, cache=cache)
    _check_batch(next(iter(hindsight)), samples, range(8))
    assert source.n_reads == 8
    assert cache.hits == 2 + 8  # fetch looks each distinct index up once


def test_without_cache_every_read_decodes():
    samples = _samples(4)
    source = FakeSource()
    loader = _loader(samples, source, cache_bytes=0)
    list(loader)
    loader.fetch([0, 1])
    assert source.n_reads == 6


def _random_transform(clip):  # no `deterministic` attribute: must not be cached
    return TRANSFORM(clip)


def test_transforms_that_are_not_deterministic_are_not_cached():
    source = FakeSource()
    loader = StreamLoader(source, _samples(3), _random_transform, n_frames=N_FRAMES)
    list(loader)
    loader.fetch([0])
    assert source.n_reads == 4
    assert len(loader.cache) == 0


def test_label_only_loader_decodes_nothing():
    source = FakeSource()
    samples = _samples(5)
    loader = _loader(samples, source, with_video=False, batch_size=2)
    batches = list(loader)
    assert [tuple(b.clips.shape) for b in batches] == [(2, 0), (2, 0), (1, 0)]
    assert loader.fetch([4]).target.label_sets() == (samples[4].actions,)
    assert source.n_reads == 0


def test_pad_span_reads_the_full_clip_grid_and_repeats_the_last_in_window_frame():
    clip_s = Fraction(2)
    span = Span(Fraction(10), Fraction(10) + Fraction(7, 10))  # 0.7 s of a 2 s clip
    sample = StreamSample(
        index=0,
        user_id="u",
        clip_uid="c3",
        video_uid="v",
        span=span,
        actions=[(1, 1)],
        annotation_index=0,
        clip_index=0,
    )
    dataset = ClipDataset(FakeSource(), [sample], TRANSFORM, n_frames=8, clip_s=clip_s)
    got = decode_pixel(dataset.read(0))
    grid = sample_times(Span(span.start_s, span.start_s + clip_s), 8)
    inside = [int(t * FRAME_RATE) for t in grid if t < span.end_s]
    assert got == [(3, u) for u in inside] + [(3, inside[-1])] * (8 - len(inside))
    # a full-length span reads unchanged
    full = ClipDataset(FakeSource(), [sample], TRANSFORM, n_frames=8, clip_s=None)
    assert decode_pixel(full.read(0)) == [(3, int(t * FRAME_RATE)) for t in sample_times(span, 8)]


def test_bad_arguments_are_rejected():
    samples = _samples(4)
    with pytest.raises(ValueError, match="index"):
        _loader(samples[1:])
    loader = _loader(samples)
    with pytest.raises(ValueError, match="start batch"):
        list(loader.batches(start=3))
    with pytest.raises(IndexError):
        loader.fetch([4])
    with pytest.raises(ValueError):
        loader.fetch([])


# --- contiguous runs per worker ---------------------------------------------------------------------


class StampWorker:
    """``TRANSFORM`` plus one channel holding the id of the worker that decoded the clip."""

    deterministic = False

    def __call__(self, clip: torch.Tensor) -> torch.Tensor:
        out = TRANSFORM(clip)
        info = torch.utils.data.get_worker_info()
        return torch.cat([out, torch.full_like(out[:1], -1 if info is None else info.id)])


@given(n=st.integers(0, 60), workers=st.integers(1, 4), run=st.integers(1, 6))
def test_worker_order_gives_each_worker_consecutive_runs(n, workers, run):
    order = worker_order(n, workers, run)
    assert sorted(p for p in order if p is not None) == list(range(n))
    assert not order or order[-1] is not None
    rounds = -(-n // (workers * run))
    for w in range(workers):
        mine = [p for p in order[w::workers] if p is not None]  # what round-robin dispatch gives w
        assert mine == sorted(mine)
        breaks = sum(b != a + 1 for a, b in itertools.pairwise(mine))
        assert breaks + 1 <= max(1, rounds)
    # the reorder buffer never holds more than (workers - 1) * run finished batches
    done, wanted = set(), 0
    for p in order:
        if p is not None:
            done.add(p)
        while wanted in done:
            done.discard(wanted)
            wanted += 1
        assert len(done) <= (workers - 1) * run


def _runs(indices: list[int]) -> list[list[int]]:
    out: list[list[int]] = []
    for i in indices:
        if out and out[-1][-1] + 1 == i:
            out[-1].append(i)
        else:
            out.append([i])
    return out


@pytest.mark.parametrize("run_batches", [1, 2, 3])
def test_each_worker_decodes_contiguous_runs_and_output_stays_in_order(run_batches):
    samples = _samples(29)
    loader = StreamLoader(
        FakeSource(),
        samples,
        StampWorker(),
        n_frames=N_FRAMES,
        batch_size=3,
        workers=2,
        run_batches=run_batches,
    )
    batches = list(loader)
    assert [b.indices.tolist() for b in batches] == [list(range(s, min(29, s + 3))) for s in range(0, 29, 3)]
    by_worker: dict[int, list[int]] = {0: [], 1: []}
    for batch in batches:
        assert torch.equal(batch.clips[:, :-1], _truth(samples, batch.indices.tolist()))
        for i, clip in zip(batch.indices.tolist(), batch.clips):
            by_worker[int(clip[-1].flatten()[0])].append(i)
    for indices in by_worker.values():
        runs = _runs(indices)
        assert all(len(r) <= 3 * run_batches for r in runs)
        assert sum(len(r) for r in runs[:-1]) == 3 * run_batches * (len(runs) - 1) or run_batches == 1
    if run_batches > 1:
        assert max(len(r) for v in by_worker.values() for r in _runs(v)) == 3 * run_batches


def test_resume_at_every_batch_is_exact_with_contiguous_workers():
    samples = _samples(23)
    loader = _loader(samples, workers=2, run_batches=3, cache_bytes=0)
    full = list(loader)
    for start in range(loader.n_batches + 1):
        resumed = list(loader.batches(start))
        assert [b.indices.tolist() for b in resumed] == [b.indices.tolist() for b in full[start:]]
        for got, want in zip(resumed, full[start:]):
            assert torch.equal(got.clips, want.clips)
        if start % 3 == 1:  # abandon a pass half-way; the next one starts clean
            partial = loader.batches(start)
            next(partial, None)
    _check_batch(full[-1], samples, full[-1].indices.tolist())


def test_contiguous_workers_with_a_partly_cached_stream():
    samples = _samples(20)
    cache = ClipCache(1 << 30)
    first = _loader(samples, workers=2, run_batches=2, cache=cache)
    source = FakeSource()
    first.fetch([0, 4, 5, 11, 19])  # cached before the pass: served in this process
    second = _loader(samples, source, workers=2, run_batches=2, cache=cache)
    for batch in second:
        _check_batch(batch, samples, batch.indices.tolist())


@pytest.mark.parametrize("workers", [0, 1])
def test_a_batch_crosses_as_one_block_and_the_cache_keeps_its_own_copies(workers):
    samples = _samples(9)
    cache = ClipCache(1 << 30)
    loader = _loader(samples, workers=workers, cache=cache)
    batches = list(loader)
    for batch in batches:
        _check_batch(batch, samples, batch.indices.tolist())
        assert batch.clips.is_contiguous()
    assert sorted(cache.keys()) == list(range(9))
    for i in range(9):
        clip = cache.get(i)
        assert clip.untyped_storage().nbytes() == clip.nbytes  # not a view pinning its whole batch
        assert torch.equal(clip, _truth(samples, [i])[0])
    batches[0].clips.zero_()  # the learner may change its batch in place: the cache is unaffected
    assert torch.equal(cache.get(0), _truth(samples, [0])[0])


class _MarkingSource(FakeSource):
    """Writes ``<marks>/<pid>-<clip>-<start>`` as it reads (visible across processes)."""

    def __init__(self, marks):
        super().__init__()
        self.marks = marks

    def read_clip(self, clip_uid, span, n_frames):
        (self.marks / f"{os.getpid()}-{clip_uid}-{float(span.start_s)}").touch()
        return super().read_clip(clip_uid, span, n_frames)


def test_prefetch_decodes_before_the_pass_is_iterated_and_the_pass_continues_it(tmp_path):
    samples = _samples(10)
    loader = _loader(samples, _MarkingSource(tmp_path), workers=1, cache_bytes=0)
    loader.prefetch(0)
    deadline = time.monotonic() + 30
    while not any(tmp_path.iterdir()) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert any(tmp_path.iterdir()), "nothing was decoded before the pass was iterated"
    assert all(not name.name.startswith(f"{os.getpid()}-") for name in tmp_path.iterdir())  # in the worker
    batches = list(loader.batches(0))
    assert [b.indices.tolist() for b in batches] == [[0, 1, 2], [3, 4, 5], [6, 7, 8], [9]]
    for batch in batches:
        _check_batch(batch, samples, batch.indices.tolist())


@pytest.mark.parametrize("workers", [0, 2])
def test_a_pass_from_another_start_abandons_the_prefetched_one(workers):
    samples = _samples(10)
    loader = _loader(samples, workers=workers, cache_bytes=0)
    loader.prefetch(0)
    resumed = list(loader.batches(2))
    assert [b.indices.tolist() for b in resumed] == [[6, 7, 8], [9]]
    _check_batch(resumed[0], samples, [6, 7, 8])
    loader.prefetch(1)
    assert [b.indices.tolist() for b in loader.batches(1)] == [[3, 4, 5], [6, 7, 8], [9]]
    assert [b.indices.tolist() for b in loader.batches(3)] == [[9]]  # the prefetched pass is used once


# --- the cache ------------------------------------------------------------------------------------


@given(
    st.lists(st.tuples(st.booleans(), st.integers(0, 6), st.integers(1, 5)), max_size=40), st.integers(0, 12)
)
def test_cache_is_a_byte_bounded_lru(ops, capacity):
    cache = ClipCache(capacity_bytes=capacity)
    model: dict[int, int] = {}  # key -> size, in LRU order (oldest first)
    for is_put, key, size in ops:
        if is_put:
            cache.put(key, torch.zeros(size, dtype=torch.uint8))
            if size <= capacity:
                model.pop(key, None)
                while sum(model.values()) + size > capacity:
                    model.pop(next(iter(model)))
                model[key] = size
        else:
            got = cache.get(key)
            assert (got is not None) == (key in model)
            if key in model:
                model[key] = model.pop(key)
        assert cache.keys() == list(model)
        assert cache.n_bytes == sum(model.values()) <= capacity


def test_built_stream_through_the_loader_end_to_end():
    from ego_cl.streams.sampling import UniformClipSampler
    from ego_cl.streams.stream import build_user_stream
    from ego_cl.types import ActionAnnotation

    def ann(idx, start, end, clip):
        return ActionAnnotation(
            clip_uid=clip,
            video_uid="v",
            user_id="u",
            origin_video_id="r",
            clip_parent_start_s=int(clip[1:]) * 300,
            clip_parent_end_s=int(clip[1:]) * 300 + 300,
            action_idx=idx,
            span=Span(Fraction(start), Fraction(end)),
            verb_label=idx,
            noun_label=0,
        )

    annotations = [ann(1, 5, 5.5, "c2"), ann(0, 0, 4.5, "c2"), ann(0, 1, 3, "c1")]
    stream = build_user_stream(
        annotations,
        user_id="u",
        policy="first_action",
        sampler=UniformClipSampler(clip_s=Fraction(2), short_window="pad"),
        clip_s=Fraction(2),
        filter_unseen=False,
    )
    assert [(s.clip_uid, s.span.start_s, s.span.end_s) for s in stream.samples] == [
        ("c1", 1, 3),
        ("c2", 0, 2),
        ("c2", 2, 4),
        ("c2", 5, Fraction(11, 2)),  # pad: kept inside its window
    ]
    loader = StreamLoader(FakeSource(), stream.samples, TRANSFORM, n_frames=N_FRAMES, clip_s=Fraction(2))
    (batch,) = list(loader.batches())
    assert batch.indices.tolist() == [0, 1, 2, 3]
    assert batch.target.label_sets() == (((0, 0),), ((0, 0),), ((0, 0),), ((1, 0),))
    # each frame shows its clip and instant; the padded clip repeats its last in-window frame
    pixels = (batch.clips[:, :, :, 0, 0] * 255).round().long()  # [B, C, T]
    clips, units = pixels[:, 0], pixels[:, 1] + 256 * pixels[:, 2]
    assert clips.tolist() == [[1] * 4, [2] * 4, [2] * 4, [2] * 4]
    assert units[0].tolist() == [60, 90, 120, 150]  # 1 s, 1.5 s, 2 s, 2.5 s
    assert units[3].tolist() == [300] * 4  # only the 5 s instant lies inside [5, 5.5)
