"""Population pretraining: the training run behind the ``pretrain`` command and the demo cache.

``python -m ego_cl.runners.pretrain``: population pretraining of a video network.

Trains on the pretraining users' annotations (one random clip per annotation per epoch, seeded
training transform), validates on the ``train`` users' split after every epoch (action, verb and
noun loss and top-1), writes ``last.pt`` (atomic, every epoch) and ``best.pt`` (lowest
validation action loss), TensorBoard scalars under ``tb/`` and ``summary.json``. Rerunning the
same command resumes from ``last.pt`` and continues exactly as an uninterrupted run would.

Run directory: ``<run.out_dir>/<run.name or network kind>/``.
"""

from __future__ import annotations

import json
import math
import sys
import time
from pathlib import Path
from typing import Any

import structlog
import torch

from ego_cl.learners.networks.builders import VideoNetwork, build_network
from ego_cl.learners.networks.checkpoint import PRETRAIN_FORMAT, fusion_kernel_for, load_network_state
from ego_cl.runners.checkpoint_io import read_checkpoint, write_checkpoint
from ego_cl.runners.config import config_differences, converter, dump_yaml
from ego_cl.runners.files import atomic_write_text
from ego_cl.runners.pretraining.config import PretrainConfig
from ego_cl.runners.pretraining.data import EpochBatches, PretrainClips, item_seed
from ego_cl.runners.pretraining.loop import Trainer, chance_levels, validate
from ego_cl.runners.pretraining.splits import PretrainData
from ego_cl.types import InputError

__all__ = [
    "comparable_config",
    "pretrain",
    "print_summary",
    "run_dir_of",
]

log = structlog.get_logger(__name__)

_RUNTIME_ONLY = ("workers", "threads", "device", "resume", "log_every", "out_dir", "name")


def run_dir_of(cfg: PretrainConfig) -> Path:
    """The run directory a config trains into."""
    return Path(cfg.run.out_dir) / (cfg.run.name or cfg.network.kind)


def _device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    device = torch.device(name)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise InputError(f"run.device={name!r} but no CUDA device is available")
    return device


def comparable_config(cfg: PretrainConfig) -> dict[str, Any]:
    """The config without runtime-only settings: what must match to resume (and names caches)."""
    raw = converter.unstructure(cfg)
    raw["run"] = {k: v for k, v in raw["run"].items() if k not in _RUNTIME_ONLY}
    return raw


def _datasets(cfg: PretrainConfig, data: PretrainData) -> tuple[PretrainClips, PretrainClips]:
    c = cfg.clips
    common = dict(
        seed=cfg.run.seed,
        clip_s=c.clip_s,
        n_frames=c.n_frames,
        short_window=c.short_window,
        min_side_px=c.train_min_side_px,
        max_side_px=c.train_max_side_px,
        crop_px=c.crop_px,
        eval_side_px=c.eval_side_px,
        flip_p=c.flip_p,
    )
    keep = (lambda a: a.span.duration_s >= c.clip_s) if c.short_window == "drop" else (lambda a: True)
    train = [a for a in data.train if keep(a)][: cfg.run.max_train]
    val = [a for a in data.val if keep(a)][: cfg.run.max_val]
    if not train or not val:
        raise InputError(
            f"pretraining needs annotations: {len(train)} for training, {len(val)} for validation"
        )
    return PretrainClips(data.source, train, train=True, **common), PretrainClips(
        data.source, val, train=False, **common
    )


def _init_network(cfg: PretrainConfig, data: PretrainData) -> VideoNetwork:
    torch.manual_seed(cfg.run.seed)
    path = cfg.network.init_checkpoint
    init = read_checkpoint(path) if path else None
    kernel = fusion_kernel_for(init, cfg.network.kind, None, source=str(path)) if init else None
    network = build_network(
        cfg.network.kind,
        n_verbs=data.n_verbs,
        n_nouns=data.n_nouns,
        dropout=cfg.network.dropout,
        fusion_kernel=kernel,  # a SlowFast takes the init checkpoint's fusion kernel
    )
    if init is not None:
        load_network_state(network, init, include_head=False, source=path)
        log.info("backbone_initialised", checkpoint=path)
    return network


def _resume_state(cfg: PretrainConfig, run_dir: Path) -> dict[str, Any] | None:
    last = run_dir / "last.pt"
    if not (cfg.run.resume and last.exists()):
        if last.exists():
            raise InputError(f"{run_dir} already holds a pretraining run; pick another run.name or resume it")
        return None
    state = read_checkpoint(last)
    now = comparable_config(cfg)
    if state.get("config_key") != now:
        changed = config_differences(state.get("config_key") or {}, now)
        raise InputError(
            f"{last}: this run was started with a different config ({'; '.join(changed[:8])}"
            f"{f'; and {len(changed) - 8} more' if len(changed) > 8 else ''}); resume it with the "
            "same settings or choose another run.name"
        )
    return state


def _checkpoint(
    trainer: Trainer, cfg: PretrainConfig, epoch: int, history: list, best: float
) -> dict[str, Any]:
    net = trainer.network
    return {
        "format": PRETRAIN_FORMAT,
        "version": 1,
        "kind": net.kind,
        "n_verbs": net.n_verbs,
        "n_nouns": net.n_nouns,
        "feature_dim": net.feature_dim,
        "network": {k: v.detach().to("cpu", copy=True) for k, v in net.state_dict().items()},
        "epoch": epoch,
        "best_val_action_loss": best,
        "history": history,
        "config": converter.unstructure(cfg),
        "config_key": comparable_config(cfg),
        **trainer.state_dict(),
    }


def pretrain(cfg: PretrainConfig, data: PretrainData, run_dir: Path | None = None) -> dict[str, Any]:
    """Pretrain (or resume) into ``run_dir``; returns the summary (also in ``summary.json``).

    Args:
        cfg: The configuration.
        data: Source and annotations (see :func:`ego_cl.runners.pretraining.splits.resolve_data`).
        run_dir: Where to write; ``None`` = :func:`run_dir_of`.
    """
    from torch.utils.tensorboard import SummaryWriter  # heavy (tensorboard); only when training

    run_dir = run_dir or run_dir_of(cfg)
    device = _device(cfg.run.device)
    if cfg.run.threads:
        torch.set_num_threads(cfg.run.threads)
    train_set, val_set = _datasets(cfg, data)
    resumed = _resume_state(cfg, run_dir)
    network = _init_network(cfg, data)
    steps_per_epoch = math.ceil(math.ceil(len(train_set) / cfg.optim.batch_size) / cfg.optim.accumulate)
    trainer = Trainer(network, cfg.optim, device=device, total_steps=steps_per_epoch * cfg.optim.epochs)
    history: list[dict[str, float]] = []
    best, start_epoch = math.inf, 0
    if resumed is not None:
        network.load_state_dict(resumed["network"])
        trainer.load_state_dict(resumed)
        history, best, start_epoch = (
            list(resumed["history"]),
            resumed["best_val_action_loss"],
            resumed["epoch"],
        )
        log.info("pretrain_resumed", run_dir=str(run_dir), epoch=start_epoch)
    run_dir.mkdir(parents=True, exist_ok=True)
    atomic_write_text(run_dir / "config.yaml", _yaml(cfg))
    writer = SummaryWriter(str(run_dir / "tb"), purge_step=trainer.step if resumed else None)
    log.info(
        "pretrain_started",
        run_dir=str(run_dir),
        device=str(device),
        n_train=len(train_set),
        n_val=len(val_set),
        epochs=cfg.optim.epochs,
        start_epoch=start_epoch,
        kind=network.kind,
    )
    started = time.monotonic()
    try:
        for epoch in range(start_epoch, cfg.optim.epochs):
            record = _epoch(cfg, trainer, train_set, val_set, epoch, writer)
            history.append(record)
            if record["val_action_loss"] < best:
                best = record["val_action_loss"]
                write_checkpoint(run_dir / "best.pt", _checkpoint(trainer, cfg, epoch + 1, history, best))
            write_checkpoint(run_dir / "last.pt", _checkpoint(trainer, cfg, epoch + 1, history, best))
    finally:
        writer.close()
    summary = _summary(cfg, run_dir, history, val_set, data, time.monotonic() - started)
    atomic_write_text(run_dir / "summary.json", _json(summary))
    log.info("pretrain_finished", **{k: v for k, v in summary.items() if not isinstance(v, dict | list)})
    return summary


def _loader(dataset: PretrainClips, sampler: EpochBatches, workers: int, pin: bool):
    return torch.utils.data.DataLoader(
        dataset, batch_sampler=sampler, num_workers=workers, pin_memory=pin, worker_init_fn=_one_thread
    )


def _one_thread(_worker_id: int) -> None:
    torch.set_num_threads(1)


def _epoch(cfg, trainer: Trainer, train_set, val_set, epoch: int, writer) -> dict[str, float]:
    torch.manual_seed(item_seed(cfg.run.seed, epoch, -3))  # dropout masks: a function of the epoch
    pin = trainer.device.type == "cuda"
    sampler = EpochBatches(len(train_set), batch_size=cfg.optim.batch_size, epoch=epoch, seed=cfg.run.seed)
    started = time.monotonic()
    train = trainer.train_epoch(
        _loader(train_set, sampler, cfg.run.workers, pin),
        n_batches=len(sampler),
        description=f"epoch {epoch + 1}/{cfg.optim.epochs}",
        on_step=lambda step, loss, lr: _log_step(writer, cfg, step, loss, lr),
    )
    val_sampler = EpochBatches(len(val_set), batch_size=cfg.optim.batch_size, epoch=0, seed=0, shuffle=False)
    val = validate(trainer, _loader(val_set, val_sampler, cfg.run.workers, pin), n_batches=len(val_sampler))
    record = {
        "epoch": epoch + 1,
        **train,
        **{f"val_{k}": v for k, v in val.items()},
        "seconds": time.monotonic() - started,
    }
    for key, value in record.items():
        if key not in ("epoch",):
            writer.add_scalar(f"epoch/{key}", value, epoch + 1)
    writer.flush()
    log.info("pretrain_epoch", **{k: round(v, 4) if isinstance(v, float) else v for k, v in record.items()})
    return record


def _log_step(writer, cfg: PretrainConfig, step: int, loss: float, lr: float) -> None:
    if step % cfg.run.log_every == 0:
        writer.add_scalar("train/action_loss", loss, step)
        writer.add_scalar("train/lr", lr, step)


def _summary(cfg, run_dir: Path, history, val_set, data, seconds: float) -> dict[str, Any]:
    best = min(history, key=lambda r: r["val_action_loss"]) if history else {}
    return {
        "run_dir": str(run_dir),
        "best_checkpoint": str(run_dir / "best.pt"),
        "kind": cfg.network.kind,
        "epochs": len(history),
        "best_epoch": best.get("epoch"),
        "best_val_action_loss": best.get("val_action_loss"),
        "best_val_action_top1": best.get("val_action_top1"),
        "best_val_verb_top1": best.get("val_verb_top1"),
        "best_val_noun_top1": best.get("val_noun_top1"),
        "seconds_this_session": seconds,
        "chance": chance_levels(data.train, val_set.annotations, data.n_verbs, data.n_nouns),
        "history": history,
    }


def _yaml(cfg: PretrainConfig) -> str:
    return dump_yaml(cfg)


def _json(obj: Any) -> str:
    return json.dumps(obj, indent=2, default=str) + "\n"


def print_summary(summary: dict[str, Any], stream=sys.stdout) -> None:
    """Human-readable end-of-run summary."""
    chance = summary["chance"]
    lines = [
        f"pretrained {summary['kind']} for {summary['epochs']} epochs -> {summary['best_checkpoint']}",
        f"best epoch {summary['best_epoch']}: val action loss {summary['best_val_action_loss']:.4f}",
        "held-out top-1 (%): action {:.1f}  verb {:.1f}  noun {:.1f}".format(
            summary["best_val_action_top1"], summary["best_val_verb_top1"], summary["best_val_noun_top1"]
        ),
        "chance (%):         uniform verb {:.1f} noun {:.1f}; majority verb {:.1f} noun {:.1f}".format(
            chance["uniform_verb"], chance["uniform_noun"], chance["majority_verb"], chance["majority_noun"]
        ),
    ]
    print("\n".join(lines), file=stream)
