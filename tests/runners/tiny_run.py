"""A tiny synthetic dataset + random tiny3d checkpoint and a helper that makes real stream runs."""

from __future__ import annotations

import json
from pathlib import Path

import torch

from ego_cl.runners.config import StreamRunConfig, load_config

TINY = dict(
    n_eval_users=3,
    n_train_users=0,
    n_pretrain_users=2,
    eval_user_s=40,
    pretrain_user_s=20,
    nan_video_s=10,
    recordings_per_user=1,
    clip_s=20,
    width=64,
    height=48,
)


def make_tiny(home: Path) -> tuple[Path, Path]:
    """Write the dataset under ``home``; return ``(ego4d_root, checkpoint)``."""
    from ego_cl.data.config import SyntheticConfig
    from ego_cl.learners.networks.builders import build_network
    from ego_cl.learners.networks.checkpoint import network_checkpoint
    from ego_cl.runners.checkpoint_io import write_checkpoint
    from ego_cl.runners.datasets import ensure_default_dataset

    root, _ = ensure_default_dataset(home, SyntheticConfig(**TINY))
    torch.manual_seed(0)
    taxonomy = json.loads((root / "v1/annotations/fho_lta_taxonomy.json").read_text())
    net = build_network("tiny3d", n_verbs=len(taxonomy["verbs"]), n_nouns=len(taxonomy["nouns"]))
    write_checkpoint(home / "pretrained.pt", network_checkpoint(net))
    return root, home / "pretrained.pt"


def tiny_overrides(tiny: tuple[Path, Path], out: Path, *extra: str) -> list[str]:
    """Overrides of a fast in-process run of ``tiny`` writing under ``out``."""
    root, checkpoint = tiny
    return [
        f"data.ego4d_root={root}",
        f"model.checkpoint={checkpoint}",
        f"run.out_dir={out}",
        "stream.max_samples=8",
        "stream.filter_unseen=false",
        "stream.workers=0",
        "stream.n_frames=4",
        "stream.side_px=32",
        "stream.crop_px=32",
        "run.checkpoint_every=2",
        "run.tensorboard=false",
        "pool.processes=0",
        "pool.threads_per_slot=1",
        "learner.lr=0.1",
        *extra,
    ]


def tiny_config(tiny: tuple[Path, Path], out: Path, *extra: str) -> tuple[StreamRunConfig, list[str]]:
    """The config and overrides of :func:`tiny_overrides`."""
    overrides = tiny_overrides(tiny, out, *extra)
    return load_config(StreamRunConfig, overrides=overrides), overrides
