"""Decode workers start with the inherited heap frozen and the collector on; the caller's GC state
(what it froze, whether it collects) is as it was."""

from __future__ import annotations

import gc
import multiprocessing

import pytest
from torch.utils.data import DataLoader, Dataset

from ego_cl.streams.workers import init_worker, start_pass


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
