"""``configs/egoadapt_reproduce.yaml``: loads through the strict converter with every upstream_* switch on."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path
from typing import Any

import attrs
import pytest

from ego_cl.learners.ewc import EwcConfig
from ego_cl.learners.frozen import FrozenConfig
from ego_cl.runners.config import StreamRunConfig, load_config

CONFIG = Path(__file__).resolve().parents[2] / "configs" / "egoadapt_reproduce.yaml"


def _upstream_switches(obj: Any, path: str = "") -> dict[str, Any]:
    """Every ``upstream_*`` field in the config tree, by dotted path."""
    out: dict[str, Any] = {}
    for field in attrs.fields(type(obj)):
        value = getattr(obj, field.name)
        key = f"{path}{field.name}"
        if field.name.startswith("upstream_"):
            out[key] = value
        elif attrs.has(type(value)):
            out |= _upstream_switches(value, f"{key}.")
    return out


def test_loads_strictly_with_every_upstream_switch_on():
    cfg = load_config(StreamRunConfig, CONFIG)
    switches = _upstream_switches(cfg)
    assert {"stream.upstream_float_boundaries", "learner.upstream_train_mode_predict"} <= set(switches)
    assert len(switches) >= 7
    assert {k: v for k, v in switches.items() if v is not True} == {}


def test_is_the_original_replay_setting():
    cfg = load_config(StreamRunConfig, CONFIG)
    assert (cfg.learner.kind, cfg.learner.memory, cfg.learner.capacity) == ("replay", "reservoir", 64)
    assert (cfg.learner.lr, cfg.learner.momentum, cfg.learner.k_updates) == (0.01, 0.0, 1)
    stream = cfg.stream
    assert (stream.batch_size, stream.clip_s, stream.overlap) == (4, Fraction(32, 15), "first_action")
    assert cfg.data.split.criterion == "paper"
    assert cfg.data.ego4d_root is None  # runs the demo unless a root is given


@pytest.mark.parametrize("config", [FrozenConfig(), EwcConfig()])
def test_the_upstream_switches_of_other_learners_exist_in_the_replay_config(config):
    """Switching learner.kind keeps the reproduction: each other learner's upstream switch is one the
    file already sets for replay."""
    replay = set(_upstream_switches(load_config(StreamRunConfig, CONFIG).learner))
    assert set(_upstream_switches(config)) <= replay


@pytest.mark.integration
def test_runs_a_tiny_stream_end_to_end(tmp_path):
    """The file drives a real run (float boundaries, train-mode prediction, replay fetching its
    memory through the guarded fetch, every replay quirk) on the tiny synthetic dataset."""
    from ego_cl.runners.stream import run_stream
    from tests.runners.tiny_run import make_tiny, tiny_overrides

    tiny = make_tiny(tmp_path / "home")
    extra = ("data.split.criterion=random", "stream.max_samples=16", "learner.k_updates=2")
    overrides = tiny_overrides(tiny, tmp_path / "runs", *extra)
    summary = run_stream(load_config(StreamRunConfig, CONFIG, overrides), overrides)
    assert summary["failed"] == []
    assert summary["n_done"] >= 1
    assert "oag/action/balanced_top1" in summary["oag"]
