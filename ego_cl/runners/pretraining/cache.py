"""What pretraining reads (split files, taxonomy, clip source) and the cached demo model.

:func:`resolve_data` turns a :class:`~ego_cl.data.config.DataConfig` into :class:`PretrainData`:
the ``pretrain_incl_nanusers`` split trains, the ``train`` users' split validates; without
``ego4d_root`` the embedded synthetic dataset is generated (once) under ``$EGO_CL_HOME``.
:func:`ensure_pretrained` returns a finished pretraining run's ``best.pt``, pretraining first
when no run of the same config and data exists (the run directory is named by their hash).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import attrs
import structlog

from ego_cl.data.config import DataConfig
from ego_cl.data.source import Ego4dSource
from ego_cl.data.taxonomy import TAXONOMY_FILE, infer_taxonomy, load_taxonomy
from ego_cl.data.usersplit import find_split_file
from ego_cl.protocols import StreamSource
from ego_cl.types import ActionAnnotation, InputError

__all__ = ["PretrainData", "data_paths", "ensure_pretrained", "resolve_data"]

log = structlog.get_logger(__name__)


@attrs.frozen(kw_only=True)
class PretrainData:
    """What pretraining reads.

    Attributes:
        source: Clip source (``read_clip``); picklable before its first read.
        train: The pretraining users' annotations.
        val: The validation (``train`` users') annotations.
        n_verbs: Verb classes (taxonomy).
        n_nouns: Noun classes.
        fingerprint: Digest of the split files (names the cached demo model).
    """

    source: StreamSource
    train: tuple[ActionAnnotation, ...] = attrs.field(converter=tuple)
    val: tuple[ActionAnnotation, ...] = attrs.field(converter=tuple)
    n_verbs: int
    n_nouns: int
    fingerprint: str = ""


def data_paths(data: DataConfig, *, home: str | Path | None = None) -> tuple[Path, Path, Path]:
    """``(ego4d_root, split_dir, video_dir)``; generates the synthetic data / the split when absent."""
    if data.ego4d_root is None:
        from ego_cl.runners.datasets import ensure_default_dataset
        from ego_cl.runners.engine.plan import ego_cl_home

        root, split_dir = ensure_default_dataset(Path(home) if home else ego_cl_home())
    else:
        root = Path(data.ego4d_root)
        if not (root / "ego4d.json").is_file():
            what = "does not exist" if not root.exists() else "has no ego4d.json"
            raise InputError(f"data.ego4d_root: {root} {what} (expected an Ego4D download directory)")
        split_dir = Path(data.split_dir) if data.split_dir else root / "usersplits"
        if not list(split_dir.glob("ego4d_LTA_*_usersplit_*users.json")):
            from ego_cl.runners.split import write_user_split

            s = data.split
            log.info("user_split_missing_building", split_dir=str(split_dir))
            write_user_split(
                root, split_dir, criterion=s.criterion, n_eval=s.n_eval, n_train=s.n_train, seed=s.seed
            )
    video_dir = Path(data.video_dir) if data.video_dir else root / "v1" / "clips"
    return root, split_dir, video_dir


def resolve_data(
    data: DataConfig, *, home: str | Path | None = None, short_side: int | None = None
) -> PretrainData:
    """Load the pretraining and validation splits and open their clip source.

    Args:
        data: Where the data lives.
        home: Cache root of the synthetic dataset (default ``$EGO_CL_HOME``).
        short_side: Decode-time resize of the shorter frame side (``None`` = as stored).

    Raises:
        InputError: Missing or malformed files (all problems listed).
    """
    root, split_dir, video_dir = data_paths(data, home=home)
    train_file = find_split_file(split_dir, "pretrain_incl_nanusers")
    val_file = find_split_file(split_dir, "train")
    taxonomy_path = root / TAXONOMY_FILE
    taxonomy = load_taxonomy(taxonomy_path) if taxonomy_path.is_file() else None
    sources = [
        Ego4dSource(
            split_file=path,
            video_dir=video_dir,
            taxonomy=taxonomy,
            skip_missing_videos=data.skip_missing_videos,
            short_side=short_side,
            thread_count=1,
        )
        for path in (train_file, val_file)
    ]
    train = [a for u in sources[0].users() for a in sources[0].annotations(u)]
    val = [a for u in sources[1].users() for a in sources[1].annotations(u)]
    taxonomy = taxonomy or infer_taxonomy([*train, *val])
    digest = hashlib.sha256(train_file.read_bytes() + val_file.read_bytes()).hexdigest()[:12]
    return PretrainData(
        source=_TwoSplits(sources[0], sources[1]),
        train=train,
        val=val,
        n_verbs=taxonomy.n_verbs,
        n_nouns=taxonomy.n_nouns,
        fingerprint=digest,
    )


class _TwoSplits:
    """One source over the pretraining and validation splits (clip uids never collide across users)."""

    def __init__(self, first: Ego4dSource, second: Ego4dSource):
        self.first, self.second = first, second
        self._second_clips = {a.clip_uid for u in second.users() for a in second.annotations(u)}

    def users(self):
        return (*self.first.users(), *self.second.users())

    def annotations(self, user_id):
        return (
            self.first.annotations(user_id)
            if user_id in self.first.users()
            else self.second.annotations(user_id)
        )

    def read_clip(self, clip_uid, span, n_frames):
        source = self.second if clip_uid in self._second_clips else self.first
        return source.read_clip(clip_uid, span, n_frames)


def ensure_pretrained(cfg, *, home: str | Path | None = None, out_dir: str | Path | None = None) -> Path:
    """``best.pt`` of the pretraining run of ``cfg``, pretraining (or resuming) first if needed.

    The run directory is ``<out_dir>/<kind>-<hash of config and split files>`` so another config
    or another dataset never reuses a stale model; ``out_dir`` defaults to
    ``$EGO_CL_HOME/pretrained``. ``cfg.run.out_dir`` and ``cfg.run.name`` are ignored.
    """
    from ego_cl.runners.config import converter
    from ego_cl.runners.engine.plan import ego_cl_home
    from ego_cl.runners.pretraining.run import comparable_config, pretrain

    data = resolve_data(cfg.data, home=home, short_side=_decode_side(cfg))
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


def _decode_side(cfg) -> int:
    return max(cfg.clips.train_max_side_px, cfg.clips.eval_side_px)
