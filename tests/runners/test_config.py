"""The strict config loader: round-trips, overrides, and every error path."""

from __future__ import annotations

import subprocess
import sys
from fractions import Fraction

import attrs
import pytest
import yaml

from ego_cl.learners.replay import ReplayConfig
from ego_cl.runners.config import (
    ConfigError,
    StreamRunConfig,
    apply_overrides,
    converter,
    dump_yaml,
    load_config,
)


def test_defaults_round_trip_through_yaml(tmp_path):
    cfg = StreamRunConfig()
    path = tmp_path / "c.yaml"
    path.write_text(dump_yaml(cfg))
    assert load_config(StreamRunConfig, path) == cfg


def test_non_default_round_trip_through_yaml_and_toml(tmp_path):
    cfg = load_config(
        StreamRunConfig,
        overrides=[
            "learner.kind=replay",
            "learner.capacity=7",
            "stream.clip_s=1/3",
            "stream.stride_s=0.5",
            "run.users=[a, '12']",
            "pool.devices=[cuda:0, cuda:1]",
        ],
    )
    assert isinstance(cfg.learner, ReplayConfig)
    assert cfg.learner.capacity == 7
    assert cfg.stream.clip_s == Fraction(1, 3)
    assert cfg.stream.stride_s == Fraction(1, 2)
    assert cfg.run.users == ("a", "12")
    assert cfg.pool.devices == ("cuda:0", "cuda:1")
    y = tmp_path / "c.yaml"
    y.write_text(dump_yaml(cfg))
    assert load_config(StreamRunConfig, y) == cfg


def test_toml_file_loads(tmp_path):
    path = tmp_path / "c.toml"
    path.write_text('[learner]\nkind = "replay"\nmemory = "fifo"\n[stream]\nclip_s = "32/15"\n')
    cfg = load_config(StreamRunConfig, path)
    assert cfg.learner.memory == "fifo"
    assert cfg.stream.clip_s == Fraction(32, 15)


def test_overrides_apply_after_file(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("run:\n  seed: 1\n  experiment: a\n")
    cfg = load_config(StreamRunConfig, path, ["run.seed=5"])
    assert (cfg.run.seed, cfg.run.experiment) == (5, "a")


def test_apply_overrides_nested_list_and_new_keys():
    out = apply_overrides({"a": {"b": 1}}, ["a.b=2", "a.c.d=[1, 2]", "e=null", "f=32/15"])
    assert out == {"a": {"b": 2, "c": {"d": [1, 2]}}, "e": None, "f": "32/15"}


def test_apply_overrides_does_not_mutate_input():
    raw = {"a": {"b": 1}}
    apply_overrides(raw, ["a.b=2"])
    assert raw == {"a": {"b": 1}}


@pytest.mark.parametrize("bad", ["novalue", "=3", "a..b=1"])
def test_malformed_override_is_an_error(bad):
    with pytest.raises(ConfigError, match=r"expected dotted\.key=value"):
        apply_overrides({}, [bad])


@pytest.mark.parametrize(
    ("override", "needle"),
    [
        ("learner.nonexistent=1", "learner.nonexistent: unknown key"),
        ("nonexistent=1", "nonexistent: unknown key"),
        ("run.seed=abc", "run.seed: expected an integer"),
        ("run.seed=1.5", "run.seed: expected an integer"),
        ("data.use_cache='false'", "data.use_cache: expected true or false"),
        ("data.use_cache=1", "data.use_cache: expected true or false"),
        ("stream.clip_s=x/2", "stream.clip_s: expected a number or a fraction"),
        ("stream.clip_s=true", "stream.clip_s: expected a number or a fraction"),
        ("model.kind=resnet", "model.kind: got 'resnet'"),
        ("learner.kind=nope", "unknown learner kind 'nope'"),
        ("stream.batch_size=0", "stream.batch_size: must be > 0"),
        ("learner.lr=-1", "learner.lr: must be > 0"),
        ("run.experiment=3", "run.experiment: expected a string"),
    ],
)
def test_each_error_names_the_dotted_key(override, needle):
    with pytest.raises(ConfigError) as info:
        load_config(StreamRunConfig, overrides=[override])
    assert any(needle in line for line in info.value.lines()), info.value.lines()


def test_all_problems_reported_together():
    with pytest.raises(ConfigError) as info:
        load_config(StreamRunConfig, overrides=["run.seed=abc", "learner.nope=1", "model.kind=x"])
    assert len(info.value.lines()) == 3


def test_bad_file_is_a_config_error(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("run: [unclosed\n")
    with pytest.raises(ConfigError, match="not valid yaml"):
        load_config(StreamRunConfig, path)
    with pytest.raises(ConfigError, match="cannot read"):
        load_config(StreamRunConfig, tmp_path / "missing.yaml")
    path.write_text("- a list\n")
    with pytest.raises(ConfigError, match="must be a mapping"):
        load_config(StreamRunConfig, path)


def test_learner_kind_selects_the_variant_and_unstructures_with_its_tag():
    cfg = load_config(StreamRunConfig, overrides=["learner.kind=frozen"])
    assert converter.unstructure(cfg)["learner"] == {"kind": "frozen", "upstream_train_mode_predict": False}
    assert attrs.has(type(cfg.learner))


def _cli(*args):
    return subprocess.run(
        [sys.executable, "-m", "ego_cl.runners.stream", *args], capture_output=True, text=True, timeout=120
    )


def test_cli_print_config_prints_yaml_and_exits_0():
    out = _cli("--print-config", "learner.kind=replay")
    assert out.returncode == 0, out.stderr
    assert yaml.safe_load(out.stdout)["learner"]["kind"] == "replay"


@pytest.mark.parametrize(
    ("arg", "key"), [("learner.nonexistent=1", "learner.nonexistent"), ("run.seed=abc", "run.seed")]
)
def test_cli_bad_key_exits_2_with_one_line(arg, key):
    out = _cli(arg)
    assert out.returncode == 2
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1
    assert key in lines[0]
    assert "Traceback" not in out.stderr


def test_user_ids_accept_integers_as_people_type_them():
    cfg = load_config(StreamRunConfig, overrides=["run.users=[68, '265', x]"])
    assert cfg.run.users == ("68", "265", "x")
    for bad, needle in [("run.users=5", "list of user ids"), ("run.users=[1.5]", "got 1.5")]:
        with pytest.raises(ConfigError, match=needle):
            load_config(StreamRunConfig, overrides=[bad])


def test_a_renamed_learner_key_says_what_replaced_it():
    message = r"learner\.fisher_decay: unknown key \(renamed: .*fisher_new_weight"
    with pytest.raises(ConfigError, match=message):
        load_config(StreamRunConfig, overrides=["learner.kind=ewc", "learner.fisher_decay=0.9"])
