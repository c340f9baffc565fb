"""Decode workers start with the inherited heap frozen and the collector on, and the caller's GC
state (what it froze, whether it collects) is as it was; the end of a pass is shared evenly."""

from __future__ import annotations

import gc
import multiprocessing

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from torch.utils.data import DataLoader, Dataset

from ego_cl.streams.workers import init_worker, merge_collated, pass_requests, start_pass, worker_order


class _GcState(Dataset):
    def __len__(self) -> int:
        return 2

    def __getitem__(self, i: int) -> tuple[bool, bool]:
        return gc.isenabled(), gc.get_freeze_count() > 0


@pytest.mark.parametrize("enabled", [True, False])
def test_start_pass_keeps_the_callers_frozen_objects_and_collector_state(enabled):
    loader = DataLoader(
        _GcState(),
        batch_size=None,
        num_workers=1,
        worker_init_fn=init_worker,
        multiprocessing_context=multiprocessing.get_context("fork"),
    )
    marker = [object()]  # tracked by the collector
    gc.freeze()
    was = gc.isenabled()
    (gc.enable if enabled else gc.disable)()
    try:
        states = list(start_pass(loader, set()))
        assert gc.isenabled() is enabled
        collected = {id(obj) for generation in range(3) for obj in gc.get_objects(generation)}
        assert gc.is_tracked(marker)
        assert id(marker) not in collected
    finally:
        (gc.enable if was else gc.disable)()
    assert [tuple(s) for s in states] == [(True, True), (True, True)]  # in the worker


@given(n=st.integers(0, 90), batch=st.integers(1, 6), workers=st.integers(1, 4), run=st.integers(1, 5))
def test_pass_requests_rebuild_the_plan_and_share_the_end_of_a_pass_evenly(n, batch, workers, run):
    plan = [list(range(s, min(n, s + batch))) for s in range(0, n, batch)]
    units, order = pass_requests(plan, workers, run)
    assert [p for p, _ in units] == sorted(p for p, _ in units)
    assert sorted(u for u in order if u is not None) == list(range(len(units)))
    rebuilt: dict[int, list[int]] = {}
    for position, indices in units:
        rebuilt.setdefault(position, []).extend(indices)
    assert [rebuilt[p] for p in range(len(plan))] == plan

    def loads(order, sizes):  # clips per worker under round-robin dispatch
        return [sum(sizes[u] for u in order[w::workers] if u is not None) for w in range(workers)]

    now = loads(order, [len(i) for _, i in units])
    before = loads(worker_order(len(plan), workers, run), [len(i) for i in plan])
    assert max(now) - min(now) <= max(before) - min(before)
    assert max(now) - min(now) <= max(1, batch - len(plan[-1]) if plan else 0)
    for w in range(workers):  # each worker's clips are consecutive runs, in stream order
        mine = [i for u in order[w::workers] if u is not None for i in units[u][1]]
        assert mine == sorted(mine)


def test_a_split_batch_is_put_back_together_in_order():
    a, b = torch.zeros(2, 3), torch.ones(1, 3)
    indices, merged = merge_collated([([4, 5], a), ([6], b), ([], None)])
    assert indices == [4, 5, 6]
    assert torch.equal(merged, torch.cat([a, b]))
    assert merge_collated([([7], None), ([8], b)]) == ([7, 8], b)
    assert merge_collated([([1], a)])[1] is a
