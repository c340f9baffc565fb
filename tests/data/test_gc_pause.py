"""Bulk loaders pause the cyclic garbage collector and always restore its state."""

from __future__ import annotations

import gc
import json

import pytest

from ego_cl.data.gc_pause import gc_paused
from ego_cl.data.problems import AnnotationError
from ego_cl.data.records import load_lta_file


@pytest.fixture(autouse=True)
def _restore_gc():
    was = gc.isenabled()
    yield
    (gc.enable if was else gc.disable)()


def _nested_then_fail(seen: list[bool]) -> None:
    with gc_paused():
        seen.append(gc.isenabled())
        with gc_paused():
            seen.append(gc.isenabled())
        seen.append(gc.isenabled())  # the inner block does not re-enable early
        raise RuntimeError


def test_paused_inside_restored_after_even_on_error():
    gc.enable()
    seen: list[bool] = []
    with pytest.raises(RuntimeError):
        _nested_then_fail(seen)
    assert seen == [False, False, False]
    assert gc.isenabled()


def test_a_host_that_turned_gc_off_keeps_it_off():
    gc.disable()
    with gc_paused():
        pass
    assert not gc.isenabled()


def test_loading_a_bad_file_leaves_gc_as_it_was(tmp_path):
    gc.enable()
    path = tmp_path / "fho_lta_train.json"
    path.write_text(json.dumps({"clips": [{"clip_uid": 3}]}))
    with pytest.raises(AnnotationError):
        load_lta_file(path)
    assert gc.isenabled()
