"""Configuration of the data layer (structured by ``ego_cl.runners.config``)."""

from __future__ import annotations

from typing import Literal

import attrs

__all__ = ["DataConfig", "SplitConfig", "SyntheticConfig"]


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
        video_dir: Directory of ``<clip_uid>.mp4`` files; ``None`` = found in the root
            (``<version>/clips``, see :mod:`ego_cl.data.layout`).
        annotations_dir: Directory with ``fho_lta_train.json``; ``None`` = found in the root
            (``v1/annotations`` or ``v2/annotations``, whichever exists).
        use_cache: Read a clip from the resized-clip cache when an up-to-date copy is there.
        cache_short_side: Short side in pixels of the resized-clip cache (selects
            ``<video_dir>_resized_<side>``, or ``<video_dir>_resized`` when its videos have that side).
        cache_dir: The resized-clip cache folder; ``None`` = found next to ``video_dir`` (a run
            writes the one it found into its ``config.yaml``).
        skip_missing_videos: Drop annotations whose video is missing (reported per user) instead
            of failing up front.
        allow_outside_symlinks: Read ``<clip_uid>.mp4`` symlinks that lead outside the video
            directory (a symlinked video directory itself is always fine).
        split: How to build the split when it is absent.
    """

    ego4d_root: str | None = None
    split_dir: str | None = None
    subset: Literal["train", "test"] = "test"
    video_dir: str | None = None
    annotations_dir: str | None = None
    use_cache: bool = True
    cache_short_side: int = attrs.field(default=320, validator=attrs.validators.ge(16))
    cache_dir: str | None = None
    skip_missing_videos: bool = False
    allow_outside_symlinks: bool = False
    split: SplitConfig = SplitConfig()


@attrs.frozen(kw_only=True)
class SyntheticConfig:
    """The synthetic Ego4D-format dataset (``python -m ego_cl.runners.synth``; the embedded demo data).

    The users with the most annotated minutes are the evaluation users; the defaults give 7 of
    them (a ``random`` split with ``n_eval=7``, ``n_train=2``: 2 train + 5 test users), 8
    pretraining users and one video without a participant (the NaN user).

    Attributes:
        seed: Everything (content, ids, pixels) is a function of this seed and the fields below.
        n_eval_users: Users with the most minutes (meant for the train/test subsets).
        n_train_users: Suggested ``n_train`` of the split (the rest of the eval users are test).
        n_pretrain_users: Users with fewer minutes (pretraining).
        eval_user_s: Annotated seconds of the first evaluation user (later ones 6 s less each).
        pretrain_user_s: Annotated seconds of the first pretraining user (later ones 4 s less each).
        nan_video_s: Seconds of the participant-less video.
        recordings_per_user: Recordings (``origin_video_id``) per user.
        clip_s: Target length of one clip (5-minute clips in Ego4D; shorter here).
        width: Frame width in pixels.
        height: Frame height in pixels.
        fps: Frame rate.
        n_verbs: Verb classes (motion patterns), at most 7.
        n_nouns: Noun classes (shapes), at most 8.
        actions_per_user: Size of each user's preferred action set (label preferences).
        repeat_prob: Probability that the next action repeats the previous one (runs).
        overlap_share: Share of annotations that start before the previous one ends.
        n_unseen_pairs: (verb, noun) pairs that only evaluation users perform.
        val_share: Share of clips written to ``fho_lta_val.json`` instead of train.
        shift: Strength of the per-user domain shift (0 = every user looks alike). At 1.0 a
            user's hue rotation reaches a neighbouring noun's colour, so a population model cannot
            recognise nouns on a new user at all; 0.5 (the default) leaves the population model
            well above chance while adapting to the user still pays (measured in the demo).
        crf: x264 constant rate factor.
        gop: Keyframe interval in frames.
    """

    seed: int = 0
    n_eval_users: int = attrs.field(default=7, validator=attrs.validators.ge(1))
    n_train_users: int = attrs.field(default=2, validator=attrs.validators.ge(0))
    n_pretrain_users: int = attrs.field(default=8, validator=attrs.validators.ge(1))
    eval_user_s: int = attrs.field(default=300, validator=attrs.validators.ge(10))
    pretrain_user_s: int = attrs.field(default=200, validator=attrs.validators.ge(10))
    nan_video_s: int = attrs.field(default=60, validator=attrs.validators.ge(10))
    recordings_per_user: int = attrs.field(default=3, validator=attrs.validators.ge(1))
    clip_s: int = attrs.field(default=50, validator=attrs.validators.ge(10))
    width: int = attrs.field(default=128, validator=attrs.validators.ge(32))
    height: int = attrs.field(default=96, validator=attrs.validators.ge(32))
    fps: int = attrs.field(default=30, validator=attrs.validators.ge(1))
    n_verbs: int = attrs.field(default=7, validator=[attrs.validators.ge(2), attrs.validators.le(7)])
    n_nouns: int = attrs.field(default=8, validator=[attrs.validators.ge(2), attrs.validators.le(8)])
    actions_per_user: int = attrs.field(default=7, validator=attrs.validators.ge(1))
    repeat_prob: float = attrs.field(default=0.5, validator=[attrs.validators.ge(0), attrs.validators.lt(1)])
    overlap_share: float = attrs.field(
        default=0.15, validator=[attrs.validators.ge(0), attrs.validators.le(1)]
    )
    n_unseen_pairs: int = attrs.field(default=3, validator=attrs.validators.ge(0))
    val_share: float = attrs.field(default=0.25, validator=[attrs.validators.ge(0), attrs.validators.le(1)])
    shift: float = attrs.field(default=0.5, validator=attrs.validators.ge(0))
    crf: int = attrs.field(default=28, validator=[attrs.validators.ge(0), attrs.validators.le(51)])
    gop: int = attrs.field(default=60, validator=attrs.validators.ge(1))

    def __attrs_post_init__(self) -> None:
        if self.width % 2 or self.height % 2:
            raise ValueError(f"width and height must be even (yuv420p), got {self.width}x{self.height}")
        if self.n_train_users > self.n_eval_users:
            raise ValueError("n_train_users must be <= n_eval_users")
        if self.pretrain_user_s >= self.eval_user_s - 6 * self.n_eval_users:
            raise ValueError("pretrain_user_s must stay below every evaluation user's seconds")
