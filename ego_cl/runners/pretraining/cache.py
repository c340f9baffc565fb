"""The cached pretrained model: one pretraining run per config and data, reused while they match.

:func:`ensure_pretrained` returns a finished pretraining run's ``best.pt``, pretraining first
when no run of the same config and data exists (the run directory is named by their hash).
The stream command uses it for the demo's default checkpoint.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import attrs
import structlog

from ego_cl.runners.config import converter
from ego_cl.runners.inputs import ego_cl_home
from ego_cl.runners.pretraining.config import PretrainConfig
from ego_cl.runners.pretraining.run import comparable_config, pretrain
from ego_cl.runners.pretraining.splits import resolve_data

__all__ = ["decode_side", "ensure_pretrained"]

log = structlog.get_logger(__name__)


def ensure_pretrained(
    cfg: PretrainConfig, *, home: str | Path | None = None, out_dir: str | Path | None = None
) -> Path:
    """``best.pt`` of the pretraining run of ``cfg``, pretraining (or resuming) first if needed.

    The run directory is ``<out_dir>/<kind>-<hash of config and split files>`` so another config
    or another dataset never reuses a stale model; ``out_dir`` defaults to
    ``$EGO_CL_HOME/pretrained``. ``cfg.run.out_dir`` and ``cfg.run.name`` are ignored.
    """
    data = resolve_data(cfg.data, home=home, short_side=decode_side(cfg))
    key = json.dumps(
        {"config": comparable_config(cfg), "data": data.fingerprint}, sort_keys=True, default=str
    )
    digest = hashlib.sha256(key.encode()).hexdigest()[:12]
    parent = Path(out_dir) if out_dir else (Path(home) if home else ego_cl_home()) / "pretrained"
    run_dir = parent / f"{cfg.network.kind}-{digest}"
    best = run_dir / "best.pt"
    if best.is_file() and (run_dir / "summary.json").is_file():
        return best
    log.info("pretraining_for_cache", run_dir=str(run_dir), config=converter.unstructure(cfg.network))
    pretrain(attrs.evolve(cfg, run=attrs.evolve(cfg.run, resume=True)), data, run_dir)
    return best


def decode_side(cfg) -> int:
    return max(cfg.clips.train_max_side_px, cfg.clips.eval_side_px)
