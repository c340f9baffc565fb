"""Bulk loaders and the stream builder pause the cyclic garbage collector and always restore its state."""

from __future__ import annotations

import gc
import json
from fractions import Fraction

import attrs
import pytest

from ego_cl.data.problems import AnnotationError
from ego_cl.data.records import load_lta_file
from ego_cl.gc_pause import gc_paused
from ego_cl.streams.sampling import UniformClipSampler
from ego_cl.streams.stream import build_user_stream
from ego_cl.types import ActionAnnotation, Span


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


@attrs.frozen
class _Recording:
    """A clip sampler that notes whether automatic collection was on when it was called."""

    seen: list[bool]
    sampler: UniformClipSampler = UniformClipSampler(clip_s=Fraction(2))

    def spans(self, window):
        self.seen.append(gc.isenabled())
        return self.sampler.spans(window)


def _annotation(end_s: int) -> ActionAnnotation:
    return ActionAnnotation(
        clip_uid="c",
        video_uid="v",
        user_id="1",
        origin_video_id="r",
        clip_parent_start_s=0,
        clip_parent_end_s=300,
        action_idx=0,
        span=Span(0, end_s),
        verb_label=0,
        noun_label=0,
    )


def test_build_user_stream_runs_paused_and_restores_even_on_error():
    gc.enable()
    seen: list[bool] = []
    stream = build_user_stream(
        [_annotation(6)],
        user_id="1",
        policy="ignore",
        sampler=_Recording(seen),
        clip_s=Fraction(2),
        filter_unseen=False,
    )
    assert len(stream.samples) == 3
    assert seen == [False]
    assert gc.isenabled()

    class _Broken(_Recording):
        def spans(self, window):
            raise RuntimeError("sampler failed")

    with pytest.raises(RuntimeError):
        build_user_stream(
            [_annotation(6)],
            user_id="1",
            policy="ignore",
            sampler=_Broken([]),
            clip_s=Fraction(2),
            filter_unseen=False,
        )
    assert gc.isenabled()
