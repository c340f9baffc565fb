"""``configs/egoadapt_paper.yaml``: the paper's online-phase settings, loaded through the strict
converter, with every method override its comments give loading too."""

from __future__ import annotations

import re
from fractions import Fraction
from pathlib import Path

import attrs

from ego_cl.runners.config import StreamRunConfig, load_config

CONFIG = Path(__file__).resolve().parents[2] / "configs" / "egoadapt_paper.yaml"


def test_loads_strictly_with_the_papers_online_settings():
    cfg = load_config(StreamRunConfig, CONFIG)
    assert (cfg.model.kind, cfg.model.fusion_kernel, cfg.model.dropout) == ("slowfast_r101", 5, 0.5)
    assert cfg.model.mask_unseen == "pretrain"
    s = cfg.stream
    assert (s.clip_s, s.n_frames, s.side_px, s.crop_px, s.batch_size) == (Fraction(32, 15), 32, 256, 224, 4)
    assert (s.overlap, s.filter_unseen, s.shuffle_seed) == ("first_action", True, None)
    lr = cfg.learner
    assert (lr.kind, lr.optimizer, lr.lr, lr.momentum, lr.weight_decay, lr.k_updates, lr.trainable) == (
        "finetune",
        "sgd",
        0.01,
        0.0,
        0.0,
        1,
        "all",
    )
    assert (cfg.data.subset, cfg.data.split.criterion, cfg.data.use_cache) == ("test", "paper", True)
    assert tuple(cfg.pool.devices) == ("cuda:0",)


def _upstream_on(obj, path=""):
    out = []
    for field in attrs.fields(type(obj)):
        value = getattr(obj, field.name)
        if field.name.startswith("upstream_") and value:
            out.append(path + field.name)
        elif attrs.has(type(value)):
            out += _upstream_on(value, f"{path}{field.name}.")
    return out


def test_no_quirk_of_the_original_is_switched_on():
    assert _upstream_on(load_config(StreamRunConfig, CONFIG)) == []


def test_every_override_the_comments_give_loads():
    text = CONFIG.read_text()
    lines = [
        line
        for line in text.splitlines()
        if line.startswith("#") and ":" in line and "=" in line and "ego_cl.runners.stream" not in line
    ]
    sets = [re.findall(r"\b([a-z_]+\.[a-z_.]+=\S+)", line.split(":", 1)[1]) for line in lines]
    sets = [s for s in sets if s and not any("," in o for o in s)]  # grid lists are for --grid
    assert len(sets) >= 4  # head only, K updates, IID, replay
    for overrides in sets:
        cfg = load_config(StreamRunConfig, CONFIG, overrides)
        for override in overrides:
            key, value = override.split("=", 1)
            assert str(_get(cfg, key)).lower() == value.lower(), override


def _get(cfg, dotted):
    for part in dotted.split("."):
        cfg = getattr(cfg, part)
    return cfg
