"""Names that become path components (issues 19.2 and 18.5): hostile config values never write
outside ``run.out_dir``; run-directory names stay readable, bounded and never cut mid-value."""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from ego_cl.runners.config import ConfigError, StreamRunConfig, load_config
from ego_cl.runners.engine.grid import grid_dir_name
from ego_cl.runners.engine.plan import prepare_run_dir
from ego_cl.runners.engine.preflight import check_before_run
from ego_cl.runners.names import _slug_item, check_name, override_slug, run_dir_name, safe_name
from ego_cl.runners.pretraining.config import PretrainConfig
from ego_cl.runners.results import RunDir

HOSTILE = ["..", ".", "../../x", "/etc", "a/../../b", "a\\..\\b", "x\x00y", "~", "-", "a" * 300, "ü/é", ""]

names = st.one_of(st.sampled_from(HOSTILE), st.text(max_size=300))


def _is_component(name: str) -> bool:
    return bool(name) and name not in (".", "..") and "/" not in name and "\x00" not in name


@given(names)
@example("..")
@example("a" * 1000)
def test_safe_name_is_one_bounded_component(text):
    name = safe_name(text)
    assert _is_component(name)
    assert len(name.encode()) <= 128
    assert (Path("/root") / name).parent == Path("/root")


@given(st.lists(names, max_size=6))
def test_override_slug_keeps_whole_items_or_hashes_them(overrides):
    slug = override_slug(overrides)
    assert _is_component(slug)
    assert len(slug) <= 80
    if not overrides:
        assert slug == "defaults"
        return
    items = [_slug_item(o) for o in overrides]
    for item, override in zip(items, overrides):  # whole (made safe) or a hash, never cut
        assert item == safe_name(override, max_len=10_000) or re.fullmatch(r"([^#]*=)?#[0-9a-f]{8}", item)
    items.sort(key=lambda item: "#" in item)  # readable items first
    prefixes = [",".join(items[:k]) for k in range(len(items) + 1)]
    if slug != prefixes[-1]:
        kept, _, tail = slug.rpartition(",") if "," in slug else ("", "", slug)
        assert kept in prefixes
        assert re.fullmatch(r"\+[0-9]+-[0-9a-f]{8}", tail)


def test_long_override_lists_keep_whole_values_and_a_hash():
    overrides = [f"learner.option_{k}=value_{k}" for k in range(10)]
    slug = override_slug(overrides)
    assert len(slug) <= 80
    kept, tail = slug.rsplit(",", 1)
    assert kept.split(",") == overrides[: len(kept.split(","))]  # whole items, in order
    assert tail.startswith(f"+{10 - len(kept.split(','))}-")
    assert override_slug([*overrides[:-1], "learner.option_9=other"]) != slug  # the hash tells them apart


def test_a_long_value_becomes_key_and_hash():
    long = "data.ego4d_root=/datasets/ego4d/v2/full_scale/annotations/and/much/more"
    slug = override_slug([long, "learner.lr=0.1"])
    first, second = slug.split(",")
    assert first == "learner.lr=0.1"  # readable items first
    assert second.startswith("data.ego4d_root=#")
    assert override_slug([long + "2", "learner.lr=0.1"]) != slug


def test_grid_dir_names_are_whole_and_distinct():
    combo = [f"learner.option_{k}=value_{k}" for k in range(8)]
    name = grid_dir_name(combo)
    assert name.startswith("GRID_learner.option_0=value_0,")
    assert len(name) <= 120
    assert grid_dir_name([*combo[:-1], "learner.option_7=value_8"]) != name


@given(names)
@example("../../x")
def test_name_like_config_values_are_refused_or_plain(value):
    problem = check_name(value)
    for cls, key in ((StreamRunConfig, "experiment"), (PretrainConfig, "name")):
        try:
            load_config(cls, base={"run": {key: value}})
            message = None
        except ConfigError as err:
            message = str(err)
        assert (message is None) == (problem is None)
        assert message is None or f"run.{key}" in message
        assert message is not None or _is_component(value)


def _written(root: Path) -> list[Path]:
    return [Path(d) / f for d, dirs, files in os.walk(root) for f in [*files, *dirs]]


@given(
    experiment=names, timestamp=st.one_of(st.none(), names), overrides=st.lists(names, max_size=3), uid=names
)
@settings(max_examples=60, deadline=None)
@example(experiment="x", timestamp="../../../escaped", overrides=["../../up=1"], uid="..")
def test_hostile_values_never_write_outside_out_dir(experiment, timestamp, overrides, uid):
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        out = root / "out"
        try:
            cfg = load_config(
                StreamRunConfig,
                base={"run": {"out_dir": str(out), "experiment": experiment, "timestamp": timestamp}},
            )
        except ConfigError:
            assert check_name(experiment) is not None
            assert _written(root) == []
            return
        check_before_run(cfg)
        run_dir, _ = prepare_run_dir(cfg, overrides)
        run = RunDir(run_dir)
        run.user(uid).write_json("metrics.json", {})
        run.baseline(uid).write_json("metrics.json", {})
        run.hindsight(uid, uid).write_json("metrics.json", {})
        (run.path / grid_dir_name(overrides)).mkdir()
        (run.tb(uid)).mkdir(parents=True)
        inside = out.resolve()
        for path in _written(root):
            assert path.resolve() == inside or inside in path.resolve().parents, path


def test_run_dir_name_is_bounded_and_safe():
    name = run_dir_name("../" * 50, ["x" * 500, "../../y=1"])
    assert _is_component(name)
    assert len(name) <= 121


@pytest.mark.parametrize("value", ["../x", "a/b", "..", "", "x" * 129, "tab\there"])
def test_cli_refuses_path_like_experiment_with_one_line(value, tmp_path, capsys):
    from ego_cl.runners.cli import guarded_main
    from ego_cl.runners.stream import main

    code = guarded_main(main, [f"run.out_dir={tmp_path}", f"run.experiment={value}", "run.baseline=false"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2
    assert len(err) == 1
    assert "run.experiment" in err[0]
    assert list(tmp_path.iterdir()) == []
