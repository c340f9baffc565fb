"""``long_lived``: what a command loads is frozen without being walked by the collector first."""

from __future__ import annotations

import gc

import pytest

from ego_cl.gc_pause import gc_paused
from ego_cl.runners import heap


@pytest.fixture
def collections():
    """Generations of the automatic and explicit collections while the test runs."""
    seen: list[int] = []

    def note(phase, info):
        if phase == "start":
            seen.append(info["generation"])

    gc.callbacks.append(note)
    was = gc.isenabled()
    gc.enable()
    yield seen
    gc.callbacks.remove(note)
    (gc.enable if was else gc.disable)()


def _load(n: int) -> list[list[int]]:
    """As a loader does: many container objects built with automatic collection paused."""
    with gc_paused():
        records = [[i] for i in range(n)]
    records.extend([-i] for i in range(n))  # the collector is back on for the caller
    return records


def test_what_is_loaded_is_frozen_without_a_collection_in_between(collections):
    heap.own_process()
    with heap.long_lived():
        assert not gc.isenabled()
        records = _load(50_000)
    assert collections == [2]  # only the full collection before the load
    assert gc.isenabled()
    assert gc.get_freeze_count() >= len(records)
    assert gc.is_tracked(records[0])
    assert all(records[0] is not obj for obj in gc.get_objects(0))


def test_the_same_load_unguarded_is_walked(collections):
    """The collections the guard saves (so the first test can fail)."""
    _load(50_000)
    assert collections  # automatic collections over the new records


def _load_then_fail() -> None:
    with heap.long_lived():
        _load(1_000)
        raise RuntimeError


def test_an_error_freezes_nothing_and_restores_the_collector(collections):
    heap.own_process()
    with pytest.raises(RuntimeError):
        _load_then_fail()
    assert gc.get_freeze_count() == 0
    assert gc.isenabled()


def test_a_collector_that_was_off_stays_off():
    heap.own_process()
    was = gc.isenabled()
    gc.disable()
    try:
        with heap.long_lived():
            _load(10)
        assert not gc.isenabled()
    finally:
        (gc.enable if was else gc.disable)()


def test_a_process_ego_cl_does_not_own_is_left_alone(collections):
    with heap.long_lived():
        assert gc.isenabled()
        _load(1_000)
    assert gc.get_freeze_count() == 0
