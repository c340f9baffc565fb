"""Configuration of the data layer (structured by ``ego_cl.runners.config``)."""

from __future__ import annotations

from typing import Literal

import attrs

__all__ = ["DataConfig", "SplitConfig"]


@attrs.frozen(kw_only=True)
class SplitConfig:
    """How the user split is built when ``DataConfig.split_dir`` holds none.

    Attributes:
        criterion: ``paper`` uses the paper's hard-coded user ids; ``random`` a seeded permutation.
        n_eval: Number of top users (by annotated minutes) used for evaluation (train + test).
        n_train: How many of those form the ``train`` (hyper-parameter) subset.
        seed: Seed of the ``random`` criterion.
    """

    criterion: Literal["paper", "random"] = "random"
    n_eval: int = attrs.field(default=50, validator=attrs.validators.ge(1))
    n_train: int = attrs.field(default=10, validator=attrs.validators.ge(0))
    seed: int = 0


@attrs.frozen(kw_only=True)
class DataConfig:
    """Where the Ego4D-format data lives and which users to stream.

    Attributes:
        ego4d_root: Directory with ``ego4d.json`` and ``v1/``; ``None`` = the embedded synthetic
            dataset (generated once under ``$EGO_CL_HOME``).
        split_dir: Directory with the user-split JSON files; ``None`` = ``<ego4d_root>/usersplits``,
            built with the split runner if absent.
        subset: Which evaluation users to stream: ``train`` or ``test``.
        video_dir: Directory of ``<clip_uid>.mp4`` files; ``None`` = ``<ego4d_root>/v1/clips``.
        use_cache: Read the resized-clip cache when present.
        cache_short_side: Short side in pixels of the resized-clip cache.
        skip_missing_videos: Drop annotations whose video is missing instead of failing up front.
        split: How to build the split when it is absent.
    """

    ego4d_root: str | None = None
    split_dir: str | None = None
    subset: Literal["train", "test"] = "test"
    video_dir: str | None = None
    use_cache: bool = True
    cache_short_side: int = attrs.field(default=320, validator=attrs.validators.ge(16))
    skip_missing_videos: bool = False
    split: SplitConfig = SplitConfig()
