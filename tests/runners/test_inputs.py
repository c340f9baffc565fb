"""What a run reads: input resolution (the caller supplies the default checkpoint), pinning,
the pretrain label sets."""

from __future__ import annotations

import gc
import weakref
from pathlib import Path

import attrs
import pytest

from ego_cl.data.usersplit import PRETRAIN_SPLIT, find_split_file, load_user_split
from ego_cl.runners.cli import guarded_main
from ego_cl.runners.heap import owns_process
from ego_cl.runners.inputs import (
    build_stream,
    load_inputs,
    load_pretrain_labels,
    pin_inputs,
    resolve_inputs,
)
from ego_cl.streams.config import StreamConfig
from ego_cl.types import InputError
from tests.runners.tiny_run import make_tiny, tiny_config
from tests.streams.test_frame_windows import annotations, record


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    return make_tiny(tmp_path_factory.mktemp("tiny"))


def _without_checkpoint(tiny, tmp_path):
    cfg, _ = tiny_config(tiny, tmp_path)
    return attrs.evolve(cfg, model=attrs.evolve(cfg.model, checkpoint=None))


def test_no_checkpoint_and_no_default_is_one_clear_error(tiny, tmp_path):
    with pytest.raises(InputError, match=r"model\.checkpoint: not set"):
        resolve_inputs(_without_checkpoint(tiny, tmp_path))


def test_the_caller_supplies_the_default_checkpoint(tiny, tmp_path):
    root, checkpoint = tiny
    calls = []

    def default(data_root: Path, split_dir: Path) -> Path:
        calls.append((data_root, split_dir))
        return checkpoint

    inputs = resolve_inputs(_without_checkpoint(tiny, tmp_path), default_checkpoint=default)
    assert inputs.checkpoint == str(checkpoint)
    assert calls == [(root, root / "usersplits")]


def test_a_configured_checkpoint_wins_over_the_default(tiny, tmp_path):
    cfg, _ = tiny_config(tiny, tmp_path)
    inputs = resolve_inputs(cfg, default_checkpoint=lambda *_: pytest.fail("default used"))
    assert inputs.checkpoint == str(tiny[1])


def test_a_default_checkpoint_that_does_not_exist_is_refused(tiny, tmp_path):
    with pytest.raises(InputError, match="does not exist"):
        resolve_inputs(_without_checkpoint(tiny, tmp_path), default_checkpoint=lambda *_: tmp_path / "x.pt")


def test_pinned_config_resolves_to_the_same_absolute_inputs(tiny, tmp_path, monkeypatch):
    cfg, _ = tiny_config(tiny, tmp_path)
    inputs = resolve_inputs(cfg)
    pinned = pin_inputs(cfg, inputs)
    for path in (
        pinned.data.ego4d_root,
        pinned.data.split_dir,
        pinned.data.video_dir,
        pinned.model.checkpoint,
    ):
        assert Path(path).is_absolute()
    monkeypatch.chdir(tmp_path)
    again = resolve_inputs(pinned)
    assert Path(again.checkpoint) == Path(inputs.checkpoint).resolve()
    assert Path(again.split_dir) == Path(inputs.split_dir).resolve()


def test_pretrain_labels_are_those_of_the_pretrain_split_and_reach_the_run(tiny, tmp_path):
    cfg, _ = tiny_config(tiny, tmp_path)
    inputs = resolve_inputs(cfg)
    labels = load_pretrain_labels(inputs.split_dir)
    annotations = load_user_split(find_split_file(inputs.split_dir, PRETRAIN_SPLIT)).annotations()
    assert labels.actions == {(a.verb_label, a.noun_label) for a in annotations}
    assert labels.verbs == {a.verb_label for a in annotations}
    loaded = load_inputs(cfg, inputs)
    assert (loaded.pretrain_actions, loaded.seen_verbs, loaded.seen_nouns) == (
        labels.actions,
        labels.verbs,
        labels.nouns,
    )


class _Cycle:
    me: object


def test_api_use_freezes_nothing_of_the_hosts_heap(tiny, tmp_path):
    cfg, _ = tiny_config(tiny, tmp_path)
    inputs = resolve_inputs(cfg)
    load_inputs.cache_clear()
    gc.unfreeze()
    load_inputs(cfg, inputs)
    assert gc.get_freeze_count() == 0


def test_what_a_run_loads_is_kept_out_of_the_cyclic_collector(tiny, tmp_path):
    cfg, _ = tiny_config(tiny, tmp_path)
    inputs = resolve_inputs(cfg)
    load_inputs.cache_clear()
    gc.unfreeze()
    assert guarded_main(lambda argv: int(not owns_process())) == 0  # a command owns its process
    garbage = _Cycle()  # e.g. what an earlier user of a pool worker left: collected, not frozen
    garbage.me, gone = garbage, weakref.ref(garbage)
    del garbage
    was = gc.isenabled()
    gc.disable()  # no automatic collection: only load_inputs' own can free the cycle
    try:
        loaded = load_inputs(cfg, inputs)
    finally:
        if was:
            gc.enable()
    assert gone() is None
    assert gc.get_freeze_count() > 0
    first = next(iter(loaded.users.values()))[0]
    collected = {id(obj) for generation in range(3) for obj in gc.get_objects(generation)}
    assert gc.is_tracked(first)
    assert id(first) not in collected


def test_missing_pretrain_split_names_the_directory(tmp_path):
    with pytest.raises(InputError, match=str(tmp_path)):
        load_pretrain_labels(tmp_path)


def test_the_runners_stream_follows_upstream_float_boundaries():
    """The flag reaches the stream the runner builds: exact frames give 3 clips, the original's
    float arithmetic 1 (the hand-worked case of tests/streams/test_frame_windows.py)."""
    entries = annotations([record(0, 0, 4, 4 + 128), record(0, 1, 100, 132 + 64)])
    exact = build_stream(
        StreamConfig(filter_unseen=False), entries, user_id="7", pretrain_actions=frozenset()
    )
    upstream = build_stream(
        StreamConfig(filter_unseen=False, upstream_float_boundaries=True),
        entries,
        user_id="7",
        pretrain_actions=frozenset(),
    )
    assert (len(exact.samples), len(upstream.samples)) == (3, 1)
